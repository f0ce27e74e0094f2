// The Databricks client against the emulator: every endpoint it uses, errors mapped once with
// the service's error_code, retries on 429 (Retry-After), 5xx and dropped connections, and the
// streamed DBFS upload (1 MiB blocks, restarted from create when a block fails).
import { inspect } from 'node:util';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { DatabricksClient, DBFS_BLOCK_BYTES } from '../../src/clients/databricks/index.js';
import { RemoteHttpError, type RetryEvent } from '../../src/clients/http.js';
import { startDatabricksEmulator, type DatabricksEmulator } from '../emulators/databricks/server.js';

const TOKEN = `dapi${'c0ffee00'.repeat(4)}-2`;
let emu: DatabricksEmulator;

beforeAll(async () => {
  emu = await startDatabricksEmulator({ acceptedTokens: [TOKEN], minLatencyMs: 1, timings: { queuedMs: 5, pendingMs: 10, terminatingMs: 5, forcedRunningMs: 5 } });
});

afterAll(async () => {
  await emu.stop();
});

/** A client whose retry waits are recorded, not slept (the emulator's Retry-After is honoured as the wait asked for). */
function client(token = TOKEN): { db: DatabricksClient; waits: number[]; retries: RetryEvent[] } {
  const waits: number[] = [];
  const retries: RetryEvent[] = [];
  const db = new DatabricksClient({
    host: emu.url,
    tokenProvider: { getToken: async () => token },
    http: { sleep: async (ms) => void waits.push(ms), random: () => 0, onRetry: (e) => retries.push(e) },
  });
  return { db, waits, retries };
}

/** Requests the emulator rejected, bar the one sent on purpose with a bad token. */
const invalid = () => emu.invalidRequests().filter((r) => r.outcome !== 'unauthenticated');

const script = (body: string): Buffer => Buffer.from(`import sys\n${body}\n`);

async function terminal(db: DatabricksClient, runId: number): Promise<Awaited<ReturnType<DatabricksClient['getRun']>>> {
  for (let i = 0; i < 400; i++) {
    const run = await db.getRun(runId);
    if (['TERMINATED', 'SKIPPED', 'INTERNAL_ERROR'].includes(run.state!.life_cycle_state)) return run;
    await new Promise((r) => setTimeout(r, 10));
  }
  throw new Error(`run ${runId} did not end`);
}

const submitBody = (file: string, token: string, parameters: string[] = []) => ({
  run_name: 'client test',
  idempotency_token: token,
  tasks: [{ task_key: 'main', spark_python_task: { python_file: file, parameters }, new_cluster: { spark_version: '15.4.x-scala2.12', node_type_id: 'Standard_D4ds_v5', num_workers: 1 } }],
});

describe('DatabricksClient: Jobs runs', () => {
  it('submits, reads, gets the task output, lists and cancels runs', async () => {
    const { db } = client();
    await db.dbfsPut('/client/ok.py', script('print("hello from the task")'));
    const runId = await db.submitRun(submitBody('dbfs:/client/ok.py', 'client-ok'));
    const run = await terminal(db, runId);
    expect(run.state).toMatchObject({ life_cycle_state: 'TERMINATED', result_state: 'SUCCESS' });
    expect(run.run_page_url).toContain(`/run/${runId}`);
    const output = await db.getRunOutput(run.tasks![0]!.run_id);
    expect(output.logs).toContain('hello from the task');
    expect((await db.listRuns({ limit: 5 })).runs?.map((r) => r.run_id)).toContain(runId);

    await db.dbfsPut('/client/slow.py', script('import time\ntime.sleep(30)'));
    const slow = await db.submitRun(submitBody('dbfs:/client/slow.py', 'client-slow'));
    await db.cancelRun(slow);
    expect((await terminal(db, slow)).state!.result_state).toBe('CANCELED');
  });

  it('maps a Databricks error once, with its error_code and message', async () => {
    const { db } = client();
    const runId = await db.submitRun(submitBody('dbfs:/client/ok.py', 'client-parent'));
    const err = await db.getRunOutput(runId).catch((e: unknown) => e);
    expect(err).toBeInstanceOf(RemoteHttpError);
    expect(err).toMatchObject({ code: 'MM601', status: 400, serviceCode: 'INVALID_PARAMETER_VALUE', exitCode: 3 });
    expect((err as Error).message).toContain('INVALID_PARAMETER_VALUE: Retrieving the output of runs with multiple tasks is not supported');
  });

  it('says what a workspace identity needs on 403, and never shows the token', async () => {
    const { db } = client(`dapi${'0'.repeat(32)}`);
    const err = (await db.getRun(1).catch((e: unknown) => e)) as RemoteHttpError;
    expect(err).toMatchObject({ code: 'MM604', status: 403, serviceCode: 'PERMISSION_DENIED' });
    expect(err.nextSteps.join(' ')).toMatch(/DATABRICKS_TOKEN.*workspace/);
    expect(err.nextSteps.join(' ')).not.toContain('AzureML');
    expect(inspect(err, { depth: 10 })).not.toContain('0'.repeat(32));
  });

  it('retries 429 after the Retry-After it was given, 503 and a dropped reply; a resent submit is the same run', async () => {
    const { db, waits, retries } = client();
    emu.faults.inject({ kind: 'rate-limit', method: 'GET', path: '/api/2.2/jobs/runs/list', retryAfterSeconds: 3 });
    await db.listRuns();
    expect(waits[0]).toBe(3000);
    expect(retries[0]).toMatchObject({ reason: 'throttled', status: 429, retryAfterMs: 3000 });

    const before = emu.runs.list().length;
    emu.faults.inject({ kind: 'reset-after-handling', method: 'POST', path: '/api/2.2/jobs/runs/submit' });
    emu.faults.inject({ kind: 'unavailable', method: 'POST', path: '/api/2.2/jobs/runs/submit' });
    const runId = await db.submitRun(submitBody('dbfs:/client/ok.py', 'client-resent'));
    expect(emu.runs.list().length).toBe(before + 1);
    expect(emu.runs.list().at(-1)!.runId).toBe(runId);
    expect(retries.slice(1).map((r) => r.reason)).toEqual(['connection', 'server-error']);
    expect(invalid()).toEqual([]);
  });
});

