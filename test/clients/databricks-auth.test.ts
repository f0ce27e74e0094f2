// Databricks sign-in the way the Databricks CLI and SDKs do it: each setting explicit (the
// target, --profile) → environment → ~/.databrickscfg profile; PAT, then OAuth M2M, then Azure
// AD when no auth type is named; OAuth M2M tokens from the emulator's /oidc/v1/token over real
// HTTP (its rules: form body, client_credentials, scope all-apis, Basic client auth), renewed
// after a 401; run status read from `status` with `state` as the fallback.
import { mkdirSync, writeFileSync } from 'node:fs';
import path from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { OAuthM2MTokenProvider, DatabricksClient, resolveDatabricksConfig } from '../../src/clients/databricks/index.js';
import { redactSecrets } from '../../src/core/redact.js';
import { DatabricksBackend, openDatabricksBackend, runPhase } from '../../src/jobs/databricks/databricks-backend.js';
import { startDatabricksEmulator, type DatabricksEmulator } from '../emulators/databricks/server.js';
import { cli } from '../helpers/cli.js';
import { DAILY_PIPELINE } from '../helpers/forecast-e2e.js';
import { databricksTarget } from '../helpers/engine-settings.js';
import { cliEnv, projectKit } from '../helpers/project.js';

const kit = projectKit('mm-dbx-auth-');
const CLIENT_ID = '6f1c2b3a-0000-4000-8000-00000000c1d5';
const SECRET = `dose${'0a1b'.repeat(8)}`;
const PAT = `dapi${'7c3e'.repeat(8)}`;
const CLUSTER = { spark_version: '15.4.x-scala2.12', node_type_id: 'Standard_D4ds_v5', num_workers: 1 };

/** A HOME with a .databrickscfg holding these profiles. */
function home(profiles: Record<string, Record<string, string>>): string {
  const dir = kit.tempDir('mm-dbx-home-');
  const text = Object.entries(profiles).map(([name, kv]) => `[${name}]\n${Object.entries(kv).map(([k, v]) => `${k} = ${v}`).join('\n')}\n`).join('\n');
  writeFileSync(path.join(dir, '.databrickscfg'), `; written by a test\n${text}`);
  return dir;
}

const mm404 = (fn: () => unknown): string => {
  try {
    fn();
  } catch (err) {
    expect(err).toMatchObject({ code: 'MM404' });
    return (err as Error).message;
  }
  throw new Error('did not throw');
};

