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
  };
  metrics: string[];
  failureBudget: { maxFailed: number | null; maxFailedFraction: number | null };
  scoring: { horizon: number | null; sink: Record<string, string | null>; writeMode: WriteMode };
  execution: { workers: number; shufflePartitions: number | 'auto'; sparkConf: Record<string, string> };
}
