// Benchmark: registers N groups (default 10,000) per granularity against the Azure ML emulator
// with ARM's throttling and Azurite; reports wall time, 429s, the quota minimum, duplicates, losses.

// Reads 250 refilled 25/s, writes 200 refilled 10/s; then registers the same run again (must
// write nothing).
//   node --import ./bench/ts-resolve.mjs bench/azureml-registration.ts \
//        [--groups 10000] [--granularity per_group|model_set|both] [--quota-scale 1] [--concurrency 8] [--no-pacer]
// --quota-scale N multiplies every bucket's size and refill rate (a faster stand-in for the
// real quota; the pacer is told the same numbers). --no-pacer leaves only the HTTP layer's
// 429 handling (Retry-After), to show what pacing buys.
import { createHash, randomBytes } from 'node:crypto';
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { parseArgs } from 'node:util';
import { ARM_DOCUMENTED_RATES, ArmRequestPacer, type ArmRequestKind, type BucketRate } from '../src/clients/arm-pacer.js';
import { AzureMlClient, BlobArtifactStore, type WorkspaceScope } from '../src/clients/azureml/index.js';
import { Secret } from '../src/clients/secret.js';
import { AzureMlRegistry } from '../src/registry/azureml/azureml-registry.js';
import { indexAssetName } from '../src/registry/azureml/registry-index.js';
import type { NewModelVersion } from '../src/registry/model-registry.js';
import { AzureMlEmulator, fakeBearerToken } from '../test/emulators/azureml/azureml-emulator.js';
import { startAzuriteBlob } from '../test/emulators/azurite.js';
import { containerWithSas } from '../test/helpers/azureml-registry-kit.js';

const { values } = parseArgs({
  options: {
    groups: { type: 'string', default: '10000' },
    granularity: { type: 'string', default: 'both' },
    'quota-scale': { type: 'string', default: '1' },
    concurrency: { type: 'string', default: '8' },
    'no-pacer': { type: 'boolean', default: false },
  },
});
const groups = Number(values.groups);
const scale = Number(values['quota-scale']);
const concurrency = Number(values.concurrency);
const pacing = !values['no-pacer'];
const granularities = values.granularity === 'both' ? (['per_group', 'model_set'] as const) : ([values.granularity] as Array<'per_group' | 'model_set'>);

const rates = Object.fromEntries(
  (Object.entries(ARM_DOCUMENTED_RATES) as Array<[ArmRequestKind, BucketRate]>).map(([k, r]) => [k, { capacity: r.capacity * scale, refillPerSecond: r.refillPerSecond * scale }]),
) as Record<ArmRequestKind, BucketRate>;

const SUB = '00000000-1111-2222-3333-444444444444';
const scope: WorkspaceScope = { kind: 'workspace', subscriptionId: SUB, resourceGroup: 'rg-bench', workspace: 'ws-bench' };
const TOKEN = fakeBearerToken({ oid: 'bench-principal', app: true });
const sha = (b: Buffer | string): string => createHash('sha256').update(b).digest('hex');

/** Time the buckets need for this many requests, starting full: (n - capacity) / refill. */
function quotaMinimumSeconds(requests: Record<ArmRequestKind, number>): number {
  return Math.max(0, ...(Object.keys(requests) as ArmRequestKind[]).map((k) => (requests[k] - rates[k].capacity) / rates[k].refillPerSecond));
}

function makeEntries(dir: string, runId: string, pipeline: string): NewModelVersion[] {
  return Array.from({ length: groups }, (_, i) => {
    const groupId = sha(`${pipeline}/${i}`).slice(0, 16);
    const bytes = Buffer.concat([Buffer.from(`model ${i} `), randomBytes(256)]);
    const artifactPath = path.join(dir, `${i}.pkl`);
    writeFileSync(artifactPath, bytes);
    return {
      name: `${pipeline}__${i % 100}_${i}__${groupId.slice(0, 12)}`,
      pipeline,
      project: 'bench',
      groupId,
      keys: { store_id: String(i % 100), item_id: String(i) },
      modelType: 'linear',
      runId,
      dataFingerprint: 'sha256:bench',
      metrics: { wape: (i % 97) / 100, mae: 1.25 },
      artifactPath,
      sha256: sha(bytes),
    };
  });
}

