// The Python side of `manymodels serve`: a pool of long-lived scoring processes
// (pyspark-templates/serve_entry.py → manymodels_runtime/serve_worker.py), each with its own
// LRU of loaded models, spoken to in NDJSON over stdin/stdout. A request goes to the worker
// that owns its model (a hash of the model name), so a model is loaded by one process, once.
// A worker that dies is started again; the requests it held fail with its last words.
import { spawn, type ChildProcessWithoutNullStreams } from 'node:child_process';
import path from 'node:path';
import { createInterface } from 'node:readline';
import { runtimeDir } from '../../core/package-root.js';
import { redactOutput } from '../../core/redact.js';
import { findPython, runtimeEnv } from './python.js';

/** What a scoring worker needs to know of a pipeline (the fields of the runtime's ScoreContext). */
export interface ScoringContext {
  task: string;
  time: string | null;
  features: string[];
  frequency: string | null;
  horizon: number | null;
  custom: { path: string; sha256: string } | null;
  /** `period`: times are integer period numbers (written as such), not dates. */
  timeKind: 'date' | 'period';
}

export interface ScoringModel {
  name: string;
  version: string;
  artifactUri: string;
  sha256: string;
  groupId: string;
  keys: Record<string, string>;
}

export interface ScoringRequest {
  pipeline: string;
  model: ScoringModel;
  horizon?: number;
  rows?: Array<Record<string, unknown>>;
}

interface ReplyBase {
  loaded: boolean;
  evicted: number;
  cachedBytes: number;
  cachedModels: number;
  loadSeconds?: number;
}
export type ScoringReply =
  | (ReplyBase & {
      ok: true;
      times: Array<string | null>;
      origin: string | null;
      /** A number, or a classification's text label (the artifact's label map). */
      predictions: Array<number | string | null>;
      /** Classification: {class: probability} per prediction, when the model gives them. */
      probabilities?: Array<Record<string, number> | null>;
    })
  | (ReplyBase & { ok: false; kind: 'integrity' | 'failed' | 'worker'; errorClass: string; message: string });

const RESTART_DELAY_MS = 1_000;

interface Pending {
  resolve: (r: ScoringReply) => void;
}

