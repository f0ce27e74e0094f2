// What a remote engine implements: the few calls that differ between services. Everything else
// (uploads, the remote-run.json life, following the run, collecting its outputs, the outcome)
// is the one RemoteBackend built on top (remote-backend.ts). Adding an engine is implementing
// this, plus its row in contracts/engine-capabilities.ts (docs/architecture.md, "Adding an engine").
import type { Engine } from '../../contracts/engines.js';
import type { RunOutcome, RunState } from '../../contracts/runs.js';
import type { SubmissionInputs, SubmissionLayout } from './job-files.js';
import type { RemoteRunState } from './remote-run-state.js';
import type { RemoteFileStore } from './remote-store.js';

/** The service's view of a run, as the shared follow loop needs it. */
export interface RemoteStatus {
  state: RunState;
  message: string;
  /** Snapshots with the same key are the same state (nothing is shown for them). */
  key: string;
  terminal: boolean;
  /** Whether the job may have started writing (nothing is read while it waits for compute). */
  mayHaveOutputs: boolean;
}

/** What the service says about a run that ended, beyond the outputs the job wrote itself. */
export interface RemoteEnding {
  /** The run's log as the service keeps it (saved as runtime.log; redacted by the backend). */
  logs: string;
  /** The lines worth showing on failure. */
  logTail: string;
  seconds?: number;
  /** What the service said, for a failure the runtime's outputs do not explain. */
  remote(): NonNullable<RunOutcome['remote']>;
}

/**
 * A remote engine. `S` is its part of remote-run.json (the exact request and whatever finds the
 * run and its outputs again; never a credential), `R` its snapshot of a run.
 */
export interface RemoteEngine<S, R> {
  readonly engine: Engine;
  /** For messages: "Databricks". */
  readonly label: string;
  /** First wait between status reads. */
  readonly pollIntervalMs: number;

  /**
   * Asks the service whether the target's settings can run (node types, runtime versions, pools…)
   * before anything is uploaded; throws a coded error when they cannot. Absent: nothing to ask.
   */
  preflight?(signal?: AbortSignal): Promise<void>;
  /** Where a run's uploads and outputs go (upload files: the backend uploads to `cas`). */
  layout(runId: string): Promise<SubmissionLayout>;
  /** The submission to record and send: the request body built from the planned inputs. */
  submission(inputs: SubmissionInputs, layout: SubmissionLayout): Promise<S>;
  /** The request body inside a submission (what `compile --engine` prints). */
  requestBody(submission: S): unknown;

  /**
   * Sends the submission; the service's id for the run. `maybeSent`: an earlier send may have
   * reached the service (an idempotent service is simply asked again; Livy looks for its tag first).
   */
  submit(state: RemoteRunState<S>, options: { maybeSent: boolean; signal?: AbortSignal }): Promise<{ id: string }>;
  /** The run's page for people, once it has an id (best effort). */
  runPageUrl(state: RemoteRunState<S>, id: string, signal?: AbortSignal): Promise<string | undefined>;
  /** Reads the run's state. */
  getState(state: RemoteRunState<S>, signal?: AbortSignal): Promise<R>;
  status(snapshot: R): RemoteStatus;
  cancel(state: RemoteRunState<S>, signal?: AbortSignal): Promise<void>;
  /**
   * Cancelling a run whose submission was never confirmed, on a service without idempotent
   * submits: finds it without creating it (`undefined`: it does not exist). Absent: the backend
   * resends the submission (idempotent) to learn its id.
   */
  findUnconfirmed?(state: RemoteRunState<S>, signal?: AbortSignal): Promise<{ id: string } | undefined>;
  /** Where the job writes its outputs: the store and the folder's API path. */
  outputs(state: RemoteRunState<S>): Promise<{ store: RemoteFileStore; path: string }>;
  /** Fetches what the service kept of a run that ended: its log, its error, its duration. */
  fetchEnding(state: RemoteRunState<S>, last: R, signal?: AbortSignal): Promise<RemoteEnding>;
}
