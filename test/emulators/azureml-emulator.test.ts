// The Azure ML emulator over raw HTTP: resources, validation errors, paging and filters,
// registry LROs, throttling and faults; every reply is checked against the definitions.
import { afterAll, afterEach, beforeAll, describe, expect, it } from 'vitest';
import { AzureMlEmulator, fakeBearerToken } from './azureml/azureml-emulator.js';
import { API, REGISTRY, REG_PATH, SUB, WORKSPACE, WS_PATH, armFetch, modelVersionBody } from './azureml/test-kit.js';

type Json = Record<string, unknown>;
const obj = (v: unknown): Json => (typeof v === 'object' && v !== null ? (v as Json) : {});

let emu: AzureMlEmulator;
beforeAll(async () => {
  emu = new AzureMlEmulator({
    minLatencyMs: 2,
    pageSize: 3,
    workspaces: [WORKSPACE],
    registries: [REGISTRY],
    throttle: { reads: { capacity: 10_000, refillPerSecond: 10_000 }, writes: { capacity: 10_000, refillPerSecond: 10_000 }, deletes: { capacity: 10_000, refillPerSecond: 10_000 } },
  });
  await emu.start();
});
afterAll(async () => {
  await emu.stop();
});
afterEach(() => {
  // Every reply the emulator sent so far matched the official definitions.
  expect(emu.selfCheckFailures).toEqual([]);
  emu.faults.clear();
});

