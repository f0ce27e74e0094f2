// What the remote-engine end-to-end tests (Databricks, Synapse) share: the daily forecast
// pipeline, its sample data, the local engine's predictions to compare with (train → promote →
// score through the built CLI), and the checks on a project folder after a remote run.
import { existsSync, readdirSync, readFileSync, statSync } from 'node:fs';
import path from 'node:path';
import { expect } from 'vitest';
import { type ProjectKit, runIdOf, sqliteQuery, writeSampleData } from './project.js';

/** The `pipelines:` section every remote e2e runs; `${var.data}` says where the CSV is. */
export const DAILY_PIPELINE = `pipelines:
  - name: daily
    data: { format: csv, path: "\${var.data}" }
    keys: [store_id, item_id]
    time: { column: date, frequency: D }
    target: sales
    features: [price, promo]
    task: forecast
    model: { type: linear, holdout: 14 }
    metrics: [wape, rmse]
    promotion:
      rules: [{ metric: wape, max: 2.0 }]
      gate: { min_promoted_fraction: 0.5 }
    scoring: { horizon: 14, table: predictions }
`;

export type Prediction = { store_id: string; item_id: string; time: string; prediction: number; run_id: string };

/** 3 stores × 10 items × 150 days of sales, in a temp folder of the kit. */
export function sampleSales(kit: ProjectKit): string {
  const file = path.join(kit.tempDir('mm-e2e-data-'), 'sales.csv');
  writeSampleData(file, { stores: 3, items: 10, days: 150, seed: 11 });
  return file;
}

/** The local engine's train → promote → score of DAILY_PIPELINE over `data`, through the built CLI. */
export async function localBaseline(kit: ProjectKit, data: string): Promise<{ dir: string; trainRun: string; predictions: Prediction[] }> {
  const local = kit.project({
    yaml: `version: 1\nproject: e2e\nvariables:\n  data: { default: data/sales.csv }\n${DAILY_PIPELINE}`,
    sampleData: { copyFrom: data },
  });
  let trainRun = '';
  for (const step of ['train', 'promote', 'score']) {
    const r = await local.run([step]);
    expect(r.code, `${step}: ${r.stderr}`).toBe(0);
    if (step === 'train') trainRun = runIdOf(r.stdout);
  }
  const predictions = local.query<Prediction>('.manymodels/predictions.db', 'SELECT store_id, item_id, time, prediction, run_id FROM predictions');
  expect(predictions.length).toBeGreaterThan(0);
  return { dir: local.dir, trainRun, predictions };
}

function byKey(rows: readonly Prediction[]): Map<string, number> {
  return new Map(rows.map((r) => [`${r.store_id}|${r.item_id}|${r.time}`, r.prediction]));
}

/** The same keys and times, and predictions equal to 6 decimals. */
export function expectSamePredictions(remote: readonly Prediction[], local: readonly Prediction[]): void {
  const l = byKey(local);
  const r = byKey(remote);
  expect(r.size).toBe(l.size);
  for (const [key, value] of l) {
    expect(r.has(key), key).toBe(true);
    expect(r.get(key)!).toBeCloseTo(value, 6);
  }
}

/** Versions the project's training registry holds for a run. */
export function registered(dir: string, runId: string): number {
  return sqliteQuery<{ n: number }>(path.join(dir, '.manymodels/registry/registry.db'), 'SELECT COUNT(*) AS n FROM versions WHERE run_id = ?', runId)[0]!.n;
}

/** Groups the run manifest says trained ok. */
export function okGroups(dir: string, runId: string): number {
  return (JSON.parse(readFileSync(path.join(dir, '.manymodels/runs', runId, 'run-manifest.json'), 'utf8')) as { counts: { ok: number } }).counts.ok;
}

/** Every file under `dir`, for the token check. */
export function filesUnder(dir: string): string[] {
  if (!existsSync(dir)) return [];
  return readdirSync(dir, { withFileTypes: true }).flatMap((e) => {
    const full = path.join(dir, e.name);
    return e.isDirectory() ? filesUnder(full) : statSync(full).isFile() ? [full] : [];
  });
}
