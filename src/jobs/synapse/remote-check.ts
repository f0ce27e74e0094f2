// What ARM says about the Spark pool a Synapse target runs on, asked before anything is uploaded
// (`validate --remote`, and train/score before they submit): the pool exists, its node size
// holds the target's executor_size, it has nodes for the driver and every executor, and its
// Spark version is one the runtime supports. Needs workspace_resource_id (the ARM id).
import { didYouMean } from '../../core/diagnostics.js';
import type { SynapseExecutorSize, SynapseTarget } from '../../contracts/targets.js';
import type { BigDataPoolClient } from '../../clients/synapse/index.js';
import type { RemoteFinding } from '../databricks/remote-check.js';
import { NODE_SIZES } from './batch-request.js';

/** Synapse Spark versions the runtime supports (docs/synapse.md). */
export const SUPPORTED_SYNAPSE_SPARK = ['3.4'];

const ORDER: readonly string[] = ['Small', 'Medium', 'Large', 'XLarge', 'XXLarge', 'XXXLarge'];

export async function checkSynapsePool(pools: BigDataPoolClient, settings: SynapseTarget, signal?: AbortSignal): Promise<RemoteFinding[]> {
  if (!settings.workspaceResourceId) {
    return [{ path: [], severity: 'warning', message: 'the Spark pool was not checked: the target has no workspace_resource_id', hint: 'Add workspace_resource_id: /subscriptions/…/providers/Microsoft.Synapse/workspaces/<ws> to check the pool before a run.' }];
  }
  const pool = await pools.get(settings.workspaceResourceId, settings.sparkPool, signal);
  if (!pool) {
    const names = await pools.list(settings.workspaceResourceId, signal);
    const guess = didYouMean(settings.sparkPool, names);
    return [{ path: ['spark_pool'], severity: 'error', message: `Spark pool "${settings.sparkPool}" does not exist in the workspace`, hint: guess ? `Did you mean "${guess}"?` : names.length ? `Pools: ${names.join(', ')}.` : 'The workspace has no Spark pools.' }];
  }
  const findings: RemoteFinding[] = [];
  const p = pool.properties ?? {};
  const nodeSize = p.nodeSize ?? 'Small';
  if (ORDER.indexOf(settings.executorSize) > ORDER.indexOf(nodeSize)) {
    const fits = ORDER.slice(0, ORDER.indexOf(nodeSize) + 1).filter((s) => s in NODE_SIZES);
    findings.push({ path: ['executor_size'], severity: 'error', message: `executor_size ${settings.executorSize} does not fit on pool ${settings.sparkPool}'s ${nodeSize} nodes`, hint: `Use ${fits.join(', ')}, or a pool with larger nodes.` });
  }
  const maxNodes = p.autoScale?.enabled ? p.autoScale.maxNodeCount : p.nodeCount;
  if (typeof maxNodes === 'number' && ORDER.indexOf(settings.executorSize) <= ORDER.indexOf(nodeSize)) {
    const nodeCores = NODE_SIZES[nodeSize as SynapseExecutorSize]?.cores ?? NODE_SIZES.XXLarge.cores;
    const want = (settings.executors + 1) * NODE_SIZES[settings.executorSize].cores;
    const have = maxNodes * nodeCores;
    if (want > have) {
      const most = Math.floor(have / NODE_SIZES[settings.executorSize].cores) - 1;
      findings.push({ path: ['executors'], severity: 'error', message: `${settings.executors} executors and the driver need ${want} vCores; pool ${settings.sparkPool} has at most ${have} (${maxNodes} ${nodeSize} nodes)`, hint: most > 0 ? `Use at most ${most} executors of ${settings.executorSize}, or raise the pool's maximum nodes.` : 'Raise the pool\'s maximum nodes.' });
    }
  }
  if (p.sparkVersion && !SUPPORTED_SYNAPSE_SPARK.includes(p.sparkVersion)) {
    findings.push({ path: ['spark_pool'], severity: 'warning', message: `pool ${settings.sparkPool} runs Spark ${p.sparkVersion}; manymodels supports Synapse Spark ${SUPPORTED_SYNAPSE_SPARK.join(', ')}`, hint: 'Upgrade the pool to Apache Spark 3.4 (docs/synapse.md).' });
  }
  return findings;
}
