// Fault injection, authentication and request rejection on the Databricks emulator, over HTTP.
import { isAxiosError, type AxiosInstance } from 'axios';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { FAKE_PAT, emulatorClient, pollRun, pythonTaskSubmit } from './databricks/emulator-test-client.js';
import { getJobsApiValidator } from './databricks/openapi3-validator.js';
import { startDatabricksEmulator, type DatabricksEmulator } from './databricks/server.js';

const jobsSpec = getJobsApiValidator();
const SUBMIT = '/api/2.2/jobs/runs/submit';
const QUICK_PY = 'print("quick")\n';
const SLEEP_PY = 'import time\nprint("sleeping", flush=True)\ntime.sleep(60)\n';

let emu: DatabricksEmulator;
let client: AxiosInstance;

beforeAll(async () => {
  emu = await startDatabricksEmulator({ timings: { queuedMs: 10, pendingMs: 20, terminatingMs: 10, cancelDelayMs: 10 } });
  client = emulatorClient(emu);
  await client.post('/api/2.0/dbfs/put', { path: '/jobs/quick.py', contents: Buffer.from(QUICK_PY).toString('base64') });
});

afterAll(async () => {
  await emu.stop();
});

/** The transport error axios raises when the emulator drops the connection. */
async function expectConnectionDropped(request: Promise<unknown>): Promise<void> {
  const err = await request.then(() => undefined, (e: unknown) => e);
  expect(isAxiosError(err)).toBe(true);
  expect(['ECONNRESET', 'ERR_BAD_RESPONSE', 'ECONNABORTED']).toContain((err as { code?: string }).code);
  expect((err as { response?: unknown }).response).toBeUndefined();
}