describe('DatabricksClient: DBFS, workspace files, volumes', () => {
  it('puts small files, streams large ones in 1 MiB blocks, reads them back in ranges', async () => {
    const { db } = client();
    const big = Buffer.alloc(DBFS_BLOCK_BYTES * 2 + 17, 7);
    big.write('head', 0);
    expect(await db.dbfsUpload('/client/big.bin', big)).toEqual({ blocks: 3, restarts: 0 });
    expect((await db.dbfsGetStatus('/client/big.bin'))?.file_size).toBe(big.length);
    const first = await db.dbfsRead('/client/big.bin', 0, 4);
    expect(first?.toString()).toBe('head');
    const last = await db.dbfsRead('/client/big.bin', DBFS_BLOCK_BYTES * 2);
    expect(last?.length).toBe(17);
    expect(await db.dbfsRead('/client/none.bin', 0)).toBeUndefined();
    expect(await db.dbfsGetStatus('/client/none.bin')).toBeUndefined();
    await db.dbfsMkdirs('/client/empty');
    expect(await db.dbfsList('/client/empty')).toEqual([]);
    expect((await db.dbfsList('/client'))!.map((f) => f.path)).toEqual(expect.arrayContaining(['/client/big.bin', '/client/empty']));
    expect(await db.dbfsList('/client/absent')).toBeUndefined();
  });

  it('restarts a streamed upload from create when a block fails, so no block is appended twice', async () => {
    const { db } = client();
    const big = Buffer.alloc(DBFS_BLOCK_BYTES + 5, 1);
    // The block is appended, then the reply is lost: resending it would double it.
    emu.faults.inject({ kind: 'reset-after-handling', method: 'POST', path: '/api/2.0/dbfs/add-block', skip: 1 });
    expect(await db.dbfsUpload('/client/restarted.bin', big)).toEqual({ blocks: 2, restarts: 1 });
    expect((await db.dbfsGetStatus('/client/restarted.bin'))?.file_size).toBe(big.length);
  });

  it('imports workspace files (never notebooks) and reads their status', async () => {
    const { db } = client();
    await db.workspaceMkdirs('/Shared/client');
    await db.workspaceImport('/Shared/client/entry.py', script('print(1)'));
    expect(await db.workspaceGetStatus('/Shared/client/entry.py')).toMatchObject({ object_type: 'FILE', size: 20 });
    expect(await db.workspaceGetStatus('/Shared/client/none.py')).toBeUndefined();
  });

  it('uploads to, lists and downloads from a Unity Catalog volume, with or without a Range', async () => {
    const { db } = client();
    await db.filesCreateDirectory('/Volumes/main/mm/files/client');
    await db.filesUpload('/Volumes/main/mm/files/client/a b.txt', Buffer.from('0123456789'));
    expect(await db.filesGetMetadata('/Volumes/main/mm/files/client/a b.txt')).toEqual({ size: 10 });
    expect(await db.filesGetMetadata('/Volumes/main/mm/files/client/none.txt')).toBeUndefined();
    expect((await db.filesDownload('/Volumes/main/mm/files/client/a b.txt'))?.toString()).toBe('0123456789');
    expect((await db.filesDownload('/Volumes/main/mm/files/client/a b.txt', 6))?.toString()).toBe('6789');
    expect(await db.filesDownload('/Volumes/main/mm/files/client/none.txt')).toBeUndefined();
    expect((await db.filesListDirectory('/Volumes/main/mm/files/client'))!.map((e) => e.name)).toEqual(['a b.txt']);
    expect(await db.filesListDirectory('/Volumes/main/mm/files/absent')).toBeUndefined();
    expect(invalid()).toEqual([]);
    expect(emu.replyProblems()).toEqual([]);
  });
});
