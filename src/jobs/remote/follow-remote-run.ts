// Following a remote run to its end, engine-neutral: pollRun over the service's view of the run,
// the job's events tailed while it runs, and once it ends its outputs brought home; plus the
// rules every remote engine shares for turning that into a RunOutcome (the runtime's exit code
// does not travel, so it is inferred from what the job wrote). Engines supply the reads.
import path from 'node:path';
import { RemoteErrorCode, RemoteHttpError } from '../../clients/http.js';
import { InterruptedError } from '../../core/errors.js';
import { redactSecrets } from '../../core/redact.js';
import type { RunOutcome, RunUpdate, RuntimeEvent } from '../../contracts/runs.js';
import type { RunManifest } from '../../contracts/runs.js';
import type { RunState } from '../../contracts/runs.js';
import { PollAbortedError, pollRun } from './poll-run.js';
import type { RemoteFileStore } from './remote-store.js';
import { collectRunOutputs, EVENTS_FILE, EventTail } from './run-outputs.js';

/** A run that goes on without us: submitted with `wait: false`, or its watcher was stopped. */
export const detachedOutcome = (): RunOutcome => ({ state: 'running', exitCode: null, logTail: '' });

/**
 * The life of a remote run as every engine has it: prepare (uploads), submit, then follow
 * unless told not to wait. Ctrl-C before the submit cancels nothing remote; Ctrl-C during or
 * after it detaches, because the service may already be running the job (`runs watch` finds
 * out, each engine in its own idempotent way).
 */
export async function submitAndFollow<S>(
  steps: { prepare(): Promise<S>; submit(state: S): Promise<S>; follow(state: S): Promise<RunOutcome> },
  options: { signal?: AbortSignal; wait?: boolean },
): Promise<RunOutcome> {
  let state: S;
  try {
    state = await steps.prepare();
  } catch (err) {
    if (options.signal?.aborted) return { state: 'cancelled', exitCode: null, logTail: '' };
    throw err;
  }
  try {
    state = await steps.submit(state);
  } catch (err) {
    if (options.signal?.aborted) return detachedOutcome();
    throw err;
  }
  if (options.wait === false) return detachedOutcome();
  return steps.follow(state);
}

/** Failures worth waiting out while watching (the client already retried each one). */
export function isTransientRemoteError(err: unknown): boolean {
  return err instanceof RemoteHttpError && (err.code === RemoteErrorCode.Network || err.status === 429 || (err.status ?? 0) >= 500);
}

/** The last `n` non-blank lines of a text. */
export function tailLines(text: string, n: number): string {
  return text.split('\n').filter((l) => l.trim()).slice(-n).join('\n');
}

export interface FollowRemoteRunOptions<S> {
  runDir: string;
  stage: 'train' | 'score';
  /** Where the job writes, and the API path of its output folder there. */
  store: RemoteFileStore;
  outputsPath: string;
  read: (signal?: AbortSignal) => Promise<S>;
  /** Snapshots with the same key are the same state (see pollRun). */
  key: (state: S) => string;
  isTerminal: (state: S) => boolean;
  /** Whether the job may have started writing (nothing is read while it waits for compute). */
  mayHaveOutputs: (state: S) => boolean;
  /** The update shown for a change of state. */
  describe: (state: S) => { state: RunState; message?: string; url?: string };
  /** First wait between polls; the waits grow to 15 times this, at most 30 s, while nothing changes. */
  intervalMs: number;
  signal?: AbortSignal;
  sleep?: (ms: number, signal?: AbortSignal) => Promise<void>;
  now?: () => number;
  onUpdate: (update: RunUpdate) => void;
}

export type FollowResult<S> =
  | { detached: true }
  | { detached: false; last: S; manifest?: RunManifest; error?: NonNullable<RunOutcome['error']> };

/**
 * Polls until the run ends, forwarding each change of state and each event the job appends;
 * then reads the rest of the events and copies the run manifest and artifacts into `runDir`.
 * Ctrl-C (the signal) at any point leaves the run going: `{detached: true}`.
 */
