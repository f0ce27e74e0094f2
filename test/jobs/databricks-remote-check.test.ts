// The compute a Databricks target names, checked against the workspace before anything is
// uploaded (validate --remote, and train/score before they submit): runtime versions and node
// types from the Clusters API, instance pools, a cluster policy, an existing cluster's state —
// each finding at its key in pipelines.yaml with a did-you-mean. And the emulator refusing what
// the service refuses in runs/submit: a new_cluster without node_type_id, an unknown runtime or
// node type, a library entry naming two kinds.
import { readFileSync, writeFileSync } from 'node:fs';
import path from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { DatabricksClient } from '../../src/clients/databricks/index.js';
import { checkDatabricksWorkspace } from '../../src/jobs/databricks/remote-check.js';
import type { RawDatabricks } from '../../src/pipeline/types.js';
import { startDatabricksEmulator, type DatabricksEmulator } from '../emulators/databricks/server.js';
import { cli } from '../helpers/cli.js';
import { databricksTarget } from '../helpers/engine-settings.js';
import { DAILY_PIPELINE } from '../helpers/forecast-e2e.js';
import { cliEnv, projectKit } from '../helpers/project.js';

const kit = projectKit('mm-dbx-remote-');
const TOKEN = `dapi${'9b2d'.repeat(8)}`;
const CLUSTER = { spark_version: '15.4.x-scala2.12', node_type_id: 'Standard_D4ds_v5', num_workers: 1 };
const POLICY = JSON.stringify({ node_type_id: { type: 'allowlist', values: ['Standard_D4ds_v5', 'Standard_D8ds_v5'] }, 'autoscale.max_workers': { type: 'range', maxValue: 8 } });

let emu: DatabricksEmulator;
let db: DatabricksClient;
beforeAll(async () => {
  emu = await startDatabricksEmulator({
    minLatencyMs: 1, acceptedTokens: [TOKEN], timings: { queuedMs: 1, pendingMs: 1, terminatingMs: 1 },
    instancePools: [{ instance_pool_id: '0101-pool-d8', node_type_id: 'Standard_D8ds_v5' }],
    clusterPolicies: [{ policy_id: 'ABC123', name: 'jobs-small', definition: POLICY }],
    clusters: { '0101-120000-running': 'RUNNING', '0101-120000-stopped': 'TERMINATED' },
  });
  db = new DatabricksClient({ host: emu.url, tokenProvider: { getToken: async () => TOKEN } });
});
afterAll(async () => {
  await emu.stop();
});

const check = (raw: Partial<RawDatabricks>) => checkDatabricksWorkspace(db, databricksTarget({ host: emu.url, artifacts: { path: '/Volumes/main/mm/files/manymodels' }, ...raw } as RawDatabricks));

describe('the emulator refuses in runs/submit what the service refuses', () => {
  const submit = (cluster: Record<string, unknown>, libraries?: unknown[]) => db.submitRun({
    run_name: 'r', idempotency_token: `t-${Math.random()}`,
    tasks: [{ task_key: 'train', new_cluster: cluster, spark_python_task: { python_file: 'dbfs:/x.py' }, ...(libraries ? { libraries: libraries as Array<Record<string, unknown>> } : {}) }],
  }).then(() => 'accepted', (e: { status?: number; serviceCode?: string; message: string }) => `${e.status} ${e.serviceCode}: ${e.message}`);

  it('a new_cluster without node_type_id, an unknown runtime or node type, a library naming two kinds', async () => {
    expect(await submit({ spark_version: '15.4.x-scala2.12', num_workers: 1 })).toMatch(/^400 INVALID_PARAMETER_VALUE: .*node_type_id/);
    expect(await submit({ ...CLUSTER, spark_version: '15.4.x-scala2.13' })).toMatch(/^400 INVALID_PARAMETER_VALUE: .*Invalid spark version 15.4.x-scala2.13/);
    expect(await submit({ ...CLUSTER, node_type_id: 'Standard_D4ds_v6' })).toMatch(/^400 INVALID_PARAMETER_VALUE: .*Node type Standard_D4ds_v6 is not supported/);
    expect(await submit(CLUSTER, [{ pypi: { package: 'a' }, whl: 'dbfs:/a.whl' }])).toMatch(/^400 INVALID_PARAMETER_VALUE: .*names whl and pypi/);
    // A pool supplies the node type.
    expect(await submit({ spark_version: '15.4.x-scala2.12', instance_pool_id: '0101-pool-d8', num_workers: 1 })).toBe('accepted');
    expect(await submit(CLUSTER, [{ pypi: { package: 'statsmodels' } }])).toBe('accepted');
  });
});

