// The canonical job description the Python runtime reads (docs/contracts.md): what compile
// produces, what every engine submits. TypeScript never builds Python source; this is the way in.
import type { DataFormat, Engine, Task, WriteMode } from './engines.js';

export type Stage = 'train' | 'score';

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
  data: { format: DataFormat; path: string | null; options: Record<string, string | number | boolean>; jdbc?: { url: string; table: string; userEnv: string | null; passwordEnv: string | null } };
  columns: { keys: string[]; time: string | null; target: string; features: string[] };
  model: {
    type: string;
    params: Record<string, unknown>;
    holdout: { periods: number | null; fraction: number | null; from: string | null };
    minTrainRows: number;
    refit: boolean;
    stale: 'skip' | 'forecast_from_origin';
    custom: { path: string; sha256: string } | null;
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