export async function followRemoteRun<S>(options: FollowRemoteRunOptions<S>): Promise<FollowResult<S>> {
  const { signal, store, runDir } = options;
  const outputs = options.outputsPath.replace(/\/+$/, '');
  const tail = new EventTail(store, `${outputs}/${EVENTS_FILE}`, path.join(runDir, EVENTS_FILE));
  let error: NonNullable<RunOutcome['error']> | undefined;
  const forward = (events: RuntimeEvent[]): void => {
    for (const event of events) {
      if (event.event === 'error' && typeof event.code === 'string') error = { code: event.code, message: String(event.message ?? '') };
      options.onUpdate({ kind: 'event', event });
    }
  };
  const interval = options.intervalMs;
  let last: S | undefined;
  try {
    const polls = pollRun<S>({
      read: options.read,
      key: options.key,
      isTerminal: options.isTerminal,
      intervalMs: interval,
      maxIntervalMs: Math.min(30_000, interval * 15),
      retryDelay: (err) => (isTransientRemoteError(err) ? interval : undefined),
      onPoll: async (state) => {
        if (!options.mayHaveOutputs(state)) return;
        try {
          forward(await tail.poll(signal));
        } catch (err) {
          if (signal?.aborted) throw err;
          // Progress is best effort; the outputs are read strictly once the run ends.
        }
      },
      ...(signal ? { signal } : {}),
      ...(options.sleep ? { sleep: options.sleep } : {}),
      ...(options.now ? { now: options.now } : {}),
    });
    for await (const snapshot of polls) {
      last = snapshot.state;
      options.onUpdate({ kind: 'state', ...options.describe(last) });
    }
  } catch (err) {
    if (err instanceof PollAbortedError || err instanceof InterruptedError || signal?.aborted) return { detached: true };
    throw err;
  }
  let manifest: RunManifest | undefined;
  try {
    forward(await tail.poll(signal));
    manifest = (await collectRunOutputs({ store, remoteDir: outputs, runDir, stage: options.stage, ...(signal ? { signal } : {}) })).manifest;
  } catch (err) {
    if (signal?.aborted) return { detached: true };
    throw err;
  }
  const result: FollowResult<S> = { detached: false, last: last! };
  if (manifest) result.manifest = manifest;
  if (error) result.error = error;
  return result;
}

export interface RemoteOutcomeInput {
  /** How the service ended the run. */
  result: 'succeeded' | 'failed' | 'cancelled';
  manifest?: RunManifest;
  /** The runtime's own coded error (its `error` event), if it sent one. */
  error?: NonNullable<RunOutcome['error']>;
  /** The log lines worth showing on failure (redacted here). */
  logTail: string;
  seconds?: number;
  /** What the service said, for a failure the runtime's outputs do not explain. */
  remote: () => NonNullable<RunOutcome['remote']>;
}

/**
 * The outcome of a remote run that ended. The runtime's exit code does not travel, so it is
 * inferred from its outputs: an `error` event and no manifest was exit 2 (bad input); a manifest
 * past its failure budget, or a sink error, was exit 1. Anything else the service ended is its
 * story to tell (`remote`).
 */
export function remoteRunOutcome(input: RemoteOutcomeInput): RunOutcome {
  const outcome: RunOutcome = { state: input.result, exitCode: null, logTail: redactSecrets(input.logTail) };
  if (input.seconds !== undefined) outcome.seconds = input.seconds;
  if (input.error) outcome.error = input.error;
  if (input.result === 'succeeded') outcome.exitCode = 0;
  else if (input.result === 'failed') {
    const { manifest, error } = input;
    const budget = manifest && ((manifest.failureBudget?.exceeded ?? false) || error?.code === 'MM415');
    outcome.exitCode = error && !manifest ? 2 : budget ? 1 : null;
    if (outcome.exitCode === null) {
      const remote = input.remote();
      outcome.remote = { ...remote, message: redactSecrets(remote.message) };
      if (remote.error) outcome.remote.error = redactSecrets(remote.error);
      if (remote.trace) outcome.remote.trace = redactSecrets(remote.trace);
    }
  }
  return outcome;
}
