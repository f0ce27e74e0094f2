// The emulator's online endpoints and deployments (mfe.json 2024-04-01): the long-running
// operations of a create and an update, and the requests the service refuses — bad names, missing
// required fields, values outside the enums, traffic to deployments the endpoint lacks or not
// summing to 100 (or 0), a compute type that does not match the endpoint, create-only fields —
// and, with Azurite as its blob storage, the code and model versions a deployment names: a
// deployment naming one that does not exist, a code version over blobs never uploaded, and a
// version PUT again with other properties are refused.
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { AzureMlEmulator } from './azureml/azureml-emulator.js';
import { API, WORKSPACE, WS_PATH, armFetch } from './azureml/test-kit.js';
import { type AzuriteBlob, startAzuriteBlob } from './azurite.js';
import { blobContainer } from '../helpers/azureml-registry-kit.js';

let emu: AzureMlEmulator;
const ep = (name: string) => `${WS_PATH}/onlineEndpoints/${encodeURIComponent(name)}`;
const dep = (endpoint: string, name: string) => `${ep(endpoint)}/deployments/${encodeURIComponent(name)}`;
const endpointBody = (properties: Record<string, unknown> = {}) => ({ location: 'westeurope', identity: { type: 'SystemAssigned' }, properties: { authMode: 'Key', ...properties } });
const deploymentBody = (properties: Record<string, unknown> = {}) => ({
  location: 'westeurope',
  sku: { name: 'Default', capacity: 1 },
  properties: { endpointComputeType: 'Managed', instanceType: 'Standard_DS3_v2', codeConfiguration: { scoringScript: 'score.py' }, environmentId: 'azureml:env:1', model: 'azureml:m:1', ...properties },
});

/** PUTs and follows the Azure-AsyncOperation until it ends; the resource as it then is. */
async function putAndWait(pathOnly: string, body: unknown): Promise<{ first: number; status: string; resource: any }> {
  const res = await armFetch(emu, 'PUT', `${pathOnly}?${API}`, { body });
  expect(res.status, JSON.stringify(res.body)).toBeGreaterThanOrEqual(200);
  expect(res.status).toBeLessThan(300);
  const op = res.headers.get('azure-asyncoperation');
  expect(op).toBeTruthy();
  let status = 'InProgress';
  for (let i = 0; i < 10 && status === 'InProgress'; i++) status = ((await armFetch(emu, 'GET', op!)).body as { status: string }).status;
  return { first: res.status, status, resource: (await armFetch(emu, 'GET', `${pathOnly}?${API}`)).body };
}

async function expectRefused(method: string, pathOnly: string, body: unknown, status: number, message: RegExp): Promise<void> {
  const res = await armFetch(emu, method, `${pathOnly}?${API}`, { body });
  expect([res.status, JSON.stringify(res.body)]).toEqual([status, expect.stringMatching(message)]);
}

