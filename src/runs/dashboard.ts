// What `manymodels dashboard` reads, as one source it polls: the run history, the live counts
// of running runs (from the events the CLI that runs them writes to events.ndjson as they
// arrive), a run's detail (manifest or promotion report) and production vs candidate models
// by group. Read-only, except the two actions the dashboard asks before taking: cancelling a
// remote run and retraining a run's failed groups, both by starting the CLI as a child process
// so the dashboard's screen stays its own.
import { spawn } from 'node:child_process';
import { closeSync, existsSync, fstatSync, openSync, readFileSync, readSync, statSync } from 'node:fs';
import path from 'node:path';
import type { AzureContext } from '../contracts/azure.js';
import { RUN_MANIFEST_FILE, type RunManifest, type RunRecord } from '../contracts/runs.js';
import { packageRoot } from '../core/package-root.js';
import type { PromotionDecision, PromotionSummary } from '../pipeline/promotion-rules.js';
import type { Project } from '../pipeline/project.js';
import { readRunManifest } from '../jobs/run-manifest.js';
import { liveRecord } from '../jobs/run-store.js';
import { listRunsPage } from './history.js';
import { listModels, type ModelVersion } from './models.js';
import { openRunStore } from './open.js';

export interface LiveCounts {
  done: number;
  ok: number;
  failed: number;
  skipped: number;
  total: number;
  /** When the runtime said it started, and when it last reported (ms since the epoch). */
  startedAt: number | null;
  updatedAt: number | null;
}

/** Where reading a run's events starts the first time: its last 256 KiB (the newest events are at the end). */
const TAIL_BYTES = 256 * 1024;

/**
 * Follows a run's events.ndjson as the CLI running it appends to it: the first read takes the
 * file's tail, each later one only the lines added since (a refresh of a 10,000-group run
 * does not parse its events again). The latest progress (or summary) event wins; a line
 * still being written (no newline yet) waits for the next read.
 */
export class EventsFollower {
  private ino = -1;
  private offset = 0;
  private rest: Buffer = Buffer.alloc(0);
  private counts: LiveCounts | null = null;
  private startedAt: number | null = null;
  private skipFirst = false;

  constructor(private readonly file: string) {}

  read(): LiveCounts | null {
    let fd: number;
    try {
      fd = openSync(this.file, 'r');
    } catch {
      this.reset(-1);
      return null;
    }
    try {
      const st = fstatSync(fd);
      // Replaced or cut short (a resumed run starts its events again): read it afresh.
      if (st.ino !== this.ino || st.size < this.offset) this.reset(st.ino, st.size);
      if (st.size > this.offset) {
        const chunk = Buffer.alloc(st.size - this.offset);
        const n = readSync(fd, chunk, 0, chunk.length, this.offset);
        this.offset += n;
        let text = Buffer.concat([this.rest, chunk.subarray(0, n)]);
        const last = text.lastIndexOf(0x0a);
        this.rest = Buffer.from(text.subarray(last + 1));
        text = text.subarray(0, last + 1);
        for (const line of text.toString('utf8').split('\n')) this.apply(line);
      }
    } finally {
      closeSync(fd);
    }
    return this.counts;
  }

  private reset(ino: number, size = 0): void {
    this.ino = ino;
    this.counts = null;
    this.startedAt = null;
    this.offset = Math.max(0, size - TAIL_BYTES);
    this.rest = Buffer.alloc(0);
    // Mid-file: the first line is a piece of one; skip up to its end.
    this.skipFirst = this.offset > 0;
  }

  private apply(line: string): void {
    if (this.skipFirst) {
      this.skipFirst = false;
      return;
    }
    if (!line.startsWith('{')) return;
    let e: Record<string, unknown>;
    try {
      e = JSON.parse(line) as Record<string, unknown>;
    } catch {
      return; // not an event
    }
    const ts = typeof e.ts === 'string' ? Date.parse(e.ts) : NaN;
    if (e.event === 'start') {
      this.startedAt = Number.isFinite(ts) ? ts : null;
      this.counts = { done: 0, ok: 0, failed: 0, skipped: 0, total: Number(e.total ?? 0), startedAt: this.startedAt, updatedAt: this.startedAt };
    } else if (e.event === 'progress' || e.event === 'summary') {
      const c = (e.event === 'summary' ? e.counts : e) as Record<string, unknown> | undefined;
      if (!c) return;
      const total: number = Number(c.total ?? this.counts?.total ?? 0);
      this.counts = {
        done: e.event === 'summary' ? total : Number(c.done ?? 0),
        ok: Number(c.ok ?? 0),
        failed: Number(c.failed ?? 0),
        skipped: Number(c.skipped ?? 0),
        total,
        startedAt: this.startedAt,
        updatedAt: Number.isFinite(ts) ? ts : null,
      };
    }
  }
}

/** Counts from a run's events.ndjson, read once: the latest progress (or summary) event wins. */
export function liveCounts(stateDir: string, runId: string): LiveCounts | null {
  return new EventsFollower(path.join(stateDir, 'runs', runId, 'events.ndjson')).read();
}

export interface RunDetailView {
  run: RunRecord;
  manifest?: RunManifest;
  promotion?: { summary: PromotionSummary; decisions: PromotionDecision[] };
  live?: LiveCounts | null;
}

export interface GroupModels {
  groupId: string;
  name: string;
  keys: Record<string, string>;
  candidate: ModelVersion | null;
  production: ModelVersion | null;
}