describe('azure ml emulator: workspace models', () => {
  it('creates, reads, updates and deletes a version; the container appears implicitly', async () => {
    const put = await armFetch(emu, 'PUT', `${WS_PATH}/models/store-1/versions/1?${API}`, { body: modelVersionBody('azureml://a/1', { stage: 'candidate' }) });
    expect(put.status).toBe(201);
    expect(obj(put.body)).toMatchObject({
      id: `${WS_PATH}/models/store-1/versions/1`,
      name: '1',
      type: 'Microsoft.MachineLearningServices/workspaces/models/versions',
      systemData: { createdBy: 'manymodels-ci', createdByType: 'Application' },
      properties: { modelUri: 'azureml://a/1', provisioningState: 'Succeeded', tags: { stage: 'candidate' } },
    });
    const again = await armFetch(emu, 'PUT', `${WS_PATH}/models/store-1/versions/1?${API}`, { body: modelVersionBody('azureml://a/1', { stage: 'production' }) });
    expect(again.status).toBe(200);
    expect(obj(obj(again.body).properties).tags).toEqual({ stage: 'production' });

    const container = await armFetch(emu, 'GET', `${WS_PATH}/models/store-1?${API}`);
    expect(container.status).toBe(200);
    expect(obj(container.body).properties).toMatchObject({ latestVersion: '1', nextVersion: '2', provisioningState: 'Succeeded' });

    expect((await armFetch(emu, 'DELETE', `${WS_PATH}/models/store-1/versions/1?${API}`)).status).toBe(200);
    expect((await armFetch(emu, 'DELETE', `${WS_PATH}/models/store-1/versions/1?${API}`)).status).toBe(204);
    const gone = await armFetch(emu, 'GET', `${WS_PATH}/models/store-1/versions/1?${API}`);
    expect(gone.status).toBe(404);
    expect(obj(obj(gone.body).error).code).toBe('ResourceNotFound');
  });

  it('refuses to change the artifact path of an existing version, like the service', async () => {
    await armFetch(emu, 'PUT', `${WS_PATH}/models/store-2/versions/1?${API}`, { body: modelVersionBody('azureml://a/one') });
    const changed = await armFetch(emu, 'PUT', `${WS_PATH}/models/store-2/versions/1?${API}`, { body: modelVersionBody('azureml://a/other') });
    expect(changed.status).toBe(400);
    expect(changed.body).toEqual({ error: { code: 'UserError', message: 'Asset paths cannot be updated.', target: 'properties.modelUri' } });
  });

  it('lets the properties of an existing version only be added to, like the service', async () => {
    const url = `${WS_PATH}/models/store-3/versions/1?${API}`;
    const body = (props: Record<string, string>) => ({ properties: { ...modelVersionBody('azureml://a/three').properties, properties: props } });
    expect((await armFetch(emu, 'PUT', url, { body: body({ 'manymodels.sha256': 'aa' }) })).status).toBe(201);
    // Same value again, and a new key: fine; a key left out is kept.
    expect((await armFetch(emu, 'PUT', url, { body: body({ 'manymodels.sha256': 'aa', extra: '1' }) })).status).toBe(200);
    const kept = await armFetch(emu, 'PUT', url, { body: body({}) });
    expect(obj(obj(kept.body).properties).properties).toEqual({ 'manymodels.sha256': 'aa', extra: '1' });
    const changed = await armFetch(emu, 'PUT', url, { body: body({ 'manymodels.sha256': 'bb' }) });
    expect(changed.status).toBe(400);
    expect(obj(changed.body).error).toMatchObject({ code: 'UserError', target: 'properties.properties.manymodels.sha256' });
  });

  it('answers ARM ErrorResponse bodies for invalid requests', async () => {
    const badName = await armFetch(emu, 'PUT', `${WS_PATH}/models/_bad/versions/1?${API}`, { body: modelVersionBody('x') });
    expect(badName.status).toBe(400);
    expect(obj(badName.body).error).toMatchObject({ code: 'UserError', details: [expect.objectContaining({ code: 'InvalidParameter', target: 'name' })] });

    const badBody = await armFetch(emu, 'PUT', `${WS_PATH}/models/ok/versions/1?${API}`, { body: { properties: { modelUri: 1, colour: 'red' } } });
    expect(badBody.status).toBe(400);
    const details = (obj(badBody.body).error as { details: Array<{ code: string; target: string }> }).details;
    expect(details.map((d) => d.target).sort()).toEqual(['body.properties', 'body.properties.modelUri']);

    const noVersion = await armFetch(emu, 'GET', `${WS_PATH}/models`);
    expect(noVersion.status).toBe(400);
    expect(obj(noVersion.body).error).toMatchObject({ code: 'MissingApiVersionParameter' });
    const oldVersion = await armFetch(emu, 'GET', `${WS_PATH}/models?api-version=2023-04-01`);
    expect(obj(oldVersion.body).error).toMatchObject({ code: 'NoRegisteredProviderFound' });

    const notJson = await fetch(`${emu.baseUrl}${WS_PATH}/models/ok?${API}`, { method: 'PUT', body: '{not json', headers: { Authorization: 'Bearer t', 'Content-Type': 'application/json' } });
    expect(notJson.status).toBe(400);
    expect(await notJson.json()).toMatchObject({ error: { code: 'InvalidRequestContent' } });

    expect((await armFetch(emu, 'PATCH', `${WS_PATH}/models/ok?${API}`, { body: {} })).status).toBe(405);
    const unknownType = await armFetch(emu, 'GET', `${WS_PATH}/gadgets?${API}`);
    expect(unknownType.status).toBe(404);
    expect(obj(unknownType.body).error).toMatchObject({ code: 'InvalidResourceType' });
  });

  it('authenticates first: 401 without a bearer token, and the parent workspace must exist', async () => {
    const anon = await armFetch(emu, 'GET', `${WS_PATH}/models?${API}`, { token: null });
    expect(anon.status).toBe(401);
    expect(obj(anon.body).error).toMatchObject({ code: 'AuthenticationFailed' });
    const otherWs = await armFetch(emu, 'GET', `${WS_PATH.replace(WORKSPACE.name, 'ws-nope')}/models?${API}`);
    expect(otherWs.status).toBe(404);
    expect(obj(otherWs.body).error).toMatchObject({ code: 'ResourceNotFound' });
  });
});