describe('checkDatabricksWorkspace', () => {
  it('finds a typo in the runtime or the node type, with a did-you-mean', async () => {
    const f = await check({ compute: { new_cluster: { ...CLUSTER, spark_version: '15.4.x-scala2.13', node_type_id: 'Standard_D4ds_v6', driver_node_type_id: 'Standard_D16ds_v5' } } });
    expect(f).toEqual([
      expect.objectContaining({ path: ['compute', 'new_cluster', 'spark_version'], severity: 'error', hint: 'Did you mean "15.4.x-scala2.12"?' }),
      expect.objectContaining({ path: ['compute', 'new_cluster', 'node_type_id'], severity: 'error', hint: 'Did you mean "Standard_D4ds_v5"?' }),
    ]);
    expect(await check({ compute: { new_cluster: CLUSTER } })).toEqual([]);
  });

  it('checks instance pools, a cluster policy and an existing cluster', async () => {
    expect(await check({ compute: { new_cluster: { spark_version: '15.4.x-scala2.12', instance_pool_id: 'nope', num_workers: 1 } as never } }))
      .toEqual([expect.objectContaining({ path: ['compute', 'new_cluster', 'instance_pool_id'], message: expect.stringMatching(/does not exist/) })]);
    expect(await check({ compute: { new_cluster: { ...CLUSTER, instance_pool_id: '0101-pool-d8' } } }))
      .toEqual([expect.objectContaining({ path: ['compute', 'new_cluster', 'node_type_id'], message: expect.stringMatching(/differs from the node type of instance pool/) })]);
    const policy = await check({ compute: { new_cluster: { ...CLUSTER, node_type_id: 'Standard_E8ds_v5', policy_id: 'ABC123', autoscale: { min_workers: 1, max_workers: 12 } } as never } });
    expect(policy.map((p) => p.path.join('.'))).toEqual(['compute.new_cluster.node_type_id', 'compute.new_cluster.autoscale.max_workers']);
    expect(policy[0]!.hint).toMatch(/Allowed: Standard_D4ds_v5, Standard_D8ds_v5/);
    expect(await check({ compute: { new_cluster: { ...CLUSTER, policy_id: 'XYZ' } as never } })).toEqual([expect.objectContaining({ path: ['compute', 'new_cluster', 'policy_id'] })]);
    expect(await check({ compute: { existing_cluster_id: '0101-120000-gone' } })).toEqual([expect.objectContaining({ severity: 'error', message: expect.stringMatching(/does not exist/) })]);
    expect(await check({ compute: { existing_cluster_id: '0101-120000-stopped' } })).toEqual([expect.objectContaining({ severity: 'warning', message: expect.stringMatching(/TERMINATED/) })]);
    expect(await check({ compute: { existing_cluster_id: '0101-120000-running' } })).toEqual([]);
    expect(emu.invalidRequests().filter((r) => r.operation !== 'JobsRunsSubmit')).toEqual([]);
  });
});

describe('validate --remote and the pre-submit check of train', () => {
  function project(nodeType: string): string {
    const dir = kit.tempDir('mm-dbx-remote-p-');
    writeFileSync(path.join(dir, 'pipelines.yaml'), `version: 1
project: p
variables:
  data: { default: "dbfs:/d.csv" }
targets:
  dbx:
    default: true
    engine: databricks
    databricks:
      auth: pat
      artifacts: { path: /Volumes/main/mm/files/manymodels }
      compute:
        new_cluster:
          spark_version: 15.4.x-scala2.12
          node_type_id: ${nodeType}
          num_workers: 1
    sink: { type: delta, path: "dbfs:/p" }
${DAILY_PIPELINE}`);
    return dir;
  }
  const env = () => cliEnv({ DATABRICKS_HOST: emu.url, DATABRICKS_TOKEN: TOKEN, HOME: kit.tempDir('mm-dbx-home-') });

  it('reports each mismatch at its line, with a did-you-mean; exit 2', async () => {
    const dir = project('Standard_D4ds_v6');
    const res = await cli(['validate', '--remote', '--no-data'], { cwd: dir, env: env() });
    expect(res.code, res.stderr).toBe(2);
    const line = readFileSync(path.join(dir, 'pipelines.yaml'), 'utf8').split('\n').findIndex((l) => l.includes('node_type_id')) + 1;
    expect(res.stderr).toMatch(/Error MM408: node_type_id "Standard_D4ds_v6" is not a node type this workspace offers/);
    expect(res.stderr).toContain(`pipelines.yaml:${line}:25`);
    expect(res.stderr).toContain('Did you mean "Standard_D4ds_v5"?');
    const ok = await cli(['validate', '--remote', '--no-data'], { cwd: project('Standard_D4ds_v5'), env: env() });
    expect(ok.code, ok.stderr).toBe(0);
    // Without --remote nothing is asked.
    const before = emu.requests.length;
    expect((await cli(['validate', '--no-data'], { cwd: dir, env: env() })).code).toBe(0);
    expect(emu.requests.length).toBe(before);
  });

  it('train stops before uploading anything (MM408)', async () => {
    const before = emu.requests.length;
    const res = await cli(['train'], { cwd: project('Standard_D4ds_v6'), env: env() });
    expect(res.code, res.stderr).toBe(2);
    expect(res.stderr).toMatch(/MM408.*databricks\.compute\.new_cluster\.node_type_id/);
    const ops = emu.requests.slice(before).map((r) => r.operation);
    expect(ops.every((o) => o?.startsWith('Clusters'))).toBe(true);
  });
});
