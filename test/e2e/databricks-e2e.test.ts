// train → promote → score on a databricks target through the CLI in-process, against the
// Databricks emulator: the job really runs the runtime's SparkExecutor (over the fake pyspark
// the emulator's task processes see), once clean and once with faults at every call site, and
// its predictions are compared with the local engine's on the same data. Real Databricks and
// real Spark are not exercised here (docs/databricks.md, "What is tested").
import { copyFileSync, existsSync, mkdirSync, readFileSync, writeFileSync } from 'node:fs';
import path from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { AzureMlEmulator } from '../emulators/azureml/azureml-emulator.js';
import type { ScopeRef } from '../emulators/azureml/model-store.js';
import { RG, SUB, TOKEN as AML_TOKEN } from '../emulators/azureml/test-kit.js';
import { startAzuriteBlob, type AzuriteBlob } from '../emulators/azurite.js';
import { startDatabricksEmulator, type DatabricksEmulator } from '../emulators/databricks/server.js';
import { AUTO_PIPELINE, type AutoPrediction, autoSales, azureMlRegistries, expectSameAutoPredictions, localAutoBaseline, trainAndPromoteAuto } from '../helpers/auto-e2e.js';
import { containerWithSas } from '../helpers/azureml-registry-kit.js';
import { cli, type CliResult } from '../helpers/cli.js';
import { DAILY_PIPELINE, type Prediction, expectSamePredictions, filesUnder, localBaseline, okGroups, registered, sampleSales } from '../helpers/forecast-e2e.js';
import { PYTHON, REPO, cliEnv, projectKit, runIdOf } from '../helpers/project.js';

const kit = projectKit('mm-dbx-');
/** PAT-shaped: the redaction and the emulator both know the `dapi` form. */
const TOKEN = `dapi${'5e1f'.repeat(8)}-3`;

const emulators: Array<{ stop(): Promise<void> }> = [];
let data: string;

function databricksProject(): string {
  const dir = kit.tempDir('mm-dbx-');
  writeFileSync(
    path.join(dir, 'pipelines.yaml'),
    `version: 1
project: e2e
variables:
  data: { default: "dbfs:/data/sales.csv" }
targets:
  dbx:
    default: true
    engine: databricks
    databricks:
      host: \${env.DATABRICKS_HOST}
      auth: pat
      artifacts: { location: dbfs, path: "dbfs:/manymodels" }
      compute:
        new_cluster: { spark_version: 15.4.x-scala2.12, node_type_id: Standard_D4ds_v5, num_workers: 2 }
      timeout_seconds: 900
      libraries: [{ pypi: { package: statsmodels } }]
      poll_interval_seconds: 0.05
    sink: { type: delta, path: "dbfs:/manymodels/predictions" }
  dbx-vol:
    engine: databricks
    databricks:
      host: \${env.DATABRICKS_HOST}
      artifacts: { path: /Volumes/main/retail/files/manymodels, entry_path: /Users/ci/manymodels }
      compute: { serverless: true }
      poll_interval_seconds: 0.05
    sink: { type: delta, path: "dbfs:/manymodels/predictions" }
  dbx-ws:
    engine: databricks
    databricks:
      host: \${env.DATABRICKS_HOST}
      artifacts: { location: workspace, path: /Workspace/Shared/manymodels }
      compute: { existing_cluster_id: 0101-120000-abcd1234 }
      poll_interval_seconds: 0.05
    sink: { type: delta, path: "dbfs:/manymodels/predictions" }
  dbx-sql:
    engine: databricks
    databricks:
      host: \${env.DATABRICKS_HOST}
      artifacts: { path: "dbfs:/manymodels" }
      compute: { existing_cluster_id: 0101-120000-abcd1234 }
      poll_interval_seconds: 0.05
    sink:
      type: synapse_sql
      url: "jdbc:sqlserver://contoso.sql.azuresynapse.net:1433;database=retail;encrypt=true"
      temp_dir: abfss://staging@contoso.dfs.core.windows.net/mm
      auth: forward_storage_credentials
${DAILY_PIPELINE}`,
  );
  return dir;
}

