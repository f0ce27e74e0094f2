// The databricks target's settings (defaults, and every combination refused when the target is
// resolved, MM406; the token checked when the backend opens, MM404),
// the runs/submit body for each kind of compute — sent to the emulator, which checks it against
// the official Jobs definitions — and the workspace URL looked up through ARM with the real
// @azure/arm-databricks SDK over HTTPS.
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { AzureScopes } from '../../src/clients/azure-context.js';
import { lookupWorkspaceUrl, DatabricksClient } from '../../src/clients/databricks/index.js';
import { DatabricksBackend, databricksAuth } from '../../src/jobs/databricks/databricks-backend.js';
import { normaliseDatabricksHost } from '../../src/pipeline/engine-settings.js';
import type { RawDatabricks } from '../../src/pipeline/types.js';
import { databricksProblems, databricksTarget } from '../helpers/engine-settings.js';
import { buildSubmitRequest, idempotencyToken } from '../../src/jobs/databricks/submit-request.js';
import { startDatabricksEmulator, type DatabricksEmulator } from '../emulators/databricks/server.js';
import { selfSignedCertificate } from '../emulators/shared/self-signed-cert.js';

const tls = selfSignedCertificate();
const SUB = '11111111-2222-3333-4444-555555555555';
const RESOURCE = `/subscriptions/${SUB}/resourceGroups/rg-mm/providers/Microsoft.Databricks/workspaces/mm-dev`;
/** JWT-shaped, as the emulator expects of Azure AD tokens. */
const FAKE_AAD = `${Buffer.from('{"alg":"none"}').toString('base64url')}.${Buffer.from('{"aud":"arm"}').toString('base64url')}.`;
const CLUSTER = { spark_version: '15.4.x-scala2.12', node_type_id: 'Standard_D4ds_v5', num_workers: 2 };
/** Targets written before volumes were the default say dbfs (backward compatible). */
const DBFS = { artifacts: { location: 'dbfs' as const } };
const base: RawDatabricks = { host: 'adb-123.4.azuredatabricks.net/', ...DBFS, compute: { new_cluster: CLUSTER } };
const PAT = { DATABRICKS_TOKEN: 'dapi-x' };

const mm406 = (raw: RawDatabricks): string => {
  const problems = databricksProblems(raw);
  expect(problems.length).toBeGreaterThan(0);
  for (const p of problems) expect(p.code).toBe('MM406');
  return problems.map((p) => `${p.path}: ${p.message}`).join('\n');
};

