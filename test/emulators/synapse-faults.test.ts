// Fault injection on the Synapse emulator over HTTP: throttling, 5xx, dropped connections
// (before and after handling), slow replies, and forced Livy outcomes.
import { isAxiosError, type AxiosInstance } from 'axios';
import { afterAll, afterEach, beforeAll, describe, expect, it } from 'vitest';
import { startSynapseEmulator, type SynapseEmulator } from './synapse/server.js';
import { abfss, batchOptions, livyClient, pollBatch } from './synapse/test-kit.js';

const POOL = 'faultpool';
const FILE = abfss('jobs', 'entry/train.py');

let emu: SynapseEmulator;
let client: AxiosInstance;
const base = (): string => emu.batchesPath(POOL);

beforeAll(async () => {
  // No storage: these tests are about the protocol; batches that are not forced end dead quickly.
  emu = await startSynapseEmulator({ minLatencyMs: 2 });
  client = livyClient(emu);
});

afterAll(async () => {
  await emu.stop();
});

afterEach(() => {
  expect(emu.replyProblems()).toEqual([]);
  emu.faults.clear();
});

/** The transport error axios raises when the emulator drops the connection. */
async function expectConnectionDropped(request: Promise<unknown>): Promise<void> {
  const err = await request.then(() => undefined, (e: unknown) => e);
  expect(isAxiosError(err)).toBe(true);
  expect(['ECONNRESET', 'ERR_BAD_RESPONSE', 'ECONNABORTED']).toContain((err as { code?: string }).code);
  expect((err as { response?: unknown }).response).toBeUndefined();
}

describe('transport faults', () => {
  it('answers the next N matching requests with 429 and Retry-After, in the Synapse error shape', async () => {
    const id = (await client.post(base(), batchOptions(FILE))).data.id as number;
    const fault = emu.faults.inject({ kind: 'rate-limit', method: 'GET', path: `${base()}/${id}`, times: 2, retryAfterSeconds: 3 });
    const replies = [];
    for (let i = 0; i < 3; i++) replies.push(await client.get(`${base()}/${id}`));
    expect(replies.map((r) => r.status)).toEqual([429, 429, 200]);
    expect(replies[0]?.headers['retry-after']).toBe('3');
    expect(replies[0]?.data).toEqual({ TraceId: expect.any(String), Message: expect.stringContaining('Retry after 3 seconds') });
    expect(fault.remaining()).toBe(0);
    expect(emu.requests.filter((r) => r.fault === 'rate-limit').map((r) => [r.operation, r.status, r.outcome])).toEqual([
      ['SparkBatch_GetSparkBatchJob', 429, 'fault'], ['SparkBatch_GetSparkBatchJob', 429, 'fault'],
    ]);
  });

  it('answers 503 (with Retry-After when asked) and 500, matching by operation and skipping the first matches', async () => {
    emu.faults.inject({ kind: 'unavailable', operation: 'SparkBatch_GetSparkBatchJobs', skip: 1, retryAfterSeconds: 2 });
    emu.faults.inject({ kind: 'server-error', method: 'POST' });
    expect((await client.get(base())).status).toBe(200);
    const unavailable = await client.get(base(), { params: { detailed: true } });
    expect(unavailable.status).toBe(503);
    expect(unavailable.headers['retry-after']).toBe('2');
    expect(unavailable.data.Message).toContain('temporarily unavailable');
    expect((await client.get(base())).status).toBe(200);
    const broken = await client.post(base(), batchOptions(FILE));
    expect(broken.status).toBe(500);
    expect(broken.headers['retry-after']).toBeUndefined();
    expect(emu.faults.pending().rules).toEqual([]);
  });

  it('resets the connection before handling: no batch is created', async () => {
    const before = emu.batches.list(POOL).length;
    emu.faults.inject({ kind: 'reset', method: 'POST', path: base() });
    await expectConnectionDropped(client.post(base(), batchOptions(FILE)));
    expect(emu.batches.list(POOL)).toHaveLength(before);
    expect(emu.requests.at(-1)).toMatchObject({ operation: 'SparkBatch_CreateSparkBatchJob', outcome: 'reset', status: 0, fault: 'reset' });
    expect(emu.requests.at(-1)).not.toHaveProperty('batchId');
  });

  it('resets after the batch was created: Livy has no idempotency key, so a blind retry makes a second batch', async () => {
    // Given a create whose reply is lost after the batch exists
    const before = emu.batches.list(POOL).length;
    const body = batchOptions(FILE, { name: 'retried-create', tags: { 'manymodels.submission': 's-1' } });
    emu.faults.inject({ kind: 'reset-after-handling', operation: 'SparkBatch_CreateSparkBatchJob' });
    await expectConnectionDropped(client.post(base(), body));
    const lost = emu.requests.at(-1);
    expect(lost).toMatchObject({ outcome: 'reset', status: 0, fault: 'reset-after-handling', batchId: expect.any(Number) });

    // When the client simply retries
    const retried = await client.post(base(), body);

    // Then there are two batches of the same submission; the records name both
    expect(retried.status).toBe(200);
    expect(retried.data.id).not.toBe(lost?.batchId);
    expect(emu.batches.list(POOL)).toHaveLength(before + 2);
    expect(emu.requests.filter((r) => r.operation === 'SparkBatch_CreateSparkBatchJob' && (r.body as { name?: string }).name === 'retried-create')
      .map((r) => [r.outcome, r.batchId])).toEqual([['reset', lost?.batchId], ['ok', retried.data.id]]);
    // And a client that lists with detailed=true can find the first by its tag before retrying
    const listed = await client.get(base(), { params: { detailed: true } });
    const mine = listed.data.sessions.filter((s: { tags?: Record<string, string> }) => s.tags?.['manymodels.submission'] === 's-1');
    expect(mine.map((s: { id: number }) => s.id)).toEqual([lost?.batchId, retried.data.id]);
  });

  it('resets after a DELETE was handled: the cancel still takes effect', async () => {
    emu.faults.forceOutcome('dead');
    const id = (await client.post(base(), batchOptions(FILE))).data.id as number;
    emu.faults.inject({ kind: 'reset-after-handling', method: 'DELETE' });
    await expectConnectionDropped(client.delete(`${base()}/${id}`));
    const { batch } = await pollBatch(client, base(), id);
    expect(batch).toMatchObject({ state: 'killed', result: 'Cancelled' });
  });

  it('delays a matching reply by delayMs, then answers normally', async () => {
    emu.faults.inject({ kind: 'slow', method: 'GET', path: base(), delayMs: 300 });
    const started = Date.now();
    const res = await client.get(base());
    expect(res.status).toBe(200);
    expect(Date.now() - started).toBeGreaterThanOrEqual(290);
    expect(emu.requests.at(-1)).toMatchObject({ fault: 'slow', outcome: 'ok', status: 200 });
    const quick = Date.now();
    await client.get(base());
    expect(Date.now() - quick).toBeLessThan(250);
  });

  it('checks authentication before faults: an anonymous request does not use one up', async () => {
    const fault = emu.faults.inject({ kind: 'server-error' });
    expect((await livyClient(emu, null).get(base())).status).toBe(401);
    expect(fault.remaining()).toBe(1);
    expect((await client.get(base())).status).toBe(500);
  });
});

