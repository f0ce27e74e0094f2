// `manymodels plan`'s measurements on this machine: the embedded reader prepares the input as
// a training run's would (timed cold, then reused as the next run reuses it), then the
// runtime's plan stage (manymodels_entry.py plan, plan_probe.py) profiles every group and
// trains the pilot sample through the local executor's worker pool. Spawn to exit is timed
// too: what the runtime does not measure itself is its start-up.
import { spawn } from 'node:child_process';
import { mkdirSync, mkdtempSync, readFileSync, rmSync } from 'node:fs';
import path from 'node:path';
import type { JobSpec } from '../../contracts/job-spec.js';
import { canonicalJson } from '../../core/canonical-json.js';
import { InterruptedError, UsageError, WorkFailedError, storageErrorFrom } from '../../core/errors.js';
import { runtimeDir } from '../../core/package-root.js';
import { redactOutput } from '../../core/redact.js';
import { InputProblem } from './input-files.js';
import { prepareLocalInput } from './local-backend.js';
import { findPython, runtimeEnv } from './python.js';

/** One pilot group as the runtime measured it in its worker. */
export interface PilotGroup {
  groupId: string;
  modelName: string;
  keys: Record<string, string>;
  /** Relative to the probe's folder, with the sha256 the runtime recorded (ok groups). */
  artifact: string | null;
  sha256: string | null;
  metrics: Record<string, number | null>;
  rows: number;
  /** What screen_columns found (ok, stale, short, constant, …). */
  kind: string;
  status: 'ok' | 'failed' | 'skipped';
  /** Slice + checks + fit + holdout + refit + artifact write, in the worker (wall time). */
  seconds: number;
  /** The part of `seconds` the worker waited on the run queue for a CPU (Linux's schedstat; null elsewhere). */
  waitSeconds: number | null;
  /** On a worker's first group that reaches a fit, run once before apart: what that first run took more (imports, a library's start). */
  warmUpSeconds: number | null;
  artifactBytes: number | null;
  fitSeconds: number | null;
}

/** What plan_probe.py writes (docs/plan.md). */
export interface ProbeDocument {
  rows: number;
  fromCache: boolean;
  fingerprint: string;
  seconds: { setup: number; read: number; group: number; profile: number };
  bytesPerRow: number;
  groups: {
    count: number;
    sizes: number[];
    kinds: Record<string, number>;
    /** 1 per group that reaches its fit, in group order. */
    fitted: number[];
    /** The largest groups: [index into sizes, key values]. */
    mapped: Array<[number, string[]]>;
    largest: Array<{ keys: Record<string, string>; rows: number }>;
  };
  timeRange: { start: string; end: string } | null;
  pilot: {
    workers: number;
    /** The CPUs the runtime may run on. */
    cores: number;
    wallSeconds: number;
    /** The pool's own time: its wall less its busiest worker's (forking, dispatch, joining). */
    poolSeconds: number;
    manifestSeconds: number;
    groups: PilotGroup[];
  };
}

export interface ProbeResult {
  doc: ProbeDocument;
  /** The probe's folder (the pilot's artifacts and manifest): the caller removes it. */
  folder: string;
  /** The embedded reader: its first preparation (a parse and cache write, unless the entry existed) and a second one (what the next run pays). */
  input: { reader: 'duckdb' | 'python'; firstSeconds: number; reuseSeconds: number; parsed: boolean };
  /** Spawn to exit of the runtime, and the part of it the runtime did not measure itself (interpreter start, imports, writing its document). */
  processSeconds: number;
  startSeconds: number;
  notes: string[];
}

export interface ProbeOptions {
  env: Record<string, string | undefined>;
  spec: JobSpec;
  projectRoot: string;
  workers: number;
  pilot: number;
  seed: number;
  signal?: AbortSignal;
}

const MAX_LOG = 4000;

