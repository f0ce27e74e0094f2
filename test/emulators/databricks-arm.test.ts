// The ARM workspace GET on the emulator: checked against databricks.json (2024-05-01) with the
// shared Swagger validator, and called through the real @azure/arm-databricks SDK over HTTPS.
import https from 'node:https';
import { AzureDatabricksManagementClient } from '@azure/arm-databricks';
import axios from 'axios';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { emulatorClient, FAKE_PAT } from './databricks/emulator-test-client.js';
import { startDatabricksEmulator, type DatabricksEmulator } from './databricks/server.js';
import { databricksArmSpec } from './spec/spec-paths.js';
import { loadSwaggerValidator, type SwaggerValidator } from './spec/swagger-validator.js';
import { selfSignedCertificate } from './shared/self-signed-cert.js';

const SUB = '11111111-2222-3333-4444-555555555555';
const WS_PATH = `/subscriptions/${SUB}/resourceGroups/rg-mm/providers/Microsoft.Databricks/workspaces/mm-dev`;
/** A JWT-shaped fake Entra ID token (ARM refuses anything else, e.g. a PAT). */
const FAKE_AAD = `${Buffer.from('{"alg":"none","typ":"JWT"}').toString('base64url')}.${Buffer.from('{"aud":"https://management.azure.com"}').toString('base64url')}.`;

let emu: DatabricksEmulator;
let arm: SwaggerValidator;

beforeAll(async () => {
  emu = await startDatabricksEmulator({ armWorkspace: { subscriptionId: SUB, resourceGroup: 'rg-mm', name: 'mm-dev' } });
  arm = await loadSwaggerValidator(databricksArmSpec());
});

afterAll(async () => {
  await emu.stop();
});

describe('ARM Workspaces_Get', () => {
  it('returns a spec-valid workspace whose workspaceUrl is the emulator, for any api-version', async () => {
    const client = emulatorClient(emu, FAKE_AAD);
    for (const apiVersion of ['2024-05-01', '2026-01-01', '2021-04-01-preview']) {
      const res = await client.get(WS_PATH, { params: { 'api-version': apiVersion } });
      expect(res.status).toBe(200);
      expect(arm.validateResponse('Workspaces_Get', res.status, res.data)).toEqual({ ok: true, errors: [] });
      expect(res.data.properties.workspaceUrl).toBe(emu.workspaceHost);
      expect(res.data.properties.workspaceId).toBe(emu.workspaceId);
    }
    // The request the emulator saw is itself valid against the definition (bar the api-version).
    const seen = arm.validateRequest({ method: 'GET', path: WS_PATH, query: { 'api-version': '2024-05-01' } });
    expect(seen.ok).toBe(true);
  });

  it('answers ARM-shaped errors: missing api-version, no token, a PAT, an unknown workspace, throttling', async () => {
    const aad = emulatorClient(emu, FAKE_AAD);
    const noVersion = await aad.get(WS_PATH);
    expect(noVersion.status).toBe(400);
    expect(noVersion.data.error.code).toBe('MissingApiVersionParameter');
    const anonymous = await emulatorClient(emu, null).get(WS_PATH, { params: { 'api-version': '2024-05-01' } });
    expect(anonymous.status).toBe(401);
    expect(anonymous.data.error.code).toBe('AuthenticationFailed');
    const pat = await emulatorClient(emu, FAKE_PAT).get(WS_PATH, { params: { 'api-version': '2024-05-01' } });
    expect(pat.status).toBe(401);
    expect(pat.data.error.code).toBe('InvalidAuthenticationToken');
    const missing = await aad.get(WS_PATH.replace('mm-dev', 'mm-prod'), { params: { 'api-version': '2024-05-01' } });
    expect(missing.status).toBe(404);
    expect(missing.data.error.code).toBe('ResourceNotFound');
    const tooLong = await aad.get(WS_PATH.replace('mm-dev', 'x'.repeat(65)), { params: { 'api-version': '2024-05-01' } });
    expect(tooLong.status).toBe(400);
    emu.faults.inject({ kind: 'rate-limit', path: WS_PATH, retryAfterSeconds: 7 });
    const throttled = await aad.get(WS_PATH, { params: { 'api-version': '2024-05-01' } });
    expect(throttled.status).toBe(429);
    expect(throttled.headers['retry-after']).toBe('7');
    expect(throttled.data.error.code).toBe('TooManyRequests');
    for (const r of [noVersion, anonymous, pat, missing, tooLong, throttled]) {
      expect(arm.validateResponse('Workspaces_Get', r.status, r.data).ok).toBe(true);
    }
    expect(emu.replyProblems()).toEqual([]);
  });
});

const tls = selfSignedCertificate();

describe('the real @azure/arm-databricks SDK', () => {
  // core-rest-pipeline refuses bearer tokens over plain http, so this needs the emulator's TLS mode.
  it.skipIf(!tls)('reads the workspace over HTTPS and the workspaceUrl leads back to the emulator', async () => {
    const secure = await startDatabricksEmulator({ tls });
    try {
      const credential = { getToken: async () => ({ token: FAKE_AAD, expiresOnTimestamp: Date.now() + 3_600_000 }) };
      const sdk = new AzureDatabricksManagementClient(credential, SUB, {
        endpoint: secure.url,
        tlsOptions: { ca: tls?.cert },
        retryOptions: { maxRetries: 0 },
      });
      const workspace = await sdk.workspaces.get('rg-mm', 'mm-dev');
      expect(workspace.workspaceUrl).toBe(secure.workspaceHost);
      expect(secure.requests[0]).toMatchObject({ operation: 'Workspaces_Get', status: 200, tokenKind: 'aad' });
      expect(secure.requests[0]?.query['api-version']).toBe('2026-01-01');

      const runs = await axios.get(`https://${workspace.workspaceUrl}/api/2.2/jobs/runs/list`, {
        headers: { Authorization: `Bearer ${FAKE_AAD}` },
        httpsAgent: new https.Agent({ ca: tls?.cert }),
      });
      expect(runs.status).toBe(200);
      expect(runs.data).toEqual({ runs: [], has_more: false });
      expect(secure.invalidRequests()).toEqual([]);
    } finally {
      await secure.stop();
    }
  });
});
