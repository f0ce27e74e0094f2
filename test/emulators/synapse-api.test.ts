// The Synapse emulator's Livy batch API over HTTP: both livyApiVersions, spec-valid replies for
// every operation, invalid requests rejected, authentication, paging, plain vs detailed views.
import type { AxiosInstance } from 'axios';
import { afterAll, afterEach, beforeAll, describe, expect, it } from 'vitest';
import { LIVY_API_VERSIONS, LivyContract } from './synapse/livy-contract.js';
import { startSynapseEmulator, type SynapseEmulator } from './synapse/server.js';
import { FAKE_AAD_TOKEN, abfss, batchOptions, livyClient, pollBatch } from './synapse/test-kit.js';

let emu: SynapseEmulator;
let client: AxiosInstance;
let contract: LivyContract;
const POOL = 'mmpool';

beforeAll(async () => {
  // No blob storage here: batches never run a script, they are forced or end `dead` quickly.
  // Slow preparation so a batch is still not_started when a test cancels it, even on a loaded
  // machine (at 200 ms the first create → get → list → cancel, cold, outran it and saw dead).
  emu = await startSynapseEmulator({ minLatencyMs: 3, timings: { preparationMs: 1000 } });
  client = livyClient(emu);
  contract = await LivyContract.load();
});

afterAll(async () => {
  await emu.stop();
});

afterEach(() => {
  expect(emu.replyProblems()).toEqual([]);
  emu.faults.clear();
});

const FILE = abfss('jobs', 'entry/train.py');

describe('operations at both livyApiVersions', () => {
  it.each(LIVY_API_VERSIONS)('creates, gets, lists and cancels at %s; every reply matches sparkJob.json', async (version) => {
    // Given the pool's batches path at this livyApiVersion
    const base = emu.batchesPath(POOL, version);

    // When it is created with every SparkBatchJobOptions field
    const created = await client.post(base, batchOptions(FILE, {
      className: 'ignored.for.python', args: ['--spec', abfss('jobs', 'spec.json')], jars: [], pyFiles: [abfss('jobs', 'lib.zip')],
      files: [abfss('jobs', 'conf.txt')], archives: [], conf: { 'spark.dynamicAllocation.enabled': 'false' },
      tags: { 'manymodels.run': 'r-1' }, artifactId: 'manymodels',
    }), { params: { detailed: true } });

    // Then the create reply is a detailed SparkBatchJob in not_started
    expect(created.status).toBe(200);
    expect(contract.checkReply('SparkBatch_CreateSparkBatchJob', 200, created.data)).toEqual([]);
    expect(created.data).toMatchObject({
      state: 'not_started', result: 'Uncertain', jobType: 'SparkBatch', sparkPoolName: POOL, workspaceName: emu.workspaceName,
      submitterName: 'ci@manymodels.invalid', artifactId: 'manymodels', tags: { 'manymodels.run': 'r-1' }, appId: null, log: [],
      schedulerInfo: { currentState: 'Queued' }, pluginInfo: { currentState: 'Preparation' }, errorInfo: [],
      livyInfo: { currentState: 'not_started', jobCreationRequest: { name: 'manymodels-emulator-test', pyFiles: [abfss('jobs', 'lib.zip')] } },
    });
    expect(created.data.livyInfo.jobCreationRequest).not.toHaveProperty('tags');
    const id = created.data.id as number;

    // And get (plain and detailed), list and cancel answer at the same version
    const plain = await client.get(`${base}/${id}`);
    expect(contract.checkReply('SparkBatch_GetSparkBatchJob', 200, plain.data)).toEqual([]);
    expect(Object.keys(plain.data).sort()).toEqual(['appId', 'appInfo', 'id', 'log', 'name', 'state']);
    const listed = await client.get(base, { params: { detailed: true } });
    expect(contract.checkReply('SparkBatch_GetSparkBatchJobs', 200, listed.data)).toEqual([]);
    expect(listed.data.sessions.map((s: { id: number }) => s.id)).toContain(id);
    const cancelled = await client.delete(`${base}/${id}`);
    expect(cancelled.status).toBe(200);
    expect(cancelled.data).toBe('');
    expect(contract.checkReply('SparkBatch_CancelSparkBatchJob', 200, undefined)).toEqual([]);
    const { batch } = await pollBatch(client, base, id);
    expect(batch).toMatchObject({ state: 'killed', result: 'Cancelled' });
    expect(batch.schedulerInfo?.cancellationRequestedAt).toEqual(expect.any(String));

    // And the emulator recorded the version and pool it was addressed with
    expect(emu.requests.filter((r) => r.batchId === id && r.sparkPool === POOL).map((r) => [r.operation, r.livyApiVersion])).toEqual(
      expect.arrayContaining([['SparkBatch_CreateSparkBatchJob', version], ['SparkBatch_CancelSparkBatchJob', version]]),
    );
  });

  it('counts batch ids from 0 per pool and keeps pools apart', async () => {
    const a = await client.post(emu.batchesPath('pool-a'), batchOptions(FILE));
    const b = await client.post(emu.batchesPath('pool-b'), batchOptions(FILE));
    expect([a.data.id, b.data.id]).toEqual([0, 0]);
    expect((await client.get(`${emu.batchesPath('pool-a')}/1`)).status).toBe(404);
  });
});

