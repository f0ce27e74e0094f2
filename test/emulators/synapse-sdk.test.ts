// The real @azure/synapse-spark SDK (SparkClient) against the Synapse emulator over HTTPS, with a
// script in Azurite: the paths, livyApiVersions and wire names it sends, and what it reads back.
import { BlobServiceClient, type ContainerClient } from '@azure/storage-blob';
import { type SparkBatchJob, SparkClient } from '@azure/synapse-spark';
import { setTimeout as sleep } from 'node:timers/promises';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { type AzuriteBlob, startAzuriteBlob } from './azurite.js';
import { selfSignedCertificate } from './shared/self-signed-cert.js';
import { startSynapseEmulator, type SynapseEmulator } from './synapse/server.js';
import { FAKE_AAD_TOKEN, abfss, readBlobText, uploadText } from './synapse/test-kit.js';

const POOL = 'sdkpool';
const SDK_PY = `import pathlib, sys
print("sdk batch argv=" + " ".join(sys.argv[1:]))
pathlib.Path(sys.argv[2]).write_text("written via the SDK")
`;
const SLEEP_PY = 'import time\nprint("sleeping", flush=True)\ntime.sleep(60)\n';

// core-rest-pipeline refuses bearer tokens over plain http, so the SDK needs the emulator's TLS mode.
const tls = selfSignedCertificate();
const credential = { getToken: async () => ({ token: FAKE_AAD_TOKEN, expiresOnTimestamp: Date.now() + 3_600_000 }) };

let azurite: AzuriteBlob;
let emu: SynapseEmulator;
let jobs: ContainerClient;

const sdkClient = (extra: { livyApiVersion?: string } = {}): SparkClient =>
  new SparkClient(credential, emu.url, POOL, { tlsOptions: { ca: tls?.cert }, retryOptions: { maxRetries: 2 }, ...extra });

async function waitForEnd(client: SparkClient, id: number): Promise<SparkBatchJob> {
  for (const deadline = Date.now() + 20_000; Date.now() < deadline; await sleep(20)) {
    const batch = await client.sparkBatch.getSparkBatchJob(id, { detailed: true });
    if (['success', 'dead', 'killed', 'error'].includes(batch.state ?? '')) return batch;
  }
  throw new Error(`batch ${id} did not end`);
}

