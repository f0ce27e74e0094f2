// train → promote → score through the CLI in-process on the local engine, with Azure ML registries
// on the emulator and artifacts in Azurite: clean, with faults, and after a stopped registration.
import { cpSync, readFileSync, writeFileSync } from 'node:fs';
import path from 'node:path';
import { DatabaseSync } from 'node:sqlite';
import { afterAll, afterEach, beforeAll, describe, expect, it } from 'vitest';
import { AML, indexAssetName } from '../../src/registry/azureml/registry-index.js';
import { AzureMlEmulator } from '../emulators/azureml/azureml-emulator.js';
import type { ScopeRef } from '../emulators/azureml/model-store.js';
import { REGISTRY, RG, SUB, TOKEN, WORKSPACE } from '../emulators/azureml/test-kit.js';
import { type AzuriteBlob, startAzuriteBlob } from '../emulators/azurite.js';
import { cli } from '../helpers/cli.js';
import { containerWithSas } from '../helpers/azureml-registry-kit.js';
import { cliEnv, projectKit } from '../helpers/project.js';

const PROD_WORKSPACE: ScopeRef = { subscriptionId: SUB, resourceGroup: RG, name: 'ws-prod' };
const roomy = { capacity: 100_000, refillPerSecond: 100_000 };
const tokenProviderFor = () => ({ getToken: async () => TOKEN });

let azurite: AzuriteBlob;
let template: string;
let sas: { train: string; prod: string };
const emulators: AzureMlEmulator[] = [];
const kit = projectKit('mm-e2e-aml-');

type Production = 'workspace' | 'registry';

function pipelinesYaml(emu: AzureMlEmulator, granularity: 'per_group' | 'model_set', production: Production): string {
  const common = `subscription_id: ${SUB}, resource_group: ${RG}, granularity: ${granularity}, endpoint: "${emu.baseUrl}", storage_account_url: "${azurite.blobEndpoint}"`;
  const prodWhere = production === 'workspace' ? `workspace: ${PROD_WORKSPACE.name}` : `registry: ${REGISTRY.name}`;
  return `version: 1
project: shop
targets:
  aml:
    default: true
    engine: local
    workers: 2
    registry: { type: azureml, workspace: ${WORKSPACE.name}, ${common}, storage_container: train, storage_sas_env: MM_TRAIN_SAS }
    production_registry: { type: azureml, ${prodWhere}, ${common}, storage_container: prod, storage_sas_env: MM_PROD_SAS }
pipelines:
  - name: sales
    data: { format: csv, path: data/sales.csv }
    keys: [store_id, item_id]
    time: { column: date, frequency: D }
    target: sales
    features: [price, promo]
    task: forecast
    model: { type: linear, holdout: 7 }
    metrics: [wape]
    promotion:
      rules:
        - { name: wape-sane, metric: wape, max: 1000 }
    scoring: { horizon: 7, table: predictions }
`;
}

async function project(granularity: 'per_group' | 'model_set', production: Production): Promise<{ emu: AzureMlEmulator; dir: string; run: (argv: string[]) => ReturnType<typeof cli> }> {
  const emu = new AzureMlEmulator({ minLatencyMs: 1, workspaces: [WORKSPACE, PROD_WORKSPACE], registries: [REGISTRY], throttle: { reads: roomy, writes: roomy, deletes: roomy } });
  await emu.start();
  emulators.push(emu);
  const dir = kit.tempDir();
  cpSync(template, dir, { recursive: true });
  writeFileSync(path.join(dir, 'pipelines.yaml'), pipelinesYaml(emu, granularity, production));
  const env = cliEnv({ MM_TRAIN_SAS: sas.train, MM_PROD_SAS: sas.prod });
  return { emu, dir, run: (argv) => cli(argv, { cwd: dir, env, tokenProviderFor }) };
}

const runIdOf = (stdout: string): string => /Run (\S+) — details/.exec(stdout)?.[1] ?? '';