export interface DashboardSource {
  /** Where the project lives, for the header. */
  title: string;
  runs(): RunRecord[];
  live(run: RunRecord): LiveCounts | null;
  detail(id: string): RunDetailView;
  models(): Promise<GroupModels[]>;
  /** Starts `manymodels runs cancel RUN` in the background; resolves with its exit code. */
  cancel(run: RunRecord): Promise<number>;
  /** Starts `manymodels train PIPELINE --resume RUN` in the background; resolves with its exit code. */
  retrain(run: RunRecord): Promise<number>;
}

export interface DashboardOptions {
  project: Project;
  context: AzureContext;
  /** How the project was named on the command line, so child commands load the same file and target. */
  file: string;
  target?: string;
  cwd: string;
  env: Record<string, string | undefined>;
  /** The CLI entry for child commands (default: this package's bin). */
  bin?: string;
}

/**
 * What was read from a file, kept while the file is unchanged (same size, modification time and
 * inode: the runtime writes a manifest aside and renames it). The dashboard reads the open run
 * and every running run's events once a refresh; a finished run's 10,000-group manifest is
 * parsed once, not every second. `undefined` when the file is missing.
 */
export function unchangedFileCache<T>(read: (file: string) => T, size = 16): (file: string) => T | undefined {
  const kept = new Map<string, { stamp: string; value: T }>();
  return (file) => {
    let stamp: string;
    try {
      const st = statSync(file);
      stamp = `${st.size}:${st.mtimeMs}:${st.ino}`;
    } catch {
      kept.delete(file);
      return undefined;
    }
    const hit = kept.get(file);
    if (hit && hit.stamp === stamp) return hit.value;
    const value = read(file);
    kept.delete(file);
    kept.set(file, { stamp, value });
    if (kept.size > size) kept.delete(kept.keys().next().value!);
    return value;
  };
}

const RUN_LIMIT = 500;
const MODEL_LIMIT = 20_000;

export function dashboardSource(o: DashboardOptions): DashboardSource {
  const { project } = o;
  const stateDir = project.target.stateDir;
  const bin = o.bin ?? path.join(packageRoot(), 'bin', 'manymodels.js');
  const child = (args: string[]): Promise<number> =>
    new Promise((resolve) => {
      const all = [bin, ...args, '-f', o.file, ...(o.target ? ['--target', o.target] : [])];
      const p = spawn(process.execPath, all, { cwd: o.cwd, env: o.env as NodeJS.ProcessEnv, stdio: 'ignore' });
      p.on('error', () => resolve(4));
      p.on('close', (code) => resolve(code ?? 4));
    });
  const store = openRunStore(project);
  const manifests = unchangedFileCache((file) => readRunManifest(path.dirname(file)), 2);
  // One follower per running run, dropped when the run is no longer running.
  const followers = new Map<string, EventsFollower>();
  const live = (run: RunRecord): LiveCounts | null => {
    if (run.state !== 'running' && run.state !== 'queued') {
      followers.delete(run.id);
      return null;
    }
    let f = followers.get(run.id);
    if (!f) followers.set(run.id, (f = new EventsFollower(path.join(store.runDir(run.id), 'events.ndjson'))));
    return f.read();
  };
  return {
    title: `${project.name} · ${project.file.displayPath} · target ${project.target.name} (${project.target.engine})`,
    runs: () => listRunsPage(project, { limit: RUN_LIMIT }).runs,
    live,
    detail(id) {
      const run = liveRecord(store.get(id));
      const manifest = run.stage === 'promote' ? undefined : manifests(path.join(store.runDir(run.id), RUN_MANIFEST_FILE));
      const view: RunDetailView = manifest ? { run, manifest } : { run };
      if (run.stage === 'promote') {
        const file = path.join(stateDir, 'runs', run.id, 'promotion-report.json');
        if (existsSync(file)) {
          try {
            view.promotion = JSON.parse(readFileSync(file, 'utf8')) as NonNullable<RunDetailView['promotion']>;
          } catch {
            // a report being written: shown on the next refresh
          }
        }
      }
      if (run.state === 'running' || run.state === 'queued') view.live = live(run);
      return view;
    },
    async models() {
      const [candidates, production] = await Promise.all([
        listModels({ project, production: false, context: o.context }, { tags: {}, limit: MODEL_LIMIT }),
        listModels({ project, production: true, context: o.context }, { tags: {}, limit: MODEL_LIMIT }),
      ]);
      const byGroup = new Map<string, GroupModels>();
      const entry = (v: ModelVersion): GroupModels => {
        const key = v.groupId || v.name;
        let e = byGroup.get(key);
        if (!e) byGroup.set(key, (e = { groupId: v.groupId, name: v.name, keys: v.keys, candidate: null, production: null }));
        return e;
      };
      const newer = (a: ModelVersion | null, b: ModelVersion): boolean => !a || Number(b.version) > Number(a.version) || (Number.isNaN(Number(b.version)) && b.createdAt > a.createdAt);
      for (const v of candidates.value) {
        const e = entry(v);
        if (newer(e.candidate, v)) e.candidate = v;
      }
      for (const v of production.value) {
        const e = entry(v);
        if (newer(e.production, v)) e.production = v;
      }
      return [...byGroup.values()];
    },
    cancel: (run) => child(['runs', 'cancel', run.id]),
    retrain: (run) => child(['train', run.pipeline, '--resume', run.id]),
  };
}
