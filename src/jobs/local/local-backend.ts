// The embedded local engine: runs the Python runtime's entry script in a child process
// (its LocalExecutor fans groups out over every core) and reads its NDJSON events on a pipe.
import { spawn } from 'node:child_process';
import { createWriteStream, writeFileSync } from 'node:fs';
import path from 'node:path';
import { createInterface } from 'node:readline';
import { packageRoot, runtimeDir } from '../../core/package-root.js';
import type { JobBackend, Submission } from '../backend.js';
import type { RunOutcome, RunUpdate, RuntimeEvent } from '../../contracts/runs.js';
import { canonicalJson } from '../../core/canonical-json.js';
import { storageErrorFrom } from '../../core/errors.js';
import { redactOutput } from '../../core/redact.js';
import { RedactingLines } from '../../core/state-file.js';
import { runtimeArgs } from '../runtime-args.js';
import { findPython, runtimeEnv, sqlCredentialsEnv } from './python.js';
import { InputProblem, inputReaderFor } from './input-files.js';

/** Ends a write stream; resolves whether it ended or failed (its error is handled where it was opened). */
function endStream(stream: ReturnType<typeof createWriteStream>): Promise<void> {
  return new Promise((resolve) => {
    if (stream.destroyed) resolve();
    else {
      stream.once('error', () => resolve());
      stream.end(() => resolve());
    }
  });
}

const TAIL_LINES = 40;

/** The built parquet writer the runtime's parquet sink runs (dist/, so `npm run build` first). */
export function parquetWriterScript(): string {
  return path.join(packageRoot(), 'dist', 'jobs', 'local', 'parquet-writer.js');
}

/**
 * The embedded reader (DuckDB) reads the input into a parsed-input cache entry before the
 * runtime starts, unless inputReaderFor leaves the reading to the runtime's own reader; so do
 * inputs DuckDB does not read as the runtime does (another text encoding) and a machine
 * where the DuckDB package does not load (a note says so). The entry's path, or undefined:
 * the runtime reads the input itself. Also used by `manymodels plan` (plan-probe.ts).
 */
export async function prepareLocalInput(env: Record<string, string | undefined>, spec: Submission['spec'], projectRoot: string, workers: number, notes: string[], signal?: AbortSignal): Promise<string | undefined> {
  if (inputReaderFor(env, spec, projectRoot) === 'python') return undefined;
  let reader: typeof import('./duckdb-reader.js');
  try {
    reader = await import('./duckdb-reader.js');
    await import('@duckdb/node-api');
  } catch (err) {
    notes.push(`the embedded reader (DuckDB) did not load (${err instanceof Error ? err.message.split('\n')[0] : String(err)}); the runtime reads the input itself`);
    return undefined;
  }
  const prepared = await reader.prepareInput(spec, projectRoot, path.join(projectRoot, '.manymodels', 'cache'), workers, signal ? { signal } : {});
  if (!prepared) return undefined;
  notes.push(prepared.fromCache ? `input: the embedded reader's cache entry, reused (${prepared.seconds.toFixed(2)}s)` : `input: ${prepared.rows} rows read by the embedded reader (DuckDB) in ${prepared.seconds.toFixed(2)}s`);
  return prepared.entry;
}

export class LocalBackend implements JobBackend {
  readonly engine: string;

  /** `spark` runs the SparkExecutor in local[*] mode: the spark-local engine, needs pyspark. */
  constructor(
    private readonly env: Record<string, string | undefined>,
    private readonly executor: 'local' | 'spark' = 'local',
  ) {
    this.engine = executor === 'spark' ? 'spark-local' : 'local';
  }

  private async prepareInput(sub: Submission, notes: string[], signal?: AbortSignal): Promise<string | undefined> {
    if (this.executor !== 'local') return undefined;
    return prepareLocalInput(this.env, sub.spec, sub.projectRoot, sub.workers ?? sub.spec.execution.workers ?? 0, notes, signal);
  }

  /** A problem with the input found by the embedded reader: the run ends as the runtime ends it (MM41x, exit 2), before it starts. */
  private inputFailure(sub: Submission, problem: InputProblem, onUpdate: (update: RunUpdate) => void): RunOutcome {
    const message = redactOutput(problem.message);
    const event: RuntimeEvent = { event: 'error', code: problem.code, message };
    writeFileSync(path.join(sub.runDir, 'runtime.log'), `${problem.code}: ${message}\n`);
    writeFileSync(path.join(sub.runDir, 'events.ndjson'), `${JSON.stringify(event)}\n`);
    onUpdate({ kind: 'event', event });
    return { state: 'failed', exitCode: 2, logTail: `${problem.code}: ${message}`, error: { code: problem.code, message } };
  }