describe('unified auth: where host and credential come from', () => {
  it('takes each setting explicit → environment → profile, and the profile --profile → target → DATABRICKS_CONFIG_PROFILE → DEFAULT', () => {
    const HOME = home({
      DEFAULT: { host: 'https://adb-1.1.azuredatabricks.net', token: PAT },
      ci: { host: 'https://adb-2.2.azuredatabricks.net', client_id: CLIENT_ID, client_secret: SECRET },
      other: { host: 'https://adb-3.3.azuredatabricks.net' },
    });
    const r = (explicit: Parameters<typeof resolveDatabricksConfig>[0]['explicit'], env: Record<string, string> = {}) => resolveDatabricksConfig({ explicit, env: { HOME, ...env } });
    expect(r({})).toMatchObject({ host: 'https://adb-1.1.azuredatabricks.net', hostSource: 'profile', profile: 'DEFAULT', credential: { type: 'pat', token: PAT } });
    expect(r({}, { DATABRICKS_HOST: 'https://adb-9.9.azuredatabricks.net' })).toMatchObject({ host: 'https://adb-9.9.azuredatabricks.net', hostSource: 'environment' });
    expect(r({ host: 'https://adb-5.5.azuredatabricks.net' }, { DATABRICKS_HOST: 'https://adb-9.9.azuredatabricks.net' })).toMatchObject({ hostSource: 'target', host: 'https://adb-5.5.azuredatabricks.net' });
    // A client id and secret, no token: OAuth M2M.
    expect(r({ profile: 'ci' })).toMatchObject({ profile: 'ci', host: 'https://adb-2.2.azuredatabricks.net', credential: { type: 'oauth-m2m', clientId: CLIENT_ID, clientSecret: SECRET } });
    expect(r({}, { DATABRICKS_CONFIG_PROFILE: 'ci' }).profile).toBe('ci');
    expect(r({ profile: 'other' }, { DATABRICKS_CONFIG_PROFILE: 'ci' }).profile).toBe('other');
    // The environment's token comes before the profile's client credentials: PAT first.
    expect(r({ profile: 'ci' }, { DATABRICKS_TOKEN: PAT }).credential.type).toBe('pat');
    // Nothing at all: Azure AD.
    expect(r({ profile: 'other' }).credential).toEqual({ type: 'azure' });
    // An auth type named anywhere wins over the default order.
    expect(r({ auth: 'azure' }).credential.type).toBe('azure');
    expect(r({ profile: 'ci' }, { DATABRICKS_TOKEN: PAT, DATABRICKS_AUTH_TYPE: 'oauth-m2m' }).credential.type).toBe('oauth-m2m');
    expect(r({}, { DATABRICKS_AUTH_TYPE: 'azure-cli' }).credential.type).toBe('azure');
    // DATABRICKS_CONFIG_FILE moves the file.
    const elsewhere = path.join(kit.tempDir('mm-dbx-cfg-'), 'cfg');
    writeFileSync(elsewhere, '[DEFAULT]\nhost = adb-7.7.azuredatabricks.net\n');
    expect(r({}, { DATABRICKS_CONFIG_FILE: elsewhere })).toMatchObject({ host: 'adb-7.7.azuredatabricks.net', credential: { type: 'azure' } });
  });

  it('refuses what cannot sign in (MM404), naming no secret', () => {
    const HOME = home({ DEFAULT: { host: 'https://adb-1.1.azuredatabricks.net' }, half: { client_id: CLIENT_ID }, odd: { auth_type: 'basic' } });
    const r = (explicit: Parameters<typeof resolveDatabricksConfig>[0]['explicit'], env: Record<string, string> = {}) => () => resolveDatabricksConfig({ explicit, env: { HOME, ...env } });
    expect(mm404(r({ profile: 'prod' }))).toMatch(/profile "prod" is not in .*\.databrickscfg/);
    expect(mm404(r({ auth: 'pat' }))).toMatch(/auth is pat but DATABRICKS_TOKEN is not set/);
    expect(mm404(r({ auth: 'oauth-m2m', profile: 'half' }))).toMatch(/DATABRICKS_CLIENT_SECRET is not set, nor in profile half/);
    expect(mm404(r({ profile: 'odd' }))).toMatch(/auth type "basic"/);
    expect(mm404(r({ auth: 'oauth-m2m' }, { DATABRICKS_CLIENT_SECRET: SECRET }))).not.toContain(SECRET);
    // No file at all is no profile, not an error, unless one was asked for.
    const empty = kit.tempDir('mm-dbx-nohome-');
    expect(resolveDatabricksConfig({ explicit: {}, env: { HOME: empty } }).credential.type).toBe('azure');
    expect(redactSecrets(`client secret ${SECRET}`)).not.toContain(SECRET);
  });
});

