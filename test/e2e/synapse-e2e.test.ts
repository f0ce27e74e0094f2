// train → promote → score on a synapse target through the CLI in-process, against the Synapse
// emulator (Livy batches, over HTTPS, with the real @azure/synapse-spark SDK) and Azurite (the
// lake, over HTTPS with Azure AD tokens, through the real @azure/storage-blob). The batch really
// runs the runtime's SparkExecutor over the fake pyspark, whose synapsesql() records the rows it
// was given; once clean and once with faults at every call site, compared with the local engine.
// Real Synapse, real ADLS Gen2 and real Spark are not exercised (docs/synapse.md).
import { existsSync, readFileSync, writeFileSync } from 'node:fs';
import path from 'node:path';
import tls from 'node:tls';
import { BlobServiceClient } from '@azure/storage-blob';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { AzureScopes } from '../../src/clients/azure-context.js';
import { AzureMlEmulator } from '../emulators/azureml/azureml-emulator.js';
import type { ScopeRef } from '../emulators/azureml/model-store.js';
import { RG, SUB, TOKEN as AML_TOKEN } from '../emulators/azureml/test-kit.js';
import { startAzuriteBlob, type AzuriteBlob } from '../emulators/azurite.js';
import { selfSignedCertificate } from '../emulators/shared/self-signed-cert.js';
import { startSynapseEmulator, type SynapseEmulator } from '../emulators/synapse/server.js';
import { AUTO_PIPELINE, type AutoPrediction, autoSales, azureMlRegistries, expectSameAutoPredictions, localAutoBaseline, trainAndPromoteAuto } from '../helpers/auto-e2e.js';
import { containerWithSas } from '../helpers/azureml-registry-kit.js';
import { cli, type CliResult } from '../helpers/cli.js';
import { DAILY_PIPELINE, type Prediction, expectSamePredictions, filesUnder, localBaseline, okGroups, registered, sampleSales } from '../helpers/forecast-e2e.js';
import { PYTHON, REPO, cliEnv, projectKit, runIdOf } from '../helpers/project.js';

const kit = projectKit('mm-syn-');
const POOL = 'mmpool';

/** JWT-shaped tokens (Azurite checks issuer, audience and lifetime; the emulator takes any bearer token it was given). */
function jwt(claims: Record<string, unknown>): string {
  const now = Math.floor(Date.now() / 1000);
  const body = { iss: 'https://sts.windows.net/00000000-0000-0000-0000-0000000e2e00/', nbf: now - 60, iat: now - 60, exp: now + 7200, ...claims };
  return [Buffer.from('{"alg":"none","typ":"JWT"}').toString('base64url'), Buffer.from(JSON.stringify(body)).toString('base64url'), 'c2lnbmF0dXJl'].join('.');
}
const SYNAPSE_TOKEN = jwt({ aud: 'https://dev.azuresynapse.net', upn: 'ci@manymodels.invalid', oid: '00000000-0000-0000-0000-00000000c1c1' });
const STORAGE_TOKEN = jwt({ aud: 'https://storage.azure.com' });
const tokenProviderFor = (scope: string): { getToken: () => Promise<string> } => {
  if (scope === AzureScopes.synapse) return { getToken: async () => SYNAPSE_TOKEN };
  if (scope === AzureScopes.storage) return { getToken: async () => STORAGE_TOKEN };
  throw new Error(`no token for ${scope} in this test`);
};

// The SDKs refuse bearer tokens over plain http: both emulators serve HTTPS with a throw-away
// certificate that this process trusts for the duration of the file.
const cert = selfSignedCertificate();
const originalCas = tls.getCACertificates('default');

const emulators: Array<{ stop(): Promise<void> }> = [];
let azurite: AzuriteBlob;
let data: string;
let account: string;

