// Test-side helpers for the Databricks emulator tests: a plain axios client that never throws
// on HTTP errors, and the upload/poll steps several tests share. Not the product's client.
import axios, { type AxiosInstance, type AxiosResponse } from 'axios';
import { setTimeout as sleep } from 'node:timers/promises';
import type { DatabricksEmulator } from './server.js';

/** A PAT-shaped fake token; the emulator records only its kind. */
export const FAKE_PAT = 'dapi0000000000000000000000000000000-2';

/** `token: null` sends no Authorization header at all. */
export function emulatorClient(emu: DatabricksEmulator, token: string | null = FAKE_PAT): AxiosInstance {
  return axios.create({
    baseURL: emu.url,
    headers: token ? { Authorization: `Bearer ${token}` } : {},
    validateStatus: () => true,
  });
}

/** Streams `bytes` to DBFS with create/add-block/close in blocks of `blockSize` raw bytes. */
export async function uploadDbfsInBlocks(client: AxiosInstance, dbfsPath: string, bytes: Buffer, blockSize = 1024 * 1024): Promise<number> {
  const created = await client.post('/api/2.0/dbfs/create', { path: dbfsPath, overwrite: true });
  if (created.status !== 200) throw new Error(`dbfs/create: ${created.status} ${JSON.stringify(created.data)}`);
  const handle = (created.data as { handle: number }).handle;
  let blocks = 0;
  for (let offset = 0; offset < bytes.length; offset += blockSize) {
    const data = bytes.subarray(offset, offset + blockSize).toString('base64');
    const added = await client.post('/api/2.0/dbfs/add-block', { handle, data });
    if (added.status !== 200) throw new Error(`dbfs/add-block: ${added.status} ${JSON.stringify(added.data)}`);
    blocks++;
  }
  const closed = await client.post('/api/2.0/dbfs/close', { handle });
  if (closed.status !== 200) throw new Error(`dbfs/close: ${closed.status} ${JSON.stringify(closed.data)}`);
  return blocks;
}

export interface RunView {
  run_id: number;
  state: { life_cycle_state: string; result_state?: string; state_message?: string; user_cancelled_or_timedout?: boolean };
  status?: { state: string; termination_details?: { code: string; type: string; message: string }; queue_details?: { code: string } };
  tasks?: Array<{ run_id: number; task_key: string; state: { life_cycle_state: string; result_state?: string } }>;
  run_page_url?: string;
  start_time?: number;
  end_time?: number;
}

const TERMINAL = new Set(['TERMINATED', 'SKIPPED', 'INTERNAL_ERROR']);

/** Polls runs/get, returning every distinct life_cycle_state seen and the final view. */
export async function pollRun(client: AxiosInstance, runId: number, version = '2.2', timeoutMs = 20_000): Promise<{ seen: string[]; run: RunView; replies: AxiosResponse[] }> {
  const seen: string[] = [];
  const replies: AxiosResponse[] = [];
  const deadline = Date.now() + timeoutMs;
  for (;;) {
    const res = await client.get(`/api/${version}/jobs/runs/get`, { params: { run_id: runId } });
    if (res.status !== 200) throw new Error(`runs/get ${runId}: ${res.status} ${JSON.stringify(res.data)}`);
    replies.push(res);
    const run = res.data as RunView;
    if (seen.at(-1) !== run.state.life_cycle_state) seen.push(run.state.life_cycle_state);
    if (TERMINAL.has(run.state.life_cycle_state)) return { seen, run, replies };
    if (Date.now() > deadline) throw new Error(`run ${runId} still ${run.state.life_cycle_state} after ${timeoutMs} ms`);
    await sleep(10);
  }
}

/** A submit body with one spark_python_task on a new cluster. */
export function pythonTaskSubmit(pythonFile: string, parameters: string[] = [], extra: Record<string, unknown> = {}): Record<string, unknown> {
  return {
    run_name: 'manymodels-emulator-test',
    tasks: [{
      task_key: 'train',
      new_cluster: { spark_version: '15.4.x-scala2.12', node_type_id: 'Standard_DS3_v2', num_workers: 1 },
      spark_python_task: { python_file: pythonFile, parameters },
    }],
    ...extra,
  };
}
