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
  | { kind: 'event'; event: RuntimeEvent };

export interface RunOutcome {
  state: 'succeeded' | 'failed' | 'cancelled';
  /** The runtime's exit code where there is one: 1 = failure budget exceeded, 2 = bad input. */
  exitCode: number | null;
  /** A coded error the runtime reported (an `error` event). */
  error?: { code: string; message: string };
  /** The last lines the runtime logged, for a failure message. */
  logTail: string;
}

export interface JobBackend {
  readonly engine: string;
  run(submission: Submission, options: { signal?: AbortSignal; onUpdate: (update: RunUpdate) => void }): Promise<RunOutcome>;
}
