// The Synapse Livy client (the real @azure/synapse-spark SDK behind our retry rules) against the
// Synapse emulator over HTTPS: a create is never resent blindly, a lost create is found again by
// its tag (also past the first page of the pool), reads and cancels ride out throttling, 5xx and
// dropped connections, and an auth failure says what the identity needs without the token.
import tls from 'node:tls';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { RemoteHttpError, type RetryEvent } from '../../src/clients/http.js';
import { SynapseSparkClient } from '../../src/clients/synapse/index.js';
import { selfSignedCertificate } from '../emulators/shared/self-signed-cert.js';
import { startSynapseEmulator, type SynapseEmulator } from '../emulators/synapse/server.js';
import { FAKE_AAD_TOKEN } from '../emulators/synapse/test-kit.js';

const POOL = 'clientpool';
const cert = selfSignedCertificate();
const originalCas = tls.getCACertificates('default');
let emu: SynapseEmulator;

/** A client whose waits are recorded and not slept, so Retry-After can be checked at once. */
function client(token = FAKE_AAD_TOKEN): { client: SynapseSparkClient; waits: RetryEvent[] } {
  const waits: RetryEvent[] = [];
  return {
    waits,
    client: new SynapseSparkClient({
      endpoint: emu.url,
      sparkPool: POOL,
      tokenProvider: { getToken: async () => token },
      sleep: async () => undefined,
      onRetry: (e) => waits.push(e),
    }),
  };
}

// No blob storage: every batch ends dead at once without running anything, which is all these need.
const request = (run: string): Parameters<SynapseSparkClient['createBatch']>[0] => ({
  name: `manymodels-p-${run}`,
  file: 'abfss://lake@mmlake.dfs.core.windows.net/cas/entry.py',
  pythonFiles: [],
  arguments: ['--run-id', run],
  configuration: { 'spark.dynamicAllocation.enabled': 'false' },
  driverMemory: '28g', driverCores: 4, executorMemory: '28g', executorCores: 4, executorCount: 2,
  tags: { manymodels_run: run },
});

const creates = (): number => emu.requests.filter((r) => r.operation === 'SparkBatch_CreateSparkBatchJob' && r.outcome !== undefined).length;