describe('transport faults', () => {
  it('answers the next N matching requests with 429 REQUEST_LIMIT_EXCEEDED and Retry-After', async () => {
    const runId = (await client.post(SUBMIT, pythonTaskSubmit('dbfs:/jobs/quick.py'))).data.run_id as number;
    const fault = emu.faults.inject({ kind: 'rate-limit', method: 'GET', path: '/api/2.2/jobs/runs/get', times: 2, retryAfterSeconds: 3 });
    const replies = [];
    for (let i = 0; i < 3; i++) replies.push(await client.get('/api/2.2/jobs/runs/get', { params: { run_id: runId } }));
    expect(replies.map((r) => r.status)).toEqual([429, 429, 200]);
    expect(replies[0]?.headers['retry-after']).toBe('3');
    expect(replies[0]?.data).toEqual({ error_code: 'REQUEST_LIMIT_EXCEEDED', message: expect.stringContaining('retry after 3 seconds') });
    expect(jobsSpec.validateResponse('/api/2.2/jobs/runs/get', 'GET', 429, replies[0]?.data)).toEqual([]);
    expect(fault.remaining()).toBe(0);
    expect(emu.requests.filter((r) => r.fault === 'rate-limit')).toHaveLength(2);
  });

  it('answers 503 TEMPORARILY_UNAVAILABLE and 500 INTERNAL_ERROR, skipping the first matches when asked', async () => {
    emu.faults.inject({ kind: 'unavailable', path: /\/dbfs\/put$/, skip: 1 });
    emu.faults.inject({ kind: 'server-error', path: '/api/2.0/dbfs/get-status' });
    const put = (name: string) => client.post('/api/2.0/dbfs/put', { path: `/faults/${name}`, contents: 'eA==' });
    expect((await put('a')).status).toBe(200);
    const unavailable = await put('b');
    expect(unavailable.status).toBe(503);
    expect(unavailable.data).toEqual({ error_code: 'TEMPORARILY_UNAVAILABLE', message: 'The service at /api/2.0/dbfs/put is temporarily unavailable. Please try again later.' });
    expect((await put('b')).status).toBe(200);
    const broken = await client.get('/api/2.0/dbfs/get-status', { params: { path: '/faults/a' } });
    expect(broken.status).toBe(500);
    expect(broken.data.error_code).toBe('INTERNAL_ERROR');
    emu.faults.inject({ kind: 'status', status: 504, path: '/api/2.0/dbfs/get-status', retryAfterSeconds: 2 });
    const timedOut = await client.get('/api/2.0/dbfs/get-status', { params: { path: '/faults/a' } });
    expect([timedOut.status, timedOut.headers['retry-after'], timedOut.data.error_code]).toEqual([504, '2', 'DEADLINE_EXCEEDED']);
    expect(() => emu.faults.inject({ kind: 'lro-failure' })).toThrow(/does not implement/);
  });

  it('resets the connection before handling: no run is created', async () => {
    const before = emu.runs.list().length;
    emu.faults.inject({ kind: 'reset', method: 'POST', path: SUBMIT });
    await expectConnectionDropped(client.post(SUBMIT, pythonTaskSubmit('dbfs:/jobs/quick.py')));
    expect(emu.runs.list().length).toBe(before);
    expect(emu.requests.at(-1)).toMatchObject({ operation: 'JobsRunsSubmit', outcome: 'reset', status: 0, fault: 'reset' });
  });

  it('resets after the run was created: a retry with the same idempotency_token finds that run, one process in all', async () => {
    const runsBefore = emu.runs.list().length;
    const processesBefore = emu.runs.processesStarted();
    const body = pythonTaskSubmit('dbfs:/jobs/quick.py', [], { idempotency_token: 'retry-after-reset-1' });
    emu.faults.inject({ kind: 'reset-after-handling', method: 'POST', path: SUBMIT });
    await expectConnectionDropped(client.post(SUBMIT, body));
    expect(emu.runs.list().length).toBe(runsBefore + 1);
    const retried = await client.post(SUBMIT, body);
    expect(retried.status).toBe(200);
    expect(retried.data.run_id).toBe(emu.runs.list().at(-1)?.runId);
    expect((await pollRun(client, retried.data.run_id as number)).run.state.result_state).toBe('SUCCESS');
    expect(emu.runs.list().length).toBe(runsBefore + 1);
    expect(emu.runs.processesStarted()).toBe(processesBefore + 1);
  });

  it('without an idempotency_token the same retry launches a second run (why the token matters)', async () => {
    const before = emu.runs.list().length;
    emu.faults.inject({ kind: 'reset-after-handling', method: 'POST', path: SUBMIT });
    await expectConnectionDropped(client.post(SUBMIT, pythonTaskSubmit('dbfs:/jobs/quick.py')));
    await client.post(SUBMIT, pythonTaskSubmit('dbfs:/jobs/quick.py'));
    expect(emu.runs.list().length).toBe(before + 2);
  });

  it('delays slow replies, so a client timeout fires', async () => {
    emu.faults.inject({ kind: 'slow', path: '/api/2.2/jobs/runs/list', delayMs: 400 });
    const started = Date.now();
    const err = await client.get('/api/2.2/jobs/runs/list', { timeout: 100 }).then(() => undefined, (e: unknown) => e);
    expect((err as { code?: string }).code).toBe('ECONNABORTED');
    expect(Date.now() - started).toBeLessThan(400);
    emu.faults.inject({ kind: 'slow', path: '/api/2.2/jobs/runs/list', delayMs: 150 });
    const t0 = Date.now();
    expect((await client.get('/api/2.2/jobs/runs/list')).status).toBe(200);
    expect(Date.now() - t0).toBeGreaterThanOrEqual(150);
  });
});

