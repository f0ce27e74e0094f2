// The one JobBackend of every remote engine: prepare (plan the files, upload them
// content-addressed, build and record the submission), submit, follow (the shared poll loop while
// tailing the job's events, then its outputs brought home), and re-attach or cancel from what
// remote-run.json holds. The engine (remote-engine.ts) supplies only the calls that differ.
import { existsSync, writeFileSync } from 'node:fs';
import path from 'node:path';
import { UsageError } from '../../core/errors.js';
import { redactSecrets } from '../../core/redact.js';
import type { RunOutcome } from '../../contracts/runs.js';
import type { JobBackend, RunOptions, Submission } from '../backend.js';
import { uploadContentAddressed } from './content-addressed-upload.js';
import { detachedOutcome, followRemoteRun, remoteRunOutcome, submitAndFollow, type RemoteOutcomeInput } from './follow-remote-run.js';
import { planSubmission } from './job-files.js';
import type { RemoteEngine } from './remote-engine.js';
import { readRemoteRun, writeRemoteRun, type RemoteRunState } from './remote-run-state.js';

/** A submission cancelled before the service confirmed it: never sent afterwards. */
type Abandonable = { abandoned?: boolean };

export class RemoteBackend<S, R> implements JobBackend {
  readonly engine: string;

  constructor(protected readonly remote: RemoteEngine<S, R>) {
    this.engine = remote.engine;
  }

  async run(sub: Submission, options: RunOptions): Promise<RunOutcome> {
    // The submit may have reached the service; `runs watch` finds out (each engine in its own idempotent way).
    return submitAndFollow<RemoteRunState<S>>(
      {
        prepare: () => this.prepare(sub, options),
        submit: (state) => this.submit(state, sub.runDir, options),
        follow: (state) => this.follow(state, sub.runDir, options),
      },
      options,
    );
  }

  async attach(runDir: string, options: RunOptions): Promise<RunOutcome> {
    let state = this.stateOf(runDir);
    if (!state.external) {
      if ((state.submission as Abandonable).abandoned) return { state: 'cancelled', exitCode: null, logTail: '' };
      try {
        state = await this.submit(state, runDir, options);
      } catch (err) {
        if (options.signal?.aborted) return detachedOutcome();
        throw err;
      }
    } else {
      options.onUpdate({ kind: 'submitted', external: state.external });
    }
    return this.follow(state, runDir, options);
  }

  async cancel(runDir: string, signal?: AbortSignal): Promise<void> {
    let state = this.stateOf(runDir);
    if (!state.external) {
      if (!this.remote.findUnconfirmed) {
        // Never confirmed: resending the submission (idempotent) is the only way to learn its id.
        state = await this.submit(state, runDir, { onUpdate: () => undefined, ...(signal ? { signal } : {}) });
      } else {
        // Never confirmed: look for it. Creating it only to cancel it would be waste.
        const found = state.submittedAt ? await this.remote.findUnconfirmed(state, signal) : undefined;
        if (!found) {
          (state.submission as Abandonable).abandoned = true;
          writeRemoteRun(runDir, state);
          return;
        }
        state.external = { id: found.id };
        const url = await this.remote.runPageUrl(state, found.id, signal).catch(() => undefined);
        if (url) state.external.url = url;
        writeRemoteRun(runDir, state);
      }
    }
    await this.remote.cancel(state, signal);
  }

  private stateOf(runDir: string): RemoteRunState<S> {
    const { label } = this.remote;
    const state = readRemoteRun<S>(runDir);
    if (!state && existsSync(path.join(runDir, 'jobspec.json'))) {
      throw new UsageError(`run ${path.basename(runDir)} was never submitted to ${label}: it stopped before its uploads were done`, {
        code: 'MM503',
        nextSteps: ['Start it again (train or score); files already uploaded are not sent twice.'],
      });
    }
    if (!state || state.engine !== this.engine) {
      throw new UsageError(`run ${path.basename(runDir)} is not a ${label} run`, {
        code: 'MM503',
        nextSteps: [`Only runs of a ${this.engine} target can be watched or cancelled here; list runs with: manymodels runs list`],
      });
    }
    return state;
  }

  // ---- prepare: plan, upload, build and record the submission ----