/** The group models of a scope (not our index asset) and how many versions each has. */
function groupModels(emu: AzureMlEmulator, kind: 'workspaces' | 'registries', ref: ScopeRef): Map<string, string[]> {
  const scope = emu.store.scope(kind, ref);
  const out = new Map<string, string[]>();
  for (const [name, c] of scope.containers) if (name.startsWith('sales__') && !name.endsWith('__index') && !name.endsWith('__model-set')) out.set(name, [...c.versions.keys()]);
  return out;
}

function predictions(dir: string): { rows: number; groups: number; versions: string[] } {
  const db = new DatabaseSync(path.join(dir, '.manymodels', 'predictions.db'));
  try {
    const r = db.prepare('SELECT COUNT(*) AS n, COUNT(DISTINCT store_id || \'/\' || item_id) AS g FROM predictions').get() as { n: number; g: number };
    const versions = (db.prepare('SELECT DISTINCT model_version AS v FROM predictions').all() as Array<{ v: string }>).map((x) => x.v);
    return { rows: Number(r.n), groups: Number(r.g), versions };
  } finally {
    db.close();
  }
}

beforeAll(async () => {
  azurite = await startAzuriteBlob();
  sas = { train: await containerWithSas(azurite, 'train'), prod: await containerWithSas(azurite, 'prod') };
  // 30 series × 120 days, generated once by the runtime's sample-data script.
  template = kit.tempDir('mm-e2e-data-');
  const made = await cli(['sample-data', '--out', 'data/sales.csv', '--stores', '5', '--items', '6', '--days', '120'], { cwd: template });
  expect(made.code, made.stderr).toBe(0);
});
afterEach(() => {
  for (const emu of emulators) expect(emu.selfCheckFailures).toEqual([]);
});
afterAll(async () => {
  await Promise.all(emulators.map((e) => e.stop()));
  await azurite?.stop();
});