describe('forced run outcomes', () => {
  it.each([
    ['FAILED', 'TERMINATED', 'FAILED', 'RUN_EXECUTION_ERROR'],
    ['INTERNAL_ERROR', 'INTERNAL_ERROR', 'FAILED', 'INTERNAL_ERROR'],
    ['TIMEDOUT', 'TERMINATED', 'TIMEDOUT', 'CANCELED'],
    ['CANCELED', 'TERMINATED', 'CANCELED', 'USER_CANCELED'],
  ] as const)('forces %s without running the script', async (outcome, lifeCycle, result, code) => {
    const processes = emu.runs.processesStarted();
    emu.faults.forceOutcome(outcome);
    const runId = (await client.post(SUBMIT, pythonTaskSubmit('dbfs:/jobs/quick.py'))).data.run_id as number;
    const { run, seen } = await pollRun(client, runId);
    expect(seen).toContain('RUNNING');
    expect(run.state).toMatchObject({ life_cycle_state: lifeCycle, result_state: result });
    expect(run.status).toMatchObject({ state: 'TERMINATED', termination_details: { code } });
    expect(emu.runs.processesStarted()).toBe(processes);
    const out = await client.get('/api/2.2/jobs/runs/get-output', { params: { run_id: run.tasks?.[0]?.run_id } });
    expect(jobsSpec.validateResponse('/api/2.2/jobs/runs/get-output', 'GET', out.status, out.data)).toEqual([]);
    if (outcome === 'FAILED') expect(out.data.error).toContain('forced failure');
  });

  it('holds queued runs in QUEUED with queue_details, and skips unqueued ones, while the active-run limit is reached', async () => {
    const limited = await startDatabricksEmulator({ maxConcurrentRuns: 1, timings: { queuedMs: 10, pendingMs: 10, terminatingMs: 10, cancelDelayMs: 10 } });
    try {
      const c = emulatorClient(limited);
      await c.post('/api/2.0/dbfs/put', { path: '/jobs/sleep.py', contents: Buffer.from(SLEEP_PY).toString('base64') });
      // Given one active run (submitted on 2.1, so not queued) under a limit of one
      const first = (await c.post('/api/2.1/jobs/runs/submit', pythonTaskSubmit('dbfs:/jobs/sleep.py'))).data.run_id as number;
      const second = (await c.post(SUBMIT, pythonTaskSubmit('dbfs:/jobs/sleep.py'))).data.run_id as number;
      const unqueued = (await c.post('/api/2.1/jobs/runs/submit', pythonTaskSubmit('dbfs:/jobs/sleep.py'))).data.run_id as number;
      const skipped = await pollRun(c, unqueued, '2.1');
      expect(skipped.run.state).toMatchObject({ life_cycle_state: 'SKIPPED', result_state: 'MAXIMUM_CONCURRENT_RUNS_REACHED' });
      await limited.runs.waitForTerminal(first, 150).catch(() => undefined);
      const queued = await c.get('/api/2.2/jobs/runs/get', { params: { run_id: second } });
      expect(queued.data.state.life_cycle_state).toBe('QUEUED');
      expect((await c.get('/api/2.2/jobs/runs/get', { params: { run_id: first } })).data.state.life_cycle_state).toBe('RUNNING');
      expect(queued.data.status.queue_details.code).toBe('ACTIVE_RUNS_LIMIT_REACHED');
      // When the first run ends, the second leaves the queue
      await c.post('/api/2.2/jobs/runs/cancel', { run_id: first });
      await limited.runs.waitForTerminal(first);
      let state = 'QUEUED';
      for (let i = 0; i < 100 && state === 'QUEUED'; i++) {
        state = (await c.get('/api/2.2/jobs/runs/get', { params: { run_id: second } })).data.state.life_cycle_state as string;
      }
      expect(['PENDING', 'RUNNING']).toContain(state);
      expect(limited.replyProblems()).toEqual([]);
    } finally {
      await limited.stop();
    }
  });
});