describe('azure ml emulator: lists', () => {
  beforeAll(async () => {
    for (let v = 1; v <= 7; v++) {
      const tags: Record<string, string> = { 'manymodels.pipeline': v % 2 === 0 ? 'even' : 'odd' };
      if (v === 6) tags['manymodels.stage'] = 'production';
      await armFetch(emu, 'PUT', `${WS_PATH}/models/paged/versions/${v}?${API}`, { body: { properties: { modelUri: `u${v}`, tags, isArchived: v === 7 } } });
    }
  });

  async function collect(first: string): Promise<{ names: string[]; pages: number; links: string[] }> {
    const names: string[] = [];
    const links: string[] = [];
    let url: string | undefined = first;
    let pages = 0;
    while (url) {
      const page = await armFetch(emu, 'GET', url);
      expect(page.status).toBe(200);
      pages++;
      const body = obj(page.body) as { value: Array<{ name: string }>; nextLink?: string };
      names.push(...body.value.map((v) => v.name));
      url = body.nextLink;
      if (url) links.push(url);
    }
    return { names, pages, links };
  }

  it('pages through absolute nextLinks that keep api-version and filters', async () => {
    const all = await collect(`${WS_PATH}/models/paged/versions?${API}`);
    expect(all.names).toEqual(['1', '2', '3', '4', '5', '6']); // 7 is archived: ActiveOnly by default
    expect(all.pages).toBe(2);
    expect(all.links[0]).toMatch(new RegExp(`^${emu.baseUrl}${WS_PATH}/models/paged/versions\\?api-version=2024-04-01&\\$skip=`));

    const evens = await collect(`${WS_PATH}/models/paged/versions?${API}&tags=manymodels.pipeline=even&listViewType=All`);
    expect(evens.names).toEqual(['2', '4', '6']);
    expect(evens.pages).toBe(1);
    const withArchived = await collect(`${WS_PATH}/models/paged/versions?${API}&listViewType=All&$top=5`);
    expect(withArchived.names).toEqual(['1', '2', '3', '4', '5', '6', '7']);
    expect(withArchived.links.every((l) => l.includes('listViewType=All') && l.includes('$top=5'))).toBe(true);
  });

  it('filters by tag presence and value (AND), orders, and rejects a forged continuation token', async () => {
    const prod = await collect(`${WS_PATH}/models/paged/versions?${API}&tags=manymodels.stage,manymodels.pipeline=even`);
    expect(prod.names).toEqual(['6']);
    const none = await collect(`${WS_PATH}/models/paged/versions?${API}&tags=manymodels.stage=production,manymodels.pipeline=odd`);
    expect(none.names).toEqual([]);
    const newest = await collect(`${WS_PATH}/models/paged/versions?${API}&$orderBy=createdtime%20desc`);
    expect(newest.names.slice(0, 2)).toEqual(['6', '5']);
    const forged = await armFetch(emu, 'GET', `${WS_PATH}/models/paged/versions?${API}&$skip=garbage`);
    expect(forged.status).toBe(400);
  });

  it('lists containers (no tag filter exists for them) with paging', async () => {
    for (const m of ['c-a', 'c-b', 'c-c', 'c-d']) await armFetch(emu, 'PUT', `${WS_PATH}/models/${m}?${API}`, { body: { properties: { tags: { group: m } } } });
    const names = (await collect(`${WS_PATH}/models?${API}`)).names;
    expect(names).toEqual(expect.arrayContaining(['c-a', 'c-b', 'c-c', 'c-d', 'paged']));
  });
});