describe('databricks settings', () => {
  it('fills in the defaults', () => {
    const s = databricksTarget(base);
    expect(s).toMatchObject({ host: 'https://adb-123.4.azuredatabricks.net', artifactsPath: 'dbfs:/manymodels', artifactsKind: 'dbfs', runsPath: 'dbfs:/manymodels/runs', runsKind: 'dbfs', pollIntervalMs: 2000 });
    expect(s.auth).toBeUndefined();
    expect(databricksAuth(s, PAT)).toBe('pat');
    expect(databricksAuth(s, {})).toBe('azure');
    expect(databricksTarget({ ...base, artifacts: { location: 'workspace' } })).toMatchObject({ artifactsPath: '/Shared/manymodels', runsPath: 'dbfs:/manymodels/runs' });
    expect(databricksTarget({ ...base, artifacts: { path: '/Volumes/c/s/v/mm' } })).toMatchObject({ artifactsKind: 'volume', runsPath: '/Volumes/c/s/v/mm/runs', runsKind: 'volume', entryPath: '/Shared/manymodels' });
    expect(databricksTarget({ ...base, artifacts: { path: '/Volumes/c/s/v/mm', entry_path: '/Workspace/Users/me/mm' } }).entryPath).toBe('/Workspace/Users/me/mm');
    expect(databricksTarget(base).entryPath).toBeUndefined();
    expect(normaliseDatabricksHost('http://127.0.0.1:8080/')).toEqual({ host: 'http://127.0.0.1:8080' });
  });

  it('refuses what cannot work when the target is resolved (MM406), each at its key', () => {
    expect(mm406({ host: 'h' })).toMatch(/exactly one of new_cluster/);
    expect(mm406({ host: 'h', ...DBFS, compute: { new_cluster: CLUSTER, existing_cluster_id: 'c' } })).toMatch(/^targets\.t\.databricks\.compute: .*exactly one/);
    expect(mm406({ ...base, artifacts: { location: 'volume' } })).toMatch(/artifacts\.location: .*needs artifacts.path/);
    // No artifacts at all: the default is a volume, which must be named; DBFS only when asked.
    expect(mm406({ host: 'h', compute: { serverless: true } })).toMatch(/^targets\.t\.databricks: name the Unity Catalog volume/);
    expect(mm406({ ...base, artifacts: { path: '/Volumes/c/s/v/mm', entry_path: 'dbfs:/x' } })).toMatch(/artifacts\.entry_path: .*not a workspace folder/);
    expect(mm406({ ...base, artifacts: { location: 'dbfs', entry_path: '/Shared/x' } })).toMatch(/artifacts\.entry_path: .*only with a volume/);
    expect(mm406({ ...base, artifacts: { location: 'dbfs', path: '/Volumes/c/s/v' } })).toMatch(/artifacts\.path: .*not a dbfs path/);
    expect(mm406({ ...base, artifacts: { path: '/Volumes/c/s' } })).toMatch(/not inside a volume/);
    expect(mm406({ ...base, runs_path: '/Shared/runs' })).toMatch(/runs_path: .*runs_path/);
    expect(mm406({ ...base, runs_path: 'dbfs:/a/../runs' })).toMatch(/not an absolute DBFS path/);
    expect(mm406({ ...base, host: 'http://adb-1.azuredatabricks.net' })).toMatch(/host: .*not https/);
    expect(mm406({ host: 'h', ...DBFS, compute: { serverless: true }, libraries: [{ pypi: { package: 'x' } }, { jar: 'dbfs:/x.jar' }] })).toMatch(/libraries\[1\]: .*serverless/);
    // Every problem at once, not the first only.
    expect(databricksProblems({ host: 'http://x.net', ...DBFS, runs_path: '/Shared/r' })).toHaveLength(3);
  });

  it('leaves a missing host to DATABRICKS_HOST or the profile, found when the run starts', () => {
    expect(databricksProblems({ ...DBFS, compute: { serverless: true } })).toEqual([]);
    expect(databricksTarget({ ...DBFS, compute: { serverless: true } }).host).toBeUndefined();
  });

  it('checks the token when the backend opens (MM404): it depends on the environment, not the file', () => {
    expect(() => databricksAuth({ auth: 'pat' }, {})).toThrow(expect.objectContaining({ code: 'MM404', message: expect.stringMatching(/DATABRICKS_TOKEN is not set/) }));
  });
});