describe('train → promote → score with Azure ML registries', () => {
  it('per_group, production workspace: every group registered, promoted with lineage, resolved in one call, scored', async () => {
    const { emu, dir, run } = await project('per_group', 'workspace');

    // When the pipeline is trained
    const train = await run(['train']);
    expect(train.code, train.stderr).toBe(0);
    const runId = runIdOf(train.stdout);
    const ok = Number(/: (\d+) ok/.exec(train.stdout)?.[1]);
    expect(ok).toBeGreaterThan(20);
    expect(train.stdout).toContain(`Registered ${ok} model versions in the Azure ML workspace ws-train (per_group)`);
    // Then each ok group is one Azure ML model with one version, named by the run, fully tagged
    const trained = groupModels(emu, 'workspaces', WORKSPACE);
    expect(trained.size).toBe(ok);
    for (const versions of trained.values()) expect(versions).toEqual([runId]);
    const [someModel] = [...trained.keys()];
    const tags = emu.store.version(emu.store.scope('workspaces', WORKSPACE), someModel!, runId).tags;
    expect(Object.keys(tags)).toEqual(expect.arrayContaining(['pipeline', 'project', 'model_type', 'run_id', 'data_fingerprint', 'group_id', 'key.store_id', 'key.item_id', 'metric.wape']));

    // When it is promoted
    const mark = emu.requests.length;
    const promote = await run(['promote']);
    expect(promote.code, promote.stderr).toBe(0);
    expect(promote.stdout).toContain(`${ok} promoted`);
    // Then production holds one version per group with its lineage, and the lookups were not per group
    const promoteReads = emu.requests.slice(mark).filter((r) => r.method === 'GET').length;
    expect(promoteReads).toBeLessThanOrEqual(6);
    const prod = groupModels(emu, 'workspaces', PROD_WORKSPACE);
    expect(prod.size).toBe(ok);
    for (const versions of prod.values()) expect(versions).toEqual([runId]);
    const lineage = emu.store.version(emu.store.scope('workspaces', PROD_WORKSPACE), someModel!, runId).tags;
    expect(lineage).toMatchObject({ 'lineage.source_registry': 'Azure ML workspace ws-train (per_group)', 'lineage.source_version': runId, 'lineage.source_run_id': runId, 'lineage.rules_passed': 'wape-sane', run_id: runId });
    expect(lineage['metric.wape']).toBeDefined();

    // When it is scored
    const before = emu.requests.length;
    const score = await run(['score']);
    expect(score.code, score.stderr).toBe(0);
    // Then resolving every group's production model took one Azure ML call
    expect(emu.requests.slice(before).map((r) => `${r.method} ${r.path.split('/models/')[1]}`)).toEqual([`GET ${indexAssetName('sales', 'per_group')}`]);
    // and the predictions are in the SQLite sink, 7 days for every promoted group
    const p = predictions(dir);
    expect(p.groups).toBe(ok);
    expect(p.rows).toBe(ok * 7);
    expect(p.versions).toEqual([runId]);
    // and the model manifest handed to the job carries each artifact's sha256
    const scoreRun = runIdOf(score.stdout);
    const manifest = JSON.parse(readFileSync(path.join(dir, '.manymodels', 'runs', scoreRun, 'model-manifest.json'), 'utf8')) as { models: Array<{ sha256: string; artifactUri: string }> };
    expect(manifest.models).toHaveLength(ok);
    for (const m of manifest.models) expect(m.artifactUri).toBe(path.join(dir, '.manymodels', 'cache', 'artifacts', `${m.sha256}.pkl`));
    // and the models command reads the same registries
    const list = await run(['models', 'list', '--production', '--limit', '3']);
    expect(list.code, list.stderr).toBe(0);
    // The header, three models, and the line saying more match.
    expect(list.stdout.trim().split('\n')).toHaveLength(5);
    expect(list.stdout).toContain('Showing the first 3; more match.');
    const show = await run(['models', 'show', `${someModel}:${runId}`, '--json']);
    expect(show.code, show.stderr).toBe(0);
    expect(JSON.parse(show.stdout)).toMatchObject({ name: someModel, version: runId, runId });
    // and no SAS reached the output
    for (const out of [train, promote, score, list, show]) expect(`${out.stdout}${out.stderr}`).not.toContain(new URLSearchParams(sas.train).get('sig')!);
  });

  it('model_set, production in an Azure ML registry: a handful of writes per run, same result', async () => {
    const { emu, dir, run } = await project('model_set', 'registry');
    const train = await run(['train']);
    expect(train.code, train.stderr).toBe(0);
    const runId = runIdOf(train.stdout);
    const ok = Number(/: (\d+) ok/.exec(train.stdout)?.[1]);
    const trainWrites = emu.requests.filter((r) => r.method !== 'GET');
    expect(trainWrites.map((r) => `${r.method} ${r.path.split('/models/')[1]}`)).toEqual([`PUT sales__model-set/versions/${runId}`, 'PUT sales__model-set']);
    expect(groupModels(emu, 'workspaces', WORKSPACE).size).toBe(0);

    const promote = await run(['promote']);
    expect(promote.code, promote.stderr).toBe(0);
    const set = emu.store.scope('registries', REGISTRY).containers.get(indexAssetName('sales', 'model_set'));
    expect(set?.versions.size).toBe(1);
    expect(set?.tags[`${AML.pointerPrefix}version`]).toBe([...set!.versions.keys()][0]);
    expect(Number([...set!.versions.values()][0]!.properties[AML.members])).toBe(ok);

    const score = await run(['score']);
    expect(score.code, score.stderr).toBe(0);
    expect(predictions(dir)).toMatchObject({ groups: ok, rows: ok * 7, versions: [runId] });
  });

  it('with 429 bursts, dropped replies and 503s everywhere: no duplicate, no lost version', async () => {
    const { emu, dir, run } = await project('per_group', 'workspace');
    // Throttled, reset and failing requests in every phase: registration PUTs, the lookups, the pointer
    emu.faults.inject({ kind: 'rate-limit', retryAfterSeconds: 1, method: 'PUT', pathIncludes: '/versions/', times: 3 });
    emu.faults.inject({ kind: 'reset-after-handling', method: 'PUT', pathIncludes: '/versions/', skip: 3, times: 3 });
    // (Retry-After: 0 keeps the test short; without it the client backs off for seconds.)
    emu.faults.inject({ kind: 'status', status: 503, retryAfterSeconds: 0, method: 'PUT', pathIncludes: '/versions/', skip: 8, times: 3 });
    emu.faults.inject({ kind: 'status', status: 503, retryAfterSeconds: 0, method: 'GET', times: 2 });
    emu.faults.inject({ kind: 'reset-after-handling', method: 'PUT', path: /__index$/, times: 1 });

    const train = await run(['train']);
    expect(train.code, train.stderr).toBe(0);
    const runId = runIdOf(train.stdout);
    const ok = Number(/: (\d+) ok/.exec(train.stdout)?.[1]);

    emu.faults.inject({ kind: 'rate-limit', retryAfterSeconds: 1, method: 'GET', times: 2 });
    emu.faults.inject({ kind: 'rate-limit', retryAfterSeconds: 1, method: 'PUT', pathIncludes: '/versions/', times: 2 });
    emu.faults.inject({ kind: 'reset-after-handling', method: 'PUT', pathIncludes: '/versions/', skip: 2, times: 2 });
    const promote = await run(['promote']);
    expect(promote.code, promote.stderr).toBe(0);

    emu.faults.inject({ kind: 'reset', method: 'GET', times: 2 });
    const score = await run(['score']);
    expect(score.code, score.stderr).toBe(0);

    expect(emu.requests.filter((r) => r.fault).length).toBe(3 + 3 + 3 + 2 + 1 + 2 + 2 + 2 + 2);
    for (const kind of [['workspaces', WORKSPACE], ['workspaces', PROD_WORKSPACE]] as const) {
      const models = groupModels(emu, kind[0], kind[1]);
      expect(models.size).toBe(ok);
      for (const versions of models.values()) expect(versions).toEqual([runId]);
    }
    expect(predictions(dir)).toMatchObject({ groups: ok, rows: ok * 7 });
  });

  it('a registration that stopped halfway is finished by train --resume, then promoted whole', async () => {
    const { emu, run } = await project('per_group', 'workspace');
    // Given the training workspace failing every version PUT after the tenth
    const outage = emu.faults.inject({ kind: 'status', status: 503, retryAfterSeconds: 0, method: 'PUT', pathIncludes: '/versions/', skip: 10, times: 100_000 });

    // When training runs, it trains every group but stops registering with a remote error
    const train = await run(['train']);
    expect(train.code).toBe(3);
    expect(train.stderr).toContain('Error MM601');
    const runId = /--resume (\S+)/.exec(train.stderr)?.[1] ?? '';
    expect(runId).toMatch(/-train-/);
    expect(groupModels(emu, 'workspaces', WORKSPACE).size).toBeLessThan(20);

    // When the service is back and the run is resumed
    outage.cancel();
    const mark = emu.requests.length;
    const resume = await run(['train', '--resume', runId]);
    expect(resume.code, resume.stderr).toBe(0);
    // Then only the missing versions were written, and every ok group now has one version
    const trained = groupModels(emu, 'workspaces', WORKSPACE);
    const written = emu.requests.slice(mark).filter((r) => r.method === 'PUT' && /\/versions\//.test(r.path) && !r.path.includes('__index')).length;
    expect(written).toBe(trained.size - 10);
    for (const versions of trained.values()) expect(versions).toEqual([runId]);

    // and promotion takes every group of the stopped run (through the resume run's lineage)
    const promote = await run(['promote']);
    expect(promote.code, promote.stderr).toBe(0);
    expect(promote.stdout).toContain(`${trained.size} promoted`);
    const prod = groupModels(emu, 'workspaces', PROD_WORKSPACE);
    expect(prod.size).toBe(trained.size);
    for (const versions of prod.values()) expect(versions).toEqual([runId]);
  });
});