describe('azure ml emulator: registry long-running operations', () => {
  it('PUT answers 201 + Azure-AsyncOperation; polling reaches Succeeded; the resource is final', async () => {
    const put = await armFetch(emu, 'PUT', `${REG_PATH}/models/prod-1/versions/1?${API}`, { body: modelVersionBody('azureml://blob/1') });
    expect(put.status).toBe(201);
    expect(obj(obj(put.body).properties).provisioningState).toBe('Creating');
    const asyncUrl = put.headers.get('azure-asyncoperation') ?? '';
    expect(asyncUrl).toMatch(new RegExp(`^${emu.baseUrl}/subscriptions/${SUB}/providers/Microsoft.MachineLearningServices/locations/.+/mfeOperationsStatus/.+\\?api-version=2024-04-01$`));
    const status = await armFetch(emu, 'GET', asyncUrl);
    expect(status.status).toBe(200);
    expect(obj(status.body)).toMatchObject({ status: 'Succeeded', name: expect.any(String), startTime: expect.any(String), endTime: expect.any(String) });
    const final = await armFetch(emu, 'GET', `${REG_PATH}/models/prod-1/versions/1?${API}`);
    expect(obj(obj(final.body).properties).provisioningState).toBe('Succeeded');
  });

  it('an injected failure ends the operation Failed and leaves nothing behind', async () => {
    emu.faults.inject({ kind: 'lro-failure', code: 'ModelStorageError', message: 'copy failed', operation: 'RegistryModelVersions_CreateOrUpdate' });
    const put = await armFetch(emu, 'PUT', `${REG_PATH}/models/prod-2/versions/1?${API}`, { body: modelVersionBody('azureml://blob/2') });
    expect(put.status).toBe(201);
    const status = await armFetch(emu, 'GET', put.headers.get('azure-asyncoperation') ?? '');
    expect(obj(status.body)).toMatchObject({ status: 'Failed', error: { code: 'ModelStorageError', message: 'copy failed' } });
    expect((await armFetch(emu, 'GET', `${REG_PATH}/models/prod-2/versions/1?${API}`)).status).toBe(404);
  });

  it('DELETE answers 202 + Location + Retry-After (>= 10 s, per the definitions); Location ends in 204', async () => {
    await armFetch(emu, 'PUT', `${REG_PATH}/models/prod-3/versions/1?${API}`, { body: modelVersionBody('azureml://blob/3') }).then((r) => armFetch(emu, 'GET', r.headers.get('azure-asyncoperation') ?? ''));
    const del = await armFetch(emu, 'DELETE', `${REG_PATH}/models/prod-3/versions/1?${API}`);
    expect(del.status).toBe(202);
    expect(Number(del.headers.get('retry-after'))).toBeGreaterThanOrEqual(10);
    const done = await armFetch(emu, 'GET', del.headers.get('location') ?? '');
    expect(done.status).toBe(204);
    expect((await armFetch(emu, 'GET', `${REG_PATH}/models/prod-3/versions/1?${API}`)).status).toBe(404);
    expect((await armFetch(emu, 'DELETE', `${REG_PATH}/models/prod-3/versions/1?${API}`)).status).toBe(204);
  });

  it('publishes a workspace version into the registry through a Location LRO', async () => {
    await armFetch(emu, 'PUT', `${WS_PATH}/models/to-publish/versions/4?${API}`, { body: modelVersionBody('azureml://ws/4', { k: 'v' }) });
    const pub = await armFetch(emu, 'POST', `${WS_PATH}/models/to-publish/versions/4/publish?${API}`, { body: { registryName: REGISTRY.name, destinationName: 'to-publish', destinationVersion: '4' } });
    expect(pub.status).toBe(202);
    expect(pub.headers.get('location')).toContain('/mfeOperationResults/');
    expect((await armFetch(emu, 'GET', pub.headers.get('location') ?? '')).status).toBe(200);
    const copy = await armFetch(emu, 'GET', `${REG_PATH}/models/to-publish/versions/4?${API}`);
    expect(obj(copy.body).properties).toMatchObject({ provisioningState: 'Succeeded', tags: { k: 'v' }, modelUri: `azureml://registries/${REGISTRY.name}/models/to-publish/versions/4` });
  });

  it('hands out a pending upload with a container SAS (fake storage without Azurite)', async () => {
    const res = await armFetch(emu, 'POST', `${REG_PATH}/models/up/versions/1/startPendingUpload?${API}`, { body: { pendingUploadId: 'fixed-id', pendingUploadType: 'TemporaryBlobReference' } });
    expect(res.status).toBe(200);
    expect(obj(res.body)).toMatchObject({ pendingUploadId: 'fixed-id', blobReferenceForConsumption: { blobUri: expect.stringMatching(/\/fixed-id$/), credential: { credentialType: 'SAS', sasUri: expect.stringContaining('sig=') } } });
    const again = await armFetch(emu, 'POST', `${REG_PATH}/models/up/versions/1/startPendingUpload?${API}`, { body: { pendingUploadId: 'fixed-id' } });
    expect(again.body).toEqual(res.body);
  });
});

