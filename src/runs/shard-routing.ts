// Shard-by-key routing for sharded online deployments: which shard owns a group (a stable hash
// of the pipeline and its key values: the runtime's shard_routing.py computes the same, and a
// test checks both agree), how many shards a memory budget needs, and the client side — the
// deployment and the `azureml-model-deployment` header a request for a group must carry.

import { createHash } from 'node:crypto';

export const ROUTING_HEADER = 'azureml-model-deployment';
export const ROUTING_FORMAT = 1;

/** routing.json of a bundle: enough for a client to send each group to its shard. */
export interface RoutingTable {
  format: number;
  endpoint: string;
  shards: number;
  /** Deployment name of shard i at index i. */
  deployments: string[];
  header: string;
  pipelines: Record<string, { keys: string[] }>;
}

/** The shard (0 … shards-1) owning a group: sha256 of JSON [pipeline, ...values], first 64 bits, mod shards. */
export function shardOf(pipeline: string, values: readonly string[], shards: number): number {
  if (shards <= 1) return 0;
  const digest = createHash('sha256').update(JSON.stringify([pipeline, ...values]), 'utf8').digest();
  return Number(digest.readBigUInt64BE(0) % BigInt(shards));
}

/** A key value as serve and the scoring script read it: a string, or a number's decimal text. */
function keyText(value: unknown, key: string): string {
  if (typeof value === 'string') return value;
  if (typeof value === 'number' && Number.isFinite(value)) return String(value);
  throw new RangeError(value === undefined ? `the keys lack "${key}"` : `keys.${key} must be a string, not ${JSON.stringify(value)}`);
}

/** The deployment that serves a group. Throws RangeError for an unknown pipeline or missing keys. */
export function deploymentFor(table: RoutingTable, pipeline: string, keys: Record<string, unknown>): string {
  const p = table.pipelines[pipeline];
  if (!p) throw new RangeError(`the routing table has no pipeline "${pipeline}" (it has ${Object.keys(table.pipelines).join(', ')})`);
  const values = p.keys.map((k) => keyText(keys[k], k));
  return table.deployments[shardOf(pipeline, values, table.shards)]!;
}

/**
 * A request for a group, ready to send to the endpoint's scoring URI: the body serve takes with
 * "pipeline" added, and the header that routes it to the group's shard. A batch
 * ({"requests": [...]}) is split into one request per shard, each keeping its entries' order.
 */
export function routeRequests(
  table: RoutingTable,
  pipeline: string,
  body: { keys: Record<string, unknown>; horizon?: number; rows?: unknown[] } | { requests: Array<{ keys: Record<string, unknown>; horizon?: number; rows?: unknown[] }> },
): Array<{ deployment: string; headers: Record<string, string>; body: Record<string, unknown>; indexes: number[] }> {
  const entries = 'requests' in body ? body.requests : [body];
  const byDeployment = new Map<string, { entries: unknown[]; indexes: number[] }>();
  entries.forEach((entry, i) => {
    const d = deploymentFor(table, pipeline, entry.keys);
    const slot = byDeployment.get(d) ?? { entries: [], indexes: [] };
    slot.entries.push(entry);
    slot.indexes.push(i);
    byDeployment.set(d, slot);
  });
  return [...byDeployment].map(([deployment, slot]) => ({
    deployment,
    headers: { [table.header]: deployment, 'content-type': 'application/json' },
    body: 'requests' in body ? { pipeline, requests: slot.entries } : { pipeline, ...(slot.entries[0] as object) },
    indexes: slot.indexes,
  }));
}

/** What one container holds besides models: the Python runtime, pandas, numpy and the inference server. */
export const RUNTIME_BASELINE_MB = 400;
export const MAX_SHARDS = 64;

export interface ShardPlanInput {
  pipeline: string;
  values: string[];
  bytes: number;
}

export interface ShardPlan {
  shards: number;
  /** Cache budget of each container, in bytes of artifacts. */
  cacheBytes: number;
  /** Shard of each input, in order. */
  assignment: number[];
  bytesPerShard: number[];
  modelsPerShard: number[];
}

function assign(models: readonly ShardPlanInput[], shards: number): Pick<ShardPlan, 'assignment' | 'bytesPerShard' | 'modelsPerShard'> {
  const assignment = models.map((m) => shardOf(m.pipeline, m.values, shards));
  const bytesPerShard = Array.from({ length: shards }, () => 0);
  const modelsPerShard = Array.from({ length: shards }, () => 0);
  assignment.forEach((s, i) => {
    bytesPerShard[s]! += models[i]!.bytes;
    modelsPerShard[s]! += 1;
  });
  return { assignment, bytesPerShard, modelsPerShard };
}

/**
 * Shards for a deployment. With `shards` given, that many. With `memoryMb`, the fewest whose
 * every shard's artifacts fit the container's cache budget (memory less RUNTIME_BASELINE_MB):
 * the hash does not balance exactly, so the count grows until the fullest shard fits.
 * Returns a string (the reason) when no count up to MAX_SHARDS fits.
 */
export function planShards(models: readonly ShardPlanInput[], options: { shards?: number; memoryMb?: number; defaultCacheBytes: number }): ShardPlan | string {
  if (options.shards !== undefined) {
    return { shards: options.shards, cacheBytes: options.defaultCacheBytes, ...assign(models, options.shards) };
  }
  if (options.memoryMb === undefined) return { shards: 1, cacheBytes: options.defaultCacheBytes, ...assign(models, 1) };
  const budget = Math.floor((options.memoryMb - RUNTIME_BASELINE_MB) * 1024 * 1024);
  if (budget <= 0) return `--memory-mb ${options.memoryMb} leaves nothing for models: a container needs about ${RUNTIME_BASELINE_MB} MB for the runtime itself`;
  const largest = Math.max(0, ...models.map((m) => m.bytes));
  if (largest > budget) return `one model's artifact is ${largest} bytes, more than the ${budget} bytes a container of ${options.memoryMb} MB has for models`;
  const total = models.reduce((a, m) => a + m.bytes, 0);
  for (let n = Math.max(1, Math.ceil(total / budget)); n <= MAX_SHARDS; n++) {
    const plan = assign(models, n);
    if (Math.max(...plan.bytesPerShard) <= budget) return { shards: n, cacheBytes: budget, ...plan };
  }
  return `the ${total} bytes of artifacts need more than ${MAX_SHARDS} shards of ${options.memoryMb} MB; choose larger containers (--memory-mb)`;
}