describe.skipIf(!tls)('the real @azure/synapse-spark SDK', () => {
  beforeAll(async () => {
    azurite = await startAzuriteBlob();
    jobs = BlobServiceClient.fromConnectionString(azurite.connectionString).getContainerClient('jobs');
    await jobs.create();
    await uploadText(jobs, 'entry/sdk.py', SDK_PY);
    await uploadText(jobs, 'entry/sleep.py', SLEEP_PY);
    emu = await startSynapseEmulator({ tls, blobStorage: { connectionString: azurite.connectionString } });
  });

  afterAll(async () => {
    await emu?.stop();
    await azurite?.stop();
  });

  it('creates a batch with JS option names, polls it to success and lists it; the emulator sees the wire names', async () => {
    // Given the SDK with its default livyApiVersion
    const sdk = sdkClient();

    // When it creates a batch using the SDK's own names (arguments, pythonFiles, configuration, executorCount)
    const created = await sdk.sparkBatch.createSparkBatchJob({
      name: 'sdk-batch',
      file: abfss('jobs', 'entry/sdk.py'),
      arguments: ['--out', abfss('jobs', 'out/sdk.txt')],
      pythonFiles: [],
      configuration: { 'spark.dynamicAllocation.enabled': 'false' },
      executorCount: 2,
      driverMemory: '28g',
      driverCores: 4,
      executorMemory: '28g',
      executorCores: 4,
      tags: { 'manymodels.run': 'sdk-1' },
    }, { detailed: true });
    const done = await waitForEnd(sdk, created.id);

    // Then the request went to the documented path at 2019-11-01-preview with wire names
    const create = emu.requests.find((r) => r.operation === 'SparkBatch_CreateSparkBatchJob');
    expect(create).toMatchObject({
      method: 'POST', path: `/livyApi/versions/2019-11-01-preview/sparkPools/${POOL}/batches`, query: { detailed: 'true' },
      tokenKind: 'aad', outcome: 'ok', livyApiVersion: '2019-11-01-preview',
    });
    expect(Object.keys(create?.body as object).sort()).toEqual(
      ['args', 'conf', 'driverCores', 'driverMemory', 'executorCores', 'executorMemory', 'file', 'name', 'numExecutors', 'pyFiles', 'tags'],
    );

    // And the SDK reads the detailed reply under its client names
    expect(created).toMatchObject({ state: 'not_started', result: 'Uncertain', sparkPoolName: POOL, scheduler: { currentState: 'Queued' } });
    expect(done).toMatchObject({ state: 'success', result: 'Succeeded', plugin: { currentState: expect.stringMatching(/Cleanup|Ended/) }, errors: [] });
    expect(done.livyInfo?.successAt).toBeInstanceOf(Date);
    expect(done.logLines).toContain(`sdk batch argv=--out ${emu.localPathFor(POOL, created.id, abfss('jobs', 'out/sdk.txt'))}`);
    expect(await readBlobText(jobs, 'out/sdk.txt')).toBe('written via the SDK');

    // And the list sends from/size/detailed as query parameters
    const listed = await sdk.sparkBatch.getSparkBatchJobs({ fromParam: 0, size: 5, detailed: true });
    expect(listed.total).toBeGreaterThanOrEqual(1);
    expect(listed.sessions?.map((s) => s.id)).toContain(created.id);
    expect(emu.requests.find((r) => r.operation === 'SparkBatch_GetSparkBatchJobs')?.query).toEqual({ from: '0', size: '5', detailed: 'true' });
    expect(emu.invalidRequests()).toEqual([]);
    expect(emu.replyProblems()).toEqual([]);
  });

  it('cancels a running batch, speaks 2020-12-01 when told to, and honours Retry-After on 429', async () => {
    const sdk = sdkClient({ livyApiVersion: '2020-12-01' });
    const created = await sdk.sparkBatch.createSparkBatchJob({ name: 'sdk-sleep', file: abfss('jobs', 'entry/sleep.py') });
    for (let state = created.state; state !== 'running'; await sleep(20)) state = (await sdk.sparkBatch.getSparkBatchJob(created.id)).state;

    // A throttled GET is retried by the SDK after Retry-After
    emu.faults.inject({ kind: 'rate-limit', operation: 'SparkBatch_GetSparkBatchJob', retryAfterSeconds: 1 });
    const started = Date.now();
    expect((await sdk.sparkBatch.getSparkBatchJob(created.id)).state).toBe('running');
    expect(Date.now() - started).toBeGreaterThanOrEqual(900);

    await sdk.sparkBatch.cancelSparkBatchJob(created.id);
    const ended = await waitForEnd(sdk, created.id);
    expect(ended).toMatchObject({ state: 'killed', result: 'Cancelled' });
    expect(ended.scheduler?.cancellationRequestedAt).toBeInstanceOf(Date);

    const mine = emu.requests.filter((r) => r.batchId === created.id);
    expect(new Set(mine.map((r) => r.livyApiVersion))).toEqual(new Set(['2020-12-01']));
    expect(mine.filter((r) => r.fault === 'rate-limit').map((r) => r.status)).toEqual([429]);
    expect(mine.some((r) => r.operation === 'SparkBatch_CancelSparkBatchJob' && r.status === 200)).toBe(true);

    // An unknown batch surfaces as a RestError with the status code
    await expect(sdk.sparkBatch.getSparkBatchJob(987_654)).rejects.toMatchObject({ statusCode: 404 });
    expect(emu.replyProblems()).toEqual([]);
  });
});
