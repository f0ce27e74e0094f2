// The pieces the reliability tests share: the real CLI as a child process (bin → dist/, so
// `npm run build` first), a small forecast project with sample data, and run records written
// the way the run store writes them.
import { execFileSync, spawn, type ChildProcess } from 'node:child_process';
import { mkdirSync, writeFileSync } from 'node:fs';
import path from 'node:path';

export const repo = path.resolve(import.meta.dirname, '../..');
export const bin = path.join(repo, 'bin/manymodels.js');
export const python = process.env.MANYMODELS_PYTHON ?? '/usr/bin/python3';

export interface BinResult {
  code: number | null;
  signal: NodeJS.Signals | null;
  stdout: string;
  stderr: string;
}

export function binEnv(extra: Record<string, string> = {}): Record<string, string> {
  return { PATH: process.env.PATH ?? '', HOME: process.env.HOME ?? '', MANYMODELS_PYTHON: python, ...extra };
}

/** Starts the CLI; `done` resolves with its exit and everything it wrote. */
export function startBin(args: string[], options: { cwd: string; env?: Record<string, string> }): { child: ChildProcess; done: Promise<BinResult> } {
  const child = spawn(process.execPath, [bin, ...args], { cwd: options.cwd, env: options.env ?? binEnv(), stdio: ['ignore', 'pipe', 'pipe'] });
  let stdout = '';
  let stderr = '';
  child.stdout!.on('data', (d: Buffer) => (stdout += d.toString()));
  child.stderr!.on('data', (d: Buffer) => (stderr += d.toString()));
  const done = new Promise<BinResult>((resolve) => child.on('close', (code, signal) => resolve({ code, signal, stdout, stderr })));
  return { child, done };
}

export function runBin(args: string[], options: { cwd: string; env?: Record<string, string> }): Promise<BinResult> {
  return startBin(args, options).done;
}

export function forecastYaml(name = 'daily', model = '{ type: linear, holdout: 14 }'): string {
  return `version: 1
project: rel
pipelines:
  - name: ${name}
    data: { format: csv, path: data/sales.csv }
    keys: [store_id, item_id]
    time: { column: date, frequency: D }
    target: sales
    features: [price, promo]
    task: forecast
    model: ${model}
    metrics: [wape, rmse]
    promotion:
      rules: [{ metric: wape, max: 5.0 }]
      gate: { min_promoted_fraction: 0.1 }
    scoring: { horizon: 14, table: predictions }
`;
}

/** A project folder with pipelines.yaml (or `file`) and stores × items daily series. */
export function forecastProject(dir: string, options: { stores?: number; items?: number; days?: number; file?: string; yaml?: string } = {}): string {
  writeFileSync(path.join(dir, options.file ?? 'pipelines.yaml'), options.yaml ?? forecastYaml());
  execFileSync(
    python,
    [path.join(repo, 'pyspark-templates/sample_data_entry.py'), '--out', path.join(dir, 'data/sales.csv'), '--stores', String(options.stores ?? 3), '--items', String(options.items ?? 4), '--days', String(options.days ?? 120), '--seed', '7'],
    { stdio: 'pipe' },
  );
  return dir;
}

let counter = 0;
/** A run id of the run store's shape, unique within a test process. */
export function fakeRunId(stage: 'train' | 'score' | 'promote', second = counter++): string {
  return `20261201-10${String(Math.floor(second / 60) % 60).padStart(2, '0')}${String(second % 60).padStart(2, '0')}-${stage}-${(0xa00000 + second).toString(16)}`;
}

/** Writes .manymodels/runs/<id>/run.json as the run store would, or `text` as it is. */
export function writeRun(dir: string, id: string, patch: Record<string, unknown> = {}, text?: string): string {
  const folder = path.join(dir, '.manymodels/runs', id);
  mkdirSync(folder, { recursive: true });
  const record = {
    id,
    stage: id.split('-')[2],
    pipeline: 'daily',
    project: 'rel',
    target: 'local',
    engine: 'local',
    state: 'succeeded',
    createdAt: '2026-12-01T10:00:00.000Z',
    finishedAt: '2026-12-01T10:00:05.000Z',
    counts: { total: 2, ok: 2, failed: 0, skipped: 0 },
    timings: { runSeconds: 5 },
    resumeOf: null,
    sourceRun: null,
    external: null,
    error: null,
    summary: {},
    ...patch,
  };
  const file = path.join(folder, 'run.json');
  writeFileSync(file, text ?? `${JSON.stringify(record, null, 2)}\n`);
  return file;
}