describe('authentication and rejected requests', () => {
  it('answers a missing bearer token with 401 and a wrong one with 403, in the Databricks error shape', async () => {
    const anonymous = await emulatorClient(emu, null).get('/api/2.2/jobs/runs/list');
    expect(anonymous.status).toBe(401);
    expect(anonymous.data).toEqual({ error_code: 'UNAUTHENTICATED', message: expect.any(String) });
    expect(emu.invalidRequests().at(-1)).toMatchObject({ outcome: 'unauthenticated', tokenKind: 'none' });

    const strict = await startDatabricksEmulator({ acceptedTokens: [FAKE_PAT] });
    try {
      const wrong = await emulatorClient(strict, 'dapi-not-the-right-one').get('/api/2.2/jobs/runs/list');
      expect(wrong.status).toBe(403);
      expect(wrong.data).toEqual({ error_code: 'PERMISSION_DENIED', message: 'Invalid access token.' });
      expect((await emulatorClient(strict).get('/api/2.2/jobs/runs/list')).status).toBe(200);
      const aad = `${Buffer.from('{"alg":"none"}').toString('base64url')}.${Buffer.from('{"aud":"2ff814a6-3304-4ab8-85cb-cd0e6f879c1d"}').toString('base64url')}.`;
      expect((await emulatorClient(strict, aad).get('/api/2.2/jobs/runs/list')).status).toBe(403);
      expect(strict.requests.map((r) => r.tokenKind)).toEqual(['pat', 'pat', 'aad']);
      expect(JSON.stringify(strict.requests)).not.toContain('dapi');
    } finally {
      await strict.stop();
    }
  });

  it('rejects invalid submits like the service, records them as invalid, and creates no run', async () => {
    const before = emu.runs.list().length;
    const invalidBefore = emu.invalidRequests().length;
    const body = pythonTaskSubmit('dbfs:/jobs/quick.py');
    const task = (body.tasks as Array<Record<string, unknown>>)[0] as Record<string, unknown>;
    const jobCluster = await client.post(SUBMIT, { ...body, tasks: [{ ...task, new_cluster: undefined, job_cluster_key: 'shared' }] });
    expect(jobCluster.status).toBe(400);
    expect(jobCluster.data.error_code).toBe('INVALID_PARAMETER_VALUE');
    expect(jobCluster.data.message).toContain('job_cluster_key');
    const longToken = await client.post(SUBMIT, { ...body, idempotency_token: 't'.repeat(65) });
    expect(longToken.data).toEqual({ error_code: 'INVALID_PARAMETER_VALUE', message: '/idempotency_token: must NOT have more than 64 characters' });
    const wrongType = await client.post(SUBMIT, { ...body, timeout_seconds: 'soon' });
    expect(wrongType.data.error_code).toBe('MALFORMED_REQUEST');
    const unparsable = await client.post(SUBMIT, '{"tasks": [', { headers: { 'Content-Type': 'application/json' }, transformRequest: [(d: unknown) => d] });
    expect(unparsable.data.error_code).toBe('MALFORMED_REQUEST');
    const noRunId = await client.get('/api/2.2/jobs/runs/get');
    expect(noRunId.status).toBe(400);
    for (const r of [jobCluster, longToken, wrongType, unparsable, noRunId]) {
      expect(jobsSpec.validateResponse(SUBMIT, 'POST', r.status, r.data)).toEqual([]);
    }
    expect(emu.runs.list().length).toBe(before);
    const invalid = emu.invalidRequests().slice(invalidBefore);
    expect(invalid.map((r) => r.outcome)).toEqual(['invalid', 'invalid', 'invalid', 'invalid', 'invalid']);
    expect(invalid[0]?.issues?.[0]).toMatchObject({ pointer: '/tasks/0/job_cluster_key' });
  });

  it('answers unknown endpoints with 404 ENDPOINT_NOT_FOUND and unimplemented Jobs operations with 501', async () => {
    const unknown = await client.post('/api/2.0/clusters/create', {});
    expect(unknown.status).toBe(404);
    expect(unknown.data.error_code).toBe('ENDPOINT_NOT_FOUND');
    expect(emu.requests.at(-1)?.outcome).toBe('not-found');
    const create = await client.post('/api/2.2/jobs/create', { name: 'x' });
    expect(create.status).toBe(501);
    expect(emu.requests.at(-1)?.outcome).toBe('unsupported');
  });

  it('waits at least minLatencyMs per reply, so a runaway poll cannot spin', async () => {
    const slowFloor = await startDatabricksEmulator({ minLatencyMs: 25 });
    try {
      const c = emulatorClient(slowFloor);
      const t0 = Date.now();
      for (let i = 0; i < 8; i++) await c.get('/api/2.2/jobs/runs/list');
      expect(Date.now() - t0).toBeGreaterThanOrEqual(8 * 25);
    } finally {
      await slowFloor.stop();
    }
  });
});

describe('the emulator itself', () => {
  it('sent only spec-valid replies in this file', () => {
    expect(emu.replyProblems().map((r) => ({ op: r.operation, status: r.status, issues: r.replyIssues }))).toEqual([]);
  });
});
