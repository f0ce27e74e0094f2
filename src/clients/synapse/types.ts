// What the rest of the code sees of a Synapse Spark (Livy) batch: plain data, independent of the
// SDK's classes, in the names of sparkJob.json where they differ from the SDK's (README §2).

/** Livy states (an extensible enum on the wire). Batch life cycle: not_started → starting → running → success | dead | killed; error is terminal too. */
export type LivyState =
  | 'not_started' | 'starting' | 'idle' | 'busy' | 'shutting_down' | 'error' | 'dead' | 'killed' | 'success' | 'running' | 'recovering';

export interface SparkBatchRequest {
  /** Required by the service: shown in Synapse Studio. */
  name: string;
  /** abfss:// URI of the Python file to run. */
  file: string;
  /** Sent as `pyFiles`: zips put on the Python path of the driver and every executor. */
  pythonFiles?: string[];
  /** Sent as `args`. */
  arguments?: string[];
  /** Sent as `conf`: Spark configuration. */
  configuration?: Record<string, string>;
  driverMemory: string;
  driverCores: number;
  executorMemory: string;
  executorCores: number;
  /** Sent as `numExecutors`. */
  executorCount: number;
  tags: Record<string, string>;
}

export interface SparkBatchError {
  message: string;
  errorCode?: string;
  source?: string;
}

export interface SparkBatch {
  id: number;
  name?: string;
  /** Missing only from a malformed reply; the client fills `unknown` then. */
  state: LivyState | string;
  /** Uncertain | Succeeded | Failed | Cancelled (detailed replies only). */
  result?: string;
  appId?: string;
  /** Spark UI and driver log links once the application runs. */
  appInfo: Record<string, string>;
  /** Livy's log tail: `stdout: `, its lines, `\nstderr: `, its lines, `\nYARN Diagnostics: `, … */
  log: string[];
  tags: Record<string, string>;
  errors: SparkBatchError[];
  /** Queued | Scheduled | Ended (detailed replies only). */
  schedulerState?: string;
  /** Preparation | ResourceAcquisition | Queued | Submission | Monitoring | Cleanup | Ended (detailed replies only). */
  pluginState?: string;
  /** When it started running and when it ended, as the service saw it (detailed replies only). */
  runningAt?: Date;
  endedAt?: Date;
}

export interface SparkBatchPage {
  from: number;
  /** Batches of the pool (Apache Livy counts the pool, not the page). */
  total: number;
  batches: SparkBatch[];
}
