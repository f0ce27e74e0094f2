// Test-side helpers for the Synapse emulator tests: a fake Entra ID token, a plain axios client
// that never throws on HTTP errors, blob upload/read over Azurite, and a batch poller.
import https from 'node:https';
import { setTimeout as sleep } from 'node:timers/promises';
import type { ContainerClient } from '@azure/storage-blob';
import axios, { type AxiosInstance, type AxiosResponse } from 'axios';
import { fakeJwt } from '../shared/emulator-server.js';
import type { SynapseEmulator } from './server.js';

/** A JWT-shaped fake Entra ID token; the emulator records only its kind and reads upn/oid. */
export const FAKE_AAD_TOKEN = fakeJwt({ aud: 'https://dev.azuresynapse.net', upn: 'ci@manymodels.invalid', oid: '00000000-0000-0000-0000-00000000c1c1' });

/** The account name the tests put in abfss:// URIs (the emulator maps every account to Azurite). */
export const ACCOUNT = 'mmlake';
export const abfss = (container: string, path: string): string => `abfss://${container}@${ACCOUNT}.dfs.core.windows.net/${path}`;

/** `token: null` sends no Authorization header at all. */
export function livyClient(emu: SynapseEmulator, token: string | null = FAKE_AAD_TOKEN, ca?: string): AxiosInstance {
  return axios.create({
    baseURL: emu.url,
    headers: token ? { Authorization: `Bearer ${token}` } : {},
    validateStatus: () => true,
    ...(ca ? { httpsAgent: new https.Agent({ ca }) } : {}),
  });
}

export async function uploadText(container: ContainerClient, name: string, text: string): Promise<void> {
  await container.getBlockBlobClient(name).upload(text, Buffer.byteLength(text));
}

export async function readBlobText(container: ContainerClient, name: string): Promise<string | undefined> {
  const blob = container.getBlobClient(name);
  if (!(await blob.exists())) return undefined;
  return (await blob.downloadToBuffer()).toString('utf8');
}

export interface BatchView {
  id: number;
  state: string;
  result?: string;
  log?: string[];
  errorInfo?: Array<{ message: string; errorCode: string; source: string }>;
  livyInfo?: Record<string, string | null | Record<string, unknown>>;
  schedulerInfo?: Record<string, string | null>;
  pluginInfo?: Record<string, string | null>;
  [key: string]: unknown;
}

const END = new Set(['success', 'dead', 'killed', 'error']);

/** Polls a batch with `detailed=true`, returning every distinct state seen, the last view and every reply. */
export async function pollBatch(client: AxiosInstance, batchesPath: string, id: number, timeoutMs = 20_000): Promise<{ seen: string[]; batch: BatchView; replies: AxiosResponse[] }> {
  const seen: string[] = [];
  const replies: AxiosResponse[] = [];
  const deadline = Date.now() + timeoutMs;
  for (;;) {
    const res = await client.get(`${batchesPath}/${id}`, { params: { detailed: true } });
    if (res.status !== 200) throw new Error(`get batch ${id}: ${res.status} ${JSON.stringify(res.data)}`);
    replies.push(res);
    const batch = res.data as BatchView;
    if (seen.at(-1) !== batch.state) seen.push(batch.state);
    if (END.has(batch.state)) return { seen, batch, replies };
    if (Date.now() > deadline) throw new Error(`batch ${id} still ${batch.state} after ${timeoutMs} ms`);
    await sleep(10);
  }
}

/** A SparkBatchJobOptions body (wire names) for a Python file. */
export function batchOptions(file: string, extra: Record<string, unknown> = {}): Record<string, unknown> {
  return {
    name: 'manymodels-emulator-test',
    file,
    driverMemory: '28g',
    driverCores: 4,
    executorMemory: '28g',
    executorCores: 4,
    numExecutors: 2,
    ...extra,
  };
}
