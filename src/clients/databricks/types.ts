// Wire types of the Databricks REST APIs the client speaks: Jobs 2.2 one-time runs, DBFS 2.0,
// Workspace import and the Files API (api-specs README §1). Only the fields we read or send.

export type LifeCycleState =
  | 'QUEUED' | 'PENDING' | 'RUNNING' | 'TERMINATING' | 'TERMINATED' | 'SKIPPED' | 'INTERNAL_ERROR'
  | 'BLOCKED' | 'WAITING_FOR_RETRY' | (string & {});

export type ResultState =
  | 'SUCCESS' | 'FAILED' | 'TIMEDOUT' | 'CANCELED' | 'MAXIMUM_CONCURRENT_RUNS_REACHED' | 'EXCLUDED'
  | 'SUCCESS_WITH_FAILURES' | 'UPSTREAM_FAILED' | 'UPSTREAM_CANCELED' | 'DISABLED' | (string & {});

export interface RunState {
  life_cycle_state: LifeCycleState;
  result_state?: ResultState;
  state_message?: string;
  user_cancelled_or_timedout?: boolean;
  queue_reason?: string;
}

export interface RunStatus {
  state: string;
  queue_details?: { code?: string; message?: string };
  termination_details?: { code?: string; type?: string; message?: string };
}

export interface RunTask {
  run_id: number;
  task_key: string;
  state?: RunState;
  status?: RunStatus;
  run_page_url?: string;
  start_time?: number;
  end_time?: number;
}

export interface Run {
  run_id: number;
  job_id?: number;
  run_name?: string;
  run_page_url?: string;
  /** Deprecated in Jobs 2.2: read `status` first (jobs/databricks/databricks-backend.ts runPhase). */
  state?: RunState;
  status?: RunStatus;
  tasks?: RunTask[];
  start_time?: number;
  end_time?: number;
  run_duration?: number;
  queue_duration?: number;
}

export interface RunOutput {
  metadata?: Run;
  error?: string;
  error_trace?: string;
  logs?: string;
  logs_truncated?: boolean;
}

export interface RunList {
  runs?: Run[];
  has_more?: boolean;
  next_page_token?: string;
}

export type Library = Record<string, unknown>;

export interface SubmitTask {
  task_key: string;
  spark_python_task: { python_file: string; parameters?: string[] };
  new_cluster?: Record<string, unknown>;
  existing_cluster_id?: string;
  environment_key?: string;
  libraries?: Library[];
  timeout_seconds?: number;
}

export interface SubmitRunRequest {
  run_name: string;
  /** At most 64 characters: a retried submit with the same token never starts a second run. */
  idempotency_token: string;
  tasks: SubmitTask[];
  timeout_seconds?: number;
  environments?: Array<{ environment_key: string; spec: { client: string; dependencies?: string[] } }>;
}

export interface DbfsFileInfo {
  path: string;
  is_dir: boolean;
  file_size: number;
  modification_time?: number;
}

export interface WorkspaceObjectInfo {
  object_type: string;
  path: string;
  size?: number;
}

export interface DirectoryEntry {
  path: string;
  name: string;
  is_directory: boolean;
  file_size?: number;
}

/** clusters/spark-versions: `key` is what a cluster's spark_version takes. */
export interface SparkVersion {
  key: string;
  name?: string;
}

export interface NodeType {
  node_type_id: string;
  memory_mb?: number;
  num_cores?: number;
  is_deprecated?: boolean;
}

/** clusters/get (the fields read). State: PENDING, RUNNING, RESTARTING, RESIZING, TERMINATING, TERMINATED, ERROR, UNKNOWN. */
export interface ClusterInfo {
  cluster_id: string;
  cluster_name?: string;
  state?: string;
  state_message?: string;
  spark_version?: string;
  node_type_id?: string;
  autotermination_minutes?: number;
}

export interface InstancePoolInfo {
  instance_pool_id: string;
  instance_pool_name?: string;
  node_type_id?: string;
  state?: string;
  preloaded_spark_versions?: string[];
}

/** A cluster policy; `definition` is a JSON document as a string. */
export interface ClusterPolicy {
  policy_id: string;
  name?: string;
  definition?: string;
}