/** An emulator whose task processes import the fake pyspark and read DBFS under its storage root. */
async function emulator(input = data): Promise<{ emu: DatabricksEmulator; sparkLog: string }> {
  const root = kit.tempDir('mm-dbx-emu-');
  const sparkLog = path.join(root, 'fake-spark.log');
  const emu = await startDatabricksEmulator({
    storageRoot: root,
    python: PYTHON,
    acceptedTokens: [TOKEN],
    timings: { queuedMs: 20, pendingMs: 250, terminatingMs: 20 },
    env: {
      PYTHONPATH: path.join(REPO, 'pyspark-templates/tests/fake_pyspark'),
      FAKE_PYSPARK_LOG: sparkLog,
      MANYMODELS_DBFS_MOUNT: path.join(root, 'dbfs'),
      MANYMODELS_VOLUMES_MOUNT: path.join(root, 'volumes'),
      MANYMODELS_WORKSPACE_MOUNT: path.join(root, 'workspace'),
    },
  });
  emulators.push(emu);
  // The input lives in the workspace's DBFS, where the cluster reads it.
  const target = emu.localPathFor('dbfs:/data/sales.csv')!;
  mkdirSync(path.dirname(target), { recursive: true });
  copyFileSync(input, target);
  return { emu, sparkLog };
}

function run(dir: string, emu: DatabricksEmulator, argv: string[], signal?: AbortSignal): Promise<CliResult> {
  const env = cliEnv({ DATABRICKS_TOKEN: TOKEN, DATABRICKS_HOST: emu.url });
  return cli(argv, signal ? { cwd: dir, env, signal } : { cwd: dir, env });
}

interface Write { op: string; format?: string; columns?: string[]; rows?: unknown[][]; options?: Record<string, string>; mode?: string; target?: string }

/** The one write of a scoring run the fake pyspark recorded (its rows carry the run id). */
function writeOf(sparkLog: string, scoreRun: string): Write {
  const writes = readFileSync(sparkLog, 'utf8').trim().split('\n').map((l) => JSON.parse(l) as Write)
    .filter((e) => e.op === 'write' && e.rows?.some((r) => r.includes(scoreRun)));
  expect(writes).toHaveLength(1);
  return writes[0]!;
}

const rowsOf = (w: Write): Prediction[] => w.rows!.map((r) => Object.fromEntries(w.columns!.map((c, i) => [c, r[i]])) as Prediction);

/** The rows the delta writer of the fake pyspark recorded for one scoring run. */
function deltaPredictions(sparkLog: string, scoreRun: string): Prediction[] {
  const w = writeOf(sparkLog, scoreRun);
  expect(w).toMatchObject({ format: 'delta', mode: 'overwrite', target: 'dbfs:/manymodels/predictions', options: { replaceWhere: `run_id = '${scoreRun}'` } });
  return rowsOf(w);
}

let localPredictions: Prediction[];
let localDir: string;
let localTrainRun: string;

beforeAll(async () => {
  // Given 3 stores × 10 items × 150 days of sales, and the local engine's predictions for them.
  data = sampleSales(kit);
  ({ dir: localDir, trainRun: localTrainRun, predictions: localPredictions } = await localBaseline(kit, data));
});

afterAll(async () => {
  await Promise.all(emulators.map((e) => e.stop()));
});

