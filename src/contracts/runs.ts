// A run as every layer sees it: its record in the history, the updates that stream while it
// goes, the outcome an engine reports, and the run manifest the runtime writes (one row per
// group; docs/contracts.md).

export type RunStage = 'train' | 'score' | 'promote';
/**
 * `interrupted` and `lost` are never stored: they are what `runs list|show` make of a run
 * stored as running whose CLI process is gone — a local run stopped (interrupted), a remote
 * run whose submission was never confirmed (lost).
 */
export type RunState = 'queued' | 'running' | 'succeeded' | 'failed' | 'cancelled' | 'interrupted' | 'lost';

export interface GroupCounts {
  total: number;
  ok: number;
  failed: number;
  skipped: number;
}

export interface RunRecord {
  id: string;
  stage: RunStage;
  pipeline: string;
  project: string;
  target: string;
  engine: string;
  state: RunState;
  createdAt: string;
  finishedAt: string | null;
  counts: GroupCounts | null;
  timings: Record<string, number>;
  /** The training run this one resumed, for `train --resume`. */
  resumeOf: string | null;
  /** For promote and score: the training run whose models were used. */
  sourceRun: string | null;
  /** Remote engines: the run's id and page on the service. */
  external: { id: string; url?: string } | null;
  error: { code: string; message: string } | null;
  summary: Record<string, unknown>;
  /** The CLI process that runs (or watches) it: pid, process start time, host — for liveness. */
  process?: { pid: number; startTime?: string; host: string };
}

/** One NDJSON event from the runtime (docs/contracts.md). */
export interface RuntimeEvent {
  event: 'start' | 'progress' | 'group_failed' | 'summary' | 'error' | string;
  [field: string]: unknown;
}

export type RunUpdate =
  | { kind: 'state'; state: RunState; message?: string; url?: string }
  | { kind: 'event'; event: RuntimeEvent }
  /** A remote service accepted the run: its id and page, known before the run starts. */
  | { kind: 'submitted'; external: { id: string; url?: string } };

export interface RunOutcome {
  /**
   * `running`: a remote run that goes on without us — submitted with `wait: false`, or its
   * watcher was stopped (Ctrl-C). Nothing is finalized; `manymodels runs watch` picks it up.
   */
  state: 'succeeded' | 'failed' | 'cancelled' | 'running';
  /** The runtime's exit code where there is one: 1 = failure budget exceeded, 2 = bad input. */
  exitCode: number | null;
  /** A coded error the runtime reported (an `error` event). */
  error?: { code: string; message: string };
  /** The last lines the runtime logged, for a failure message. */
  logTail: string;
  /** Remote engines: how the service ended a run the runtime's own result does not explain. */
  remote?: { message: string; error?: string; trace?: string; url?: string };
  /** Remote engines: the run's duration as the service measured it. */
  seconds?: number;
}

export type GroupStatus = 'ok' | 'failed' | 'skipped';

export interface GroupResult {
  groupId: string;
  modelName: string;
  keys: Record<string, string>;
  status: GroupStatus;
  reason: string | null;
  errorClass: string | null;
  errorMessage: string | null;
  trainRows?: number;
  testRows?: number;
  rowsScored?: number;
  metrics: Record<string, number>;
  artifact: string | null;
  sha256: string | null;
  fitSeconds?: number;
  /** model.type auto: the type this group kept (training), or that predicted it (scoring). */
  modelType?: string;
  /** model.type auto, scoring: the group's model is its fallback. */
  fallback?: boolean;
  /** model.type auto, training: how the group's model was chosen (docs/models.md#auto). */
  selection?: ModelSelection;
}

/** One candidate of an auto selection on one group's holdout. */
export interface CandidateResult {
  status: 'ok' | 'failed';
  metrics: Record<string, number | null>;
  errorClass: string | null;
  errorMessage: string | null;
  fitSeconds: number | null;
}

export interface ModelSelection {
  selectBy: string;
  /** The type kept; null when no model could be fitted (the group failed). */
  chosen: string | null;
  fallback: boolean;
  /** Why the fallback (or, without a holdout, the first candidate) was used. */
  reason: string | null;
  candidates: Record<string, CandidateResult>;
  /** The fallback's own holdout result, when it was fitted. */
  fallbackResult?: CandidateResult;
}

export interface RunManifest {
  specVersion: 1;
  runId: string;
  stage: 'train' | 'score';
  pipeline: string;
  modelType?: string;
  task?: string;
  startedAt: string;
  finishedAt: string;
  /** `null` when the job could not stat its input (a Spark run reading abfss://, a table, jdbc). */
  dataFingerprint: string | null;
  counts: { total: number; ok: number; failed: number; skipped: number; predictionsWritten?: number };
  failureBudget?: { maxFailed: number | null; maxFailedFraction: number | null; exceeded: boolean };
  timings?: Record<string, number>;
  groups: GroupResult[];
}

export const RUN_MANIFEST_FILE = 'run-manifest.json';