describe('OAuth M2M against the emulator', () => {
  let emu: DatabricksEmulator;
  beforeAll(async () => {
    emu = await startDatabricksEmulator({
      minLatencyMs: 1, acceptedTokens: [PAT], oauthClients: [{ clientId: CLIENT_ID, clientSecret: SECRET }], oauthTokenSeconds: 60,
      timings: { queuedMs: 1, pendingMs: 1, terminatingMs: 1 },
    });
  });
  afterAll(async () => {
    await emu.stop();
  });

  const form = (body: string, headers: Record<string, string>) => fetch(`${emu.url}/oidc/v1/token`, { method: 'POST', body, headers });
  const basic = (id: string, secret: string) => `Basic ${Buffer.from(`${id}:${secret}`).toString('base64')}`;

  it('the token endpoint refuses what the service refuses', async () => {
    const ok = { Authorization: basic(CLIENT_ID, SECRET), 'Content-Type': 'application/x-www-form-urlencoded' };
    const cases: Array<[string, Record<string, string>, number, string]> = [
      ['grant_type=client_credentials&scope=all-apis', { ...ok, Authorization: basic(CLIENT_ID, 'wrong') }, 401, 'invalid_client'],
      ['grant_type=client_credentials&scope=all-apis', { 'Content-Type': ok['Content-Type'] }, 401, 'invalid_client'],
      ['grant_type=password&scope=all-apis', ok, 400, 'unsupported_grant_type'],
      ['grant_type=client_credentials', ok, 400, 'invalid_scope'],
      ['{"grant_type":"client_credentials"}', { ...ok, 'Content-Type': 'application/json' }, 400, 'invalid_request'],
    ];
    for (const [body, headers, status, error] of cases) {
      const res = await form(body, headers);
      expect(res.status, body).toBe(status);
      expect(await res.json()).toMatchObject({ error });
    }
    const good = await form('grant_type=client_credentials&scope=all-apis', ok);
    expect(good.status).toBe(200);
    expect(await good.json()).toMatchObject({ token_type: 'Bearer', scope: 'all-apis', expires_in: 60 });
    // The secret is never recorded.
    expect(JSON.stringify(emu.requests)).not.toContain(SECRET);
  });

  it('signs the Jobs calls with a token from /oidc/v1/token, kept, and fetched again after a 401', async () => {
    const clock = { now: 0 };
    const provider = new OAuthM2MTokenProvider({ host: emu.url, clientId: CLIENT_ID, clientSecret: SECRET, now: () => clock.now });
    const db = new DatabricksClient({ host: emu.url, tokenProvider: provider });
    const before = emu.requests.length;
    await db.listRuns();
    await db.listRuns();
    expect(provider.fetched).toBe(1);
    // The token's life ends on the service; this clock never moves, so only the 401 can renew it.
    emu.expireOAuthTokens();
    await db.listRuns();
    expect(provider.fetched).toBe(2);
    const seen = emu.requests.slice(before).map((r) => `${r.operation}:${r.tokenKind}:${r.status}`);
    expect(seen).toEqual(['OidcToken:basic:200', 'JobsRunsList:oauth:200', 'JobsRunsList:oauth:200', 'JobsRunsList:oauth:401', 'OidcToken:basic:200', 'JobsRunsList:oauth:200']);
  });

  it('a wrong secret is MM604 with the next steps, and the secret appears nowhere', async () => {
    const db = new DatabricksClient({ host: emu.url, tokenProvider: new OAuthM2MTokenProvider({ host: emu.url, clientId: CLIENT_ID, clientSecret: `${SECRET}ff` }) });
    const err = (await db.listRuns().then(() => undefined, (e: unknown) => e)) as Error & { nextSteps: string[] };
    expect(err).toMatchObject({ code: 'MM604', status: 401, serviceCode: 'invalid_client' });
    expect(err.nextSteps.join(' ')).toMatch(/DATABRICKS_CLIENT_SECRET/);
    expect(JSON.stringify({ m: err.message, s: err.nextSteps })).not.toContain(SECRET);
  });

  it('a target without host signs in from the profile --profile names', async () => {
    const HOME = home({ ci: { host: emu.url, client_id: CLIENT_ID, client_secret: SECRET } });
    const settings = databricksTarget({ artifacts: { path: '/Volumes/main/mm/files/manymodels' }, compute: { new_cluster: CLUSTER } });
    const backend = await openDatabricksBackend(
      { name: 't', engine: 'databricks', workers: 1, registry: { type: 'local', granularity: 'per_group', concurrency: 1 }, productionRegistry: { type: 'local', granularity: 'per_group', concurrency: 1 }, sink: { type: 'delta' }, databricks: settings, stateDir: kit.tempDir('mm-dbx-state-') },
      { env: { HOME }, databricksProfile: 'ci' },
    );
    const before = emu.requests.length;
    await (await backend.client()).listRuns();
    expect(emu.requests.slice(before).map((r) => r.tokenKind)).toEqual(['basic', 'oauth']);
    // No host anywhere: MM404 before any request.
    await expect(openDatabricksBackend({ name: 't', engine: 'databricks', workers: 1, registry: { type: 'local', granularity: 'per_group', concurrency: 1 }, productionRegistry: { type: 'local', granularity: 'per_group', concurrency: 1 }, sink: { type: 'delta' }, databricks: settings, stateDir: '/nonexistent' }, { env: { HOME: kit.tempDir('mm-dbx-nohome-'), DATABRICKS_TOKEN: PAT } }))
      .rejects.toMatchObject({ code: 'MM404', message: expect.stringMatching(/no workspace/) });
  });
});