/** Why a worker stopped, from its last words: a traceback's last file line and its last line. */
function lastWords(tail: string[], fallback: string): string {
  const last = tail.at(-1);
  if (!last) return fallback;
  const file = [...tail].reverse().find((l) => /^\s*File "/.test(l));
  return file && file !== last ? `${last.trim()} (${file.trim()})` : last.trim();
}

class Worker {
  child!: ChildProcessWithoutNullStreams;
  readonly pending = new Map<number, Pending>();
  cachedBytes = 0;
  cachedModels = 0;
  alive = false;
  /** The worker has imported the runtime and said so ({"op": "ready"}). */
  ready = false;
  /** Why the last start ended before the worker was ready (null once one started). */
  startError: string | null = null;
  /** Settles when the first start is ready, or fails with why it stopped before. */
  readonly firstStart: Promise<void>;
  private settleFirst: ((error: string | null) => void) | null = null;
  private tail: string[] = [];
  private stopping = false;

  constructor(
    private readonly start: () => ChildProcessWithoutNullStreams,
    private readonly pipelines: Map<string, ScoringContext>,
    private readonly onRestart: () => void,
  ) {
    this.firstStart = new Promise<void>((resolve, reject) => {
      this.settleFirst = (error) => {
        this.settleFirst = null;
        if (error === null) resolve();
        else reject(new Error(error));
      };
    });
    this.firstStart.catch(() => undefined);
    this.spawn();
  }

  private spawn(): void {
    const child = this.start();
    this.child = child;
    this.alive = true;
    this.ready = false;
    this.tail = [];
    child.stdin.on('error', () => undefined);
    child.stderr.setEncoding('utf8');
    child.stderr.on('data', (chunk: string) => {
      for (const line of chunk.split('\n')) if (line.trim()) this.tail.push(redactOutput(line));
      if (this.tail.length > 20) this.tail.splice(0, this.tail.length - 20);
    });
    createInterface({ input: child.stdout }).on('line', (line) => {
      if (!line.trim()) return;
      const reply = JSON.parse(line) as ScoringReply & { id: number; op?: string };
      if (reply.op === 'ready') {
        this.ready = true;
        this.startError = null;
        this.settleFirst?.(null);
        return;
      }
      this.cachedBytes = reply.cachedBytes;
      this.cachedModels = reply.cachedModels;
      const p = this.pending.get(reply.id);
      this.pending.delete(reply.id);
      p?.resolve(reply);
    });
    child.on('exit', (code, signal) => {
      const why = lastWords(this.tail, `exit ${code ?? signal}`);
      if (!this.ready) {
        // It stopped before it could score anything: the runtime cannot start (an import failed).
        this.startError = why;
        this.settleFirst?.(why);
      }
      this.ready = false;
      for (const [, p] of this.pending) p.resolve({ ok: false, kind: 'worker', errorClass: 'WorkerExited', message: `the scoring worker stopped (${why})`, loaded: false, evicted: 0, cachedBytes: 0, cachedModels: 0 });
      this.pending.clear();
      this.cachedBytes = 0;
      this.cachedModels = 0;
      this.alive = false;
      if (!this.stopping) {
        this.onRestart();
        // After a pause, so a worker that cannot start does not spin; requests meanwhile are
        // answered at once as failed (503), never held.
        setTimeout(() => this.stopping || this.spawn(), RESTART_DELAY_MS).unref();
      }
    });
    for (const [name, ctx] of this.pipelines) this.send({ op: 'pipeline', name, ctx });
  }

  send(msg: object): void {
    this.child.stdin.write(`${JSON.stringify(msg)}\n`);
  }

  stop(): Promise<void> {
    this.stopping = true;
    if (this.child.exitCode !== null || this.child.signalCode !== null) return Promise.resolve();
    return new Promise((resolve) => {
      const timer = setTimeout(() => this.child.kill('SIGKILL'), 5_000);
      this.child.once('exit', () => (clearTimeout(timer), resolve()));
      this.child.stdin.end();
    });
  }
}

export interface ScoringWorkersOptions {
  workers: number;
  /** The whole cache budget, shared out evenly over the workers. */
  cacheBytes: number;
  cacheModels: number;
  projectRoot: string;
  env: Record<string, string | undefined>;
  pipelines: Map<string, ScoringContext>;
  /** Called when a worker had to be started again. */
  onRestart?: () => void;
}

export class ScoringWorkers {
  private readonly pool: Worker[];
  private nextId = 1;

  constructor(options: ScoringWorkersOptions) {
    const python = findPython(options.env);
    const n = Math.max(1, options.workers);
    const perBytes = Math.floor(options.cacheBytes / n);
    const perModels = Math.max(1, Math.ceil(options.cacheModels / n));
    const start = (): ChildProcessWithoutNullStreams =>
      spawn(python, [path.join(runtimeDir(), 'serve_entry.py'), '--cache-bytes', String(perBytes), '--cache-models', String(perModels)], {
        cwd: options.projectRoot,
        env: runtimeEnv(options.env),
        stdio: ['pipe', 'pipe', 'pipe'],
      });
    this.pool = Array.from({ length: n }, () => new Worker(start, options.pipelines, options.onRestart ?? (() => undefined)));
  }

  get size(): number {
    return this.pool.length;
  }

  /**
   * Resolves once every worker has started (imported the runtime); fails with the first one's
   * reason when a worker stops before it is ready, or after `timeoutMs`.
   */
  async started(timeoutMs = 120_000): Promise<void> {
    let timer: NodeJS.Timeout | undefined;
    const timeout = new Promise<never>((_, reject) => {
      timer = setTimeout(() => reject(new Error(`the scoring workers did not start within ${Math.round(timeoutMs / 1000)} s`)), timeoutMs);
    });
    try {
      await Promise.race([Promise.all(this.pool.map((w) => w.firstStart)), timeout]);
    } finally {
      clearTimeout(timer);
    }
  }

  /** Workers not able to score now, each with why: none when all are running. */
  problems(): string[] {
    return this.pool.flatMap((w, i) =>
      w.ready ? [] : [w.alive ? `worker ${i + 1} is starting${w.startError ? ` again after it could not start: ${w.startError}` : ''}` : `worker ${i + 1} stopped${w.startError ? ` and could not start: ${w.startError}` : ''}; it is started again`],
    );
  }

  /** Bytes and models held in every worker's cache, as of their last replies. */
  cached(): { bytes: number; models: number } {
    return this.pool.reduce((a, w) => ({ bytes: a.bytes + w.cachedBytes, models: a.models + w.cachedModels }), { bytes: 0, models: 0 });
  }

  /** The worker that owns a model: the same one for every request for it. */
  ownerOf(modelName: string): number {
    let h = 2166136261;
    for (let i = 0; i < modelName.length; i++) h = Math.imul(h ^ modelName.charCodeAt(i), 16777619);
    return (h >>> 0) % this.pool.length;
  }

  predict(request: ScoringRequest): Promise<ScoringReply> {
    const worker = this.pool[this.ownerOf(request.model.name)]!;
    const id = this.nextId++;
    if (!worker.alive) {
      return Promise.resolve({ ok: false, kind: 'worker', errorClass: 'WorkerRestarting', message: 'the scoring worker that owns this model stopped and is starting again', loaded: false, evicted: 0, cachedBytes: 0, cachedModels: 0 });
    }
    return new Promise((resolve) => {
      worker.pending.set(id, { resolve });
      worker.send({ op: 'predict', id, ...request });
    });
  }

  async close(): Promise<void> {
    await Promise.all(this.pool.map((w) => w.stop()));
  }
}
