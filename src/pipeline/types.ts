// The types each stage of the language hands to the next:
// RawPipelineFile (the YAML as data) → Pipeline (defaults applied). ResolvedTarget and JobSpec,
// which engines and registries read too, live in src/contracts/.
import type { DataFormat, Engine, Task, WriteMode } from '../contracts/engines.js';
import type { ModelChoice, TimeParts } from '../contracts/job-spec.js';

export interface RawRegistry {
  type: 'local' | 'azureml';
  path?: string;
  subscription_id?: string;
  resource_group?: string;
  workspace?: string;
  registry?: string;
  granularity?: 'per_group' | 'model_set';
  endpoint?: string;
  concurrency?: number;
  storage_account_url?: string;
  storage_container?: string;
  storage_sas_env?: string;
}

export interface RawSink {
  type: 'sqlite' | 'csv' | 'parquet' | 'synapse_sql' | 'delta';
  path?: string;
  url?: string;
  database?: string;
  schema?: string;
  temp_dir?: string;
  auth?: 'managed_identity' | 'forward_storage_credentials';
  table_name?: string;
}



export interface RawTarget {
  default?: boolean;
  engine: Engine;
  workers?: number;
  variables?: Record<string, string | number | boolean>;
  registry?: RawRegistry;
  production_registry?: RawRegistry;
  sink?: RawSink;
  databricks?: RawDatabricks;
  synapse?: RawSynapse;
  prices?: RawPrices;
}

/** A target's `prices:` section as written (manymodels plan). */
export interface RawPrices {
  currency?: string;
  node_hour?: number;
  node_vcpus?: number;
  node_memory_gb?: number;
  start_seconds?: number;
}

/** The `databricks:` section of a target as written (see the schema). */
export interface RawDatabricks {
  host?: string;
  workspace_resource_id?: string;
  auth?: 'azure' | 'pat' | 'oauth-m2m';
  profile?: string;
  artifacts?: { location?: 'dbfs' | 'workspace' | 'volume'; path?: string; entry_path?: string };
  compute?: {
    new_cluster?: Record<string, unknown> & { spark_version: string; node_type_id: string; num_workers?: number };
    existing_cluster_id?: string;
    serverless?: boolean;
  };
  timeout_seconds?: number;
  libraries?: Array<Record<string, unknown>>;
  runs_path?: string;
  poll_interval_seconds?: number;
}

/** The `synapse:` section of a target as written (see the schema). */
export interface RawSynapse {
  endpoint: string;
  spark_pool: string;
  storage?: { account_url: string; container: string; path?: string };
  executor_size?: 'Small' | 'Medium' | 'Large' | 'XLarge' | 'XXLarge';
  executors?: number;
  workspace_resource_id?: string;
  poll_interval_seconds?: number;
}

export interface RawData {
  format: DataFormat;
  path?: string;
  options?: Record<string, string | number | boolean>;
  jdbc?: { url: string; table: string; user_env?: string; password_env?: string };
  sql?: RawSqlSource;
}

export interface RawSqlSource {
  url: string;
  table?: string;
  query?: string;
  partition?: { column: string; lower?: number; upper?: number; count: number };
  user_env?: string;
  password_env?: string;
  secret_scope?: string;
  user_key?: string;
  password_key?: string;
}

export interface RawRule {
  name?: string;
  metric: string;
  min?: number;
  max?: number;
  compare?: 'production';
  tolerance?: number;
  when_no_production?: 'pass' | 'fail';
}

/** time.parts as written: the columns a date is built from (year required). */
export interface RawTimeParts {
  year: string;
  month?: string;
  day?: string;
  hour?: string;
  minute?: string;
}

export const TIME_PARTS = ['year', 'month', 'day', 'hour', 'minute'] as const;

/** A model of an auto selection as written: a type name or {type, params}. */
export type RawModelChoice = string | { type: string; params?: Record<string, unknown> };

export interface RawPipeline {
  name: string;
  description?: string;
  data: RawData;
  keys: string[];
  /** `column` names the time column; with `parts` it names the time composed from them (default "time"). */
  time?: { column?: string; parts?: RawTimeParts; kind?: 'date' | 'period'; frequency?: string; season_length?: number };
  target: string;
  features?: string[];
  task: Task;
  model: {
    type: string;
    params?: Record<string, unknown>;
    candidates?: RawModelChoice[];
    select_by?: string;
    fallback?: RawModelChoice;
    holdout?: number | { from: string | number };
    stale?: 'skip' | 'forecast_from_origin';
    min_train_rows?: number;
    refit?: boolean;
    path?: string;
  };
  metrics?: string[];
  promotion?: {
    rules?: RawRule[];
    gate?: { min_promoted_fraction?: number; min_promoted?: number };
  };
  failure_budget?: { max_failed?: number; max_failed_fraction?: number };
  scoring?: { horizon?: number; table?: string; write_mode?: WriteMode; data?: RawData };
  serving?: { cache?: { max_models?: number; ttl_seconds?: number } };
  spark?: { shuffle_partitions?: number | 'auto'; conf?: Record<string, string | number | boolean> };
}

export interface RawPipelineFile {
  version?: 1;
  project?: string;
  variables?: Record<string, string | number | boolean | { default?: string | number | boolean; description?: string }>;
  targets?: Record<string, RawTarget>;
  pipelines: RawPipeline[];
}



export interface PromotionRule {
  name: string;
  metric: string;
  min?: number;
  max?: number;
  compare?: 'production';
  tolerance: number;
  whenNoProduction: 'pass' | 'fail';
}

/** One pipeline with every default applied: what compile and the engines work from. */
export interface Pipeline {
  name: string;
  project: string;
  description?: string;
  data: RawData;
  keys: string[];
  /**
   * frequency is null for kind period; seasonLength only for kind period. `parts`: the time is
   * composed from these integer columns (kind date only), and `column` is the name it carries.
   */
  time: { column: string; parts: TimeParts | null; kind: 'date' | 'period'; frequency: string | null; seasonLength: number | null } | null;
  target: string;
  features: string[];
  task: Task;
  model: {
    type: string;
    params: Record<string, unknown>;
    holdout: { periods: number | null; fraction: number | null; from: string | null };
    minTrainRows: number;
    refit: boolean;
    stale: 'skip' | 'forecast_from_origin';
    customPath: string | null;
    /** type auto: the candidates, the metric that picks, the fallback (null otherwise). */
    selection: { candidates: ModelChoice[]; selectBy: string; fallback: ModelChoice | null } | null;
  };
  metrics: string[];
  promotion: {
    rules: PromotionRule[];
    gate: { minPromotedFraction: number | null; minPromoted: number | null };
  };
  failureBudget: { maxFailed: number | null; maxFailedFraction: number | null };
  scoring: { horizon: number | null; table: string; writeMode: WriteMode; data: RawData | null };
  serving: { cache: { maxModels: number; ttlSeconds: number } };
  spark: { shufflePartitions: number | 'auto'; conf: Record<string, string> };
}
