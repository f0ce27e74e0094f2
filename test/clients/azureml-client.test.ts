// The real Azure ML client over real HTTP against the emulator: paging, tag filters, bulk
// resolution call counts, registry LROs, publish, throttling and dropped connections.
import { inspect } from 'node:util';
import { afterAll, afterEach, beforeAll, describe, expect, it } from 'vitest';
import { AzureMlClient, type AzureMlClientOptions, type ModelVersionResource } from '../../src/clients/azureml/index.js';
import { RemoteError } from '../../src/core/errors.js';
import type { RetryEvent } from '../../src/clients/http.js';
import { AzureMlEmulator, type AzureMlEmulatorOptions } from '../emulators/azureml/azureml-emulator.js';
import { REGISTRY, TOKEN, WORKSPACE, recordingSleep, registryScope, workspaceScope } from '../emulators/azureml/test-kit.js';

const roomy = { capacity: 100_000, refillPerSecond: 100_000 };
const started: AzureMlEmulator[] = [];

async function emulator(options: AzureMlEmulatorOptions = {}): Promise<AzureMlEmulator> {
  const emu = new AzureMlEmulator({ minLatencyMs: 1, workspaces: [WORKSPACE], registries: [REGISTRY], throttle: { reads: roomy, writes: roomy, deletes: roomy }, ...options });
  await emu.start();
  started.push(emu);
  return emu;
}

function clientFor(emu: AzureMlEmulator, extra: Partial<AzureMlClientOptions> = {}): { client: AzureMlClient; delays: number[]; retries: RetryEvent[]; throttles: RetryEvent[] } {
  const { sleep, delays } = recordingSleep();
  const retries: RetryEvent[] = [];
  const throttles: RetryEvent[] = [];
  const client = new AzureMlClient({
    ...extra,
    baseUrl: emu.baseUrl,
    tokenProvider: { getToken: async () => TOKEN },
    http: { sleep, onRetry: (e) => retries.push(e), onThrottle: (e) => throttles.push(e), ...extra.http },
  });
  return { client, delays, retries, throttles };
}

async function all<T>(it: AsyncIterable<T>): Promise<T[]> {
  const out: T[] = [];
  for await (const x of it) out.push(x);
  return out;
}

const input = (uri: string, tags: Record<string, string> = {}) => ({ modelUri: uri, modelType: 'CustomModel', tags, properties: { sha256: 'f'.repeat(64) } });

afterEach(() => {
  for (const emu of started) expect(emu.selfCheckFailures).toEqual([]);
});
afterAll(async () => {
  await Promise.all(started.map((e) => e.stop()));
});

describe('AzureMlClient: workspace models', () => {
  let emu: AzureMlEmulator;
  let client: AzureMlClient;
  beforeAll(async () => {
    emu = await emulator({ pageSize: 2 });
    ({ client } = clientFor(emu));
    for (let v = 1; v <= 5; v++) {
      await client.createOrUpdateModelVersion(workspaceScope, 'store-9', String(v), input(`azureml://u/${v}`, v === 4 ? { 'manymodels.stage': 'production' } : { 'manymodels.stage': 'candidate' }));
    }
  });

  it('lists versions across pages through nextLink', async () => {
    const before = client.requestCount;
    const versions = await all(client.listModelVersions(workspaceScope, 'store-9'));
    expect(versions.map((v) => v.name)).toEqual(['1', '2', '3', '4', '5']);
    expect(client.requestCount - before).toBe(3);
    expect(versions[0]?.properties).toMatchObject({ modelUri: 'azureml://u/1', provisioningState: 'Succeeded' });
  });

  it('filters by tag server-side and caps with top', async () => {
    const prod = await all(client.listModelVersions(workspaceScope, 'store-9', { tags: { 'manymodels.stage': 'production' } }));
    expect(prod.map((v) => v.name)).toEqual(['4']);
    const lastRequest = emu.requests.at(-1);
    expect(lastRequest?.query.tags).toBe('manymodels.stage=production');
    const firstThree = await all(client.listModelVersions(workspaceScope, 'store-9', { top: 3, orderBy: 'createdtime desc' }));
    expect(firstThree.map((v) => v.name)).toEqual(['5', '4', '3']);
    expect(() => client.listModelVersions(workspaceScope, 'store-9', { tags: { 'a,b': true } })).toThrow(RangeError);
  });

  it('reads absent things as undefined/false and maps service errors once', async () => {
    expect(await client.getModelVersion(workspaceScope, 'store-9', '99')).toBeUndefined();
    expect(await client.getModelContainer(workspaceScope, 'nobody')).toBeUndefined();
    expect(await client.deleteModelVersion(workspaceScope, 'store-9', '99')).toBe(false);
    const err = await client.createOrUpdateModelVersion(workspaceScope, 'store-9', '1', input('azureml://u/changed')).catch((e: unknown) => e);
    expect(err).toBeInstanceOf(RemoteError);
    expect(err).toMatchObject({ status: 400, serviceCode: 'UserError', code: 'MM601' });
    expect((err as Error).message).toBe(
      `Azure ML PUT /subscriptions/${WORKSPACE.subscriptionId}/resourceGroups/${WORKSPACE.resourceGroup}/providers/Microsoft.MachineLearningServices/workspaces/${WORKSPACE.name}/models/store-9/versions/1 failed: HTTP 400 UserError: Asset paths cannot be updated.`,
    );
    const invalid = await client.createOrUpdateModelContainer(workspaceScope, '-bad-name', {}).catch((e: unknown) => e);
    expect(invalid).toMatchObject({ status: 400, serviceCode: 'UserError' });
    expect(inspect(invalid, { depth: 12 })).not.toContain(TOKEN);
  });
});