  async run(sub: Submission, options: { signal?: AbortSignal; onUpdate: (update: RunUpdate) => void }): Promise<RunOutcome> {
    const python = findPython(this.env);
    const notes: string[] = [];
    let inputEntry: string | undefined;
    try {
      inputEntry = await this.prepareInput(sub, notes, options.signal);
    } catch (err) {
      if (options.signal?.aborted) return { state: 'cancelled', exitCode: null, logTail: '' };
      if (err instanceof InputProblem) return this.inputFailure(sub, err, options.onUpdate);
      throw storageErrorFrom(err as NodeJS.ErrnoException, path.join(sub.projectRoot, '.manymodels', 'cache')) ?? err;
    }
    const args = [
      path.join(runtimeDir(), sub.spec.entryScript),
      ...runtimeArgs({
        // The spec as compiled, secrets and all, goes to the runtime on its stdin: the copy kept
        // in the run folder (sub.specPath) is redacted, and nothing else holds it on disk.
        spec: '-',
        runId: sub.runId,
        out: sub.runDir,
        events: '-',
        workers: sub.workers ?? sub.spec.execution.workers ?? 0,
        executor: this.executor,
        ...(sub.modelManifestPath ? { models: sub.modelManifestPath } : {}),
        ...(sub.onlyGroupsPath ? { onlyGroups: sub.onlyGroupsPath } : {}),
        ...(sub.skipGroupsPath ? { skipGroups: sub.skipGroupsPath } : {}),
        ...(inputEntry ? { inputEntry } : {}),
      }),
    ];

    // Ctrl-C while the input was read: nothing was started.
    if (options.signal?.aborted) return { state: 'cancelled', exitCode: null, logTail: '' };
    const child = spawn(python, args, {
      cwd: sub.projectRoot,
      // The runtime (and its workers) die with this process, even after a kill -9 of it.
      // The parquet sink's writer is this Node with the embedded DuckDB (parquet-writer.ts).
      env: runtimeEnv(this.env, { ...sqlCredentialsEnv(sub.spec, this.env), MANYMODELS_DIE_WITH_PARENT: '1', MANYMODELS_NODE: process.execPath, MANYMODELS_PARQUET_WRITER: parquetWriterScript() }),
      stdio: ['pipe', 'pipe', 'pipe'],
      // Its own process group, so stopping it reaches the worker processes it forked too
      // (they hold the output pipe open, and would outlive a signal sent to the parent only).
      detached: true,
    });
    const signalGroup = (signal: NodeJS.Signals): void => {
      try {
        if (child.pid !== undefined) process.kill(-child.pid, signal);
      } catch {
        // already gone
      }
    };
    // A runtime that dies before reading it closes the pipe: its exit says why, not EPIPE.
    child.stdin.on('error', () => undefined);
    child.stdin.end(canonicalJson(sub.spec));
    const killOnExit = (): void => signalGroup('SIGKILL');
    process.once('exit', killOnExit);
    options.onUpdate({ kind: 'state', state: 'running' });

    // A full disk under the run folder must not crash the CLI with an unhandled 'error' event:
    // the first write error is kept and the run ends failed with it (MM525).
    let writeError: RunOutcome['error'];
    const onWriteError = (file: string) => (err: NodeJS.ErrnoException): void => {
      writeError ??= { code: 'MM525', message: storageErrorFrom(err, file)?.message ?? `could not write ${file}: ${err.message}` };
    };
    // The runtime redacts what it writes; its stderr also holds what it did not write itself
    // (a traceback, a library's warning), so the log is redacted here again, line by line.
    const log = new RedactingLines(path.join(sub.runDir, 'runtime.log'));
    log.stream.on('error', onWriteError(path.join(sub.runDir, 'runtime.log')));
    for (const note of notes) log.write(`${note}\n`);
    const tail: string[] = [];
    let error: RunOutcome['error'];
    child.stderr.setEncoding('utf8');
    child.stderr.on('data', (chunk: string) => {
      for (const line of log.write(chunk).split('\n')) if (line.trim()) tail.push(line);
      if (tail.length > TAIL_LINES) tail.splice(0, tail.length - TAIL_LINES);
    });
    const events = createWriteStream(path.join(sub.runDir, 'events.ndjson'));
    events.on('error', onWriteError(path.join(sub.runDir, 'events.ndjson')));
    const lines = createInterface({ input: child.stdout });
    lines.on('line', (raw) => {
      if (!raw.trim()) return;
      // Redacted before anything reads it: events.ndjson, the run record, the screen.
      const line = redactOutput(raw);
      let event: RuntimeEvent;
      try {
        event = JSON.parse(line) as RuntimeEvent;
      } catch {
        log.write(`${line}\n`); // the runtime printed something that is not an event
        return;
      }
      events.write(`${line}\n`);
      if (event.event === 'error' && typeof event.code === 'string') error = { code: event.code, message: String(event.message ?? '') };
      options.onUpdate({ kind: 'event', event });
    });

    let cancelled = false;
    const onAbort = (): void => {
      cancelled = true;
      signalGroup('SIGTERM');
      // A runtime that ignores SIGTERM (a worker stuck in native code) is killed outright.
      setTimeout(() => signalGroup('SIGKILL'), 5000).unref();
    };
    options.signal?.addEventListener('abort', onAbort, { once: true });

    const exitCode = await new Promise<number | null>((resolve) => {
      child.on('error', () => resolve(null));
      child.on('close', (code) => resolve(code));
    });
    options.signal?.removeEventListener('abort', onAbort);
    process.removeListener('exit', killOnExit);
    const last = log.flush();
    if (last.trim()) tail.push(last);
    await Promise.all([log.end(), endStream(events)]);

    const outcome: RunOutcome = {
      state: cancelled ? 'cancelled' : exitCode === 0 ? 'succeeded' : 'failed',
      exitCode,
      logTail: tail.join('\n'),
    };
    if (error) outcome.error = error;
    else if (writeError && !cancelled) {
      outcome.state = 'failed';
      outcome.error = writeError;
    }
    return outcome;
  }
}