export async function runPlanProbe(o: ProbeOptions): Promise<ProbeResult> {
  const notes: string[] = [];
  const cacheDir = path.join(o.projectRoot, '.manymodels', 'cache');
  let entry: string | undefined;
  let firstSeconds = 0;
  let reuseSeconds = 0;
  let parsed = false;
  try {
    const t0 = performance.now();
    entry = await prepareLocalInput(o.env, o.spec, o.projectRoot, o.workers, notes, o.signal);
    firstSeconds = (performance.now() - t0) / 1000;
    parsed = entry !== undefined && !notes.some((n) => n.includes('cache entry, reused'));
    if (entry !== undefined) {
      const t1 = performance.now();
      entry = await prepareLocalInput(o.env, o.spec, o.projectRoot, o.workers, [], o.signal);
      reuseSeconds = (performance.now() - t1) / 1000;
    }
  } catch (err) {
    if (err instanceof InputProblem) throw new UsageError(redactOutput(err.message), { code: err.code });
    throw storageErrorFrom(err as NodeJS.ErrnoException, cacheDir) ?? err;
  }

  mkdirSync(cacheDir, { recursive: true });
  const scratch = mkdtempSync(path.join(cacheDir, 'plan-'));
  try {
    const args = [path.join(runtimeDir(), 'manymodels_entry.py'), 'plan', '--spec', '-', '--out', scratch,
      '--pilot', String(o.pilot), '--seed', String(o.seed), '--workers', String(o.workers), '--cache-dir', cacheDir];
    if (entry !== undefined) args.push('--input-entry', entry);
    const t0 = performance.now();
    const { code, stderr } = await runChild(findPython(o.env), args, o, canonicalJson(o.spec));
    const processSeconds = (performance.now() - t0) / 1000;
    if (o.signal?.aborted) throw new InterruptedError('interrupted');
    if (code !== 0) {
      const log = redactOutput(stderr).slice(-MAX_LOG);
      const coded = [...log.matchAll(/error (MM\d{3}): (.+)/g)].pop();
      if (coded) throw new UsageError(coded[2]!.trim(), { code: coded[1]! });
      throw new WorkFailedError(`the plan's profile and pilot stopped (exit ${String(code)}): ${log.trim().split('\n').slice(-5).join('\n')}`, { code: 'MM806' });
    }
    const doc = JSON.parse(readFileSync(path.join(scratch, 'plan.json'), 'utf8')) as ProbeDocument;
    const measured = doc.seconds.setup + doc.seconds.read + doc.seconds.group + doc.seconds.profile + doc.pilot.wallSeconds + doc.pilot.manifestSeconds;
    return {
      doc,
      folder: scratch,
      input: { reader: entry !== undefined ? 'duckdb' : 'python', firstSeconds, reuseSeconds, parsed },
      processSeconds,
      startSeconds: Math.max(0, processSeconds - measured),
      notes,
    };
  } catch (err) {
    rmSync(scratch, { recursive: true, force: true });
    throw err;
  }
}

function runChild(python: string, args: string[], o: ProbeOptions, stdin: string): Promise<{ code: number | null; stderr: string }> {
  return new Promise((resolve) => {
    const child = spawn(python, args, {
      cwd: o.projectRoot,
      env: runtimeEnv(o.env, { MANYMODELS_DIE_WITH_PARENT: '1' }),
      stdio: ['pipe', 'ignore', 'pipe'],
      detached: true,
    });
    let stderr = '';
    child.stderr.setEncoding('utf8');
    child.stderr.on('data', (chunk: string) => {
      stderr = (stderr + chunk).slice(-4 * MAX_LOG);
    });
    child.stdin.on('error', () => undefined);
    child.stdin.end(stdin);
    const stop = (): void => {
      try {
        if (child.pid !== undefined) process.kill(-child.pid, 'SIGTERM');
      } catch {
        // already gone
      }
    };
    o.signal?.addEventListener('abort', stop, { once: true });
    child.on('error', (err) => resolve({ code: null, stderr: `${stderr}\n${err.message}` }));
    child.on('close', (code) => {
      o.signal?.removeEventListener('abort', stop);
      resolve({ code, stderr });
    });
  });
}