function synapseProject(): string {
  const dir = kit.tempDir('mm-syn-');
  writeFileSync(
    path.join(dir, 'pipelines.yaml'),
    `version: 1
project: e2e
variables:
  data: { default: "abfss://lake@${account}.dfs.core.windows.net/data/sales.csv" }
targets:
  syn:
    default: true
    engine: synapse
    synapse:
      endpoint: \${env.SYNAPSE_ENDPOINT}
      spark_pool: ${POOL}
      storage: { account_url: "\${env.LAKE_URL}", container: lake, path: manymodels }
      executor_size: Medium
      executors: 3
      poll_interval_seconds: 0.05
    sink: { type: synapse_sql, database: retail, schema: dbo }
${DAILY_PIPELINE}`,
  );
  return dir;
}

/** An emulator whose batch processes import the fake pyspark and record its writers' calls. */
async function emulator(): Promise<{ emu: SynapseEmulator; sparkLog: string }> {
  const root = kit.tempDir('mm-syn-emu-');
  const sparkLog = path.join(root, 'fake-spark.log');
  const emu = await startSynapseEmulator({
    tls: cert!,
    blobStorage: { connectionString: azurite.connectionString },
    python: PYTHON,
    pythonPath: [path.join(REPO, 'pyspark-templates/tests/fake_pyspark')],
    env: { FAKE_PYSPARK_LOG: sparkLog },
    acceptedTokens: [SYNAPSE_TOKEN],
    sparkPools: [POOL],
    workRoot: path.join(root, 'work'),
    timings: { syncIntervalMs: 200 },
  });
  emulators.push(emu);
  return { emu, sparkLog };
}

function run(dir: string, emu: SynapseEmulator, argv: string[], signal?: AbortSignal): Promise<CliResult> {
  const env = cliEnv({ SYNAPSE_ENDPOINT: emu.url, LAKE_URL: azurite.blobEndpoint });
  return cli(argv, { cwd: dir, env, tokenProviderFor, ...(signal ? { signal } : {}) });
}

type Write = { op: string; method?: string; target?: string; mode?: string; columns?: string[]; rows?: unknown[][] };

/** The rows synapsesql() of the fake pyspark was handed for one scoring run. */
function synapsePredictions<P extends { run_id: string } = Prediction>(sparkLog: string, scoreRun: string): P[] {
  const writes = readFileSync(sparkLog, 'utf8').trim().split('\n').map((l) => JSON.parse(l) as Write)
    .filter((e) => e.op === 'write' && e.method === 'synapsesql')
    .map((w) => ({ w, rows: w.rows!.map((r) => Object.fromEntries(w.columns!.map((c, i) => [c, r[i]])) as P) }))
    .filter(({ rows }) => rows.some((r) => r.run_id === scoreRun));
  expect(writes).toHaveLength(1);
  // The connector's three-part name, and append: Synapse's own connector cannot delete a run's rows.
  expect(writes[0]!.w).toMatchObject({ target: 'retail.dbo.predictions', mode: 'append' });
  return writes[0]!.rows;
}

/** Every batch of the pool carries its run's tag, and no run has two. */
function expectOneBatchPerRun(emu: SynapseEmulator, runs: number): void {
  const tags = emu.batches.list(POOL).map((b) => (b.request.tags as Record<string, string>).manymodels_run);
  expect(tags).toHaveLength(runs);
  expect(new Set(tags).size).toBe(runs);
}

let localPredictions: Prediction[];

beforeAll(async () => {
  if (!cert) return;
  tls.setDefaultCACertificates([...originalCas, cert.cert]);
  azurite = await startAzuriteBlob({ tls: cert });
  account = new URL(azurite.blobEndpoint).pathname.split('/')[1]!;
  // Given 3 stores × 10 items × 150 days of sales in the lake, and the local engine's predictions for them.
  data = sampleSales(kit);
  const lake = BlobServiceClient.fromConnectionString(azurite.connectionString).getContainerClient('lake');
  await lake.create();
  await lake.getBlockBlobClient('data/sales.csv').uploadFile(data);
  ({ predictions: localPredictions } = await localBaseline(kit, data));
});

afterAll(async () => {
  await Promise.all(emulators.map((e) => e.stop()));
  await azurite?.stop();
  tls.setDefaultCACertificates(originalCas);
});

