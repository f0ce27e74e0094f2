// The Swagger 2.0 validator against the official definitions: official examples pass, and
// good and bad requests/responses are told apart the way the service would.
import { beforeAll, describe, expect, it } from 'vitest';
import { checkOfficialExamples } from './spec/official-examples.js';
import { azureMlMfeSpec, commonTypesV5Spec, databricksArmSpec, synapseSparkSpec } from './spec/spec-paths.js';
import { type SwaggerValidator, loadSwaggerValidator } from './spec/swagger-validator.js';

const WS = '/subscriptions/00000000-1111-2222-3333-444444444444/resourceGroups/rg-1/providers/Microsoft.MachineLearningServices/workspaces/ws-main';
const REG = '/subscriptions/00000000-1111-2222-3333-444444444444/resourceGroups/rg-1/providers/Microsoft.MachineLearningServices/registries/prod-reg';
const API = '?api-version=2024-04-01';
const goodVersion = {
  properties: { description: 'store 7', tags: { 'manymodels.pipeline': 'p' }, properties: { sha256: 'ab' }, modelType: 'CustomModel', modelUri: 'azureml://x', flavors: { python_function: { data: { loader: 'pickle' } } } },
};

let ml: SwaggerValidator;
beforeAll(async () => {
  ml = await loadSwaggerValidator(azureMlMfeSpec());
});

describe('swagger validator: official examples', () => {
  it('accepts every Azure ML model container/version example present in the definitions folder', () => {
    const checks = checkOfficialExamples(azureMlMfeSpec(), ml, (id) => /Model(Containers|Versions)_/.test(id));
    // 8 operations x workspace/registry; publish/startPendingUpload examples were not copied.
    expect(checks.length).toBe(16);
    expect(checks.filter((c) => c.issues.length > 0)).toEqual([]);
  });

  it('is generic: the Synapse Livy and Databricks ARM examples validate too', async () => {
    for (const file of [synapseSparkSpec(), databricksArmSpec()]) {
      const v = await loadSwaggerValidator(file);
      const checks = checkOfficialExamples(file, v);
      expect(checks.length).toBeGreaterThan(0);
      expect(checks.filter((c) => c.issues.length > 0)).toEqual([]);
    }
  });
});