describe('Azure ML emulator: online endpoints and deployments', () => {
  beforeAll(async () => {
    emu = new AzureMlEmulator({ minLatencyMs: 1, throttle: false, workspaces: [WORKSPACE] });
    await emu.start();
  });
  afterAll(async () => {
    expect(emu.selfCheckFailures).toEqual([]);
    await emu.stop();
  });

  it('creates an endpoint and a deployment as long-running operations, then moves traffic', async () => {
    const created = await putAndWait(ep('shop'), endpointBody({ traffic: {} }));
    expect([created.first, created.status, created.resource.properties.provisioningState]).toEqual([201, 'Succeeded', 'Succeeded']);
    expect(created.resource.properties.scoringUri).toBe('https://shop.westeurope.inference.ml.azure.com/score');
    expect(created.resource.identity.principalId).toMatch(/^[0-9a-f-]{36}$/);

    // While the endpoint is still Creating, no deployment can be added to it.
    const second = await armFetch(emu, 'PUT', `${ep('other')}?${API}`, { body: endpointBody() });
    expect(second.status).toBe(201);
    await expectRefused('PUT', dep('other', 'blue'), deploymentBody(), 409, /Creating/);

    const d = await putAndWait(dep('shop', 'blue'), deploymentBody());
    expect([d.first, d.status, d.resource.properties.provisioningState, d.resource.properties.endpointComputeType]).toEqual([201, 'Succeeded', 'Succeeded', 'Managed']);
    const traffic = await putAndWait(ep('shop'), endpointBody({ traffic: { blue: 100 } }));
    expect([traffic.first, traffic.resource.properties.traffic]).toEqual([200, { blue: 100 }]);
    const list = await armFetch(emu, 'GET', `${ep('shop')}/deployments?${API}`);
    expect((list.body as { value: Array<{ name: string }> }).value.map((x) => x.name)).toEqual(['blue']);

    // Every reply matched the definitions on the way out (the emulator checks it) and again here.
    for (const r of emu.requests.filter((x) => x.operationId?.startsWith('Online'))) {
      expect(emu.spec.validateResponse(r.operationId!, r.status!, r.responseBody, r.responseHeaders).errors, `${r.method} ${r.path}`).toEqual([]);
    }
  });

  it('refuses what the definitions refuse: names, required fields, enums, unknown fields', async () => {
    await expectRefused('PUT', ep('-starts-with-hyphen'), endpointBody(), 400, /endpointName|pattern/);
    await expectRefused('PUT', ep(`e${'x'.repeat(255)}`), endpointBody(), 400, /endpointName|pattern|longer/);
    await expectRefused('PUT', ep('shop2'), { properties: { authMode: 'Key' } }, 400, /location/);
    await expectRefused('PUT', ep('shop2'), { location: 'westeurope', properties: {} }, 400, /authMode/);
    await expectRefused('PUT', ep('shop2'), endpointBody({ authMode: 'Password' }), 400, /authMode|allowed values/);
    await expectRefused('PUT', dep('shop', 'has space'), deploymentBody(), 400, /deploymentName|pattern/);
    await expectRefused('PUT', dep('shop', 'green'), { location: 'westeurope', properties: { instanceType: 'Standard_DS3_v2' } }, 400, /endpointComputeType/);
    await expectRefused('PUT', dep('shop', 'green'), deploymentBody({ endpointComputeType: 'Serverless' }), 400, /endpointComputeType|allowed values|discriminator/i);
    await expectRefused('PUT', dep('shop', 'green'), deploymentBody({ codeConfiguration: { codeId: 'x' } }), 400, /scoringScript/);
    // containerResourceRequirements belongs to KubernetesOnlineDeployment only.
    await expectRefused('PUT', dep('shop', 'green'), deploymentBody({ containerResourceRequirements: { containerResourceRequests: { memory: '2Gi' } } }), 400, /containerResourceRequirements|additional/);
    await expectRefused('PUT', `${ep('shop')}`.replace(WS_PATH, WS_PATH.replace('ws-train', 'ws-nope')), endpointBody(), 404, /ResourceNotFound/);
  });

  it('refuses what the service refuses beyond the schema: traffic, compute types, create-only fields', async () => {
    await expectRefused('PUT', ep('shop'), endpointBody({ traffic: { blue: 100, green: 0 } }), 400, /green/);
    await expectRefused('PUT', ep('shop'), endpointBody({ traffic: { blue: 90 } }), 400, /sum to 100/);
    await expectRefused('PUT', ep('fresh'), endpointBody({ traffic: { blue: 100 } }), 400, /does not have/);
    await expectRefused('PUT', ep('shop'), endpointBody({ mirrorTraffic: { blue: 60 } }), 400, /at most 50/);
    await expectRefused('PUT', dep('nowhere', 'blue'), deploymentBody(), 404, /ResourceNotFound/);
    await expectRefused('PUT', dep('shop', 'k8s'), deploymentBody({ endpointComputeType: 'Kubernetes', instanceType: 'defaultinstancetype' }), 400, /managed online endpoint/);
    await expectRefused('PUT', dep('shop', 'green'), deploymentBody({ instanceType: null }), 400, /instanceType/);
    await expectRefused('PUT', dep('shop', 'blue'), deploymentBody({ instanceType: 'Standard_F4s_v2' }), 400, /cannot be changed/);
    await expectRefused('DELETE', dep('shop', 'blue'), undefined, 400, /traffic/);
    // All traffic at 0 is allowed: deployments are then reached with the azureml-model-deployment header only.
    const zero = await putAndWait(ep('shop'), endpointBody({ traffic: { blue: 0 } }));
    expect(zero.resource.properties.traffic).toEqual({ blue: 0 });
    const del = await armFetch(emu, 'DELETE', `${dep('shop', 'blue')}?${API}`);
    expect([del.status, Boolean(del.headers.get('location'))]).toEqual([202, true]);
  });

  it('registers environment versions as the definitions declare them, and refuses a deployment naming a missing one', async () => {
    const envPath = (name: string, version: string) => `${WS_PATH}/environments/${name}/versions/${version}`;
    const envBody = { properties: { image: 'mcr.microsoft.com/azureml/minimal-ubuntu22.04-py39-cpu-inference:latest', condaFile: 'name: mm\ndependencies: [python=3.11]\n', osType: 'Linux', description: 'runtime' } };
    await putAndWait(ep('assets'), endpointBody());
    const envId = `/subscriptions/${WORKSPACE.subscriptionId}/resourceGroups/${WORKSPACE.resourceGroup}/providers/Microsoft.MachineLearningServices/workspaces/${WORKSPACE.name}/environments/mm-env/versions/1`;
    // Before the environment exists, the service refuses the deployment that names it.
    await expectRefused('PUT', dep('assets', 'blue'), deploymentBody({ environmentId: envId }), 400, /environment .*mm-env\/versions\/1.* was not found/);

    const created = await armFetch(emu, 'PUT', `${envPath('mm-env', '1')}?${API}`, { body: envBody });
    expect(created.status, JSON.stringify(created.body)).toBe(201);
    expect(created.body).toMatchObject({ id: envId, name: '1', properties: { image: envBody.properties.image, condaFile: envBody.properties.condaFile, environmentType: 'UserCreated', provisioningState: 'Succeeded' } });
    // The same definition again is the same version; another one under that version is refused.
    expect((await armFetch(emu, 'PUT', `${envPath('mm-env', '1')}?${API}`, { body: envBody })).status).toBe(200);
    await expectRefused('PUT', envPath('mm-env', '1'), { properties: { ...envBody.properties, condaFile: 'name: other\n' } }, 409, /cannot be changed/);
    // What the definitions refuse: a field EnvironmentVersion does not have, a value outside the osType enum.
    await expectRefused('PUT', envPath('mm-env', '2'), { properties: { ...envBody.properties, dockerfile: 'FROM x' } }, 400, /dockerfile/);
    await expectRefused('PUT', envPath('mm-env', '2'), { properties: { ...envBody.properties, osType: 'Plan9' } }, 400, /osType|Plan9/);
    expect((await armFetch(emu, 'GET', `${envPath('mm-env', '2')}?${API}`)).status).toBe(404);
    expect((await armFetch(emu, 'GET', `${envPath('mm-env', '1')}?${API}`)).body).toMatchObject({ id: envId });

    const d = await putAndWait(dep('assets', 'blue'), deploymentBody({ environmentId: envId }));
    expect([d.status, d.resource.properties.environmentId]).toEqual(['Succeeded', envId]);
    for (const r of emu.requests.filter((x) => x.operationId?.startsWith('EnvironmentVersions') && (x.status ?? 0) < 300)) {
      expect(emu.spec.validateResponse(r.operationId!, r.status!, r.responseBody, r.responseHeaders).errors, `${r.method} ${r.path}`).toEqual([]);
    }
  });
});