describe('invalid requests', () => {
  const base = (): string => emu.batchesPath(POOL);

  it.each([
    ['no file', { name: 'x' }, 'file'],
    ['no name', { file: FILE }, 'name'],
    ['a number as a string', { ...batchOptions(FILE), driverCores: '4' }, 'driverCores'],
    ['a non-string conf value', { ...batchOptions(FILE), conf: { 'spark.x': 1 } }, 'spark.x'],
    ['the JS name pythonFiles instead of pyFiles', { ...batchOptions(FILE), pythonFiles: [] }, 'pythonFiles'],
    ['args as a string', { ...batchOptions(FILE), args: '--x 1' }, 'args'],
  ])('rejects a create body with %s (400, TraceId/Message, nothing created)', async (_label, body, field) => {
    const before = emu.batches.list().length;
    const res = await client.post(base(), body);
    expect(res.status).toBe(400);
    expect(res.data).toEqual({ TraceId: expect.stringMatching(/^[0-9a-f-]{36} \| client-request-id : /), Message: expect.stringContaining(field) });
    expect(emu.batches.list()).toHaveLength(before);
    const seen = emu.requests.at(-1);
    expect(seen).toMatchObject({ outcome: 'invalid', status: 400, operation: 'SparkBatch_CreateSparkBatchJob' });
    expect(JSON.stringify(seen?.issues)).toContain(field);
  });

  it('rejects bad path and query parameters, and bodies that are not JSON', async () => {
    const cases: Array<[Promise<{ status: number; data: { Message?: string } }>, number, string]> = [
      [client.get(emu.batchesPath(POOL, '2021-06-01')), 400, 'livyApiVersion'],
      [client.get(`${base()}/abc`), 400, 'batchId'],
      [client.get(`${base()}/99999999999`), 400, 'batchId'],
      [client.get(base(), { params: { detailed: 'yes' } }), 400, 'detailed'],
      [client.get(base(), { params: { from: -1 } }), 400, 'from'],
      [client.get(base(), { params: { size: 'ten' } }), 400, 'size'],
      // transformRequest keeps axios from JSON-encoding the broken text into a valid JSON string.
      [client.post(base(), '{"name": "x", "file": ', { headers: { 'content-type': 'application/json' }, transformRequest: [(d: unknown) => d] }), 400, 'JSON'],
    ];
    for (const [request, status, mention] of cases) {
      const res = await request;
      expect(res.status, mention).toBe(status);
      expect(res.data.Message, mention).toContain(mention);
    }
    expect(emu.invalidRequests().filter((r) => r.outcome === 'invalid').length).toBeGreaterThanOrEqual(cases.length);
  });

  it('answers 404 for unknown paths and batches, 405 for a wrong method, 501 for session operations', async () => {
    const unknownPath = await client.get('/livyApi/versions/2019-11-01-preview/sparkPools/p/jobs');
    expect(unknownPath.status).toBe(404);
    expect(emu.requests.at(-1)?.outcome).toBe('not-found');
    const unknownBatch = await client.get(`${base()}/4242`, { params: { detailed: true } });
    expect(unknownBatch.status).toBe(404);
    expect(unknownBatch.data.Message).toBe(`Batch 4242 not found in Spark pool ${POOL}.`);
    expect((await client.delete(`${base()}/4242`)).status).toBe(404);
    expect((await client.put(`${base()}/0`, {})).status).toBe(405);
    const sessions = await client.get(emu.batchesPath(POOL).replace(/batches$/, 'sessions'));
    expect(sessions.status).toBe(501);
    expect(sessions.data.Message).toContain('SparkSession_GetSparkSessions');
  });
});

describe('authentication', () => {
  it('answers 401 without a bearer token, before validation, and never records the token', async () => {
    const anonymous = await livyClient(emu, null).post(emu.batchesPath(POOL), { not: 'valid' });
    expect(anonymous.status).toBe(401);
    expect(anonymous.headers['www-authenticate']).toBe('Bearer');
    expect(anonymous.data.Message).toContain('no bearer token');
    expect(emu.requests.at(-1)).toMatchObject({ outcome: 'unauthenticated', tokenKind: 'none' });
    const basic = await livyClient(emu, null).get(emu.batchesPath(POOL), { headers: { Authorization: 'Basic dXNlcjpwYXNz' } });
    expect(basic.status).toBe(401);
    expect(emu.requests.at(-1)?.tokenKind).toBe('other');
    expect(JSON.stringify(emu.requests)).not.toContain(FAKE_AAD_TOKEN.split('.')[1]);
  });

  it('accepts only the configured tokens when acceptedTokens is set', async () => {
    const strict = await startSynapseEmulator({ acceptedTokens: [FAKE_AAD_TOKEN], sparkPools: [POOL] });
    try {
      expect((await livyClient(strict, 'eyJhbGciOiJub25lIn0.eyJvaWQiOiJ4In0.').get(strict.batchesPath(POOL))).status).toBe(401);
      expect((await livyClient(strict).get(strict.batchesPath(POOL))).status).toBe(200);
      const otherPool = await livyClient(strict).get(strict.batchesPath('no-such-pool'));
      expect(otherPool.status).toBe(404);
      expect(otherPool.data.Message).toContain('no-such-pool');
      expect(strict.replyProblems()).toEqual([]);
    } finally {
      await strict.stop();
    }
  });
});