describe('swagger validator: requests', () => {
  it('finds the operation and path parameters for a good PUT', () => {
    const r = ml.validateRequest({ method: 'PUT', path: `${WS}/models/store-7_item-3/versions/12${API}`, body: goodVersion });
    expect(r.errors).toEqual([]);
    expect(r.ok).toBe(true);
    expect(r.operation?.operationId).toBe('ModelVersions_CreateOrUpdate');
    expect(r.pathParams).toMatchObject({ workspaceName: 'ws-main', name: 'store-7_item-3', version: '12' });
  });

  it('matches literal path segments case-insensitively, like ARM', () => {
    const r = ml.validateRequest({ method: 'GET', path: `${WS.replace('resourceGroups', 'resourcegroups').replace('Microsoft.MachineLearningServices', 'microsoft.machinelearningservices')}/models${API}` });
    expect(r.operation?.operationId).toBe('ModelContainers_List');
    expect(r.ok).toBe(true);
  });

  it('rejects a model name outside the pattern, a wrong api-version and a missing one', () => {
    const bad = ml.validateRequest({ method: 'PUT', path: `${WS}/models/-starts-with-dash/versions/1?api-version=2023-10-01`, body: goodVersion });
    expect(bad.errors.map((e) => [e.in, e.name, e.keyword])).toEqual([
      ['path', 'name', 'pattern'],
      ['query', 'api-version', 'apiVersion'],
    ]);
    const missing = ml.validateRequest({ method: 'GET', path: `${WS}/models` });
    expect(missing.errors).toEqual([expect.objectContaining({ in: 'query', name: 'api-version', keyword: 'required' })]);
  });

  it('applies the model name pattern only where the definitions declare it (GET has none)', () => {
    expect(ml.validateRequest({ method: 'GET', path: `${WS}/models/has.dot${API}` }).ok).toBe(true);
    expect(ml.validateRequest({ method: 'PUT', path: `${WS}/models/has.dot${API}`, body: { properties: {} } }).ok).toBe(false);
  });

  it('checks bodies: unknown property, wrong types, missing required body', () => {
    const r = ml.validateRequest({
      method: 'PUT',
      path: `${WS}/models/m1/versions/1${API}`,
      body: { properties: { modelUri: 5, tags: { a: 1 }, owner: 'me' } },
    });
    expect(r.errors.map((e) => `${e.name} ${e.keyword}`).sort()).toEqual(['/properties additionalProperties', '/properties/modelUri type', '/properties/tags/a type']);
    const noBody = ml.validateRequest({ method: 'PUT', path: `${WS}/models/m1/versions/1${API}` });
    expect(noBody.errors).toEqual([expect.objectContaining({ in: 'body', keyword: 'required' })]);
    const noProperties = ml.validateRequest({ method: 'PUT', path: `${WS}/models/m1/versions/1${API}`, body: {} });
    expect(noProperties.errors).toEqual([expect.objectContaining({ keyword: 'required', message: expect.stringContaining('properties') })]);
  });

  it('flattens allOf: inherited ResourceBase/AssetBase fields are allowed under additionalProperties:false', () => {
    const r = ml.validateRequest({ method: 'PUT', path: `${WS}/models/m1/versions/1${API}`, body: { properties: { description: 'd', isAnonymous: false, isArchived: true, stage: 'Production' } } });
    expect(r.errors).toEqual([]);
  });

  it('ignores read-only properties in requests, reporting them as warnings', () => {
    const r = ml.validateRequest({
      method: 'PUT',
      path: `${WS}/models/m1/versions/1${API}`,
      body: { id: 'whatever', systemData: { createdAt: 'not a date' }, properties: { provisioningState: 'Bogus', modelUri: 'x' } },
    });
    expect(r.ok).toBe(true);
    expect(r.warnings.map((w) => w.name).sort()).toEqual(['/id', '/properties/provisioningState', '/systemData']);
  });

  it('checks query parameter types and enums', () => {
    const r = ml.validateRequest({ method: 'GET', path: `${WS}/models/m1/versions${API}&$top=ten&listViewType=Everything&tags=a,b=c` });
    expect(r.errors.map((e) => `${e.name} ${e.keyword}`)).toEqual(['$top type', 'listViewType enum']);
    expect(ml.validateRequest({ method: 'GET', path: `${WS}/models/m1/versions${API}&$top=10&listViewType=All` }).ok).toBe(true);
  });

  it('tells an unknown path from a method the path does not allow', () => {
    expect(ml.validateRequest({ method: 'PATCH', path: `${WS}/models/m1${API}` }).errors[0]?.keyword).toBe('methodNotAllowed');
    expect(ml.validateRequest({ method: 'GET', path: `${WS}/gadgets${API}` }).errors[0]?.keyword).toBe('notFound');
  });
});

