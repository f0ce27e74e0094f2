// Fixtures for the Azure ML registry tests: Azurite containers with a SAS, entries with real
// artifact files, and a registry wired to the emulator the way open-azureml-registry does it.
import { createHash, randomBytes } from 'node:crypto';
import { mkdirSync, writeFileSync } from 'node:fs';
import path from 'node:path';
import { BlobServiceClient, ContainerSASPermissions, StorageSharedKeyCredential, generateBlobSASQueryParameters } from '@azure/storage-blob';
import { ArmRequestPacer, type BucketRate } from '../../src/clients/arm-pacer.js';
import { AzureMlClient, BlobArtifactStore, type ModelScope } from '../../src/clients/azureml/index.js';
import { Secret } from '../../src/clients/secret.js';
import { AzureMlRegistry, type AzureMlRegistryOptions } from '../../src/registry/azureml/azureml-registry.js';
import type { NewModelVersion } from '../../src/registry/model-registry.js';
import { TOKEN } from '../emulators/azureml/test-kit.js';
import { AZURITE_ACCOUNT, AZURITE_ACCOUNT_KEY, type AzuriteBlob } from '../emulators/azurite.js';

/** Creates the container and returns a SAS (query string, no leading `?`) for it. */
export async function containerWithSas(azurite: AzuriteBlob, name: string): Promise<string> {
  await BlobServiceClient.fromConnectionString(azurite.connectionString).getContainerClient(name).createIfNotExists();
  return generateBlobSASQueryParameters(
    { containerName: name, permissions: ContainerSASPermissions.parse('racwl'), expiresOn: new Date(Date.now() + 3600_000) },
    new StorageSharedKeyCredential(AZURITE_ACCOUNT, AZURITE_ACCOUNT_KEY),
  ).toString();
}

export function blobContainer(azurite: AzuriteBlob, name: string) {
  return BlobServiceClient.fromConnectionString(azurite.connectionString).getContainerClient(name);
}

const sha = (data: Buffer | string): string => createHash('sha256').update(data).digest('hex');

/** `n` groups of pipeline `p` trained by `runId`: real artifact files, the name shape of contracts.md. */
export function makeEntries(dir: string, runId: string, n: number, options: { pipeline?: string; salt?: string; from?: number } = {}): NewModelVersion[] {
  const pipeline = options.pipeline ?? 'p';
  mkdirSync(dir, { recursive: true });
  return Array.from({ length: n }, (_, k) => {
    const i = (options.from ?? 0) + k;
    const groupId = sha(`${pipeline}/${i}`).slice(0, 16);
    const bytes = Buffer.from(`model ${pipeline} ${i} ${runId} ${options.salt ?? ''}`);
    const artifactPath = path.join(dir, `${runId}-${i}-${randomBytes(3).toString('hex')}.pkl`);
    writeFileSync(artifactPath, bytes);
    return {
      name: `${pipeline}__s${i % 5}_${i}__${groupId.slice(0, 12)}`,
      pipeline,
      project: 'demo',
      groupId,
      keys: { store: String(i % 5), item: String(i) },
      modelType: 'linear',
      runId,
      dataFingerprint: 'sha256:data',
      metrics: { wape: Number((0.01 * (i % 50)).toFixed(2)), mae: 1.5 },
      artifactPath,
      sha256: sha(bytes),
    };
  });
}

export interface RegistryRig {
  registry: AzureMlRegistry;
  client: AzureMlClient;
  pacer: ArmRequestPacer;
  delays: number[];
}

/**
 * A registry on the emulator. `sleepScale` shortens every wait the client asks for (LRO polls
 * ask for >= 10 s) while `delays` records what was asked, so tests can check Retry-After.
 */
export function registryOn(
  baseUrl: string,
  scope: ModelScope,
  store: { containerUrl: string; sas: string },
  options: Partial<Pick<AzureMlRegistryOptions, 'granularity' | 'concurrency' | 'journalDir'>> & { sleepScale?: number; rates?: Partial<Record<'reads' | 'writes' | 'deletes', BucketRate>> } = {},
): RegistryRig {
  const delays: number[] = [];
  const scale = options.sleepScale ?? 1 / 200;
  const sleep = (ms: number): Promise<void> => {
    delays.push(ms);
    return new Promise((resolve) => setTimeout(resolve, Math.ceil(ms * scale)));
  };
  // The pacer runs on the same shortened time, so its waits shrink with the client's.
  const t0 = Date.now();
  const now = (): number => t0 + (Date.now() - t0) / scale;
  const pacer = new ArmRequestPacer({ sleep, now, ...(options.rates ? { rates: options.rates } : {}) });
  const client = new AzureMlClient({ baseUrl, tokenProvider: { getToken: async () => TOKEN }, lroPollIntervalMs: 1000, http: { sleep, pacer } });
  const artifacts = new BlobArtifactStore({ containerUrl: store.containerUrl, credential: { kind: 'sas', sas: new Secret(store.sas) } });
  const registryOptions: AzureMlRegistryOptions = { client, scope, artifacts, granularity: options.granularity ?? 'per_group', concurrency: options.concurrency ?? 4 };
  if (options.journalDir) registryOptions.journalDir = options.journalDir;
  return { registry: new AzureMlRegistry(registryOptions), client, pacer, delays };
}