describe('Azure ML emulator: the code and model versions an online deployment names', () => {
  let azurite: AzuriteBlob;
  let container: string;
  const armId = (kind: 'codes' | 'models', name: string, version: string) =>
    `/subscriptions/${WORKSPACE.subscriptionId}/resourceGroups/${WORKSPACE.resourceGroup}/providers/Microsoft.MachineLearningServices/workspaces/${WORKSPACE.name}/${kind}/${name}/versions/${version}`;
  const assetPath = (kind: 'codes' | 'models', name: string, version: string) => `${WS_PATH}/${kind}/${name}/versions/${version}`;
  const codeBody = (codeUri: string, extra: Record<string, unknown> = {}) => ({ properties: { codeUri, description: 'scoring code', tags: {}, properties: {}, ...extra } });
  const modelBody = (modelUri: string, extra: Record<string, unknown> = {}) => ({ properties: { modelUri, modelType: 'custom_model', description: 'shard 0', tags: {}, properties: {}, ...extra } });

  beforeAll(async () => {
    azurite = await startAzuriteBlob();
    emu = new AzureMlEmulator({ minLatencyMs: 1, throttle: false, workspaces: [WORKSPACE], blobStorage: { connectionString: azurite.connectionString } });
    await emu.start();
    const c = blobContainer(azurite, 'deploy');
    await c.createIfNotExists();
    await c.getBlockBlobClient('code/v1/score.py').uploadData(Buffer.from('def init(): pass\n'));
    await c.getBlockBlobClient('code/v2/score.py').uploadData(Buffer.from('def init(): return 2\n'));
    await c.getBlockBlobClient('models/m1/manymodels-bundle.json').uploadData(Buffer.from('{}'));
    container = `${azurite.blobEndpoint}/deploy`;
    await putAndWait(ep('refs'), endpointBody());
  }, 60_000);
  afterAll(async () => {
    expect(emu.selfCheckFailures).toEqual([]);
    await emu.stop();
    await azurite.stop();
  });

  it('refuses a deployment whose codeId or model names a version that does not exist', async () => {
    await expectRefused('PUT', dep('refs', 'blue'), deploymentBody({ codeConfiguration: { codeId: armId('codes', 'mm-code', 'v1'), scoringScript: 'score.py' } }), 400, /code .*mm-code\/versions\/v1.* was not found/);
    await expectRefused('PUT', dep('refs', 'blue'), deploymentBody({ model: armId('models', 'mm-shard-0', 'm1') }), 400, /model .*mm-shard-0\/versions\/m1.* was not found/);
    const refused = await armFetch(emu, 'PUT', `${dep('refs', 'blue')}?${API}`, { body: deploymentBody({ model: armId('models', 'mm-shard-0', 'm1') }) });
    expect(refused.body).toMatchObject({ error: { code: 'UserError', target: 'properties.model', details: [{ code: 'InvalidRequestContent' }] } });
    expect(emu.online.endpoint({ subscriptionId: WORKSPACE.subscriptionId, resourceGroup: WORKSPACE.resourceGroup, workspace: WORKSPACE.name }, 'refs')?.deployments.size).toBe(0);
  });

  it('registers code versions over uploaded blobs only, and refuses one PUT again with other properties', async () => {
    await expectRefused('PUT', assetPath('codes', 'mm-code', 'v0'), codeBody(`${container}/code/never-uploaded`), 400, /no blobs/);
    const v1 = codeBody(`${container}/code/v1`, { properties: { digest: 'a' } });
    const created = await armFetch(emu, 'PUT', `${assetPath('codes', 'mm-code', 'v1')}?${API}`, { body: v1 });
    expect([created.status, (created.body as { id: string }).id]).toEqual([201, armId('codes', 'mm-code', 'v1')]);
    // The same body again is the same version; another codeUri or a changed property is refused.
    expect((await armFetch(emu, 'PUT', `${assetPath('codes', 'mm-code', 'v1')}?${API}`, { body: v1 })).status).toBe(200);
    await expectRefused('PUT', assetPath('codes', 'mm-code', 'v1'), codeBody(`${container}/code/v2`, { properties: { digest: 'a' } }), 400, /Asset paths cannot be updated/);
    await expectRefused('PUT', assetPath('codes', 'mm-code', 'v1'), codeBody(`${container}/code/v1`, { properties: { digest: 'b' } }), 400, /digest.*cannot be changed/);
    expect((await armFetch(emu, 'GET', `${assetPath('codes', 'mm-code', 'v1')}?${API}`)).body).toMatchObject({ properties: { codeUri: `${container}/code/v1`, provisioningState: 'Succeeded' } });
    expect((await armFetch(emu, 'GET', `${assetPath('codes', 'mm-code', 'v9')}?${API}`)).status).toBe(404);
  });

  it('accepts the deployment once its code and model versions exist', async () => {
    const model = await armFetch(emu, 'PUT', `${assetPath('models', 'mm-shard-0', 'm1')}?${API}`, { body: modelBody(`${container}/models/m1`) });
    expect(model.status, JSON.stringify(model.body)).toBe(201);
    await expectRefused('PUT', assetPath('models', 'mm-shard-0', 'm1'), modelBody(`${container}/models/m2`), 400, /Asset paths cannot be updated/);
    await expectRefused('PUT', assetPath('models', 'mm-shard-0', 'm1'), modelBody(`${container}/models/m1`, { modelType: 'mlflow_model' }), 400, /modelType/);
    const d = await putAndWait(dep('refs', 'blue'), deploymentBody({ codeConfiguration: { codeId: armId('codes', 'mm-code', 'v1'), scoringScript: 'score.py' }, model: armId('models', 'mm-shard-0', 'm1') }));
    expect([d.status, d.resource.properties.model, d.resource.properties.codeConfiguration.codeId]).toEqual(['Succeeded', armId('models', 'mm-shard-0', 'm1'), armId('codes', 'mm-code', 'v1')]);
    for (const r of emu.requests.filter((x) => x.operationId?.startsWith('CodeVersions') && (x.status ?? 0) < 300)) {
      expect(emu.spec.validateResponse(r.operationId!, r.status!, r.responseBody, r.responseHeaders).errors, `${r.method} ${r.path}`).toEqual([]);
    }
  });
});