describe('AzureMlClient: resolving thousands of groups with few calls', () => {
  let emu: AzureMlEmulator;
  let client: AzureMlClient;
  const groups = 25;
  beforeAll(async () => {
    emu = await emulator({ pageSize: 10 });
    ({ client } = clientFor(emu));
    for (let g = 0; g < groups; g++) {
      const model = `grp-${g}`;
      await client.createOrUpdateModelVersion(workspaceScope, model, '1', input(`azureml://g${g}/1`, { 'manymodels.stage': 'archived' }));
      await client.createOrUpdateModelVersion(workspaceScope, model, '2', input(`azureml://g${g}/2`, { 'manymodels.stage': g % 5 === 0 ? 'candidate' : 'production' }));
      if (g % 5 !== 0) await client.setProductionPointer(workspaceScope, model, { version: '2', sha256: `sha-${g}`, modelUri: `azureml://g${g}/2` });
    }
    await client.createOrUpdateModelContainer(workspaceScope, 'other-pipeline', { tags: { 'manymodels.pipeline': 'other' } });
  });

  it('resolveProductionModels reads container pointer tags: ceil(C/P) calls', async () => {
    const { models, requests } = await client.resolveProductionModels(workspaceScope);
    expect(requests).toBe(Math.ceil((groups + 1) / 10));
    expect(models).toHaveLength(20);
    expect(models.find((m) => m.model === 'grp-3')).toMatchObject({ version: '2', sha256: 'sha-3', modelUri: 'azureml://g3/2' });
  });

  it('setProductionPointer keeps the container’s other tags', async () => {
    await client.createOrUpdateModelContainer(workspaceScope, 'tagged', { description: 'keep me', tags: { owner: 'team-a' } });
    await client.setProductionPointer(workspaceScope, 'tagged', { version: '7' });
    const c = await client.getModelContainer(workspaceScope, 'tagged');
    expect(c?.properties).toMatchObject({ description: 'keep me', tags: { owner: 'team-a', 'manymodels.production.version': '7' } });
  });

  it('listAllVersionsWithTag is exact but costs one version listing per container', async () => {
    const result = await client.listAllVersionsWithTag(workspaceScope, { 'manymodels.stage': 'production' });
    expect(result.versions).toHaveLength(20);
    expect(result.versions.every((v) => v.version.name === '2')).toBe(true);
    expect(result.containers).toBe(groups + 2);
    expect(result.requests).toBe(Math.ceil((groups + 2) / 10) + groups + 2);
    const narrowed = await client.listAllVersionsWithTag(workspaceScope, { 'manymodels.stage': 'production' }, { containerTags: { 'manymodels.pipeline': 'other' } });
    expect(narrowed).toMatchObject({ versions: [], containers: 1 });
  });
});

