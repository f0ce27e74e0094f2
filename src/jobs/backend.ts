// The engine-neutral job contract: a Submission goes in, updates stream out, an outcome
// comes back. The local engine runs the Python runtime in a child process; remote engines
// upload, submit and poll — the commands above see no difference.
import type { JobSpec } from '../contracts/job-spec.js';
import type { RunOutcome, RunUpdate } from '../contracts/runs.js';

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
  skipGroupsPath?: string;
  workers?: number;
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