describe('runs/submit body', () => {
  let emu: DatabricksEmulator;
  beforeAll(async () => {
    emu = await startDatabricksEmulator({ minLatencyMs: 1, timings: { queuedMs: 1, pendingMs: 1, terminatingMs: 1 } });
  });
  afterAll(async () => {
    await emu.stop();
  });

  const inputs = (raw: RawDatabricks, runId: string) => ({
    runId,
    stage: 'train' as const,
    pipeline: 'daily',
    pythonFile: 'dbfs:/manymodels/cas/abc-train_entry.py',
    parameters: ['--spec', '/dbfs/manymodels/cas/def-jobspec.json'],
    sparkConf: { 'spark.sql.adaptive.enabled': 'false', 'spark.sql.execution.arrow.pyspark.enabled': 'true' },
    settings: databricksTarget(raw),
  });

  it('puts the pipeline Spark settings and cost tags on a job cluster; the cluster spec wins', () => {
    const body = buildSubmitRequest(inputs({ ...base, compute: { new_cluster: { ...CLUSTER, spark_conf: { 'spark.sql.adaptive.enabled': 'true' } } }, libraries: [{ pypi: { package: 'statsmodels' } }], timeout_seconds: 3600 }, '20261126-101500-train-ab12cd'));
    expect(body).toMatchObject({ idempotency_token: 'manymodels-20261126-101500-train-ab12cd', timeout_seconds: 3600 });
    expect(body.tasks[0]!.new_cluster).toMatchObject({
      spark_conf: { 'spark.sql.adaptive.enabled': 'true', 'spark.sql.execution.arrow.pyspark.enabled': 'true' },
      custom_tags: { manymodels_pipeline: 'daily', manymodels_stage: 'train' },
    });
    expect(body.tasks[0]!.libraries).toEqual([{ pypi: { package: 'statsmodels' } }]);
    expect(idempotencyToken('20261126-101500-score-ab12cd').length).toBeLessThanOrEqual(64);
  });

  it('on serverless puts Python packages into the environment', () => {
    const body = buildSubmitRequest(inputs({ host: 'h', ...DBFS, compute: { serverless: true }, libraries: [{ pypi: { package: 'statsmodels==0.14.1' } }] }, 'r-serverless'));
    expect(body.tasks[0]).toMatchObject({ environment_key: 'manymodels' });
    expect(body.tasks[0]!.libraries).toBeUndefined();
    expect(body.environments).toEqual([{ environment_key: 'manymodels', spec: { client: '1', dependencies: ['statsmodels==0.14.1'] } }]);
  });

  it('is valid against the Jobs definitions for every kind of compute', async () => {
    const db = new DatabricksClient({ host: emu.url, tokenProvider: { getToken: async () => 'dapi-t' } });
    for (const [i, raw] of [
      { ...base, libraries: [{ pypi: { package: 'statsmodels' } }, { whl: 'dbfs:/w.whl' }], timeout_seconds: 60 },
      { host: 'h', ...DBFS, compute: { existing_cluster_id: '0101-000000-abcd' }, libraries: [{ maven: { coordinates: 'a:b:1' } }] },
      { host: 'h', ...DBFS, compute: { serverless: true }, libraries: [{ pypi: { package: 'statsmodels' } }] },
    ].entries()) {
      await db.submitRun(buildSubmitRequest(inputs(raw as RawDatabricks, `r-valid-${i}`)));
    }
    expect(emu.runs.list()).toHaveLength(3);
    expect(emu.invalidRequests()).toEqual([]);
  });

  it('with auth: azure asks for an Azure AD token for the Azure Databricks resource', async () => {
    const scopes: string[] = [];
    const backend = new DatabricksBackend({
      settings: databricksTarget({ host: emu.url, ...DBFS, auth: 'azure', compute: { serverless: true } }),
      context: { env: {}, tokenProviderFor: (scope) => (scopes.push(scope), { getToken: async () => FAKE_AAD }) },
    });
    await (await backend.client()).listRuns();
    expect(scopes).toEqual([AzureScopes.databricks]);
    expect(emu.requests.at(-1)).toMatchObject({ operation: 'JobsRunsList', tokenKind: 'aad', status: 200 });
  });
});


describe('workspace URL from the ARM resource id', () => {
  // core-rest-pipeline refuses bearer tokens over plain http: the emulator serves HTTPS here.
  it.skipIf(!tls)('is looked up with @azure/arm-databricks at the pinned api-version, errors mapped once', async () => {
    const secure = await startDatabricksEmulator({ tls: tls!, armWorkspace: { subscriptionId: SUB, resourceGroup: 'rg-mm', name: 'mm-dev' } });
    try {
      const tokenProvider = { getToken: async () => FAKE_AAD };
      const url = await lookupWorkspaceUrl(RESOURCE, { tokenProvider, endpoint: secure.url, tlsCa: tls!.cert });
      expect(url).toBe(`https://${secure.workspaceHost}`);
      expect(secure.requests[0]).toMatchObject({ operation: 'Workspaces_Get', status: 200, tokenKind: 'aad' });
      expect(secure.requests[0]!.query['api-version']).toBe('2024-05-01');

      const missing = await lookupWorkspaceUrl(RESOURCE.replace('mm-dev', 'mm-prod'), { tokenProvider, endpoint: secure.url, tlsCa: tls!.cert }).catch((e: unknown) => e);
      expect(missing).toMatchObject({ code: 'MM601', status: 404, serviceCode: 'ResourceNotFound', exitCode: 3 });
      expect((missing as { nextSteps: string[] }).nextSteps[0]).toContain('workspace_resource_id');

      // The backend resolves its host the same way, on first use, with an ARM token from the context.
      const backend = new DatabricksBackend({
        settings: databricksTarget({ workspace_resource_id: RESOURCE, ...DBFS, compute: { serverless: true }, auth: 'azure' }),
        context: { env: {}, tokenProviderFor: () => tokenProvider },
        armEndpoint: secure.url,
        armTlsCa: tls!.cert,
      });
      expect((await backend.client()).host).toBe(`https://${secure.workspaceHost}`);
      expect(secure.invalidRequests()).toEqual([]);
    } finally {
      await secure.stop();
    }
  });
});