async function benchOne(granularity: 'per_group' | 'model_set'): Promise<Record<string, string | number>> {
  const azurite = await startAzuriteBlob({ timeoutMs: 30_000 });
  const emu = new AzureMlEmulator({ throttle: rates, workspaces: [{ subscriptionId: SUB, resourceGroup: scope.resourceGroup, name: scope.workspace }] });
  await emu.start();
  const work = mkdtempSync(path.join(tmpdir(), 'mm-bench-aml-'));
  // The emulator keeps every request; tally what we need and let the rest go.
  let throttledSeen = 0;
  const drain = setInterval(() => {
    throttledSeen += emu.requests.filter((r) => r.status === 429).length;
    emu.requests.length = 0;
  }, 1000);
  try {
    const sas = await containerWithSas(azurite, 'bench');
    const pipeline = granularity === 'model_set' ? 'benchset' : 'benchgroup';
    const runId = '20260101-000000-train-bench0';
    const entries = makeEntries(work, runId, pipeline);
    const open = (): { registry: AzureMlRegistry; client: AzureMlClient } => {
      const client = new AzureMlClient({ baseUrl: emu.baseUrl, tokenProvider: { getToken: async () => TOKEN }, http: pacing ? { pacer: new ArmRequestPacer({ rates }) } : {} });
      const artifacts = new BlobArtifactStore({ containerUrl: `${azurite.blobEndpoint}/bench`, credential: { kind: 'sas', sas: new Secret(sas) } });
      return { client, registry: new AzureMlRegistry({ client, scope, granularity, artifacts, concurrency, journalDir: path.join(work, 'journal') }) };
    };

    const { registry, client } = open();
    let last = 0;
    const started = performance.now();
    await registry.registerVersions(
      entries,
      (p) => {
        const now = performance.now();
        if (now - last > 15_000 || p.done === p.total) {
          last = now;
          process.stderr.write(`  ${granularity}: ${p.done}/${p.total} after ${((now - started) / 1000).toFixed(0)} s, ${client.http.stats.throttled} × 429\n`);
        }
      },
      { batchId: runId },
    );
    const seconds = (performance.now() - started) / 1000;
    const throttled = client.http.stats.throttled;

    // What the service holds now: duplicates (more than one version of a group) and losses
    // (a group without its version, or missing from the index the lookups read).
    const ws = emu.store.scope('workspaces', { subscriptionId: SUB, resourceGroup: scope.resourceGroup, name: scope.workspace });
    let duplicates = 0;
    let lost = 0;
    if (granularity === 'per_group') {
      for (const e of entries) {
        const versions = ws.containers.get(e.name)?.versions;
        if (!versions?.has(runId)) lost++;
        duplicates += Math.max(0, (versions?.size ?? 0) - 1);
      }
    }
    const indexVersions = ws.containers.get(indexAssetName(pipeline, granularity))?.versions.size ?? 0;
    duplicates += Math.max(0, indexVersions - 1);
    const check = open();
    const latest = await check.registry.latestByGroup(pipeline);
    lost += entries.filter((e) => latest.get(e.groupId)?.sha256 !== e.sha256).length;

    // Registering the same run again: must write nothing.
    clearInterval(drain);
    throttledSeen += emu.requests.filter((r) => r.status === 429).length;
    emu.requests.length = 0;
    const again = open();
    const againStarted = performance.now();
    await again.registry.registerVersions(entries, undefined, { batchId: runId });
    const againSeconds = (performance.now() - againStarted) / 1000;
    const againWrites = emu.requests.filter((r) => r.method !== 'GET').length;

    const writes = granularity === 'per_group' ? groups + 2 : 2;
    const minimum = quotaMinimumSeconds({ reads: 2, writes, deletes: 0 });
    return {
      granularity,
      groups,
      'ARM writes needed': writes,
      'requests sent': client.requestCount,
      'wall s': Number(seconds.toFixed(1)),
      '429s': throttled,
      '429s seen by emulator': throttledSeen,
      'quota minimum s': Number(minimum.toFixed(1)),
      'vs minimum': minimum > 0 ? `${(((seconds - minimum) / minimum) * 100).toFixed(1)}%` : 'n/a (within burst)',
      duplicates,
      lost,
      'rerun writes': againWrites,
      'rerun requests': again.client.requestCount,
      'rerun s': Number(againSeconds.toFixed(1)),
      uploads: registry.stats.uploads,
    };
  } finally {
    clearInterval(drain);
    await emu.stop();
    await azurite.stop();
    rmSync(work, { recursive: true, force: true });
  }
}

console.log(`node ${process.version}; ${groups} groups; quota scale ${scale} (writes ${rates.writes.capacity} + ${rates.writes.refillPerSecond}/s, reads ${rates.reads.capacity} + ${rates.reads.refillPerSecond}/s); concurrency ${concurrency}; pacer ${pacing ? 'on' : 'off'}`);
for (const g of granularities) {
  const r = await benchOne(g);
  console.log(JSON.stringify(r));
}