describe('swagger validator: responses', () => {
  const version = {
    id: `${WS}/models/m1/versions/1`,
    name: '1',
    type: 'Microsoft.MachineLearningServices/workspaces/models/versions',
    systemData: { createdAt: '2024-05-01T10:00:00.000Z', createdBy: 'ci', createdByType: 'Application' },
    properties: { modelUri: 'azureml://x', provisioningState: 'Succeeded', tags: {}, isArchived: false },
  };

  it('accepts a well-formed resource and flags a bad one', () => {
    expect(ml.validateResponse('ModelVersions_Get', 200, version).errors).toEqual([]);
    const bad = ml.validateResponse('ModelVersions_Get', 200, { ...version, systemData: { createdAt: 'yesterday' }, properties: { extra: 1 } });
    expect(bad.errors.map((e) => `${e.name} ${e.keyword}`).sort()).toEqual(['/properties additionalProperties', '/systemData/createdAt format']);
  });

  it('validates error replies against the ARM ErrorResponse (common-types, recursive details)', () => {
    expect(ml.validateResponse('ModelVersions_Get', 404, { error: { code: 'NotFound', message: 'gone', details: [{ code: 'x', message: 'y', details: [] }] } }).ok).toBe(true);
    expect(ml.validateResponse('ModelVersions_Get', 404, { error: { code: 'x', details: [{ code: 42 }] } }).errors[0]?.name).toBe('/error/details/0/code');
  });

  it('flags a body where the definitions document none, and a bad documented header', () => {
    expect(ml.validateResponse('ModelVersions_Delete', 200, { deleted: true }).errors[0]?.keyword).toBe('undocumented');
    const lro = ml.validateResponse('RegistryModelVersions_Delete', 202, undefined, { Location: 'https://x', 'Retry-After': '3' });
    expect(lro.errors).toEqual([expect.objectContaining({ in: 'header', name: 'Retry-After', keyword: 'minimum' })]);
    expect(ml.validateResponse('RegistryModelVersions_Delete', 202, undefined, { 'Retry-After': '10' }).ok).toBe(true);
  });

  it('dispatches on the discriminator: the SAS credential subtype is checked', () => {
    const good = { blobReferenceForConsumption: { blobUri: 'https://a.blob.core.windows.net/c/p', credential: { credentialType: 'SAS', sasUri: 'https://a.blob.core.windows.net/c?sig=x' } }, pendingUploadId: 'u1', pendingUploadType: 'TemporaryBlobReference' };
    expect(ml.validateResponse('RegistryModelVersions_CreateOrGetStartPendingUpload', 200, good).errors).toEqual([]);
    const bad = { blobReferenceForConsumption: { credential: { credentialType: 'SAS', sasUri: 7, token: 'x' } } };
    expect(ml.validateResponse('RegistryModelVersions_CreateOrGetStartPendingUpload', 200, bad).errors.map((e) => e.keyword).sort()).toEqual(['additionalProperties', 'type']);
  });

  it('reads status codes not listed through `default`, and refuses unknown operations', () => {
    expect(ml.validateResponse('ModelContainers_List', 429, { error: { code: 'SubscriptionRequestsThrottled', message: 'm' } }).ok).toBe(true);
    expect(ml.validateResponse('NoSuch_Operation', 200, {}).errors[0]?.keyword).toBe('notFound');
  });

  it('validates named definitions from another file (the async operation status body)', async () => {
    const types = await loadSwaggerValidator(commonTypesV5Spec());
    expect(types.validateDefinition('OperationStatusResult', { id: '/subscriptions/s/x', status: 'Succeeded', startTime: '2024-01-01T00:00:00Z' }).ok).toBe(true);
    expect(types.validateDefinition('OperationStatusResult', { percentComplete: 120 }).errors.map((e) => e.keyword).sort()).toEqual(['maximum', 'required']);
  });
});

describe('swagger validator: registry model operations live in mfe.json', () => {
  it('covers workspace and registry model operations with their LRO metadata', () => {
    const reg = ml.validateRequest({ method: 'PUT', path: `${REG}/models/m1/versions/1${API}`, body: goodVersion });
    expect(reg.operation).toMatchObject({ operationId: 'RegistryModelVersions_CreateOrUpdate', longRunning: true, finalStateVia: 'original-uri' });
    expect(ml.operation('ModelVersions_Publish')).toMatchObject({ longRunning: true, finalStateVia: 'location' });
    expect(ml.operation('RegistryModelVersions_Delete')).toMatchObject({ longRunning: true, finalStateVia: 'location' });
    expect(ml.operation('ModelVersions_List')?.nextLinkName).toBe('nextLink');
  });
});
