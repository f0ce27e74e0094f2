// What the workspace itself says about a target's compute, asked before anything is uploaded
// (`validate --remote`, and train/score before they submit), like `databricks bundle validate`:
// the Runtime version and node types it offers (Clusters API spark-versions, list-node-types),
// the instance pools and cluster policy the cluster names, and the state of an existing cluster.
// Each finding names the key under the target's `databricks:` section it is about.
import { didYouMean } from '../../core/diagnostics.js';
import type { DatabricksTarget } from '../../contracts/targets.js';
import type { ClusterPolicy, DatabricksClient, NodeType } from '../../clients/databricks/index.js';

export interface RemoteFinding {
  /** Below the target's `databricks:` section, e.g. ['compute', 'new_cluster', 'node_type_id']. */
  path: Array<string | number>;
  severity: 'error' | 'warning';
  message: string;
  hint?: string;
}

export const REMOTE_SETTINGS_CODE = 'MM408';

const isRecord = (v: unknown): v is Record<string, unknown> => typeof v === 'object' && v !== null && !Array.isArray(v);

function guessHint(value: string, candidates: readonly string[], what: string): string {
  const guess = didYouMean(value, candidates);
  if (guess) return `Did you mean "${guess}"?`;
  const some = candidates.slice(0, 8).join(', ');
  return candidates.length ? `The workspace offers ${candidates.length} ${what}, e.g. ${some}.` : `The workspace lists no ${what}.`;
}

/** A cluster field by a policy's dotted path (`autoscale.max_workers`, `spark_conf.spark.x`). */
function fieldAt(cluster: Record<string, unknown>, dotted: string): { found: boolean; value?: unknown } {
  if (dotted in cluster) return { found: true, value: cluster[dotted] };
  const [head, ...rest] = dotted.split('.');
  const inner = cluster[head!];
  if (rest.length && isRecord(inner)) {
    const key = rest.join('.');
    // spark_conf and custom_tags keys contain dots themselves.
    if (key in inner) return { found: true, value: inner[key] };
    return fieldAt(inner, key);
  }
  return { found: false };
}

/** What a cluster policy's definition forbids in this cluster spec (fixed, allowlist, blocklist, range, regex). */
function policyFindings(policy: ClusterPolicy, cluster: Record<string, unknown>): RemoteFinding[] {
  let definition: unknown;
  try {
    definition = JSON.parse(policy.definition ?? '{}');
  } catch {
    return [];
  }
  if (!isRecord(definition)) return [];
  const out: RemoteFinding[] = [];
  const name = policy.name ? `"${policy.name}" (${policy.policy_id})` : policy.policy_id;
  for (const [dotted, rule] of Object.entries(definition)) {
    if (!isRecord(rule)) continue;
    const { found, value } = fieldAt(cluster, dotted);
    const path = ['compute', 'new_cluster', ...dotted.split('.')];
    const shown = JSON.stringify(value);
    const fail = (message: string, hint: string): void => {
      out.push({ path: found ? path : ['compute', 'new_cluster', 'policy_id'], severity: 'error', message, hint });
    };
    if (rule.type === 'fixed' && found && value !== rule.value) {
      fail(`cluster policy ${name} fixes ${dotted} to ${JSON.stringify(rule.value)}, the target sets ${shown}`, `Remove ${dotted} (the policy sets it) or set it to ${JSON.stringify(rule.value)}.`);
    } else if (rule.type === 'allowlist' && found && Array.isArray(rule.values) && !rule.values.includes(value)) {
      const allowed = rule.values.map(String);
      const guess = typeof value === 'string' ? didYouMean(value, allowed) : undefined;
      fail(`cluster policy ${name} does not allow ${dotted} ${shown}`, `${guess ? `Did you mean "${guess}"? ` : ''}Allowed: ${allowed.join(', ')}.`);
    } else if (rule.type === 'blocklist' && found && Array.isArray(rule.values) && rule.values.includes(value)) {
      fail(`cluster policy ${name} forbids ${dotted} ${shown}`, 'Choose another value.');
    } else if (rule.type === 'range' && found && typeof value === 'number') {
      const min = typeof rule.minValue === 'number' ? rule.minValue : -Infinity;
      const max = typeof rule.maxValue === 'number' ? rule.maxValue : Infinity;
      if (value < min || value > max) fail(`cluster policy ${name} allows ${dotted} from ${min} to ${max}, the target sets ${value}`, `Set it within ${min}…${max}.`);
    } else if (rule.type === 'regex' && found && typeof value === 'string' && typeof rule.pattern === 'string') {
      let re: RegExp | undefined;
      try {
        re = new RegExp(rule.pattern);
      } catch {
        re = undefined;
      }
      if (re && !re.test(value)) fail(`cluster policy ${name} wants ${dotted} to match ${rule.pattern}, the target sets ${shown}`, 'Choose a value the policy allows.');
    }
  }
  return out;
}

