// Registry pending uploads end to end: the emulator hands out a container SAS on a private
// Azurite, the client uploads with sha256 metadata, skips identical content, never leaks the SAS.
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { inspect } from 'node:util';
import { BlobServiceClient } from '@azure/storage-blob';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { AzureMlClient, sha256OfFile, uploadArtifactIfChanged } from '../../src/clients/azureml/index.js';
import { RemoteError } from '../../src/core/errors.js';
import { AzureMlEmulator } from '../emulators/azureml/azureml-emulator.js';
import { REGISTRY, TOKEN, WORKSPACE, reachableStrings, recordingSleep, registryScope } from '../emulators/azureml/test-kit.js';
import { type AzuriteBlob, startAzuriteBlob } from '../emulators/azurite.js';

let azurite: AzuriteBlob;
let emu: AzureMlEmulator;
let client: AzureMlClient;
let dir: string;

beforeAll(async () => {
  // No silent skip: if Azurite cannot start, startAzuriteBlob throws with its output.
  azurite = await startAzuriteBlob();
  emu = new AzureMlEmulator({ minLatencyMs: 1, workspaces: [WORKSPACE], registries: [REGISTRY], blobStorage: { connectionString: azurite.connectionString } });
  await emu.start();
  client = new AzureMlClient({ baseUrl: emu.baseUrl, tokenProvider: { getToken: async () => TOKEN }, http: { sleep: recordingSleep().sleep } });
  dir = mkdtempSync(join(tmpdir(), 'mm-blob-'));
});

afterAll(async () => {
  await emu?.stop();
  await azurite?.stop();
  if (dir) rmSync(dir, { recursive: true, force: true });
});

describe('Azurite helper', () => {
  it('runs a private blob service on a free port', async () => {
    expect(azurite.port).toBeGreaterThan(0);
    const service = BlobServiceClient.fromConnectionString(azurite.connectionString);
    await service.getContainerClient('probe').createIfNotExists();
    const names: string[] = [];
    for await (const c of service.listContainers()) names.push(c.name);
    expect(names).toContain('probe');
  });
});

describe('pending upload + artifact upload', () => {
  it('uploads once, skips identical content, re-uploads changed content, then registers the version', async () => {
    const pending = await client.startPendingUpload(registryScope, 'store-1', '1');
    expect(JSON.stringify(pending)).not.toContain('sig=');
    expect(pending.blobUri.startsWith(`${azurite.blobEndpoint}/pendinguploads/`)).toBe(true);

    const file = join(dir, 'model.pkl');
    writeFileSync(file, Buffer.from('pickle-bytes-v1'));
    const blobName = `${pending.pendingUploadId}/model.pkl`;
    const first = await uploadArtifactIfChanged({ containerUrl: pending.sasUri, blobName, filePath: file });
    expect(first).toMatchObject({ uploaded: true, sha256: await sha256OfFile(file), bytes: 15 });
    expect(first.blobUrl).toBe(`${pending.blobUri}/model.pkl`);

    const again = await uploadArtifactIfChanged({ containerUrl: pending.sasUri, blobName, filePath: file });
    expect(again.uploaded).toBe(false);

    const changed = await uploadArtifactIfChanged({ containerUrl: pending.sasUri, blobName, data: Buffer.from('pickle-bytes-v2') });
    expect(changed.uploaded).toBe(true);
    expect(changed.sha256).not.toBe(first.sha256);

    const blob = BlobServiceClient.fromConnectionString(azurite.connectionString).getContainerClient('pendinguploads').getBlobClient(blobName);
    expect((await blob.getProperties()).metadata).toEqual({ sha256: changed.sha256 });
    expect((await blob.downloadToBuffer()).toString()).toBe('pickle-bytes-v2');

    const version = await client.createOrUpdateModelVersion(registryScope, 'store-1', '1', {
      modelUri: changed.blobUrl,
      modelType: 'CustomModel',
      properties: { sha256: changed.sha256 },
    });
    expect(version.properties).toMatchObject({ provisioningState: 'Succeeded', modelUri: changed.blobUrl });
  });

  it('wraps storage failures once and never shows the SAS signature', async () => {
    const pending = await client.startPendingUpload(registryScope, 'store-2', '1');
    const sasUrl = pending.sasUri.reveal();
    const signature = new URL(sasUrl).searchParams.get('sig') ?? '';
    expect(signature.length).toBeGreaterThan(10);
    const forged = sasUrl.replace(`sig=${encodeURIComponent(signature)}`, `sig=${encodeURIComponent(`x${signature.slice(1)}`)}`);
    const err = await uploadArtifactIfChanged({ containerUrl: forged, blobName: 'a/model.pkl', data: Buffer.from('x') }).catch((e: unknown) => e);
    expect(err).toBeInstanceOf(RemoteError);
    expect(err).toMatchObject({ code: 'MM608', status: 403 });
    const everything = `${(err as Error).message}\n${inspect(err, { depth: 12 })}\n${reachableStrings(err).join('\n')}`;
    expect(everything).not.toContain(signature.slice(1, 20));
    expect(everything).not.toContain(encodeURIComponent(signature.slice(1, 20)));
  });
});