describe('listing', () => {
  it('pages with from/size, caps size at 20 and reports the pool total, oldest first', async () => {
    // Given 23 batches in a fresh pool
    const base = emu.batchesPath('list-pool', '2020-12-01');
    for (let i = 0; i < 23; i++) expect((await client.post(base, batchOptions(FILE, { name: `b${i}` }))).status).toBe(200);

    // When it is listed without paging, with from/size, and past the end
    const first = await client.get(base);
    const page = await client.get(base, { params: { from: 20, size: 5, detailed: true } });
    const big = await client.get(base, { params: { size: 50 } });
    const past = await client.get(base, { params: { from: 40 } });

    // Then the default and the cap are 20, total counts all 23, and detailed adds the Synapse fields
    expect(first.data).toMatchObject({ from: 0, total: 23 });
    expect(first.data.sessions.map((s: { id: number }) => s.id)).toEqual([...Array(20).keys()]);
    expect(first.data.sessions[0]).not.toHaveProperty('result');
    expect(page.data.sessions.map((s: { name: string }) => s.name)).toEqual(['b20', 'b21', 'b22']);
    expect(page.data.sessions[0]).toHaveProperty('schedulerInfo');
    expect(big.data.sessions).toHaveLength(20);
    expect(past.data).toEqual({ from: 40, total: 23, sessions: [] });
    for (const res of [first, page, big, past]) expect(contract.checkReply('SparkBatch_GetSparkBatchJobs', res.status, res.data)).toEqual([]);
  });
});

describe('life cycle without storage', () => {
  it('walks not_started -> starting and ends dead (System) when no blob storage is configured', async () => {
    const created = await client.post(emu.batchesPath(POOL), batchOptions(FILE));
    const { batch, seen } = await pollBatch(client, emu.batchesPath(POOL), created.data.id as number);
    expect(emu.batches.get(POOL, batch.id)?.history.map((h) => h.state)).toEqual(['not_started', 'starting', 'dead']);
    expect(seen[0]).toBe('not_started');
    expect(batch).toMatchObject({ state: 'dead', result: 'Failed' });
    expect(batch.errorInfo).toEqual([expect.objectContaining({ source: 'System', errorCode: 'LIVY_JOB_STATE_DEAD', message: expect.stringContaining('no blobStorage') })]);
  });

  it('ends dead (Dependency) when the blob storage cannot be reached', async () => {
    // Port 9 (discard) on 127.0.0.1: nothing listens there on a test machine.
    const connectionString = 'DefaultEndpointsProtocol=http;AccountName=devstoreaccount1;AccountKey=a2V5;BlobEndpoint=http://127.0.0.1:9/devstoreaccount1;';
    const offline = await startSynapseEmulator({ blobStorage: { connectionString } });
    try {
      const created = await livyClient(offline).post(offline.batchesPath(POOL), batchOptions(FILE));
      const { batch } = await pollBatch(livyClient(offline), offline.batchesPath(POOL), created.data.id as number);
      expect(batch).toMatchObject({ state: 'dead', result: 'Failed' });
      expect(batch.errorInfo).toEqual([expect.objectContaining({ source: 'Dependency', message: expect.stringContaining('Could not read from storage') })]);
      expect(offline.replyProblems()).toEqual([]);
    } finally {
      await offline.stop();
    }
  });

  it('kills a batch cancelled before it starts; DELETE on a finished batch changes nothing', async () => {
    const base = emu.batchesPath(POOL);
    const created = await client.post(base, batchOptions(FILE));
    const id = created.data.id as number;
    expect((await client.delete(`${base}/${id}`)).status).toBe(200);
    const { batch } = await pollBatch(client, base, id);
    expect(batch).toMatchObject({ state: 'killed', result: 'Cancelled', errorInfo: [] });
    expect(batch.livyInfo?.killedAt).toEqual(expect.any(String));
    expect(emu.batches.get(POOL, id)?.history.map((h) => h.state)).toEqual(['not_started', 'killed']);
    expect((await client.delete(`${base}/${id}`)).status).toBe(200);
    expect((await client.get(`${base}/${id}`)).data.state).toBe('killed');
  });

  it('makes every reply take at least minLatencyMs', async () => {
    const slow = await startSynapseEmulator({ minLatencyMs: 60 });
    try {
      const started = Date.now();
      const res = await livyClient(slow).get(slow.batchesPath(POOL));
      expect(res.status).toBe(200);
      expect(Date.now() - started).toBeGreaterThanOrEqual(55);
    } finally {
      await slow.stop();
    }
  });
});