describe('AzureMlClient: registry long-running operations', () => {
  it('creates a registry version through its LRO, honouring Retry-After between polls', async () => {
    const emu = await emulator({ lroPollsToComplete: 3 });
    const progress: string[] = [];
    const { client, delays } = clientFor(emu, { onLroProgress: (_op, p) => progress.push(p.status) });
    const v = await client.createOrUpdateModelVersion(registryScope, 'prod-a', '1', input('azureml://blob/a'));
    expect(v.properties.provisioningState).toBe('Succeeded');
    expect(delays).toEqual([10_000, 10_000, 10_000]);
    expect(progress).toEqual(['InProgress', 'Succeeded']);
    const statusPolls = emu.requests.filter((r) => r.path.includes('/mfeOperationsStatus/'));
    expect(statusPolls).toHaveLength(3);
    expect((await client.createOrUpdateModelContainer(registryScope, 'prod-b', { tags: { a: 'b' } })).properties.provisioningState).toBe('Succeeded');
    expect(await client.deleteModelVersion(registryScope, 'prod-a', '1')).toBe(true);
    expect(await client.getModelVersion(registryScope, 'prod-a', '1')).toBeUndefined();
  });

  it('reports an operation that ends Failed as a RemoteError with the service code', async () => {
    const emu = await emulator();
    emu.faults.inject({ kind: 'lro-failure', code: 'ModelCopyFailed', message: 'storage said no', operation: 'RegistryModelVersions_CreateOrUpdate' });
    const { client } = clientFor(emu);
    const err = await client.createOrUpdateModelVersion(registryScope, 'prod-f', '1', input('azureml://blob/f')).catch((e: unknown) => e);
    expect(err).toBeInstanceOf(RemoteError);
    expect(err).toMatchObject({ code: 'MM605', serviceCode: 'ModelCopyFailed', message: expect.stringContaining('ended Failed: ModelCopyFailed: storage said no') });
  });

  it('times out an operation that never ends, without spinning', async () => {
    const emu = await emulator({ lroPollsToComplete: 1_000 });
    let clock = 0;
    const { client } = clientFor(emu, { lroTimeoutMs: 35_000, now: () => clock, http: { sleep: async (ms) => void (clock += ms) } });
    const err = await client.createOrUpdateModelVersion(registryScope, 'prod-slow', '1', input('azureml://blob/s')).catch((e: unknown) => e);
    expect(err).toMatchObject({ code: 'MM606' });
    expect(emu.requests.filter((r) => r.path.includes('/mfeOperationsStatus/'))).toHaveLength(3);
  });
});

describe('AzureMlClient: publish workspace -> registry', () => {
  it('publishes and returns the registry copy', async () => {
    const emu = await emulator();
    const { client } = clientFor(emu);
    await client.createOrUpdateModelVersion(workspaceScope, 'pub-1', '3', input('azureml://ws/3', { 'manymodels.stage': 'production' }));
    const copy = await client.publishModelVersion(workspaceScope, 'pub-1', '3', { registry: registryScope });
    expect(copy.id).toContain(`/registries/${REGISTRY.name}/models/pub-1/versions/3`);
    expect(copy.properties).toMatchObject({ provisioningState: 'Succeeded', tags: { 'manymodels.stage': 'production' } });
  });

  it('a reply lost after the POST is not resent: the destination is looked up instead', async () => {
    // The lost Location is never polled: the operation finishes by time, as a real one would.
    const emu = await emulator({ lroPollsToComplete: 2, lroMaxDurationMs: 60 });
    const { client } = clientFor(emu);
    await client.createOrUpdateModelVersion(workspaceScope, 'pub-2', '1', input('azureml://ws/p2'));
    emu.faults.inject({ kind: 'reset-after-handling', operation: 'ModelVersions_Publish' });
    const copy = await client.publishModelVersion(workspaceScope, 'pub-2', '1', { registry: registryScope });
    expect(copy.properties.provisioningState).toBe('Succeeded');
    expect(emu.requests.filter((r) => r.operationId === 'ModelVersions_Publish')).toHaveLength(1);
  });

  it('a POST dropped before the service acted is sent once more', async () => {
    const emu = await emulator();
    const { client } = clientFor(emu);
    await client.createOrUpdateModelVersion(workspaceScope, 'pub-3', '1', input('azureml://ws/p3'));
    emu.faults.inject({ kind: 'reset', operation: 'ModelVersions_Publish' });
    await client.publishModelVersion(workspaceScope, 'pub-3', '1', { registry: registryScope });
    expect(emu.requests.filter((r) => r.operationId === 'ModelVersions_Publish')).toHaveLength(2);
    expect(emu.versionCount('registries', REGISTRY, 'pub-3')).toBe(1);
  });

  it('surfaces a failed publish operation', async () => {
    const emu = await emulator();
    const { client } = clientFor(emu);
    await client.createOrUpdateModelVersion(workspaceScope, 'pub-4', '1', input('azureml://ws/p4'));
    emu.faults.inject({ kind: 'lro-failure', code: 'PublishRejected', message: 'no', operation: 'ModelVersions_Publish' });
    await expect(client.publishModelVersion(workspaceScope, 'pub-4', '1', { registry: registryScope })).rejects.toMatchObject({ serviceCode: 'PublishRejected' });
    expect(emu.versionCount('registries', REGISTRY, 'pub-4')).toBe(0);
  });
});

