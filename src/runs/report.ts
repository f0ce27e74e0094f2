// Everything `manymodels report` shows about one training run, gathered from what the run
// left behind: its manifest (metrics, failures, timings), the promotion that judged it, the
// latest scoring of the pipeline (the forecast horizon), and, from the Python runtime, the
// recent history and holdout forecast of a few sampled and worst groups.
import { spawn } from 'node:child_process';
import { existsSync, mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { DatabaseSync } from 'node:sqlite';
import type { GroupResult, RunManifest, RunRecord } from '../contracts/runs.js';
import type { JobSpec } from '../contracts/job-spec.js';
import { canonicalJson } from '../core/canonical-json.js';
import { runtimeDir } from '../core/package-root.js';
import { redactValue } from '../core/redact.js';
import { compileJobSpec } from '../pipeline/compile.js';
import { UsageError } from '../core/errors.js';
import { predictionFile, readFileForecasts } from '../jobs/local/prediction-files.js';
import { findPython, sqlCredentialsEnv } from '../jobs/local/python.js';
import { higherIsBetter } from '../pipeline/catalog.js';
import type { Project } from '../pipeline/project.js';
import { listRunsPage, showRun } from './history.js';
import { compareKeys, failureClasses, groupTable, keyColumnsOf, type FailureClass, type MetricSummary, type SelectionSummary } from './results.js';

export interface KeyBreakdown {
  column: string;
  /** One row per value of the key column, in key order. */
  values: Array<{ value: string; groups: number; failed: number; mean: number | null }>;
}

export interface SeriesPoint {
  time: number;
  value: number;
}

export interface GroupSeries {
  groupId: string;
  keys: Record<string, string>;
  why: 'worst' | 'sample';
  metric: number | null;
  history: SeriesPoint[];
  holdout: Array<{ time: number; actual: number; predicted: number }>;
  forecast: SeriesPoint[];
}

export interface ReportData {
  project: string;
  generatedAt: string;
  run: RunRecord;
  manifest: RunManifest;
  keyColumns: string[];
  metric: string | null;
  higherIsBetter: boolean;
  summary: MetricSummary[];
  /** model.type auto: the groups that kept each type and those that got the fallback; null for other pipelines. */
  selection: SelectionSummary | null;
  /** The primary metric of every ok group, for its distribution. */
  values: number[];
  byKey: KeyBreakdown[];
  worst: GroupResult[];
  failures: FailureClass[];
  promotion: null | {
    runId: string;
    dryRun: boolean;
    candidates: number;
    promoted: number;
    unchanged: number;
    rejected: number;
    gate: { required: string | null; met: boolean };
    rejectedBy: Record<string, number>;
  };
  score: null | { runId: string; predictionsWritten: number | null; sink: string | null };
  timings: Array<{ phase: string; seconds: number }>;
  /** `ms` when series times are milliseconds since the epoch, `row` when they are row positions. */
  timeUnit: 'ms' | 'row' | 'period';
  series: GroupSeries[];
  /** Why forecast-vs-actual is missing or partial, when it is. */
  seriesNote: string | null;
}

export interface ReportRequest {
  project: Project;
  /** A train run (or a score/promote run, which means the training run it used). Default: the latest training run. */
  run?: string;
  env: Record<string, string | undefined>;
  /** How many worst and how many sampled groups get forecast-vs-actual charts. */
  worstSeries?: number;
  sampleSeries?: number;
  historyPeriods?: number;
}

const WORST_LISTED = 20;

function trainingRun(project: Project, id: string | undefined): RunRecord {
  if (id === undefined) {
    const latest = listRunsPage(project, { stage: 'train' }).runs.find((r) => r.state !== 'running' && r.state !== 'queued');
    if (!latest) throw new UsageError('no finished training run to report on', { code: 'MM503', nextSteps: ['Train first: manymodels train'] });
    return latest;
  }
  const run = showRun(project, id).run;
  if (run.stage === 'train') return run;
  if (!run.sourceRun) {
    throw new UsageError(`run ${run.id} is a ${run.stage} run that used models of several training runs; name one of them`, {
      code: 'MM503',
      nextSteps: ['Training runs: manymodels runs list'],
    });
  }
  return showRun(project, run.sourceRun).run;
}

function breakdown(groups: readonly GroupResult[], keyColumns: string[], metric: string | null): KeyBreakdown[] {
  return keyColumns.map((column) => {
    const by = new Map<string, { groups: number; failed: number; sum: number; n: number }>();
    for (const g of groups) {
      const v = g.keys[column] ?? '';
      const e = by.get(v) ?? { groups: 0, failed: 0, sum: 0, n: 0 };
      e.groups += 1;
      if (g.status === 'failed') e.failed += 1;
      const m = metric ? g.metrics?.[metric] : undefined;
      if (typeof m === 'number' && Number.isFinite(m)) {
        e.sum += m;
        e.n += 1;
      }
      by.set(v, e);
    }
    const values = [...by].map(([value, e]) => ({ value, groups: e.groups, failed: e.failed, mean: e.n ? e.sum / e.n : null }));
    values.sort((a, b) => compareKeys({ k: a.value }, { k: b.value }, ['k']));
    return { column, values };
  });
}

/** Evenly spaced ok groups (not among the worst), so the sample is the same on every run of the report. */
function sample(groups: readonly GroupResult[], exclude: Set<string>, n: number, keyColumns: string[]): GroupResult[] {
  const pool = groups.filter((g) => g.status === 'ok' && !exclude.has(g.groupId)).sort((a, b) => compareKeys(a.keys, b.keys, keyColumns));
  if (pool.length <= n) return pool;
  return Array.from({ length: n }, (_, i) => pool[Math.floor(((i + 0.5) * pool.length) / n)]!);
}

function latestPromotion(project: Project, trainRun: string): ReportData['promotion'] {
  const promo = listRunsPage(project, { stage: 'promote' }).runs.find((r) => r.sourceRun === trainRun);
  if (!promo) return null;
  const file = path.join(project.target.stateDir, 'runs', promo.id, 'promotion-report.json');
  if (!existsSync(file)) return null;
  try {
    const report = JSON.parse(readFileSync(file, 'utf8')) as { dryRun: boolean; summary: Omit<NonNullable<ReportData['promotion']>, 'runId' | 'dryRun'> };
    const s = report.summary;
    return { runId: promo.id, dryRun: report.dryRun, candidates: s.candidates, promoted: s.promoted, unchanged: s.unchanged, rejected: s.rejected, gate: s.gate, rejectedBy: s.rejectedBy };
  } catch {
    return null;
  }
}

interface SqliteSinkSpec {
  type: string;
  path?: string;
  table?: string;
}

/** The latest scoring of this pipeline after the training run, and its sink when it is one this machine reads (SQLite, CSV, Parquet). */
function latestScore(project: Project, train: RunRecord): { run: RunRecord; sink: SqliteSinkSpec | null } | null {
  const score = listRunsPage(project, { stage: 'score', pipeline: train.pipeline }).runs.find((r) => r.state === 'succeeded' && r.createdAt >= train.createdAt);
  if (!score) return null;
  try {
    const spec = JSON.parse(readFileSync(path.join(project.target.stateDir, 'runs', score.id, 'jobspec.json'), 'utf8')) as { scoring?: { sink?: SqliteSinkSpec } };
    const sink = spec.scoring?.sink;
    return { run: score, sink: sink && ['sqlite', 'csv', 'parquet'].includes(sink.type) ? sink : null };
  } catch {
    return { run: score, sink: null };
  }
}

/** A sink time (`2023-02-05`, `2023-02-05T10:00:00`, with or without a zone) as ms since the epoch, UTC when no zone. */
export function parseUtc(text: string): number {
  if (/^\d{4}-\d\d-\d\d$/.test(text)) return Date.parse(`${text}T00:00:00Z`);
  if (/(Z|[+-]\d\d:?\d\d)$/.test(text)) return Date.parse(text);
  return Date.parse(`${text.replace(' ', 'T')}Z`);
}

/** Predictions of one score run for some groups, from the SQLite sink (identifiers quoted, values bound). */
function readForecasts(project: Project, scoreRun: string, sink: SqliteSinkSpec, groups: GroupSeries[], keyColumns: string[]): string | null {
  if (!sink.path || !sink.table) return 'the score run names no SQLite file and table';
  const file = path.resolve(project.file.projectRoot, sink.path);
  if (!existsSync(file)) return `the predictions file ${sink.path} is gone`;
  const q = (name: string): string => `"${name.replace(/"/g, '""')}"`;
  let db: DatabaseSync | undefined;
  try {
    db = new DatabaseSync(file, { readOnly: true });
    const where = keyColumns.map((k) => `${q(k)} = ?`).join(' AND ');
    // `<table>_all` holds every run whole, also one whose rows a later write moved to history
    // (two scores at once finish in either order); tables written before it existed lack it.
    const all = `${sink.table}_all`;
    const hasAll = db.prepare("SELECT 1 FROM sqlite_master WHERE type = 'view' AND name = ?").get(all) !== undefined;
    const stmt = db.prepare(`SELECT time, prediction FROM ${q(hasAll ? all : sink.table)} WHERE run_id = ?${where ? ` AND ${where}` : ''} ORDER BY time`);
    for (const g of groups) {
      const rows = stmt.all(scoreRun, ...keyColumns.map((k) => g.keys[k] ?? '')) as Array<{ time: string | null; prediction: number | null }>;
      g.forecast = rows
        .map((r) => ({ time: r.time ? parseUtc(r.time) : NaN, value: Number(r.prediction) }))
        .filter((p) => Number.isFinite(p.time) && Number.isFinite(p.value));
    }
    return null;
  } catch (e) {
    return `the predictions could not be read (${(e as Error).message})`;
  } finally {
    db?.close();
  }
}

/** Predictions of one score run for some groups, from a csv or parquet sink's file (read by DuckDB). */
async function readFileSinkForecasts(project: Project, scoreRun: string, sink: SqliteSinkSpec, groups: GroupSeries[], keyColumns: string[]): Promise<string | null> {
  if (!sink.path) return `the score run names no ${sink.type} file`;
  const format = sink.type === 'csv' ? 'csv' : 'parquet';
  const file = predictionFile(project.file.projectRoot, sink.path, sink.table ?? 'predictions', format);
  if (!existsSync(file)) return `the predictions file ${path.relative(project.file.projectRoot, file) || file} is gone`;
  try {
    const rows = await readFileForecasts(file, format, scoreRun, keyColumns, groups.map((g) => g.keys));
    groups.forEach((g, i) => {
      g.forecast = rows[i]!.map((r) => ({ time: r.time ? parseUtc(r.time) : NaN, value: Number(r.prediction) })).filter((p) => Number.isFinite(p.time) && Number.isFinite(p.value));
    });
    return null;
  } catch (e) {
    return `the predictions could not be read (${(e as Error).message.split('\n')[0]})`;
  }
}

interface RuntimeSeries {
  time: 'ms' | 'row' | 'period';
  groups: Array<{ groupId: string; history: { time: number[]; actual: number[] }; holdout: { time: number[]; actual: number[]; predicted: number[] } | null }>;
}

/**
 * The kept spec with the data section the project compiles to today, when the two differ only
 * by what redaction took out (a data path's SAS, kept as `sig=***`): the secret comes from
 * today's --var and environment, never from the run folder. Otherwise the kept spec as it is.
 */
function withDataOfProject(project: Project, kept: JobSpec): JobSpec {
  const pipeline = project.pipelines.find((p) => p.name === kept.pipeline);
  if (!pipeline) return kept;
  const data = compileJobSpec({ pipeline, target: project.target, stage: 'train', projectRoot: project.file.projectRoot }).data;
  const same = canonicalJson(redactValue(data)) === canonicalJson(kept.data) && canonicalJson(data) !== canonicalJson(kept.data);
  return same ? { ...kept, data } : kept;
}

/** Recent history and the holdout forecast of some groups, computed by the Python runtime from the run's JobSpec. */
async function runtimeSeries(project: Project, run: RunRecord, ids: string[], env: ReportRequest['env'], history: number): Promise<RuntimeSeries | string> {
  const specFile = path.join(project.target.stateDir, 'runs', run.id, 'jobspec.json');
  if (!existsSync(specFile)) return `run ${run.id} kept no jobspec.json`;
  if (run.engine !== 'local' && run.engine !== 'spark-local') return `the history of a ${run.engine} run's data is read on the cluster, not here`;
  let spec: string;
  try {
    spec = canonicalJson(withDataOfProject(project, JSON.parse(readFileSync(specFile, 'utf8')) as JobSpec));
  } catch (e) {
    return `run ${run.id} kept an unreadable jobspec.json (${(e as Error).message})`;
  }
  const python = findPython(env);
  // The local engine's embedded reader reads the data as the run read it (folders, globs, Parquet).
  let inputEntry: string | undefined;
  const { InputProblem, inputReaderFor } = await import('../jobs/local/input-files.js');
  const root = project.file.projectRoot;
  const jobSpec = JSON.parse(spec) as JobSpec;
  if (run.engine === 'local' && inputReaderFor(env, jobSpec, root) === 'duckdb') {
    const { prepareInput } = await import('../jobs/local/duckdb-reader.js');
    try {
      inputEntry = (await prepareInput(jobSpec, root, path.join(root, '.manymodels', 'cache'), 1))?.entry;
    } catch (e) {
      if (e instanceof InputProblem) return `the run's data could not be read (${e.code}: ${e.message})`;
      throw e;
    }
  }
  const dir = mkdtempSync(path.join(tmpdir(), 'mm-report-'));
  try {
    const idsFile = path.join(dir, 'groups.json');
    const out = path.join(dir, 'series.json');
    writeFileSync(idsFile, JSON.stringify(ids));
    // The spec goes on stdin, like a run's: it may hold the data path's secret again.
    const args = [path.join(runtimeDir(), 'report_entry.py'), '--spec', '-', '--groups', idsFile, '--history', String(history), '--out', out, '--cache-dir', path.join(project.target.stateDir, 'cache'), ...(inputEntry ? ['--input-entry', inputEntry] : [])];
    const { code, stderr } = await new Promise<{ code: number | null; stderr: string }>((resolve, reject) => {
      const child = spawn(python, args, { cwd: project.file.projectRoot, env: { PATH: env.PATH ?? '', HOME: env.HOME ?? '', ...sqlCredentialsEnv(jobSpec, env) }, stdio: ['pipe', 'ignore', 'pipe'] });
      child.stdin.on('error', () => undefined);
      child.stdin.end(spec);
      let err = '';
      child.stderr.on('data', (d: Buffer) => {
        if (err.length < 20_000) err += d.toString('utf8');
      });
      child.on('error', reject);
      child.on('close', (c) => resolve({ code: c, stderr: err }));
    });
    if (code !== 0) {
      const last = stderr.trim().split('\n').pop() ?? '';
      let message = last;
      try {
        message = (JSON.parse(last) as { error?: { message?: string } }).error?.message ?? last;
      } catch {
        // not the runtime's JSON error line: show it as it is
      }
      return `the runtime could not read the run's data (${message || `exit ${code}`})`;
    }
    return JSON.parse(readFileSync(out, 'utf8')) as RuntimeSeries;
  } finally {
    rmSync(dir, { recursive: true, force: true });
  }
}

export async function buildReport(request: ReportRequest): Promise<ReportData> {
  const { project } = request;
  const run = trainingRun(project, request.run);
  const detail = showRun(project, run.id);
  if (!detail.manifest) {
    throw new UsageError(`run ${run.id} (${run.state}) has no run manifest to report on`, { code: 'MM503', nextSteps: [`What happened: manymodels runs show ${run.id}`] });
  }
  const manifest = detail.manifest;
  const table = groupTable(manifest);
  const metric = table.metrics[0] ?? null;
  const keyColumns = keyColumnsOf(manifest.groups);
  const worst = metric ? groupTable(manifest, { sort: metric, worst: WORST_LISTED }).rows : [];
  const failedFirst = manifest.groups.filter((g) => g.status === 'failed').sort((a, b) => compareKeys(a.keys, b.keys, keyColumns));
  // The 20 worst: failures first (they have no metric at all), then the worst by the metric.
  const worstListed = [...failedFirst, ...worst].slice(0, WORST_LISTED);
  const values = metric ? manifest.groups.map((g) => g.metrics?.[metric]).filter((v): v is number => typeof v === 'number' && Number.isFinite(v)) : [];

  const worstForSeries = worst.slice(0, request.worstSeries ?? 3);
  const sampled = sample(manifest.groups, new Set(worstForSeries.map((g) => g.groupId)), request.sampleSeries ?? 3, keyColumns);
  const series: GroupSeries[] = [
    ...worstForSeries.map((g) => ({ g, why: 'worst' as const })),
    ...sampled.map((g) => ({ g, why: 'sample' as const })),
  ].map(({ g, why }) => ({ groupId: g.groupId, keys: g.keys, why, metric: metric ? (g.metrics?.[metric] ?? null) : null, history: [], holdout: [], forecast: [] }));

  let seriesNote: string | null = null;
  let timeUnit: ReportData['timeUnit'] = 'ms';
  if (series.length && manifest.task !== 'classification') {
    const got = await runtimeSeries(project, run, series.map((s) => s.groupId), request.env, request.historyPeriods ?? 90);
    if (typeof got === 'string') seriesNote = got;
    else {
      timeUnit = got.time;
      for (const s of series) {
        const r = got.groups.find((x) => x.groupId === s.groupId);
        if (!r) continue;
        s.history = r.history.time.map((t, i) => ({ time: t, value: r.history.actual[i]! }));
        s.holdout = r.holdout ? r.holdout.time.map((t, i) => ({ time: t, actual: r.holdout!.actual[i]!, predicted: r.holdout!.predicted[i]! })) : [];
      }
    }
  } else if (manifest.task === 'classification') {
    seriesNote = 'a classification run has no series to plot';
  }

  const scored = latestScore(project, run);
  if (scored?.sink && series.length && timeUnit === 'ms') {
    const note = scored.sink.type === 'sqlite' ? readForecasts(project, scored.run.id, scored.sink, series, keyColumns) : await readFileSinkForecasts(project, scored.run.id, scored.sink, series, keyColumns);
    if (note) seriesNote = seriesNote ?? note;
  }

  const timings: ReportData['timings'] = [];
  const seen = new Set<string>();
  for (const [k, v] of [...Object.entries(manifest.timings ?? {}), ...Object.entries(run.timings)]) {
    if (seen.has(k) || typeof v !== 'number' || !Number.isFinite(v)) continue;
    seen.add(k);
    timings.push({ phase: k.replace(/Seconds$/, ''), seconds: v });
  }

  return {
    project: project.name,
    generatedAt: new Date().toISOString(),
    run,
    manifest,
    keyColumns,
    metric,
    higherIsBetter: metric ? higherIsBetter(metric) : false,
    summary: table.summary,
    selection: table.selection,
    values,
    byKey: breakdown(manifest.groups, keyColumns, metric),
    worst: worstListed,
    failures: failureClasses(manifest.groups),
    promotion: latestPromotion(project, run.id),
    score: scored ? { runId: scored.run.id, predictionsWritten: typeof scored.run.summary.predictionsWritten === 'number' ? scored.run.summary.predictionsWritten : null, sink: scored.sink ? (scored.sink.type === 'sqlite' ? `${scored.sink.path} (table ${scored.sink.table})` : `${scored.sink.path} (${scored.sink.type})`) : null } : null,
    timings,
    timeUnit,
    series,
    seriesNote,
  };
}