describe('run status: status first, state as the fallback', () => {
  it('reads status and ignores a state that says otherwise', () => {
    expect(runPhase({ status: { state: 'TERMINATED', termination_details: { code: 'SUCCESS', type: 'SUCCESS' } }, state: { life_cycle_state: 'RUNNING' } }))
      .toMatchObject({ phase: 'TERMINATED', terminal: true, outcome: 'SUCCESS', result: 'succeeded' });
    // The platform's CANCELED (a timeout) is a failure; a user's cancel is USER_CANCELED.
    expect(runPhase({ status: { state: 'TERMINATED', termination_details: { code: 'CANCELED', type: 'CLIENT_ERROR' } } }).result).toBe('failed');
    expect(runPhase({ status: { state: 'TERMINATED', termination_details: { code: 'USER_CANCELED', type: 'SUCCESS' } } }).result).toBe('cancelled');
    expect(runPhase({ state: { life_cycle_state: 'TERMINATED', result_state: 'CANCELED' } }).result).toBe('cancelled');
    expect(runPhase({ state: { life_cycle_state: 'INTERNAL_ERROR', state_message: 'boom' } })).toMatchObject({ terminal: true, outcome: 'INTERNAL_ERROR', message: 'boom' });
    expect(runPhase({ status: { state: 'QUEUED', queue_details: { code: 'ACTIVE_RUNS_LIMIT_REACHED', message: 'waiting' } } })).toMatchObject({ phase: 'QUEUED', terminal: false, message: 'waiting' });
  });

  it('follows a run on a workspace that sends no deprecated state', async () => {
    const emu = await startDatabricksEmulator({ minLatencyMs: 1, omitDeprecatedState: true, timings: { queuedMs: 1, pendingMs: 1, terminatingMs: 1 } });
    try {
      const target = path.join(emu.localPathFor('dbfs:/t/ok.py')!);
      mkdirSync(path.dirname(target), { recursive: true });
      writeFileSync(target, 'print("ok")\n');
      const backend = new DatabricksBackend({ settings: databricksTarget({ host: emu.url, artifacts: { location: 'dbfs' }, auth: 'pat', compute: { new_cluster: CLUSTER } }), context: { env: { DATABRICKS_TOKEN: PAT } } });
      const db = await backend.client();
      const runId = await db.submitRun({ run_name: 'status-only', idempotency_token: 'status-only', tasks: [{ task_key: 'train', new_cluster: CLUSTER, spark_python_task: { python_file: 'dbfs:/t/ok.py' } }] });
      await emu.runs.waitForTerminal(runId);
      const run = await db.getRun(runId);
      expect(run.state).toBeUndefined();
      const { DatabricksEngine } = await import('../../src/jobs/databricks/databricks-backend.js');
      const engine = new DatabricksEngine({ settings: databricksTarget({ host: emu.url, artifacts: { location: 'dbfs' }, auth: 'pat', compute: { new_cluster: CLUSTER } }), context: { env: { DATABRICKS_TOKEN: PAT } } });
      expect(engine.status(run)).toMatchObject({ state: 'succeeded', terminal: true, key: 'TERMINATED/SUCCESS' });
      expect(emu.invalidRequests()).toEqual([]);
    } finally {
      await emu.stop();
    }
  });
});

describe('--profile on the command line', () => {
  it('names a profile that must exist (MM404, exit 2)', async () => {
    const dir = kit.tempDir('mm-dbx-cli-');
    writeFileSync(path.join(dir, 'pipelines.yaml'), `version: 1
project: p
variables:
  data: { default: "dbfs:/d.csv" }
targets:
  dbx:
    default: true
    engine: databricks
    databricks:
      artifacts: { path: /Volumes/main/mm/files/manymodels }
      compute: { new_cluster: { spark_version: 15.4.x-scala2.12, node_type_id: Standard_D4ds_v5, num_workers: 1 } }
    sink: { type: delta, path: "dbfs:/p" }
${DAILY_PIPELINE}`);
    const HOME = home({ DEFAULT: { host: 'https://adb-1.1.azuredatabricks.net' } });
    const res = await cli(['train', '--profile', 'staging'], { cwd: dir, env: cliEnv({ HOME }) });
    expect(res.stderr).toMatch(/MM404.*profile "staging" is not in/);
    expect(res.code).toBe(2);
  });
});
