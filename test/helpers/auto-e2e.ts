// What the model.type auto end-to-end tests share (the local engine's in e2e/auto-model, the
// Databricks and Synapse ones with Azure ML registries): daily series some candidates cannot
// fit, the auto pipeline, the local engine's registrations and predictions to compare with,
// and the Azure ML side of the comparison (the training registry's tags per group).
import { readFileSync, writeFileSync } from 'node:fs';
import path from 'node:path';
import { expect } from 'vitest';
import type { AzureMlEmulator } from '../emulators/azureml/azureml-emulator.js';
import type { ScopeRef } from '../emulators/azureml/model-store.js';
import { RG, SUB } from '../emulators/azureml/test-kit.js';
import { type ProjectKit, runIdOf } from './project.js';

const DAYS = 120;

/**
 * Daily series by store: 0–2 a straight trend (ets extrapolates it, gbm's trees cannot), 3–5 a
 * level moved only by promotions (gbm reads the feature, ets ignores features), 6 only its
 * last 20 days — too short for ets (two seasons) and gbm (more than the 14-day horizon), so
 * it gets the fallback.
 */
export function autoSalesCsv(): string {
  const lines = ['store,date,promo,sales'];
  const start = Date.UTC(2024, 0, 1);
  for (let s = 0; s < 7; s += 1) {
    for (let t = s === 6 ? DAYS - 20 : 0; t < DAYS; t += 1) {
      const day = new Date(start + t * 86_400_000).toISOString().slice(0, 10);
      const promo = (t * 7 + s * 3) % 5 < 2 ? 1 : 0;
      const sales = s < 3 ? 50 + (s + 1) * 1.5 * t : s < 6 ? 20 + 40 * promo + ((t * 3 + s) % 4) * 0.5 : 30 + (t % 7);
      lines.push(`${s},${day},${promo},${sales.toFixed(2)}`);
    }
  }
  return `${lines.join('\n')}\n`;
}

/** The chosen type of each store (0–6) on autoSalesCsv, and which got the fallback. */
export const AUTO_CHOICES: ReadonlyArray<readonly [store: string, type: string, fallback: boolean]> = [
  ['0', 'ets', false], ['1', 'ets', false], ['2', 'ets', false],
  ['3', 'gbm', false], ['4', 'gbm', false], ['5', 'gbm', false],
  ['6', 'seasonal_naive', true],
];

/** The `pipelines:` section of the auto pipeline; `${var.data}` says where the CSV is. */
export const AUTO_PIPELINE = `pipelines:
  - name: daily
    data: { format: csv, path: "\${var.data}" }
    keys: [store]
    time: { column: date, frequency: D }
    target: sales
    features: [promo]
    task: forecast
    model:
      type: auto
      candidates: [ets, { type: gbm, params: { min_samples_leaf: 5 } }]
      select_by: wape
      fallback: seasonal_naive
      holdout: 7
    metrics: [wape, mae]
    promotion:
      rules: [{ metric: wape, max: 5.0 }]
      gate: { min_promoted_fraction: 0.5 }
    scoring: { horizon: 14, table: predictions }
`;

/** autoSalesCsv in a temp folder of the kit. */
export function autoSales(kit: ProjectKit): string {
  const file = path.join(kit.tempDir('mm-auto-data-'), 'sales.csv');
  writeFileSync(file, autoSalesCsv());
  return file;
}

/** A prediction row with the selection columns of an auto pipeline. */
export type AutoPrediction = { store: string; time: string; prediction: number; model_type: string; fallback: boolean | number; run_id: string };

/** What a group's registration says of its selection: model_type, selection.*, candidate.* and metric.* tags. */
export type SelectionTags = Record<string, string>;

const SELECTION_TAGS = /^(model_type|selection\..+|candidate\..+|metric\..+)$/;

export function selectionTagsOf(tags: Record<string, string | null>): SelectionTags {
  return Object.fromEntries(Object.entries(tags).filter((e): e is [string, string] => SELECTION_TAGS.test(e[0]) && e[1] !== null).sort(([a], [b]) => a.localeCompare(b)));
}

/** The local engine's train → promote → score of AUTO_PIPELINE over `data`: each store's tags and the predictions. */
export async function localAutoBaseline(kit: ProjectKit, data: string): Promise<{ tags: Map<string, SelectionTags>; predictions: AutoPrediction[] }> {
  const local = kit.project({
    yaml: `version: 1\nproject: e2e\nvariables:\n  data: { default: data/sales.csv }\n${AUTO_PIPELINE}`,
    sampleData: { copyFrom: data },
  });
  let trainRun = '';
  for (const step of ['train', 'promote', 'score']) {
    const r = await local.run([step]);
    expect(r.code, `${step}: ${r.stderr}`).toBe(0);
    if (step === 'train') trainRun = runIdOf(r.stdout);
  }
  const registry = '.manymodels/registry/registry.db';
  const versions = local.query<{ name: string; store: string }>(registry, "SELECT name, json_extract(keys_json, '$.store') AS store FROM versions WHERE run_id = ?", trainRun);
  const tags = new Map<string, SelectionTags>();
  for (const v of versions) {
    const rows = local.query<{ key: string; value: string }>(registry, 'SELECT key, value FROM tags WHERE name = ?', v.name);
    tags.set(v.store, selectionTagsOf(Object.fromEntries(rows.map((t) => [t.key, t.value]))));
  }
  expect([...tags].map(([store, t]) => [store, t.model_type, t['selection.fallback'] === 'true']).sort()).toEqual(AUTO_CHOICES.map((c) => [...c]));
  const predictions = local.query<AutoPrediction>('.manymodels/predictions.db', 'SELECT store, time, prediction, model_type, fallback, run_id FROM predictions');
  expect(predictions).toHaveLength(7 * 14);
  return { tags, predictions };
}