describe('azure ml emulator: throttling and faults', () => {
  it('throttles per client with 429 + Retry-After and reports remaining tokens on every reply', async () => {
    const tight = new AzureMlEmulator({ minLatencyMs: 1, throttle: { reads: { capacity: 3, refillPerSecond: 1 } } });
    await tight.start();
    try {
      const replies = [];
      for (let i = 0; i < 4; i++) replies.push(await armFetch(tight, 'GET', `${WS_PATH}/models?${API}`));
      expect(replies.map((r) => r.status)).toEqual([200, 200, 200, 429]);
      expect(replies.map((r) => r.headers.get('x-ms-ratelimit-remaining-subscription-reads'))).toEqual(['2', '1', '0', '0']);
      expect(Number(replies[3]?.headers.get('retry-after'))).toBeGreaterThanOrEqual(1);
      expect(obj(replies[3]?.body).error).toMatchObject({ code: 'SubscriptionRequestsThrottled' });
      // Another principal has its own bucket; writes have theirs.
      const other = await armFetch(tight, 'GET', `${WS_PATH}/models?${API}`, { token: fakeBearerToken({ oid: 'someone-else' }) });
      expect(other.status).toBe(200);
      const write = await armFetch(tight, 'PUT', `${WS_PATH}/models/w?${API}`, { body: { properties: {} } });
      expect(write.status).toBe(201);
      expect(write.headers.get('x-ms-ratelimit-remaining-subscription-writes')).toBe('199');
      expect(tight.selfCheckFailures).toEqual([]);
    } finally {
      await tight.stop();
    }
  });

  it('injects 503, 429, slow replies and dropped connections for the next N matching requests', async () => {
    const unavailable = emu.faults.inject({ kind: 'status', status: 503, retryAfterSeconds: 2, method: 'GET', pathIncludes: '/models/fault-target', times: 2 });
    await armFetch(emu, 'PUT', `${WS_PATH}/models/fault-target?${API}`, { body: { properties: {} } });
    const a = await armFetch(emu, 'GET', `${WS_PATH}/models/fault-target?${API}`);
    const b = await armFetch(emu, 'GET', `${WS_PATH}/models/fault-target?${API}`);
    const c = await armFetch(emu, 'GET', `${WS_PATH}/models/fault-target?${API}`);
    expect([a.status, b.status, c.status]).toEqual([503, 503, 200]);
    expect(a.headers.get('retry-after')).toBe('2');
    expect(unavailable.hits()).toBe(2);

    emu.faults.inject({ kind: 'rate-limit', retryAfterSeconds: 7, operation: 'ModelContainers_Get' });
    const throttled = await armFetch(emu, 'GET', `${WS_PATH}/models/fault-target?${API}`);
    expect([throttled.status, throttled.headers.get('retry-after')]).toEqual([429, '7']);

    emu.faults.inject({ kind: 'slow', delayMs: 120, path: /fault-target$/ });
    const t0 = Date.now();
    expect((await armFetch(emu, 'GET', `${WS_PATH}/models/fault-target?${API}`)).status).toBe(200);
    expect(Date.now() - t0).toBeGreaterThanOrEqual(110);

    emu.faults.inject({ kind: 'reset-after-handling', method: 'PUT', pathIncludes: '/models/reset-me' });
    await expect(armFetch(emu, 'PUT', `${WS_PATH}/models/reset-me?${API}`, { body: { properties: {} } })).rejects.toThrow();
    // The write happened before the connection dropped.
    expect((await armFetch(emu, 'GET', `${WS_PATH}/models/reset-me?${API}`)).status).toBe(200);

    emu.faults.inject({ kind: 'reset', method: 'PUT', pathIncludes: '/models/reset-early' });
    await expect(armFetch(emu, 'PUT', `${WS_PATH}/models/reset-early?${API}`, { body: { properties: {} } })).rejects.toThrow();
    expect((await armFetch(emu, 'GET', `${WS_PATH}/models/reset-early?${API}`)).status).toBe(404);
  });

  it('takes at least the configured minimum latency per reply', async () => {
    const slow = new AzureMlEmulator({ minLatencyMs: 40 });
    await slow.start();
    try {
      const t0 = Date.now();
      await armFetch(slow, 'GET', `${WS_PATH}/models?${API}`);
      expect(Date.now() - t0).toBeGreaterThanOrEqual(38);
    } finally {
      await slow.stop();
    }
  });
});

describe('azure ml emulator: conformance of everything it sent', () => {
  it('records every request, and each reply validates against mfe.json', () => {
    const withOperation = emu.requests.filter((r) => r.operationId && r.status !== undefined && !r.fault?.startsWith('reset'));
    expect(withOperation.length).toBeGreaterThan(40);
    const failures = withOperation
      .map((r) => ({ r, v: emu.spec.validateResponse(r.operationId ?? '', r.status ?? 0, r.responseBody, r.responseHeaders) }))
      .filter((x) => !x.v.ok)
      .map((x) => `${x.r.method} ${x.r.path} ${x.r.status}: ${x.v.errors.map((e) => e.message).join('; ')}`);
    expect(failures).toEqual([]);
    const operationIds = new Set(withOperation.map((r) => r.operationId));
    for (const id of ['ModelVersions_CreateOrUpdate', 'ModelVersions_List', 'ModelContainers_List', 'RegistryModelVersions_CreateOrUpdate', 'RegistryModelVersions_Delete', 'ModelVersions_Publish', 'RegistryModelVersions_CreateOrGetStartPendingUpload']) {
      expect(operationIds.has(id)).toBe(true);
    }
  });
});