describe.skipIf(!cert)('synapse engine, clean', () => {
  let emu: SynapseEmulator;
  let sparkLog: string;
  let dir: string;
  const outputs: CliResult[] = [];

  beforeAll(async () => {
    ({ emu, sparkLog } = await emulator());
    dir = synapseProject();
  });

  it('trains, promotes and scores with the same predictions as the local engine', async () => {
    const train = await run(dir, emu, ['train']);
    outputs.push(train);
    expect(train.code, train.stderr).toBe(0);
    const trainRun = runIdOf(train.stdout);
    // The batch's address is printed as soon as Livy has it.
    expect(train.stderr).toMatch(new RegExp(`remote run 0 — https://127\\.0\\.0\\.1:\\d+/livyApi/versions/2019-11-01-preview/sparkPools/${POOL}/batches/0`));
    expect(registered(dir, trainRun)).toBe(okGroups(dir, trainRun));
    expect(JSON.parse(readFileSync(path.join(dir, '.manymodels/runs', trainRun, 'run.json'), 'utf8'))).toMatchObject({ engine: 'synapse', state: 'succeeded', external: { id: '0' } });

    // The batch: the entry script and the runtime zip from the lake's content-addressed folder,
    // abfss:// arguments, the node size as memory and cores, the pipeline's Spark settings, our tag.
    const batch = emu.batches.get(POOL, 0)!;
    const cas = `abfss://lake@${account}.dfs.core.windows.net/manymodels/cas/`;
    expect(batch.request).toMatchObject({
      name: `manymodels-daily-${trainRun}`,
      file: expect.stringMatching(new RegExp(`^${cas}[0-9a-f]{64}-train_entry\\.py$`)),
      pyFiles: [expect.stringMatching(new RegExp(`^${cas}[0-9a-f]{64}-manymodels_runtime\\.zip$`))],
      driverMemory: '56g', driverCores: 8, executorMemory: '56g', executorCores: 8, numExecutors: 3,
      tags: { manymodels_run: trainRun, manymodels_pipeline: 'daily', manymodels_stage: 'train' },
      conf: { 'spark.sql.execution.arrow.pyspark.enabled': 'true', 'spark.sql.adaptive.enabled': 'false', 'spark.dynamicAllocation.enabled': 'false' },
    });
    expect(batch.request.args).toEqual(expect.arrayContaining(['--executor', 'spark', '--bundle-artifacts', '--out', `abfss://lake@${account}.dfs.core.windows.net/manymodels/runs/${trainRun}`]));
    const log = readFileSync(sparkLog, 'utf8');
    expect(log).toContain('"op": "applyInPandas"');
    expect(log).toContain('"has_package": true');
    // The Livy log lines are kept in the run folder.
    expect(readFileSync(path.join(dir, '.manymodels/runs', trainRun, 'runtime.log'), 'utf8')).toContain('stderr:');

    for (const step of ['promote', 'score']) {
      const r = await run(dir, emu, [step]);
      outputs.push(r);
      expect(r.code, `${step}: ${r.stderr}`).toBe(0);
    }
    const scoreRun = runIdOf(outputs.at(-1)!.stdout);
    expectSamePredictions(synapsePredictions(sparkLog, scoreRun), localPredictions);
    expect(outputs.at(-1)!.stdout).toContain(`${localPredictions.length.toLocaleString('en-US')} predictions written`);

    // A second scoring run uploads nothing new: every file is already there under its content address.
    const cached = await run(dir, emu, ['score']);
    outputs.push(cached);
    expect(cached.code, cached.stderr).toBe(0);
    expect(cached.stderr).toContain('uploaded 0 files');
    expectOneBatchPerRun(emu, 3);
  });

  it('--no-wait returns once submitted; runs watch finishes the run, and registers its models once', async () => {
    const submitted = await run(dir, emu, ['train', '--no-wait']);
    outputs.push(submitted);
    expect(submitted.code, submitted.stderr).toBe(0);
    expect(submitted.stdout).toMatch(/Submitted run \S+ as synapse run \d+/);
    const runId = /Submitted run (\S+)/.exec(submitted.stdout)![1]!;
    expect(JSON.parse(readFileSync(path.join(dir, '.manymodels/runs', runId, 'run.json'), 'utf8'))).toMatchObject({ state: 'running' });
    expect(registered(dir, runId)).toBe(0);

    const watch = await run(dir, emu, ['runs', 'watch', runId]);
    outputs.push(watch);
    expect(watch.code, watch.stderr).toBe(0);
    expect(watch.stdout).toContain(`Run ${runId} (train daily on syn): succeeded`);
    const ok = okGroups(dir, runId);
    expect(ok).toBeGreaterThan(0);
    expect(registered(dir, runId)).toBe(ok);
    // Watching a finished run again finalizes it again: nothing is registered twice, no batch is created.
    const again = await run(dir, emu, ['runs', 'watch', runId]);
    expect(again.code, again.stderr).toBe(0);
    expect(registered(dir, runId)).toBe(ok);
    expectOneBatchPerRun(emu, 4);
  });

  it('runs cancel kills the batch (even when the reply to the cancel is lost) and records the run cancelled', async () => {
    const submitted = await run(dir, emu, ['train', '--no-wait']);
    expect(submitted.code, submitted.stderr).toBe(0);
    const runId = /Submitted run (\S+)/.exec(submitted.stdout)![1]!;
    emu.faults.inject({ kind: 'reset-after-handling', operation: 'SparkBatch_CancelSparkBatchJob' });
    const cancel = await run(dir, emu, ['runs', 'cancel', runId]);
    outputs.push(cancel);
    expect(cancel.code, cancel.stderr).toBe(0);
    expect(cancel.stdout).toContain(`Run ${runId} (train daily on syn): cancelled`);
    const record = JSON.parse(readFileSync(path.join(dir, '.manymodels/runs', runId, 'run.json'), 'utf8')) as { state: string; external: { id: string } };
    expect(record.state).toBe('cancelled');
    expect(emu.batches.get(POOL, Number(record.external.id))).toMatchObject({ state: 'killed', result: 'Cancelled' });
    expect(registered(dir, runId)).toBe(0);
  });

  it('Ctrl-C stops watching without cancelling, says how to cancel or re-attach, and exits 130', async () => {
    const controller = new AbortController();
    const before = emu.batches.list(POOL).length;
    const timer = setInterval(() => {
      if (emu.batches.list(POOL).length > before) controller.abort();
    }, 5);
    const train = await run(dir, emu, ['train'], controller.signal);
    clearInterval(timer);
    outputs.push(train);
    expect(train.code, train.stderr).toBe(130);
    expect(train.stderr).toMatch(/manymodels runs cancel \S+/);
    const runId = /manymodels runs watch (\S+)/.exec(train.stderr)![1]!;
    expect(emu.batches.list(POOL).at(-1)!.cancelRequested).toBe(false);
    const watch = await run(dir, emu, ['runs', 'watch', runId]);
    expect(watch.code, watch.stderr).toBe(0);
    expect(registered(dir, runId)).toBe(okGroups(dir, runId));
    expectOneBatchPerRun(emu, 6);
  });

  it('never lets a token reach output, run folders, the lake or the job, and sent only valid requests', async () => {
    for (const o of outputs) {
      for (const token of [SYNAPSE_TOKEN, STORAGE_TOKEN]) expect(o.stdout + o.stderr).not.toContain(token);
    }
    for (const file of [...filesUnder(dir), ...filesUnder(emu.workRoot)]) {
      const bytes = readFileSync(file);
      expect(bytes.includes(SYNAPSE_TOKEN) || bytes.includes(STORAGE_TOKEN), file).toBe(false);
    }
    const lake = BlobServiceClient.fromConnectionString(azurite.connectionString).getContainerClient('lake');
    for await (const blob of lake.listBlobsFlat({ prefix: 'manymodels/' })) {
      const bytes = await lake.getBlobClient(blob.name).downloadToBuffer();
      expect(bytes.includes(SYNAPSE_TOKEN) || bytes.includes(STORAGE_TOKEN), blob.name).toBe(false);
    }
    expect(emu.requests.every((r) => r.tokenKind === 'aad')).toBe(true);
    expect(emu.invalidRequests()).toEqual([]);
    expect(emu.replyProblems()).toEqual([]);
  });
});

