// What `manymodels dashboard` reads, as one source it polls: the run history, the live counts
// of running runs (from the events the CLI that runs them writes to events.ndjson as they
// arrive), a run's detail (manifest or promotion report) and production vs candidate models
// by group. Read-only, except the two actions the dashboard asks before taking: cancelling a
// remote run and retraining a run's failed groups, both by starting the CLI as a child process
// so the dashboard's screen stays its own.
import { spawn } from 'node:child_process';
import { closeSync, existsSync, fstatSync, openSync, readFileSync, readSync } from 'node:fs';
import path from 'node:path';
import type { AzureContext } from '../contracts/azure.js';
import type { RunManifest, RunRecord } from '../contracts/runs.js';
import { packageRoot } from '../core/package-root.js';
import type { PromotionDecision, PromotionSummary } from '../pipeline/promotion-rules.js';
import type { Project } from '../pipeline/project.js';
import { listRunsPage, showRun } from './history.js';
import { listModels, type ModelVersion } from './models.js';

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

/** The last 256 KiB of a file: progress events are small and the newest is at the end. */
function tail(file: string, bytes = 256 * 1024): string {
  const fd = openSync(file, 'r');
  try {
    const size = fstatSync(fd).size;
    const start = Math.max(0, size - bytes);
    const buf = Buffer.alloc(size - start);
    readSync(fd, buf, 0, buf.length, start);
    const text = buf.toString('utf8');
    return start > 0 ? text.slice(text.indexOf('\n') + 1) : text;
  } finally {
    closeSync(fd);
  }
}

/** Counts from a run's events.ndjson: the latest progress (or summary) event wins. */
export function liveCounts(stateDir: string, runId: string): LiveCounts | null {
  const file = path.join(stateDir, 'runs', runId, 'events.ndjson');
  if (!existsSync(file)) return null;
  let out: LiveCounts | null = null;
  let startedAt: number | null = null;
  for (const line of tail(file).split('\n')) {
    if (!line.startsWith('{')) continue;
    let e: Record<string, unknown>;
    try {
      e = JSON.parse(line) as Record<string, unknown>;
    } catch {
      continue; // a line still being written
    }
    const ts = typeof e.ts === 'string' ? Date.parse(e.ts) : NaN;
    if (e.event === 'start') {
      startedAt = Number.isFinite(ts) ? ts : null;
      out = { done: 0, ok: 0, failed: 0, skipped: 0, total: Number(e.total ?? 0), startedAt, updatedAt: startedAt };
    } else if (e.event === 'progress' || e.event === 'summary') {
      const c = (e.event === 'summary' ? e.counts : e) as Record<string, unknown> | undefined;
      if (!c) continue;
      const total: number = Number(c.total ?? out?.total ?? 0);
      out = {
        done: e.event === 'summary' ? total : Number(c.done ?? 0),
        ok: Number(c.ok ?? 0),
        failed: Number(c.failed ?? 0),
        skipped: Number(c.skipped ?? 0),
        total,
        startedAt,
        updatedAt: Number.isFinite(ts) ? ts : null,
      };
    }
  }
  return out;
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
  return {
    title: `${project.name} · ${project.file.displayPath} · target ${project.target.name} (${project.target.engine})`,
    runs: () => listRunsPage(project, { limit: RUN_LIMIT }).runs,
    live: (run) => (run.state === 'running' || run.state === 'queued' ? liveCounts(stateDir, run.id) : null),
    detail(id) {
      const { run, manifest } = showRun(project, id);
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
      if (run.state === 'running' || run.state === 'queued') view.live = liveCounts(stateDir, run.id);
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
