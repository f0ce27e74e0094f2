// The canonical job description the Python runtime reads (docs/contracts.md): what compile
// produces, what every engine submits. TypeScript never builds Python source; this is the way in.
import type { DataFormat, Engine, Task, WriteMode } from './engines.js';

export type Stage = 'train' | 'score';

/** The columns a time is built from: year required, the others null when absent. */
export interface TimeParts {
  year: string;
  month: string | null;
  day: string | null;
  hour: string | null;
  minute: string | null;
}

/**
 * A PostgreSQL source (`format: sql`): a table or a query, an optional partitioning for Spark's
 * JDBC reader, and where the credentials come from — names of environment variables or of
 * Databricks secrets, never the secrets.
 */
export interface SqlSource {
  /** `postgresql://host[:port]/database[?params]`, without a user or password. */
  url: string;
  table: string | null;
  query: string | null;
  /** Spark engines: `count` slices of `column`; bounds null = the column's MIN and MAX, read at the start of the job. */
  partition: { column: string; lower: number | null; upper: number | null; count: number } | null;
  userEnv: string | null;
  passwordEnv: string | null;
  secretScope: string | null;
  userKey: string | null;
  passwordKey: string | null;
}

/** A built-in model type with its params (an auto selection's candidate or fallback). */
export interface ModelChoice {
  type: string;
  params: Record<string, unknown>;
}

export interface JobSpec {
  specVersion: 1;
  stage: Stage;
  entryScript: 'train_entry.py' | 'score_entry.py';
  project: string;
  pipeline: string;
  target: string;
  engine: Engine;
  task: Task;
  frequency: string | null;
  /** 'period': the time column holds integer period numbers (frequency is null). */
  timeKind: 'date' | 'period';
  seasonLength: number | null;
  data: { format: DataFormat; path: string | null; options: Record<string, string | number | boolean>; jdbc?: { url: string; table: string; userEnv: string | null; passwordEnv: string | null }; sql?: SqlSource };
  /**
   * `timeParts`: the time is composed from these integer columns (absent month and day are 1,
   * hour and minute 0) and carried as `time`; null when the data has a time column.
   */
  columns: { keys: string[]; time: string | null; timeParts?: TimeParts | null; target: string; features: string[] };
  model: {
    type: string;
    params: Record<string, unknown>;
    holdout: { periods: number | null; fraction: number | null; from: string | null };
    minTrainRows: number;
    refit: boolean;
    stale: 'skip' | 'forecast_from_origin';
    custom: { path: string; sha256: string } | null;
    /** type auto: every candidate is fitted and evaluated per group, the best by selectBy kept. */
    selection?: { candidates: ModelChoice[]; selectBy: string; fallback: ModelChoice | null } | null;
  };
  metrics: string[];
  failureBudget: { maxFailed: number | null; maxFailedFraction: number | null };
  scoring: { horizon: number | null; sink: Record<string, string | null>; writeMode: WriteMode };
  execution: { workers: number; shufflePartitions: number | 'auto'; sparkConf: Record<string, string>; partition?: SpecPartition };
}

/** A Spark training job's bucket plan from `manymodels plan` (docs/plan.md): the largest groups' keys, each with its bucket. */
export interface SpecPartition {
  buckets: number;
  mapping: Array<{ keys: string[]; bucket: number }>;
}