describe.skipIf(!cert)('SynapseSparkClient', () => {
  beforeAll(async () => {
    tls.setDefaultCACertificates([...originalCas, cert!.cert]);
    emu = await startSynapseEmulator({ tls: cert!, acceptedTokens: [FAKE_AAD_TOKEN], sparkPools: [POOL] });
  });

  afterAll(async () => {
    await emu?.stop();
    tls.setDefaultCACertificates(originalCas);
  });

  it('never resends a create whose reply was lost or that met a 5xx; the batch is found again by its tag', async () => {
    const { client: c, waits } = client();
    // Given a create that Livy handles but whose reply never arrives
    emu.faults.inject({ kind: 'reset-after-handling', operation: 'SparkBatch_CreateSparkBatchJob' });
    const before = creates();
    const lost = await c.createBatch(request('lost-1')).catch((e: unknown) => e);
    // Then it is reported as possibly processed, and was sent exactly once
    expect(lost).toBeInstanceOf(RemoteHttpError);
    expect(lost).toMatchObject({ code: 'MM602', maybeProcessed: true });
    expect(creates() - before).toBe(1);
    expect(waits).toEqual([]);
    // And the one batch it made is found by its tag
    const found = await c.findBatchByTag('manymodels_run', 'lost-1');
    expect(found?.tags.manymodels_run).toBe('lost-1');
    expect(emu.batches.list(POOL).filter((b) => (b.request.tags as Record<string, string>).manymodels_run === 'lost-1')).toHaveLength(1);

    // A 503 on a create is ambiguous too: not resent, flagged, nothing created here
    emu.faults.inject({ kind: 'unavailable', operation: 'SparkBatch_CreateSparkBatchJob', retryAfterSeconds: 1 });
    const unavailable = await c.createBatch(request('u-1')).catch((e: unknown) => e);
    expect(unavailable).toMatchObject({ code: 'MM601', status: 503, maybeProcessed: true });
    expect(await c.findBatchByTag('manymodels_run', 'u-1')).toBeUndefined();

    // A 429 was not processed: it is retried after Retry-After
    emu.faults.inject({ kind: 'rate-limit', operation: 'SparkBatch_CreateSparkBatchJob', retryAfterSeconds: 2 });
    const created = await c.createBatch(request('t-1'));
    expect(created.tags).toEqual({ manymodels_run: 't-1' });
    expect(waits.at(-1)).toMatchObject({ reason: 'throttled', status: 429, retryAfterMs: 2000, method: 'POST' });
    expect(waits.at(-1)!.delayMs).toBeGreaterThanOrEqual(2000);
    expect(emu.invalidRequests()).toEqual([]);
  });

  it('finds a tag beyond the first page, reading the newest pages first', async () => {
    const { client: c } = client();
    const start = emu.batches.list(POOL).length;
    for (let i = 0; i < 45 - start; i++) await c.createBatch(request(`page-${i}`));
    const newest = `page-${45 - start - 1}`;
    const lists = (): number => emu.requests.filter((r) => r.operation === 'SparkBatch_GetSparkBatchJobs').length;
    let before = lists();
    expect((await c.findBatchByTag('manymodels_run', newest))?.id).toBe(44);
    // The first page for the total, then the last page: 2 lists, not 3.
    expect(lists() - before).toBe(2);
    before = lists();
    expect((await c.findBatchByTag('manymodels_run', 'page-3'))?.tags.manymodels_run).toBe('page-3');
    expect(await c.findBatchByTag('manymodels_run', 'never-created')).toBeUndefined();
    // Pages beyond the first never overlap it and stay within Livy's 20.
    const pages = emu.requests.filter((r) => r.operation === 'SparkBatch_GetSparkBatchJobs').slice(before);
    expect(pages.every((r) => Number(r.query.size) <= 20 && (r.query.from === '0' || Number(r.query.from) >= 20))).toBe(true);
    expect(emu.invalidRequests()).toEqual([]);
  });

  it('rides out throttling, 5xx and dropped connections on reads and cancels', async () => {
    const { client: c, waits } = client();
    const id = emu.batches.list(POOL)[0]!.id;
    emu.faults.inject({ kind: 'rate-limit', operation: 'SparkBatch_GetSparkBatchJob', retryAfterSeconds: 3 });
    emu.faults.inject({ kind: 'server-error', operation: 'SparkBatch_GetSparkBatchJob' });
    emu.faults.inject({ kind: 'unavailable', operation: 'SparkBatch_GetSparkBatchJob' });
    emu.faults.inject({ kind: 'reset', operation: 'SparkBatch_GetSparkBatchJob' });
    const batch = await c.getBatch(id);
    expect(batch).toMatchObject({ id, state: 'dead', result: 'Failed' });
    expect(batch.errors[0]).toMatchObject({ errorCode: 'LIVY_JOB_STATE_DEAD', source: 'System' });
    expect(waits.map((w) => w.reason)).toEqual(['throttled', 'server-error', 'server-error', 'connection']);
    expect(waits[0]!.delayMs).toBeGreaterThanOrEqual(3000);

    // A cancel whose reply is lost is simply sent again: cancelling twice is harmless.
    emu.faults.inject({ kind: 'reset-after-handling', operation: 'SparkBatch_CancelSparkBatchJob' });
    await c.cancelBatch(id);
    expect(emu.requests.filter((r) => r.operation === 'SparkBatch_CancelSparkBatchJob').map((r) => r.status)).toEqual([0, 200]);
    expect(emu.faults.pending().rules).toEqual([]);
  });

  it('reports a refused token as MM604 with the roles to check, and never the token', async () => {
    const stranger = `${FAKE_AAD_TOKEN.slice(0, -1)}x-not-accepted-token-value`;
    const { client: c } = client(stranger);
    const err = await c.getBatch(0).catch((e: unknown) => e);
    expect(err).toBeInstanceOf(RemoteHttpError);
    expect(err).toMatchObject({ code: 'MM604', status: 401 });
    const e = err as RemoteHttpError;
    expect(e.nextSteps.join('\n')).toContain('Synapse Compute Operator');
    expect(`${e.message}\n${e.stack}\n${JSON.stringify(e)}`).not.toContain(stranger);
    expect(JSON.stringify((e.cause as { request?: unknown }).request ?? null)).toBe('null');
  });
});