/** Every mismatch between the target's compute and what the workspace has, in one pass. */
export async function checkDatabricksWorkspace(client: DatabricksClient, settings: DatabricksTarget, signal?: AbortSignal): Promise<RemoteFinding[]> {
  const findings: RemoteFinding[] = [];
  const compute = settings.compute;
  if (compute.kind === 'existing_cluster') {
    const cluster = await client.getCluster(compute.clusterId, signal);
    if (!cluster) {
      findings.push({ path: ['compute', 'existing_cluster_id'], severity: 'error', message: `cluster ${compute.clusterId} does not exist in the workspace`, hint: 'Copy the cluster id from the cluster page (Compute → the cluster → JSON, "cluster_id").' });
    } else if (cluster.state === 'ERROR' || cluster.state === 'UNKNOWN') {
      findings.push({ path: ['compute', 'existing_cluster_id'], severity: 'error', message: `cluster ${compute.clusterId} is in state ${cluster.state}${cluster.state_message ? `: ${cluster.state_message}` : ''}`, hint: 'Restart it, or use a new_cluster.' });
    } else if (cluster.state === 'TERMINATED' || cluster.state === 'TERMINATING') {
      findings.push({ path: ['compute', 'existing_cluster_id'], severity: 'warning', message: `cluster ${compute.clusterId} is ${cluster.state}: the run starts it first, which takes minutes`, hint: 'Start it ahead of the run, or use a new_cluster (a job cluster costs nothing between runs).' });
    }
    return findings;
  }
  if (compute.kind !== 'new_cluster') return findings;
  const cluster = compute.cluster as Record<string, unknown>;
  const [versions, nodeTypes] = await Promise.all([client.sparkVersions(signal), client.listNodeTypes(signal)]);
  const keys = versions.map((v) => v.key);
  const sparkVersion = cluster.spark_version;
  if (typeof sparkVersion === 'string' && keys.length && !keys.includes(sparkVersion)) {
    findings.push({ path: ['compute', 'new_cluster', 'spark_version'], severity: 'error', message: `spark_version "${sparkVersion}" is not a Databricks Runtime this workspace offers`, hint: guessHint(sparkVersion, keys, 'runtime versions') });
  }
  const nodeIds = nodeTypes.map((n: NodeType) => n.node_type_id);
  for (const field of ['node_type_id', 'driver_node_type_id'] as const) {
    const value = cluster[field];
    if (typeof value === 'string' && nodeIds.length && !nodeIds.includes(value)) {
      findings.push({ path: ['compute', 'new_cluster', field], severity: 'error', message: `${field} "${value}" is not a node type this workspace offers`, hint: guessHint(value, nodeIds, 'node types') });
    }
  }
  for (const field of ['instance_pool_id', 'driver_instance_pool_id'] as const) {
    const id = cluster[field];
    if (typeof id !== 'string') continue;
    const pool = await client.getInstancePool(id, signal);
    if (!pool) {
      findings.push({ path: ['compute', 'new_cluster', field], severity: 'error', message: `instance pool ${id} does not exist in the workspace`, hint: 'Copy the pool id from Compute → Pools.' });
    } else if (pool.state && pool.state !== 'ACTIVE') {
      findings.push({ path: ['compute', 'new_cluster', field], severity: 'error', message: `instance pool ${id} is ${pool.state}`, hint: 'Use an active pool.' });
    } else if (field === 'instance_pool_id' && typeof cluster.node_type_id === 'string' && pool.node_type_id && pool.node_type_id !== cluster.node_type_id) {
      findings.push({ path: ['compute', 'new_cluster', 'node_type_id'], severity: 'error', message: `node_type_id "${cluster.node_type_id}" differs from the node type of instance pool ${id} (${pool.node_type_id})`, hint: 'With a pool the node type is the pool\'s: remove node_type_id or set it to the pool\'s.' });
    }
  }
  if (typeof cluster.policy_id === 'string') {
    const policy = await client.getClusterPolicy(cluster.policy_id, signal);
    if (!policy) {
      findings.push({ path: ['compute', 'new_cluster', 'policy_id'], severity: 'error', message: `cluster policy ${cluster.policy_id} does not exist in the workspace`, hint: 'Copy the policy id from Compute → Policies.' });
    } else {
      findings.push(...policyFindings(policy, cluster));
    }
  }
  return findings;
}