describe('AzureMlClient: throttling and dropped connections', () => {
  it('backs off on 429 + Retry-After and registers every version exactly once', async () => {
    // All 24 at once against a bucket of 4: throttled however slow the machine is. Each wait is
    // recorded as asked and then taken as 15 ms of real time, so the bucket refills meanwhile.
    const emu = await emulator({ throttle: { reads: roomy, writes: { capacity: 4, refillPerSecond: 80 }, deletes: roomy } });
    const delays: number[] = [];
    const sleep = (ms: number): Promise<void> => (delays.push(ms), new Promise((r) => setTimeout(r, 15)));
    const { client, throttles } = clientFor(emu, { http: { sleep, retry: { maxAttempts: 40 } } });
    const n = 24;
    const work = Array.from({ length: n }, (_, i) => i);
    const results: ModelVersionResource[] = [];
    await Promise.all(
      Array.from({ length: n }, async () => {
        for (let i = work.shift(); i !== undefined; i = work.shift()) {
          results.push(await client.createOrUpdateModelVersion(workspaceScope, `burst-${i}`, '1', input(`azureml://burst/${i}`)));
        }
      }),
    );
    expect(results).toHaveLength(n);
    const puts = emu.requests.filter((r) => r.method === 'PUT');
    const throttled = puts.filter((r) => r.status === 429);
    expect(throttled.length).toBeGreaterThan(0);
    expect(throttles).toHaveLength(throttled.length);
    expect(puts.filter((r) => r.status === 201)).toHaveLength(n);
    expect(puts.filter((r) => r.status === 200)).toHaveLength(0);
    for (let i = 0; i < n; i++) expect(emu.versionCount('workspaces', WORKSPACE, `burst-${i}`)).toBe(1);
    // Every wait after a 429 was at least the server's Retry-After (whole seconds).
    expect(Math.min(...delays)).toBeGreaterThanOrEqual(1000);
  });

  it('retries a PUT whose reply was lost after the write happened, without duplicates', async () => {
    const emu = await emulator();
    const { client, retries } = clientFor(emu);
    emu.faults.inject({ kind: 'reset-after-handling', method: 'PUT', pathIncludes: '/models/reset-put/versions/1' });
    const v = await client.createOrUpdateModelVersion(workspaceScope, 'reset-put', '1', input('azureml://r/1'));
    expect(v.properties.modelUri).toBe('azureml://r/1');
    const puts = emu.requests.filter((r) => r.method === 'PUT' && r.path.endsWith('/reset-put/versions/1'));
    expect(puts.map((r) => r.status)).toEqual([201, 200]);
    expect(retries).toEqual([expect.objectContaining({ reason: 'connection', method: 'PUT' })]);
    expect(emu.versionCount('workspaces', WORKSPACE, 'reset-put')).toBe(1);
  });

  it('retries 503 on reads and gives up with one clear error when it persists', async () => {
    const emu = await emulator();
    const { client } = clientFor(emu, { http: { retry: { maxAttempts: 3 } } });
    await client.createOrUpdateModelContainer(workspaceScope, 'flaky', {});
    emu.faults.inject({ kind: 'status', status: 503, operation: 'ModelContainers_Get', times: 2 });
    expect(await client.getModelContainer(workspaceScope, 'flaky')).toBeDefined();
    emu.faults.inject({ kind: 'status', status: 503, operation: 'ModelContainers_Get', times: 3 });
    const err = await client.getModelContainer(workspaceScope, 'flaky').catch((e: unknown) => e);
    expect(err).toMatchObject({ status: 503, attempts: 3, message: expect.stringContaining('(after 3 attempts)') });
    expect(inspect(err, { depth: 12 })).not.toContain(TOKEN);
  });
});
