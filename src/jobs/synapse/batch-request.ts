// Builds the Livy batch for one stage of one pipeline: the runtime's entry script with
// --executor spark, the runtime package as py-files, the node size as driver/executor memory and
// cores, the pipeline's Spark settings, and the tag that finds the batch again (Livy has no
// idempotency key; see the Synapse backend).
import type { SparkBatchRequest } from '../../clients/synapse/index.js';
import type { SubmissionInputs, SubmissionLayout } from '../remote/job-files.js';
import type { RemoteFileStore } from '../remote/remote-store.js';
import { lakeLocation } from './lake-paths.js';
import type { SynapseExecutorSize, SynapseLake, SynapseTarget } from '../../contracts/targets.js';

/**
 * What a Synapse node size gives one Spark driver or executor: its vCores, and the memory
 * Synapse Studio asks for on such a node (the rest of the node's RAM is the pool's overhead).
 */
export const NODE_SIZES: Record<SynapseExecutorSize, { cores: number; memory: string; nodeGb: number }> = {
  Small: { cores: 4, memory: '28g', nodeGb: 32 },
  Medium: { cores: 8, memory: '56g', nodeGb: 64 },
  Large: { cores: 16, memory: '112g', nodeGb: 128 },
  XLarge: { cores: 32, memory: '224g', nodeGb: 256 },
  XXLarge: { cores: 64, memory: '400g', nodeGb: 432 },
};

/** The tag carrying our run id: the only way to recognise our batch among the pool's. */
export const RUN_TAG = 'manymodels_run';

export interface BatchInputs {
  runId: string;
  stage: 'train' | 'score';
  pipeline: string;
  /** abfss:// URI of the uploaded entry script. */
  file: string;
  /** abfss:// URIs of zips for the Python path of the driver and the executors. */
  pythonFiles: string[];
  arguments: string[];
  /** The JobSpec's execution.sparkConf: Arrow on, adaptive execution off, the pipeline's spark.conf. */
  sparkConf: Record<string, string>;
  settings: Pick<SynapseTarget, 'executorSize' | 'executors'>;
}

export function buildBatchRequest(inputs: BatchInputs): SparkBatchRequest {
  const node = NODE_SIZES[inputs.settings.executorSize];
  const executors = inputs.settings.executors;
  return {
    name: `manymodels-${inputs.pipeline}-${inputs.runId}`,
    file: inputs.file,
    pythonFiles: [...inputs.pythonFiles],
    arguments: [...inputs.arguments],
    configuration: {
      // The executors asked for are the executors used: a pool's dynamic allocation would
      // otherwise start small and grow while the groups, spread over fixed partitions, wait.
      'spark.dynamicAllocation.enabled': 'false',
      'spark.dynamicAllocation.minExecutors': String(executors),
      'spark.dynamicAllocation.maxExecutors': String(executors),
      // The pipeline's own settings are the more specific choice and win.
      ...inputs.sparkConf,
    },
    // The driver gets a node of the same size: it collects one small row per group, no more.
    driverMemory: node.memory,
    driverCores: node.cores,
    executorMemory: node.memory,
    executorCores: node.cores,
    executorCount: executors,
    // Tags show in Synapse Studio and on the batch; cost reports can split by pipeline.
    tags: { [RUN_TAG]: inputs.runId, manymodels_pipeline: inputs.pipeline, manymodels_stage: inputs.stage },
  };
}

/**
 * Where a Synapse run's files go: `<path>/cas` for uploads, `<path>/runs/<run id>` for outputs.
 * The runtime zip goes as py-files, so Livy puts it on the driver's and the executors' Python
 * path; --runtime-zip is not passed (the entry script would look for it as a local file).
 */
export function synapseLayout(lake: SynapseLake, runId: string, store: RemoteFileStore): SubmissionLayout {
  const root = lakeLocation(store, lake, lake.path);
  return { cas: root.child('cas'), outputs: root.child(`runs/${runId}`), runtimeZipArgument: false };
}

/** The batch for planned inputs. */
export function synapseBatchRequest(inputs: SubmissionInputs, settings: Pick<SynapseTarget, 'executorSize' | 'executors'>): SparkBatchRequest {
  return buildBatchRequest({
    runId: inputs.runId,
    stage: inputs.stage,
    pipeline: inputs.pipeline,
    file: inputs.entry,
    pythonFiles: [inputs.runtimeZip],
    arguments: inputs.arguments,
    sparkConf: inputs.sparkConf,
    settings,
  });
}