describe('forced outcomes', () => {
  it.each([
    ['dead', 'Failed', { errorCode: 'LIVY_JOB_STATE_DEAD', source: 'Unknown' }],
    ['error', 'Failed', { errorCode: 'LIVY_JOB_STATE_ERROR', source: 'System' }],
    ['killed', 'Cancelled', undefined],
  ] as const)('the next batch goes through running and ends %s without running a script', async (outcome, result, error) => {
    emu.faults.forceOutcome(outcome);
    expect(emu.faults.pending().outcomes).toEqual([outcome]);
    const id = (await client.post(base(), batchOptions(FILE))).data.id as number;
    expect(emu.faults.pending().outcomes).toEqual([]);
    const { batch } = await pollBatch(client, base(), id);
    expect(emu.batches.get(POOL, id)?.history.map((h) => h.state)).toEqual(['not_started', 'starting', 'running', outcome]);
    expect(batch).toMatchObject({ state: outcome, result });
    expect(batch.errorInfo).toEqual(error ? [expect.objectContaining({ ...error, message: expect.stringContaining('emulator fault injection') })] : []);
    expect(batch.log?.at(-1)).toContain('emulator fault injection');
    expect(emu.batches.processesStarted()).toBe(0);
  });

  it('clear() drops pending rules and outcomes', () => {
    emu.faults.inject({ kind: 'rate-limit' });
    emu.faults.forceOutcome('dead', 2);
    expect(emu.faults.pending()).toMatchObject({ rules: [{ kind: 'rate-limit' }], outcomes: ['dead', 'dead'] });
    emu.faults.clear();
    expect(emu.faults.pending()).toEqual({ rules: [], outcomes: [] });
  });
});