describe.skipIf(!cert)('synapse engine with faults at every call site', () => {
  it('survives throttling, 5xx, lost replies and slow replies: one batch per run, no lost or doubled registration', async () => {
    const { emu, sparkLog } = await emulator();
    const dir = synapseProject();

    // A batch the pool ends dead: Livy's error and log lines are shown, exit 1, nothing registered.
    emu.faults.forceOutcome('dead');
    const failed = await run(dir, emu, ['train']);
    expect(failed.code, failed.stderr).toBe(1);
    expect(failed.stderr).toMatch(/Error MM509: run \S+ failed: Synapse batch 0 ended dead \(Failed\): \[Monitoring\] Livy Id=\[0\] Job failed during run time with state=\[dead\]/);
    expect(failed.stderr).toContain('Error: LIVY_JOB_STATE_DEAD (Unknown)');
    expect(failed.stderr).toContain('YARN Diagnostics');
    expect(failed.stderr).toContain('Run page: https://127.0.0.1');
    const failedRun = /run (\S+) failed/.exec(failed.stderr)![1]!;
    expect(existsSync(path.join(dir, '.manymodels/registry/registry.db')) ? registered(dir, failedRun) : 0).toBe(0);

    const op = (kind: Parameters<SynapseEmulator['faults']['inject']>[0]['kind'], operation: string, extra: { times?: number; retryAfterSeconds?: number; delayMs?: number } = {}): void => {
      emu.faults.inject({ kind, operation, ...extra });
    };
    const faultAll = (): void => {
      // The create: throttled (retried after Retry-After), a 503 (not resent blindly: the pool is
      // listed for our tag first), then created with the reply lost (found by its tag and adopted).
      op('rate-limit', 'SparkBatch_CreateSparkBatchJob', { retryAfterSeconds: 1 });
      op('unavailable', 'SparkBatch_CreateSparkBatchJob');
      op('reset-after-handling', 'SparkBatch_CreateSparkBatchJob');
      op('rate-limit', 'SparkBatch_GetSparkBatchJobs', { retryAfterSeconds: 1 });
      op('unavailable', 'SparkBatch_GetSparkBatchJobs');
      op('slow', 'SparkBatch_GetSparkBatchJobs', { delayMs: 300 });
      op('rate-limit', 'SparkBatch_GetSparkBatchJob', { times: 2, retryAfterSeconds: 1 });
      op('server-error', 'SparkBatch_GetSparkBatchJob');
      op('unavailable', 'SparkBatch_GetSparkBatchJob');
      op('reset', 'SparkBatch_GetSparkBatchJob');
      op('slow', 'SparkBatch_GetSparkBatchJob', { delayMs: 300 });
    };

    faultAll();
    const train = await run(dir, emu, ['train']);
    expect(train.code, train.stderr).toBe(0);
    const trainRun = runIdOf(train.stdout);
    expect(emu.faults.pending().rules).toEqual([]);
    const ok = okGroups(dir, trainRun);
    expect(ok).toBeGreaterThan(0);
    expect(registered(dir, trainRun)).toBe(ok);

    expect((await run(dir, emu, ['promote'])).code).toBe(0);
    emu.faults.clear();
    faultAll();
    const score = await run(dir, emu, ['score']);
    expect(score.code, score.stderr).toBe(0);
    expectSamePredictions(synapsePredictions(sparkLog, runIdOf(score.stdout)), localPredictions);
    expect(emu.faults.pending().rules).toEqual([]);

    // One batch per run despite the creates resent after a 503 and after a lost reply; only the
    // two that ran their script started a process.
    expectOneBatchPerRun(emu, 3);
    expect(emu.batches.processesStarted()).toBe(2);
    expect(emu.requests.filter((r) => r.operation === 'SparkBatch_CreateSparkBatchJob').length).toBe(1 + 2 * 3);
    // Finalizing the training run again (a watch after the fact) registers nothing twice.
    expect((await run(dir, emu, ['runs', 'watch', trainRun])).code).toBe(0);
    expect(registered(dir, trainRun)).toBe(ok);
    expect(emu.invalidRequests()).toEqual([]);
    expect(emu.replyProblems()).toEqual([]);
  });
});