/** The registry lines of a target with Azure ML training and production workspaces (artifacts in Azurite containers with a SAS from the environment). */
export function azureMlRegistries(emu: AzureMlEmulator, blobEndpoint: string, workspaces: { train: string; prod: string }): string {
  const common = `subscription_id: ${SUB}, resource_group: ${RG}, granularity: per_group, endpoint: "${emu.baseUrl}", storage_account_url: "${blobEndpoint}"`;
  return `    registry: { type: azureml, workspace: ${workspaces.train}, ${common}, storage_container: train, storage_sas_env: MM_TRAIN_SAS }
    production_registry: { type: azureml, workspace: ${workspaces.prod}, ${common}, storage_container: prod, storage_sas_env: MM_PROD_SAS }
`;
}

/** Each store's selection tags on the versions an Azure ML workspace holds for a run. */
export function azureMlSelectionTags(emu: AzureMlEmulator, workspace: ScopeRef, runId: string): Map<string, SelectionTags> {
  const scope = emu.store.scope('workspaces', workspace);
  const out = new Map<string, SelectionTags>();
  for (const [name, container] of scope.containers) {
    const version = container.versions.get(runId);
    const store = version?.tags['key.store'];
    if (!version || !store) continue;
    expect(name.startsWith('daily__'), name).toBe(true);
    out.set(store, selectionTagsOf(version.tags));
  }
  return out;
}

/** The same tags for every store: the chosen type and fallback marker exactly, every metric (candidates' too) to 6 decimals. */
export function expectSameSelection(remote: Map<string, SelectionTags>, local: Map<string, SelectionTags>): void {
  expect([...remote.keys()].sort()).toEqual([...local.keys()].sort());
  for (const [store, want] of local) {
    const got = remote.get(store)!;
    expect(Object.keys(got), `store ${store}`).toEqual(Object.keys(want));
    for (const [key, value] of Object.entries(want)) {
      const n = Number(value);
      if (value !== '' && Number.isFinite(n) && /^(metric|candidate)\./.test(key)) expect(Number(got[key]), `store ${store} ${key}`).toBeCloseTo(n, 6);
      else expect(got[key], `store ${store} ${key}`).toBe(value);
    }
  }
}

/** The same rows per store and time: prediction to 6 decimals, the same model_type and fallback marker. */
export function expectSameAutoPredictions(remote: readonly AutoPrediction[], local: readonly AutoPrediction[]): void {
  const byKey = (rows: readonly AutoPrediction[]): Map<string, AutoPrediction> => new Map(rows.map((r) => [`${r.store}|${r.time}`, r]));
  const l = byKey(local);
  const r = byKey(remote);
  expect(r.size).toBe(l.size);
  for (const [key, want] of l) {
    const got = r.get(key);
    expect(got, key).toBeDefined();
    expect(got!.prediction, key).toBeCloseTo(want.prediction, 6);
    expect([got!.model_type, Boolean(got!.fallback)], key).toEqual([want.model_type, Boolean(want.fallback)]);
  }
}

/** What `cli` gives back, as far as trainAndPromoteAuto looks at it. */
interface CliOutcome { code: number | null; stdout: string; stderr: string }

/**
 * An engine's `train` then `promote` of AUTO_PIPELINE, checked as the local engine's: the Spark
 * job grouped with applyInPandas, each group's chosen type, fallback marker and candidates'
 * metrics in the training workspace, the same tags in production. The training run's id.
 */
export async function trainAndPromoteAuto(go: (argv: string[]) => Promise<CliOutcome>, sparkLog: string, aml: AzureMlEmulator,
  workspaces: { train: ScopeRef; prod: ScopeRef }, local: Map<string, SelectionTags>): Promise<string> {
  const train = await go(['train']);
  expect(train.code, train.stderr + train.stdout).toBe(0);
  const trainRun = runIdOf(train.stdout);
  expect(readFileSync(sparkLog, 'utf8')).toContain('"op": "applyInPandas"');
  // Each group's model in the training workspace: the type it chose, the fallback marker, every candidate's metrics.
  const trained = azureMlSelectionTags(aml, workspaces.train, trainRun);
  expect([...trained].map(([store, t]) => [store, t.model_type, t['selection.fallback'] === 'true']).sort()).toEqual(AUTO_CHOICES.map((c) => [...c]));
  expect(trained.get('6')).toMatchObject({ 'candidate.ets.error': 'ValueError', 'candidate.gbm.error': 'ValueError' });
  expectSameSelection(trained, local);

  const promote = await go(['promote']);
  expect(promote.code, promote.stderr + promote.stdout).toBe(0);
  expectSameSelection(azureMlSelectionTags(aml, workspaces.prod, trainRun), local);
  return trainRun;
}