  private async prepare(sub: Submission, options: RunOptions): Promise<RemoteRunState<S>> {
    await this.remote.preflight?.(options.signal);
    const layout = await this.remote.layout(sub.runId);
    const { items, entryItems, inputs } = await planSubmission(sub, layout);
    options.onUpdate({ kind: 'state', state: 'queued', message: `uploading to ${layout.cas.uri()}` });
    const uploaded = await uploadContentAddressed(layout.cas, items, options.signal ? { signal: options.signal } : {});
    if (layout.entryCas && entryItems.length) {
      const more = await uploadContentAddressed(layout.entryCas, entryItems, options.signal ? { signal: options.signal } : {});
      uploaded.uploaded += more.uploaded;
      uploaded.skipped += more.skipped;
    }
    options.onUpdate({ kind: 'state', state: 'queued', message: `uploaded ${uploaded.uploaded} file${uploaded.uploaded === 1 ? '' : 's'} (${uploaded.skipped} already there)` });
    const state: RemoteRunState<S> = {
      specVersion: 1,
      engine: this.engine,
      runId: sub.runId,
      stage: sub.stage,
      external: null,
      submission: await this.remote.submission(inputs, layout),
      submittedAt: null,
      collectedAt: null,
    };
    // Before the submit: a CLI killed mid-request leaves what `runs watch` needs to resend or find it.
    writeRemoteRun(sub.runDir, state);
    return state;
  }

  // ---- submit ----

  private async submit(state: RemoteRunState<S>, runDir: string, options: RunOptions): Promise<RemoteRunState<S>> {
    const { signal } = options;
    // Sent before (by this process or one that was stopped): it may exist already.
    const maybeSent = state.submittedAt !== null;
    state.submittedAt ??= new Date().toISOString();
    writeRemoteRun(runDir, state);
    const { id } = await this.remote.submit(state, { maybeSent, ...(signal ? { signal } : {}) });
    const external: { id: string; url?: string } = { id };
    state.external = external;
    writeRemoteRun(runDir, state);
    try {
      const url = await this.remote.runPageUrl(state, id, signal);
      if (url) {
        external.url = url;
        writeRemoteRun(runDir, state);
      }
    } catch (err) {
      if (signal?.aborted) throw err;
      // The page is a convenience; the watch reads the run again anyway.
    }
    options.onUpdate({ kind: 'submitted', external });
    return state;
  }

  // ---- follow: poll, tail events, collect ----

  private async follow(state: RemoteRunState<S>, runDir: string, options: RunOptions): Promise<RunOutcome> {
    const { signal } = options;
    const remote = this.remote;
    const outputs = await remote.outputs(state);
    const followed = await followRemoteRun<R>({
      runDir,
      stage: state.stage,
      store: outputs.store,
      outputsPath: outputs.path,
      read: (s) => remote.getState(state, s),
      key: (r) => remote.status(r).key,
      isTerminal: (r) => remote.status(r).terminal,
      mayHaveOutputs: (r) => remote.status(r).mayHaveOutputs,
      describe: (r) => {
        const s = remote.status(r);
        return { state: s.state, message: s.message };
      },
      intervalMs: remote.pollIntervalMs,
      onUpdate: options.onUpdate,
      ...(signal ? { signal } : {}),
      ...this.clock(),
    });
    if (followed.detached) return detachedOutcome();

    let ending;
    try {
      ending = await remote.fetchEnding(state, followed.last, signal);
    } catch (err) {
      if (signal?.aborted) return detachedOutcome();
      throw err;
    }
    const logs = redactSecrets(ending.logs);
    if (logs.trim()) writeFileSync(path.join(runDir, 'runtime.log'), logs.endsWith('\n') ? logs : `${logs}\n`);
    state.collectedAt = new Date().toISOString();
    writeRemoteRun(runDir, state);

    const result = remote.status(followed.last).state;
    const outcome: RemoteOutcomeInput = {
      result: result === 'succeeded' ? 'succeeded' : result === 'cancelled' ? 'cancelled' : 'failed',
      logTail: ending.logTail,
      remote: () => {
        const said = ending.remote();
        if (state.external?.url) said.url = state.external.url;
        return said;
      },
    };
    if (followed.manifest) outcome.manifest = followed.manifest;
    if (followed.error) outcome.error = followed.error;
    if (ending.seconds !== undefined) outcome.seconds = ending.seconds;
    return remoteRunOutcome(outcome);
  }

  /** The follow loop's clock and sleep (tests inject them). */
  protected clock(): { sleep?: (ms: number, signal?: AbortSignal) => Promise<void>; now?: () => number } {
    return {};
  }
}
