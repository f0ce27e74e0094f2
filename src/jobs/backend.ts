// The engine-neutral job contract: a Submission goes in, updates stream out, an outcome
// comes back. The local engine runs the Python runtime in a child process; remote engines
// upload, submit and poll — the commands above see no difference.
import type { JobSpec } from '../pipeline/types.js';
import type { RunState } from './run-store.js';

export interface Submission {
  runId: string;
  stage: 'train' | 'score';
  spec: JobSpec;
  /** Local path of the canonical spec file. */
  specPath: string;
  /** Local folder that ends up holding the run manifest, events and artifacts. */
  runDir: string;
  projectRoot: string;
  modelManifestPath?: string;
  onlyGroupsPath?: string;
  workers?: number;
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

export interface RunOptions {
  signal?: AbortSignal;
  onUpdate: (update: RunUpdate) => void;
  /** Remote engines: `false` returns as soon as the service accepted the run (outcome `running`). */
  wait?: boolean;
}

export interface JobBackend {
  readonly engine: string;
  run(submission: Submission, options: RunOptions): Promise<RunOutcome>;
  /**
   * Remote engines: follows a run submitted earlier, from what `run` left in its run folder,
   * until it ends, and brings its outputs into the folder. Resends a submission the service
   * never confirmed (safe: submissions are idempotent).
   */
  attach?(runDir: string, options: RunOptions): Promise<RunOutcome>;
  /** Remote engines: asks the service to cancel a run submitted earlier (it ends shortly after). */
  cancel?(runDir: string, signal?: AbortSignal): Promise<void>;
}
