// The Azure ML registry over the real client, the emulator and Azurite: both granularities, workspace
// and registry, lookup call counts, idempotent and resumable registration, 429 storms, integrity.
import { existsSync, mkdtempSync, readdirSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { afterAll, afterEach, beforeAll, describe, expect, it } from 'vitest';
import { ArmRequestPacer } from '../../src/clients/arm-pacer.js';
import { RemoteError, UsageError, WorkFailedError } from '../../src/core/errors.js';
import type { RegistryConfig } from '../../src/contracts/targets.js';
import { openAzureMlRegistry } from '../../src/registry/azureml/open-azureml-registry.js';
import { AML, indexAssetName } from '../../src/registry/azureml/registry-index.js';
import type { ModelVersion } from '../../src/registry/model-registry.js';
import { AzureMlEmulator } from '../emulators/azureml/azureml-emulator.js';
import { REGISTRY, RG, SUB, TOKEN, WORKSPACE, registryScope, workspaceScope } from '../emulators/azureml/test-kit.js';
import { type AzuriteBlob, startAzuriteBlob } from '../emulators/azurite.js';
import { blobContainer, containerWithSas, makeEntries, registryOn } from '../helpers/azureml-registry-kit.js';

const roomy = { capacity: 100_000, refillPerSecond: 100_000 };
let azurite: AzuriteBlob;
let dir: string;
let trainStore: { containerUrl: string; sas: string };
let prodStore: { containerUrl: string; sas: string };
const emulators: AzureMlEmulator[] = [];

async function emulator(options: ConstructorParameters<typeof AzureMlEmulator>[0] = {}): Promise<AzureMlEmulator> {
  const emu = new AzureMlEmulator({ minLatencyMs: 1, workspaces: [WORKSPACE], registries: [REGISTRY], throttle: { reads: roomy, writes: roomy, deletes: roomy }, ...options });
  await emu.start();
  emulators.push(emu);
  return emu;
}

const versionPuts = (emu: AzureMlEmulator, from = 0): number =>
  emu.requests.slice(from).filter((r) => r.method === 'PUT' && /\/versions\/[^/]+$/.test(r.path) && !r.path.includes('__index') && !r.path.includes('__model-set')).length;

beforeAll(async () => {
  azurite = await startAzuriteBlob();
  dir = mkdtempSync(path.join(tmpdir(), 'mm-amlreg-'));
  trainStore = { containerUrl: `${azurite.blobEndpoint}/train`, sas: await containerWithSas(azurite, 'train') };
  prodStore = { containerUrl: `${azurite.blobEndpoint}/prod`, sas: await containerWithSas(azurite, 'prod') };
});
afterEach(() => {
  for (const emu of emulators) expect(emu.selfCheckFailures).toEqual([]);
});
afterAll(async () => {
  await Promise.all(emulators.map((e) => e.stop()));
  await azurite?.stop();
  if (dir) rmSync(dir, { recursive: true, force: true });
});

describe('per_group in a workspace', () => {
  it('registers one Azure ML model per group with the tags, idempotently, and resolves in a constant number of calls', async () => {
    // Given 12 trained groups of run R1
    const emu = await emulator();
    const { registry, client } = registryOn(emu.baseUrl, workspaceScope, trainStore);
    const r1 = makeEntries(path.join(dir, 'pg'), 'R1', 12);

    // When they are registered
    const progress: number[] = [];
    const versions = await registry.registerVersions(r1, (p) => progress.push(p.done), { batchId: 'R1' });

    // Then each group is its own model with version R1, tagged as DESIGN.md lists, pointing at its blob
    expect(progress.at(-1)).toBe(12);
    expect(versionPuts(emu)).toBe(12);
    for (const e of r1) expect(emu.versionCount('workspaces', WORKSPACE, e.name)).toBe(1);
    const v = await client.getModelVersion(workspaceScope, r1[3]!.name, 'R1');
    expect(v?.properties.tags).toMatchObject({ pipeline: 'p', project: 'demo', model_type: 'linear', run_id: 'R1', data_fingerprint: 'sha256:data', group_id: r1[3]!.groupId, 'key.store': '3', 'key.item': '3', 'metric.wape': '0.03', 'metric.mae': '1.5' });
    expect(v?.properties.properties).toEqual({ [AML.sha256]: r1[3]!.sha256 });
    expect(v?.properties.modelUri).toBe(`${trainStore.containerUrl}/manymodels/p/artifacts/${r1[3]!.sha256}.pkl`);
    expect(versions[3]).toMatchObject({ name: r1[3]!.name, version: 'R1', sha256: r1[3]!.sha256, artifactUri: v?.properties.modelUri });
    // and the index version R1 is recorded, with the pointer on its container
    const container = await client.getModelContainer(workspaceScope, indexAssetName('p', 'per_group'));
    expect(container?.properties.tags).toMatchObject({ [`${AML.pointerPrefix}version`]: 'R1', [AML.kind]: 'index', [AML.pipeline]: 'p' });

    // When the same run is registered again
    const writesBefore = emu.requests.filter((r) => r.method !== 'GET').length;
    const again = await registry.registerVersions(r1, undefined, { batchId: 'R1' });
    // Then nothing is written and the same versions come back
    expect(emu.requests.filter((r) => r.method !== 'GET').length).toBe(writesBefore);
    expect(again.map((x) => x.version)).toEqual(versions.map((x) => x.version));

    // When a fresh registry (cold cache) resolves every group's newest version
    const fresh = registryOn(emu.baseUrl, workspaceScope, trainStore);
    const before = fresh.client.requestCount;
    const latest = await fresh.registry.latestByGroup('p');
    // Then it took one Azure ML call, not one per group
    expect(fresh.client.requestCount - before).toBe(1);
    expect(latest.size).toBe(12);
    expect(latest.get(r1[0]!.groupId)).toMatchObject({ version: 'R1', sha256: r1[0]!.sha256 });

    // When run R2 retrains half of the groups and adds six more
    const r2 = makeEntries(path.join(dir, 'pg'), 'R2', 12, { from: 6, salt: 'two' });
    await registry.registerVersions(r2, undefined, { batchId: 'R2' });
    // Then the newest version of each group is R2's where it retrained, R1's elsewhere
    const after = await fresh.registry.latestByGroup('p');
    expect(after.size).toBe(18);
    expect(after.get(r1[0]!.groupId)?.runId).toBe('R1');
    expect(after.get(r1[8]!.groupId)?.runId).toBe('R2');
    expect(emu.versionCount('workspaces', WORKSPACE, r1[8]!.name)).toBe(2);

    // And a run's candidates cost one list call per run, whatever the number of groups
    const c0 = fresh.client.requestCount;
    const both = await fresh.registry.listVersions({ pipeline: 'p', runIds: ['R2', 'R1'] });
    expect(fresh.client.requestCount - c0).toBe(2);
    expect(both.length).toBe(24);
    expect(new Set(both.map((m) => `${m.name}:${m.version}`)).size).toBe(24);
    expect((await fresh.registry.listVersions({ pipeline: 'p', runIds: ['R1'] })).every((m) => m.runId === 'R1')).toBe(true);
    // and one model's history comes from Azure ML itself
    expect((await fresh.registry.listVersions({ name: r1[8]!.name })).map((m) => m.version)).toEqual(['R2', 'R1']);
    expect((await fresh.registry.listVersions({ name: r1[8]!.name, runIds: ['R1'] })).map((m) => m.version)).toEqual(['R1']);
    expect(await fresh.registry.getVersion(r1[8]!.name, 'R1')).toMatchObject({ runId: 'R1', keys: { store: '3', item: '8' }, metrics: { wape: 0.08, mae: 1.5 } });
  });

  it('downloads artifacts into the cache, checking each sha256, and refuses a tampered blob', async () => {
    const emu = await emulator();
    const { registry } = registryOn(emu.baseUrl, workspaceScope, trainStore);
    const entries = makeEntries(path.join(dir, 'dl'), 'D1', 4, { pipeline: 'dl' });
    const versions = await registry.registerVersions(entries, undefined, { batchId: 'D1' });
    const cache = path.join(dir, 'cache-dl');

    const files = await registry.localArtifacts(versions, cache);
    expect(files.get(entries[0]!.name)).toBe(path.join(cache, `${entries[0]!.sha256}.pkl`));
    expect(registry.stats.downloads).toBe(4);
    await registry.localArtifacts(versions, cache);
    expect(registry.stats.cacheHits).toBe(4);

    // Given a blob whose bytes were replaced behind the registry's back (metadata kept)
    const blobName = `manymodels/dl/artifacts/${entries[1]!.sha256}.pkl`;
    await blobContainer(azurite, 'train').getBlockBlobClient(blobName).uploadData(Buffer.from('import os; os.system("evil")'), { metadata: { sha256: entries[1]!.sha256 } });
    rmSync(cache, { recursive: true, force: true });
    // When it is fetched for scoring
    const err = await registry.localArtifacts([versions[1]!], cache).catch((e: unknown) => e);
    // Then it is refused, and nothing is left in the cache to be loaded by mistake
    expect(err).toBeInstanceOf(WorkFailedError);
    expect(err).toMatchObject({ code: 'MM508' });
    expect((err as Error).message).toContain('refusing');
    expect(readdirSync(cache)).toEqual([]);

    // and a version pointing outside the registry's container is never fetched
    const elsewhere: ModelVersion = { ...versions[0]!, artifactUri: 'https://attacker.example/x.pkl' };
    rmSync(cache, { recursive: true, force: true });
    await expect(registry.localArtifacts([elsewhere], cache)).rejects.toMatchObject({ code: 'MM508' });
  });

  it('refuses an index file that does not hash to what Azure ML recorded', async () => {
    const emu = await emulator();
    const { registry, client } = registryOn(emu.baseUrl, workspaceScope, trainStore);
    await registry.registerVersions(makeEntries(path.join(dir, 'ti'), 'T1', 3, { pipeline: 'ti' }), undefined, { batchId: 'T1' });
    const container = await client.getModelContainer(workspaceScope, indexAssetName('ti', 'per_group'));
    const uri = container!.properties.tags![`${AML.pointerPrefix}uri`]!;
    await blobContainer(azurite, 'train').getBlockBlobClient(decodeURIComponent(new URL(uri).pathname.replace('/devstoreaccount1/train/', ''))).uploadData(Buffer.from('{"format":"manymodels.registry-index/1","pipeline":"ti","members":[]}'));
    const fresh = registryOn(emu.baseUrl, workspaceScope, trainStore);
    await expect(fresh.registry.latestByGroup('ti')).rejects.toMatchObject({ code: 'MM508' });
  });
});

describe('model_set', () => {
  it('registers a run as one model-set version: a handful of writes, every artifact and a manifest', async () => {
    const emu = await emulator();
    const { registry, client } = registryOn(emu.baseUrl, workspaceScope, trainStore, { granularity: 'model_set' });
    const entries = makeEntries(path.join(dir, 'ms'), 'M1', 30, { pipeline: 'ms' });

    const versions = await registry.registerVersions(entries, undefined, { batchId: 'M1' });

    const writes = emu.requests.filter((r) => r.method !== 'GET');
    expect(writes.map((r) => `${r.method} ${r.path.split('/models/')[1]}`)).toEqual(['PUT ms__model-set/versions/M1', 'PUT ms__model-set']);
    const set = await client.getModelVersion(workspaceScope, 'ms__model-set', 'M1');
    expect(set?.properties.tags).toMatchObject({ [AML.kind]: 'model-set', pipeline: 'ms', run_id: 'M1', model_type: 'linear', [AML.run('M1')]: '1' });
    expect(set?.properties.properties?.[AML.members]).toBe('30');
    expect(versions[7]).toMatchObject({ version: 'M1', tags: expect.objectContaining({ 'key.item': '7', 'metric.wape': '0.07' }) });
    expect(registry.stats.uploads).toBe(30);

    const fresh = registryOn(emu.baseUrl, workspaceScope, trainStore, { granularity: 'model_set' });
    const c0 = fresh.client.requestCount;
    expect((await fresh.registry.latestByGroup('ms')).size).toBe(30);
    expect((await fresh.registry.listVersions({ pipeline: 'ms', runIds: ['M1'] })).length).toBe(30);
    expect(fresh.client.requestCount - c0).toBe(2);
    const files = await fresh.registry.localArtifacts(versions.slice(0, 3), path.join(dir, 'cache-ms'));
    expect(files.size).toBe(3);

    // Re-registering the run writes nothing and uploads nothing
    const again = registryOn(emu.baseUrl, workspaceScope, trainStore, { granularity: 'model_set' });
    const w0 = emu.requests.filter((r) => r.method !== 'GET').length;
    await again.registry.registerVersions(entries, undefined, { batchId: 'M1' });
    expect(emu.requests.filter((r) => r.method !== 'GET').length).toBe(w0);
    expect(again.registry.stats.uploads).toBe(0);
  });
});

describe('production in an Azure ML registry', () => {
  for (const granularity of ['per_group', 'model_set'] as const) {
    it(`copies promoted versions with lineage tags and resolves them (${granularity})`, async () => {
      // Given a registry whose writes are long-running operations
      const emu = await emulator();
      const { registry, client, delays } = registryOn(emu.baseUrl, registryScope, prodStore, { granularity });
      const entries = makeEntries(path.join(dir, `reg-${granularity}`), 'P1', 6, { pipeline: `r${granularity === 'model_set' ? 's' : 'g'}` }).map((e) => ({
        ...e,
        extraTags: { 'lineage.source_registry': 'Azure ML workspace ws-train (per_group)', 'lineage.source_version': 'P1', 'lineage.rules_passed': 'wape-max' },
      }));
      const pipeline = entries[0]!.pipeline;

      // When they are promoted into it (no batch name: derived from the content)
      await registry.registerVersions(entries);

      // Then the registry holds them with their lineage, and the client waited out each operation
      expect(delays.filter((d) => d === 10_000).length).toBeGreaterThan(0);
      const latest = await registryOn(emu.baseUrl, registryScope, prodStore, { granularity }).registry.latestByGroup(pipeline);
      expect(latest.size).toBe(6);
      expect([...latest.values()][0]!.tags).toMatchObject({ 'lineage.source_version': 'P1', 'lineage.rules_passed': 'wape-max' });
      if (granularity === 'per_group') {
        for (const e of entries) expect(emu.versionCount('registries', REGISTRY, e.name)).toBe(1);
        const v = await client.getModelVersion(registryScope, entries[2]!.name, 'P1');
        expect(v?.properties).toMatchObject({ provisioningState: 'Succeeded', tags: expect.objectContaining({ 'lineage.source_registry': 'Azure ML workspace ws-train (per_group)' }) });
      }
      // and promoting the same winners again changes nothing
      const w0 = emu.requests.filter((r) => r.method === 'PUT').length;
      await registry.registerVersions(entries);
      expect(emu.requests.filter((r) => r.method === 'PUT').length).toBe(w0);
    });
  }
});

describe('registration at scale: failures', () => {
  it('resumes a registration that stopped halfway: no duplicate, no loss, nothing written twice', async () => {
    // Given every version PUT after the 15th failing until further notice
    const emu = await emulator();
    const journalDir = path.join(dir, 'journal');
    const entries = makeEntries(path.join(dir, 'crash'), 'C1', 40, { pipeline: 'cr' });
    const fault = emu.faults.inject({ kind: 'status', status: 503, method: 'PUT', path: /\/models\/cr__s[^/]*\/versions\//, skip: 15, times: 10_000 });
    const first = registryOn(emu.baseUrl, workspaceScope, trainStore, { journalDir });

    // When the registration runs, it stops with the remote error
    const err = await first.registry.registerVersions(entries, undefined, { batchId: 'C1' }).catch((e: unknown) => e);
    expect(err).toBeInstanceOf(RemoteError);
    expect(err).toMatchObject({ code: 'MM601', exitCode: 3 });
    const written = entries.filter((e) => emu.versionCount('workspaces', WORKSPACE, e.name) === 1).length;
    expect(written).toBe(15);
    // and nobody sees a partial index
    expect(await first.registry.latestByGroup('cr')).toEqual(new Map());

    // When the service recovers and the registration is run again (a new process: new registry)
    fault.cancel();
    const mark = emu.requests.length;
    const second = registryOn(emu.baseUrl, workspaceScope, trainStore, { journalDir });
    const versions = await second.registry.registerVersions(entries, undefined, { batchId: 'C1' });

    // Then it wrote only what was missing, and every group has exactly one version
    expect(versionPuts(emu, mark)).toBe(25);
    expect(second.registry.stats.versionsSkipped).toBe(15);
    for (const e of entries) expect(emu.versionCount('workspaces', WORKSPACE, e.name)).toBe(1);
    expect(versions.map((v) => v.name)).toEqual(entries.map((e) => e.name));
    expect((await second.registry.latestByGroup('cr')).size).toBe(40);
    expect(readdirSync(path.join(journalDir)).length).toBeGreaterThan(0);
  });

  it('keeps readers on the previous index until the new index version is recorded', async () => {
    // Given run K1 registered, and every write of the index version failing for run K2
    const emu = await emulator();
    const { registry } = registryOn(emu.baseUrl, workspaceScope, trainStore, { journalDir: path.join(dir, 'journal-k') });
    const k1 = makeEntries(path.join(dir, 'k'), 'K1', 5, { pipeline: 'kk' });
    await registry.registerVersions(k1, undefined, { batchId: 'K1' });
    const outage = emu.faults.inject({ kind: 'status', status: 503, retryAfterSeconds: 0, method: 'PUT', path: /kk__index\/versions\//, times: 100 });
    const k2 = makeEntries(path.join(dir, 'k'), 'K2', 5, { pipeline: 'kk', salt: 'k2' });

    // When K2 is registered, its group versions are written but the registration stops
    await expect(registry.registerVersions(k2, undefined, { batchId: 'K2' })).rejects.toMatchObject({ code: 'MM601' });
    expect(emu.versionCount('workspaces', WORKSPACE, k2[0]!.name)).toBe(2);

    // Then every reader still sees K1, the last complete registration
    const reader = registryOn(emu.baseUrl, workspaceScope, trainStore);
    expect([...(await reader.registry.latestByGroup('kk')).values()].map((m) => m.runId)).toEqual(['K1', 'K1', 'K1', 'K1', 'K1']);
    expect(await reader.registry.listVersions({ pipeline: 'kk', runIds: ['K2'] })).toEqual([]);

    // and once the service is back, finishing K2 writes no group version again
    outage.cancel();
    const mark = emu.requests.length;
    await registry.registerVersions(k2, undefined, { batchId: 'K2' });
    expect(versionPuts(emu, mark)).toBe(0);
    expect([...(await reader.registry.latestByGroup('kk')).values()].every((m) => m.runId === 'K2')).toBe(true);

    // When K3 stops after its index version, before the pointer moved
    const k3 = makeEntries(path.join(dir, 'k'), 'K3', 5, { pipeline: 'kk', salt: 'k3' });
    const pointerDown = emu.faults.inject({ kind: 'status', status: 503, retryAfterSeconds: 0, method: 'PUT', path: /kk__index$/, times: 100 });
    await expect(registry.registerVersions(k3, undefined, { batchId: 'K3' })).rejects.toMatchObject({ code: 'MM601' });
    expect([...(await reader.registry.latestByGroup('kk')).values()].every((m) => m.runId === 'K2')).toBe(true);
    pointerDown.cancel();
    // Then finishing it only moves the pointer: no group version, no second index version
    const mark3 = emu.requests.length;
    await registry.registerVersions(k3, undefined, { batchId: 'K3' });
    expect(emu.requests.slice(mark3).filter((r) => r.method === 'PUT').map((r) => r.path.split('/models/')[1])).toEqual(['kk__index']);
    expect(emu.versionCount('workspaces', WORKSPACE, 'kk__index')).toBe(3);
    expect([...(await reader.registry.latestByGroup('kk')).values()].every((m) => m.runId === 'K3')).toBe(true);
  });

  it('in an Azure ML registry, counts a version only once its operation has settled (lost reply, resent PUT)', async () => {
    // Given registry operations that finish on their own after 300 ms, and replies lost after applying
    const emu = await emulator({ lroMaxDurationMs: 300 });
    const entries = makeEntries(path.join(dir, 'lost'), 'L1', 6, { pipeline: 'lo' });
    for (const e of entries.slice(0, 3)) emu.faults.inject({ kind: 'reset-after-handling', method: 'PUT', pathIncludes: `/${e.name}/versions/` });
    const { registry } = registryOn(emu.baseUrl, registryScope, prodStore);

    await registry.registerVersions(entries);

    // Then every version the index lists exists and has succeeded: none still Creating
    const scope = emu.store.scope('registries', REGISTRY);
    for (const e of entries) {
      expect(emu.versionCount('registries', REGISTRY, e.name)).toBe(1);
      expect(emu.store.version(scope, e.name, 'L1').provisioningState).toBe('Succeeded');
    }
  });

  it('survives dropped replies, 503s and a 429 storm, honouring Retry-After', async () => {
    // Given 30 groups where six models are throttled three times each, four lose the reply to
    // their (applied) PUT, four get two 503s, and the first reads are throttled too
    const emu = await emulator();
    const entries = makeEntries(path.join(dir, 'storm'), 'S1', 30, { pipeline: 'st' });
    const byStore = (store: number) => entries.filter((e) => e.keys.store === String(store)).map((e) => e.name);
    for (const name of byStore(0)) emu.faults.inject({ kind: 'rate-limit', retryAfterSeconds: 3, method: 'PUT', pathIncludes: `/${name}/`, times: 3 });
    for (const name of byStore(1).slice(0, 4)) emu.faults.inject({ kind: 'reset-after-handling', method: 'PUT', pathIncludes: `/${name}/` });
    for (const name of byStore(2).slice(0, 4)) emu.faults.inject({ kind: 'status', status: 503, retryAfterSeconds: 1, method: 'PUT', pathIncludes: `/${name}/`, times: 2 });
    emu.faults.inject({ kind: 'rate-limit', retryAfterSeconds: 2, method: 'GET', times: 3 });
    const { registry, delays } = registryOn(emu.baseUrl, workspaceScope, trainStore);

    // When the run is registered
    await registry.registerVersions(entries, undefined, { batchId: 'S1' });

    // Then every group has exactly one version, and the index lists all of them
    expect(emu.requests.filter((r) => r.fault).length).toBe(18 + 4 + 8 + 3);
    for (const e of entries) expect(emu.versionCount('workspaces', WORKSPACE, e.name)).toBe(1);
    expect((await registry.latestByGroup('st')).size).toBe(30);
    // and Retry-After was a floor: every wait after a 429 was at least what the service asked
    const throttleWaits = delays.filter((d) => d >= 3000 && d < 4000).length;
    expect(throttleWaits).toBeGreaterThanOrEqual(18);
    expect(delays.filter((d) => d >= 2000 && d < 3000).length).toBeGreaterThanOrEqual(3);
  });

  it('keeps to the write quota with the pacer: (almost) no 429s, wall time near the quota minimum', async () => {
    // Given a small write bucket (5, refilled 40/s) and a pacer that knows those numbers
    const writes = { capacity: 5, refillPerSecond: 40 };
    const emu = await emulator({ throttle: { reads: roomy, writes, deletes: writes } });
    const entries = makeEntries(path.join(dir, 'pace'), 'Q1', 60, { pipeline: 'pq' });
    const { registry } = registryOn(emu.baseUrl, workspaceScope, trainStore, { sleepScale: 1, concurrency: 8, rates: { writes } });

    const started = Date.now();
    await registry.registerVersions(entries, undefined, { batchId: 'Q1' });
    const seconds = (Date.now() - started) / 1000;

    // 62 writes (60 versions, the index version, the pointer): (62 - 5) / 40 = 1.4 s at best
    const throttled = emu.requests.filter((r) => r.status === 429).length;
    expect(throttled).toBeLessThanOrEqual(2);
    expect(seconds).toBeGreaterThan(1.3);
    expect(seconds).toBeLessThan(4);
    for (const e of entries) expect(emu.versionCount('workspaces', WORKSPACE, e.name)).toBe(1);
  });
});

describe('opening from pipelines.yaml settings', () => {
  const base: RegistryConfig = { type: 'azureml', subscriptionId: SUB, resourceGroup: RG, workspace: 'ws-train', granularity: 'per_group', concurrency: 8 };
  const context = { env: {} as Record<string, string | undefined>, tokenProviderFor: () => ({ getToken: async () => TOKEN }) };

  it('says what is missing with MM403', async () => {
    const noStorage = await openAzureMlRegistry(base, context, { field: 'registry' }).catch((e: unknown) => e);
    expect(noStorage).toBeInstanceOf(UsageError);
    expect(noStorage).toMatchObject({ code: 'MM403', exitCode: 2 });
    expect((noStorage as Error).message).toContain('storage_account_url');
    const sasUnset = await openAzureMlRegistry({ ...base, storageAccountUrl: 'https://acct.blob.core.windows.net', storageSasEnv: 'MM_SAS' }, context, { field: 'production_registry' }).catch((e: unknown) => e);
    expect(sasUnset).toMatchObject({ code: 'MM403', message: expect.stringContaining('production_registry: storage_sas_env names MM_SAS') });
    const plainHttp = await openAzureMlRegistry({ ...base, storageAccountUrl: 'http://127.0.0.1:10000/devstoreaccount1' }, context, { field: 'registry' }).catch((e: unknown) => e);
    expect(plainHttp).toMatchObject({ code: 'MM403', message: expect.stringContaining('plain http') });
    const { subscriptionId: _s, ...noSub } = base;
    await expect(openAzureMlRegistry({ ...noSub, storageAccountUrl: 'https://acct.blob.core.windows.net' }, context, { field: 'registry' })).rejects.toMatchObject({ code: 'MM403' });
  });

  it('opens a registry whose journal lives in the state folder', async () => {
    const registry = await openAzureMlRegistry({ ...base, registry: 'prod-registry', workspace: undefined, storageAccountUrl: 'https://acct.blob.core.windows.net/' }, context, { field: 'production_registry', stateDir: dir });
    expect(registry.description).toBe('Azure ML registry prod-registry (per_group)');
    expect(existsSync(dir)).toBe(true);
  });
});
