// The Spark pool a Synapse target names, checked through ARM (bigDataPools) before anything is
// uploaded: it exists (did-you-mean), its node size holds executor_size, its nodes hold the
// driver and the executors, its Spark version is supported — each finding at its key. And the
// emulator refusing what the service refuses in a batch: sizes the pool cannot hold, http:// files.
import { writeFileSync } from 'node:fs';
import path from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { BigDataPoolClient } from '../../src/clients/synapse/index.js';
import { checkSynapsePool } from '../../src/jobs/synapse/remote-check.js';
import { loadProject } from '../../src/pipeline/project.js';
import type { RawSynapse } from '../../src/pipeline/types.js';
import { remoteDiagnostics } from '../../src/runs/remote-check.js';
import { startSynapseEmulator, type SynapseEmulator } from '../emulators/synapse/server.js';
import { synapseTarget } from '../helpers/engine-settings.js';
import { DAILY_PIPELINE } from '../helpers/forecast-e2e.js';
import { projectKit } from '../helpers/project.js';

const kit = projectKit('mm-syn-remote-');
const WS = '/subscriptions/11111111-2222-3333-4444-555555555555/resourceGroups/rg/providers/Microsoft.Synapse/workspaces/contoso-syn';
const FAKE_AAD = `${Buffer.from('{"alg":"none"}').toString('base64url')}.${Buffer.from('{"aud":"x"}').toString('base64url')}.`;
const BASE: RawSynapse = { endpoint: 'https://contoso-syn.dev.azuresynapse.net', spark_pool: 'mmpool', storage: { account_url: 'https://lake.dfs.core.windows.net', container: 'lake' }, workspace_resource_id: WS };

let emu: SynapseEmulator;
let pools: BigDataPoolClient;
beforeAll(async () => {
  emu = await startSynapseEmulator({
    minLatencyMs: 1,
    bigDataPools: {
      mmpool: { nodeSize: 'Medium', autoScale: { enabled: true, minNodeCount: 3, maxNodeCount: 5 } },
      oldpool: { nodeSize: 'Small', nodeCount: 3, sparkVersion: '3.3' },
    },
  });
  pools = new BigDataPoolClient({ endpoint: emu.url, tokenProvider: { getToken: async () => FAKE_AAD } });
});
afterAll(async () => {
  await emu.stop();
});

describe('the emulator refuses a batch the pool cannot take', () => {
  const create = async (pool: string, body: Record<string, unknown>) => {
    const res = await fetch(`${emu.url}${emu.batchesPath(pool)}`, { method: 'POST', headers: { Authorization: `Bearer ${FAKE_AAD}`, 'Content-Type': 'application/json' }, body: JSON.stringify({ name: 'b', file: 'abfss://lake@lake.dfs.core.windows.net/x.py', ...body }) });
    return `${res.status} ${res.status >= 400 ? JSON.stringify(await res.json()) : ''}`;
  };
  it('executors larger than the node size, more vCores than the pool has, http:// files', async () => {
    const medium = { driverMemory: '56g', driverCores: 8, executorMemory: '56g', executorCores: 8 };
    expect(await create('mmpool', { ...medium, executorCores: 16, executorMemory: '112g', numExecutors: 2 })).toMatch(/^400 .*executor asks for 16 cores/);
    expect(await create('mmpool', { ...medium, numExecutors: 5 })).toMatch(/^400 .*requested 48 vcores.*40 core limit/);
    expect(await create('mmpool', { ...medium, numExecutors: 2, pyFiles: ['http://example.com/a.zip'] })).toMatch(/^400 .*uses http:\/\//);
    expect(await create('mmpool', { ...medium, numExecutors: 4 })).toMatch(/^200/);
  });
});

describe('checkSynapsePool', () => {
  const check = (raw: Partial<RawSynapse>) => checkSynapsePool(pools, synapseTarget({ ...BASE, ...raw } as RawSynapse));

  it('finds each mismatch at its key', async () => {
    expect(await check({ executor_size: 'Medium', executors: 4 })).toEqual([]);
    expect(await check({ spark_pool: 'mmpol' })).toEqual([expect.objectContaining({ path: ['spark_pool'], severity: 'error', hint: 'Did you mean "mmpool"?' })]);
    expect(await check({ executor_size: 'Large' })).toEqual([expect.objectContaining({ path: ['executor_size'], hint: expect.stringMatching(/Use Small, Medium/) })]);
    expect(await check({ executor_size: 'Medium', executors: 6 })).toEqual([expect.objectContaining({ path: ['executors'], hint: expect.stringMatching(/at most 4 executors/) })]);
    expect(await check({ spark_pool: 'oldpool' })).toEqual([expect.objectContaining({ path: ['spark_pool'], severity: 'warning', message: expect.stringMatching(/Spark 3.3/) })]);
    expect(await checkSynapsePool(pools, synapseTarget({ ...BASE, workspace_resource_id: undefined } as unknown as RawSynapse))).toEqual([expect.objectContaining({ severity: 'warning', message: expect.stringMatching(/no workspace_resource_id/) })]);
    expect(emu.requests.filter((r) => r.operation?.startsWith('BigDataPools')).every((r) => r.query['api-version'] === '2021-06-01')).toBe(true);
  });

  it('validate --remote puts them at their lines in pipelines.yaml', async () => {
    const dir = kit.tempDir('mm-syn-remote-p-');
    writeFileSync(path.join(dir, 'pipelines.yaml'), `version: 1
project: p
variables:
  data: { default: "abfss://lake@lake.dfs.core.windows.net/d.csv" }
targets:
  syn:
    default: true
    engine: synapse
    synapse:
      endpoint: https://contoso-syn.dev.azuresynapse.net
      spark_pool: mmpool
      workspace_resource_id: ${WS}
      storage: { account_url: "https://lake.dfs.core.windows.net", container: lake }
      executor_size: Large
      executors: 2
    sink: { type: synapse_sql, database: retail, schema: dbo }
${DAILY_PIPELINE}`);
    const { project } = loadProject({ file: 'pipelines.yaml', cwd: dir, env: {} });
    const found = await remoteDiagnostics(project!, { env: { MANYMODELS_ARM_ENDPOINT: emu.url }, tokenProviderFor: () => ({ getToken: async () => FAKE_AAD }) });
    expect(found).toEqual([expect.objectContaining({ code: 'MM408', path: 'targets.syn.synapse.executor_size', line: 14, column: 22 })]);
  });
});