describe('databricks engine, clean', () => {
  let emu: DatabricksEmulator;
  let sparkLog: string;
  let dir: string;
  const outputs: CliResult[] = [];

  beforeAll(async () => {
    ({ emu, sparkLog } = await emulator());
    dir = databricksProject();
  });

  it('trains, promotes and scores with the same predictions as the local engine', async () => {
    const train = await run(dir, emu, ['train']);
    outputs.push(train);
    expect(train.code, train.stderr).toBe(0);
    const trainRun = runIdOf(train.stdout);
    expect(train.stderr).toMatch(/remote run \d+ — http:\/\/127\.0\.0\.1:\d+\/\?o=\d+#job\/\d+\/run\/\d+/);
    expect(registered(dir, trainRun)).toBe(okGroups(dir, trainRun));
    const record = JSON.parse(readFileSync(path.join(dir, '.manymodels/runs', trainRun, 'run.json'), 'utf8')) as { engine: string; state: string; external: { id: string; url: string } };
    expect(record).toMatchObject({ engine: 'databricks', state: 'succeeded' });
    expect(emu.runs.get(Number(record.external.id))).toBeDefined();

    // The job ran the SparkExecutor: applyInPandas over the groups, with the pipeline's Spark settings.
    const submitted = emu.runs.list()[0]!.submitted as { idempotency_token: string; tasks: Array<{ new_cluster: { spark_conf: Record<string, string> }; spark_python_task: { parameters: string[] } }> };
    expect(submitted.idempotency_token).toBe(`manymodels-${trainRun}`);
    expect(submitted.tasks[0]!.new_cluster.spark_conf).toMatchObject({ 'spark.sql.execution.arrow.pyspark.enabled': 'true', 'spark.sql.adaptive.enabled': 'false' });
    expect(submitted.tasks[0]!.spark_python_task.parameters).toEqual(expect.arrayContaining(['--executor', 'spark', '--bundle-artifacts']));
    const log = readFileSync(sparkLog, 'utf8');
    expect(log).toContain('"op": "applyInPandas"');
    expect(log).toContain('"has_package": true');

    for (const step of ['promote', 'score']) {
      const r = await run(dir, emu, [step]);
      outputs.push(r);
      expect(r.code, `${step}: ${r.stderr}`).toBe(0);
    }
    const scoreRun = runIdOf(outputs.at(-1)!.stdout);
    expectSamePredictions(deltaPredictions(sparkLog, scoreRun), localPredictions);

    // The same models through the Synapse SQL connector of Databricks, on an existing cluster.
    const sql = await run(dir, emu, ['score', '--target', 'dbx-sql']);
    expect(sql.code, sql.stderr).toBe(0);
    const sqlRun = runIdOf(sql.stdout);
    const sqlWrite = writeOf(sparkLog, sqlRun);
    expect(sqlWrite).toMatchObject({
      format: 'com.databricks.spark.sqldw',
      mode: 'append',
      options: {
        url: 'jdbc:sqlserver://contoso.sql.azuresynapse.net:1433;database=retail;encrypt=true',
        tempDir: 'abfss://staging@contoso.dfs.core.windows.net/mm',
        dbTable: 'dbo.predictions',
        forwardSparkAzureStorageCredentials: 'true',
        useAzureMSI: 'false',
        preActions: expect.any(String),
      },
    });
    // Before loading: each prediction column an older table lacks is added (never a key column),
    // then this run's rows are deleted (replace_run).
    const actions = String(sqlWrite.options?.preActions).split(';');
    expect(actions.at(-1)).toBe(`IF OBJECT_ID('dbo.predictions') IS NOT NULL DELETE FROM dbo.predictions WHERE run_id = '${sqlRun}'`);
    expect(actions).toContain(
      "IF OBJECT_ID('dbo.predictions') IS NOT NULL AND NOT EXISTS (SELECT 1 FROM sys.columns WHERE object_id = OBJECT_ID('dbo.predictions') AND name = 'prediction') ALTER TABLE dbo.predictions ADD [prediction] FLOAT NULL",
    );
    expect(actions.filter((a) => /\[(store_id|item_id)\]/.test(a))).toEqual([]);
    expectSamePredictions(rowsOf(sqlWrite), localPredictions);
    expect((emu.runs.list().at(-1)!.submitted as { tasks: Array<{ existing_cluster_id?: string }> }).tasks[0]!.existing_cluster_id).toBe('0101-120000-abcd1234');

    // A second scoring run uploads nothing new: every file is already there under its content address.
    const putsBefore = emu.requests.filter((r) => r.operation === 'DbfsPut').length;
    const again = await run(dir, emu, ['score']);
    expect(again.code, again.stderr).toBe(0);
    expect(emu.requests.filter((r) => r.operation === 'DbfsPut').length - putsBefore).toBe(0);
  });

  it('keeps artifacts and outputs in a Unity Catalog volume, or artifacts in workspace files', async () => {
    for (const target of ['dbx-vol', 'dbx-ws']) {
      const before = emu.requests.length;
      const train = await run(dir, emu, ['train', '--target', target]);
      expect(train.code, `${target}: ${train.stderr}`).toBe(0);
      const runId = runIdOf(train.stdout);
      expect(registered(dir, runId)).toBe(okGroups(dir, runId));
      const ops = new Set(emu.requests.slice(before).map((r) => r.operation));
      if (target === 'dbx-vol') {
        // Uploads, the events tail and the outputs all through the Files API.
        expect([...ops]).toEqual(expect.arrayContaining(['FilesUpload', 'FilesDownload', 'FilesListDirectoryContents']));
        expect(ops.has('DbfsRead')).toBe(false);
        expect(existsSync(emu.localPathFor(`/Volumes/main/retail/files/manymodels/runs/${runId}/run-manifest.json`)!)).toBe(true);
        // The entry script alone goes to workspace files; the runtime, spec and models to the volume.
        const imports = emu.requests.slice(before).filter((r) => r.operation === 'WorkspaceImport').map((r) => (r.body as { path: string }).path);
        expect(imports).toEqual([expect.stringMatching(/^\/Users\/ci\/manymodels\/cas\/[0-9a-f]{64}-train_entry\.py$/)]);
        const task = (emu.runs.list().at(-1)!.submitted as { tasks: Array<{ spark_python_task: { python_file: string; parameters: string[] } }> }).tasks[0]!;
        expect(task.spark_python_task.python_file).toMatch(/^\/Workspace\/Users\/ci\/manymodels\/cas\/[0-9a-f]{64}-train_entry\.py$/);
        expect(task.spark_python_task.parameters.join(' ')).toContain('/Volumes/main/retail/files/manymodels/cas/');
      } else {
        expect([...ops]).toEqual(expect.arrayContaining(['WorkspaceImport', 'WorkspaceGetStatus', 'DbfsRead']));
        const task = (emu.runs.list().at(-1)!.submitted as { tasks: Array<{ spark_python_task: { python_file: string } }> }).tasks[0]!;
        expect(task.spark_python_task.python_file).toMatch(/^\/Workspace\/Shared\/manymodels\/cas\/[0-9a-f]{64}-train_entry\.py$/);
      }
    }
  });

  it('--no-wait returns once submitted; runs watch finishes the run, and registers its models once', async () => {
    const submitted = await run(dir, emu, ['train', '--no-wait']);
    expect(submitted.code, submitted.stderr).toBe(0);
    expect(submitted.stdout).toMatch(/Submitted run \S+ as databricks run \d+/);
    expect(submitted.stdout).toContain('manymodels runs watch');
    const runId = /Submitted run (\S+)/.exec(submitted.stdout)![1]!;
    expect(JSON.parse(readFileSync(path.join(dir, '.manymodels/runs', runId, 'run.json'), 'utf8'))).toMatchObject({ state: 'running' });
    expect(existsSync(path.join(dir, '.manymodels/registry/registry.db')) ? registered(dir, runId) : 0).toBe(0);

    const watch = await run(dir, emu, ['runs', 'watch', runId]);
    expect(watch.code, watch.stderr).toBe(0);
    expect(watch.stdout).toContain(`Run ${runId} (train daily on dbx): succeeded`);
    const ok = okGroups(dir, runId);
    expect(registered(dir, runId)).toBe(ok);
    // Watching a finished run again finalizes it again: nothing is registered twice.
    const again = await run(dir, emu, ['runs', 'watch', runId]);
    expect(again.code, again.stderr).toBe(0);
    expect(registered(dir, runId)).toBe(ok);
  });

  it('runs cancel stops a remote run and records it cancelled', async () => {
    const submitted = await run(dir, emu, ['train', '--no-wait']);
    expect(submitted.code, submitted.stderr).toBe(0);
    const runId = /Submitted run (\S+)/.exec(submitted.stdout)![1]!;
    const cancel = await run(dir, emu, ['runs', 'cancel', runId]);
    expect(cancel.code, cancel.stderr).toBe(0);
    expect(cancel.stdout).toContain(`Run ${runId} (train daily on dbx): cancelled`);
    const record = JSON.parse(readFileSync(path.join(dir, '.manymodels/runs', runId, 'run.json'), 'utf8')) as { state: string; external: { id: string } };
    expect(record.state).toBe('cancelled');
    expect(emu.runs.get(Number(record.external.id))).toMatchObject({ result: 'CANCELED' });
  });

  it('Ctrl-C stops watching without cancelling, says how to cancel or re-attach, and exits 130', async () => {
    const controller = new AbortController();
    const before = emu.runs.list().length;
    // Ctrl-C as soon as Databricks has the run.
    const timer = setInterval(() => {
      if (emu.runs.list().length > before) controller.abort();
    }, 5);
    const train = await run(dir, emu, ['train'], controller.signal);
    clearInterval(timer);
    expect(train.code, train.stderr).toBe(130);
    expect(train.stderr).toContain('Error MM130: stopped watching run');
    expect(train.stderr).toMatch(/manymodels runs cancel \S+/);
    expect(train.stderr).toMatch(/manymodels runs watch \S+/);
    const runId = /manymodels runs watch (\S+)/.exec(train.stderr)![1]!;
    const remote = emu.runs.list().at(-1)!;
    expect(remote.cancelRequested).toBe(false);
    // The run goes on, and a later watch finishes it.
    const watch = await run(dir, emu, ['runs', 'watch', runId]);
    expect(watch.code, watch.stderr).toBe(0);
    expect(registered(dir, runId)).toBe(okGroups(dir, runId));
  });

  it('refuses --no-wait on the local engine, and runs watch on a local run', async () => {
    const noWait = await cli(['train', '--no-wait'], { cwd: localDir });
    expect(noWait.code).toBe(2);
    expect(noWait.stderr).toContain('Error MM318: --no-wait needs a remote engine');
    const watch = await cli(['runs', 'watch', localTrainRun], { cwd: localDir });
    expect(watch.code).toBe(2);
    expect(watch.stderr).toContain(`Error MM503: run ${localTrainRun} ran on the local engine; only remote runs can be watched or cancelled`);
  });

  it('never lets the token reach output, run folders or the job, and sent only valid requests', () => {
    for (const o of outputs) expect(o.stdout + o.stderr).not.toContain(TOKEN);
    for (const file of [...filesUnder(dir), ...filesUnder(emu.storageRoot)]) {
      expect(readFileSync(file).includes(TOKEN), file).toBe(false);
    }
    expect(emu.requests.every((r) => r.tokenKind === 'pat')).toBe(true);
    expect(emu.invalidRequests()).toEqual([]);
    expect(emu.replyProblems()).toEqual([]);
  });
});

describe('databricks engine with faults at every call site', () => {
  it('survives throttling, 5xx, dropped connections and slow replies: no duplicate run, no lost or doubled registration', async () => {
    const { emu, sparkLog } = await emulator();
    const dir = databricksProject();

    // A run that fails on the cluster: the task's error and trace are shown, exit 1.
    emu.faults.forceOutcome('FAILED');
    const failed = await run(dir, emu, ['train']);
    expect(failed.code, failed.stderr).toBe(1);
    expect(failed.stderr).toMatch(/Error MM509: run \S+ failed: Databricks run \d+ ended TERMINATED RUN_EXECUTION_ERROR: Workload failed/);
    expect(failed.stderr).toContain('Error: RuntimeError: forced failure');
    expect(failed.stderr).toContain('Run page: http://127.0.0.1');

    const at = (kind: Parameters<DatabricksEmulator['faults']['inject']>[0]['kind'], method: string, p: string, extra: { times?: number; retryAfterSeconds?: number; delayMs?: number } = {}): void => {
      emu.faults.inject({ kind, method, path: p, ...extra });
    };
    const faultAll = (): void => {
      at('rate-limit', 'GET', '/api/2.0/dbfs/list', { retryAfterSeconds: 1 });
      at('unavailable', 'GET', '/api/2.0/dbfs/get-status');
      at('unavailable', 'POST', '/api/2.0/dbfs/put', { times: 2 });
      at('reset', 'POST', '/api/2.0/dbfs/put');
      at('reset-after-handling', 'POST', '/api/2.2/jobs/runs/submit');
      at('unavailable', 'POST', '/api/2.2/jobs/runs/submit');
      at('rate-limit', 'GET', '/api/2.2/jobs/runs/get', { times: 2, retryAfterSeconds: 1 });
      at('server-error', 'GET', '/api/2.2/jobs/runs/get');
      at('slow', 'GET', '/api/2.2/jobs/runs/get', { delayMs: 300 });
      at('rate-limit', 'GET', '/api/2.0/dbfs/read', { retryAfterSeconds: 1 });
      at('slow', 'GET', '/api/2.0/dbfs/read', { delayMs: 300 });
      at('unavailable', 'GET', '/api/2.0/dbfs/read');
      at('unavailable', 'GET', '/api/2.2/jobs/runs/get-output', { retryAfterSeconds: 1 });
    };

    faultAll();
    const train = await run(dir, emu, ['train']);
    expect(train.code, train.stderr).toBe(0);
    const trainRun = runIdOf(train.stdout);
    expect(emu.faults.pending().rules.filter((r) => r.path !== '/api/2.0/dbfs/put')).toEqual([]);
    const ok = okGroups(dir, trainRun);
    expect(registered(dir, trainRun)).toBe(ok);

    expect((await run(dir, emu, ['promote'])).code).toBe(0);
    emu.faults.clear();
    faultAll();
    const score = await run(dir, emu, ['score']);
    expect(score.code, score.stderr).toBe(0);
    expectSamePredictions(deltaPredictions(sparkLog, runIdOf(score.stdout)), localPredictions);
    expect(emu.faults.pending().rules).toEqual([]);

    // One run per submission despite resent submits, and only the two real ones started a process.
    const runs = emu.runs.list();
    expect(runs).toHaveLength(3);
    expect(new Set(runs.map((r) => r.idempotencyToken)).size).toBe(3);
    expect(emu.runs.processesStarted()).toBe(2);
    expect(emu.requests.filter((r) => r.operation === 'JobsRunsSubmit').length).toBeGreaterThanOrEqual(5);
    // Finalizing the training run again (a watch after the fact) registers nothing twice.
    expect((await run(dir, emu, ['runs', 'watch', trainRun])).code).toBe(0);
    expect(registered(dir, trainRun)).toBe(ok);
    expect(emu.invalidRequests()).toEqual([]);
    expect(emu.replyProblems()).toEqual([]);
  });
});

describe('databricks engine, model type auto with Azure ML registries', () => {
  const TRAIN_WS: ScopeRef = { subscriptionId: SUB, resourceGroup: RG, name: 'ws-train' };
  const PROD_WS: ScopeRef = { subscriptionId: SUB, resourceGroup: RG, name: 'ws-prod' };
  let azurite: AzuriteBlob;
  let aml: AzureMlEmulator;
  let local: Awaited<ReturnType<typeof localAutoBaseline>>;
  let input: string;

  beforeAll(async () => {
    // Given daily series some candidates cannot fit, and the local engine's choices, tags and predictions for them.
    input = autoSales(kit);
    local = await localAutoBaseline(kit, input);
    azurite = await startAzuriteBlob();
    emulators.push(azurite);
    const roomy = { capacity: 100_000, refillPerSecond: 100_000 };
    aml = new AzureMlEmulator({ minLatencyMs: 1, workspaces: [TRAIN_WS, PROD_WS], throttle: { reads: roomy, writes: roomy, deletes: roomy } });
    await aml.start();
    emulators.push(aml);
  });

  it("trains on the cluster, registers each group's chosen model with its selection tags in Azure ML, and scores with the model_type and fallback columns, as the local engine does", async () => {
    const { emu, sparkLog } = await emulator(input);
    const dir = kit.tempDir('mm-dbx-auto-');
    writeFileSync(
      path.join(dir, 'pipelines.yaml'),
      `version: 1
project: e2e
variables:
  data: { default: "dbfs:/data/sales.csv" }
targets:
  dbx:
    default: true
    engine: databricks
    databricks:
      host: \${env.DATABRICKS_HOST}
      auth: pat
      artifacts: { location: dbfs, path: "dbfs:/manymodels" }
      compute:
        new_cluster: { spark_version: 15.4.x-scala2.12, node_type_id: Standard_D4ds_v5, num_workers: 2 }
      poll_interval_seconds: 0.05
    sink: { type: delta, path: "dbfs:/manymodels/predictions" }
${azureMlRegistries(aml, azurite.blobEndpoint, { train: TRAIN_WS.name, prod: PROD_WS.name })}${AUTO_PIPELINE}`,
    );
    const env = cliEnv({ DATABRICKS_TOKEN: TOKEN, DATABRICKS_HOST: emu.url, MM_TRAIN_SAS: await containerWithSas(azurite, 'train'), MM_PROD_SAS: await containerWithSas(azurite, 'prod') });
    const go = (argv: string[]): Promise<CliResult> => cli(argv, { cwd: dir, env, tokenProviderFor: () => ({ getToken: async () => AML_TOKEN }) });

    await trainAndPromoteAuto(go, sparkLog, aml, { train: TRAIN_WS, prod: PROD_WS }, local.tags);

    const score = await go(['score']);
    expect(score.code, score.stderr + score.stdout).toBe(0);
    const w = writeOf(sparkLog, runIdOf(score.stdout));
    expect(w.columns).toEqual(expect.arrayContaining(['model_type', 'fallback']));
    expectSameAutoPredictions(w.rows!.map((r) => Object.fromEntries(w.columns!.map((c, i) => [c, r[i]])) as AutoPrediction), local.predictions);
    expect(emu.invalidRequests()).toEqual([]);
    expect(aml.selfCheckFailures).toEqual([]);
  });
});