describe.skipIf(!cert)('synapse engine, model type auto with Azure ML registries', () => {
  const TRAIN_WS: ScopeRef = { subscriptionId: SUB, resourceGroup: RG, name: 'ws-train' };
  const PROD_WS: ScopeRef = { subscriptionId: SUB, resourceGroup: RG, name: 'ws-prod' };
  let aml: AzureMlEmulator;
  let local: Awaited<ReturnType<typeof localAutoBaseline>>;

  beforeAll(async () => {
    // Given daily series some candidates cannot fit, in the lake, and the local engine's choices, tags and predictions for them.
    const input = autoSales(kit);
    await BlobServiceClient.fromConnectionString(azurite.connectionString).getContainerClient('lake').getBlockBlobClient('data/auto-sales.csv').uploadFile(input);
    local = await localAutoBaseline(kit, input);
    const roomy = { capacity: 100_000, refillPerSecond: 100_000 };
    aml = new AzureMlEmulator({ minLatencyMs: 1, workspaces: [TRAIN_WS, PROD_WS], throttle: { reads: roomy, writes: roomy, deletes: roomy } });
    await aml.start();
    emulators.push(aml);
  });

  it("trains in a Spark batch, registers each group's chosen model with its selection tags in Azure ML, and scores with the model_type and fallback columns, as the local engine does", async () => {
    const { emu, sparkLog } = await emulator();
    const dir = kit.tempDir('mm-syn-auto-');
    writeFileSync(
      path.join(dir, 'pipelines.yaml'),
      `version: 1
project: e2e
variables:
  data: { default: "abfss://lake@${account}.dfs.core.windows.net/data/auto-sales.csv" }
targets:
  syn:
    default: true
    engine: synapse
    synapse:
      endpoint: \${env.SYNAPSE_ENDPOINT}
      spark_pool: ${POOL}
      storage: { account_url: "\${env.LAKE_URL}", container: lake, path: manymodels }
      poll_interval_seconds: 0.05
    sink: { type: synapse_sql, database: retail, schema: dbo }
${azureMlRegistries(aml, azurite.blobEndpoint, { train: TRAIN_WS.name, prod: PROD_WS.name })}${AUTO_PIPELINE}`,
    );
    const env = cliEnv({ SYNAPSE_ENDPOINT: emu.url, LAKE_URL: azurite.blobEndpoint, MM_TRAIN_SAS: await containerWithSas(azurite, 'train'), MM_PROD_SAS: await containerWithSas(azurite, 'prod') });
    const withArm = (scope: string): { getToken: () => Promise<string> } => (scope === AzureScopes.resourceManager ? { getToken: async () => AML_TOKEN } : tokenProviderFor(scope));
    const go = (argv: string[]): Promise<CliResult> => cli(argv, { cwd: dir, env, tokenProviderFor: withArm });

    await trainAndPromoteAuto(go, sparkLog, aml, { train: TRAIN_WS, prod: PROD_WS }, local.tags);

    const score = await go(['score']);
    expect(score.code, score.stderr + score.stdout).toBe(0);
    expectSameAutoPredictions(synapsePredictions<AutoPrediction>(sparkLog, runIdOf(score.stdout)), local.predictions);
    expect(emu.invalidRequests()).toEqual([]);
    expect(aml.selfCheckFailures).toEqual([]);
  });
});
