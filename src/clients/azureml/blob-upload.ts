// Uploads model artifacts to Azure Blob Storage through @azure/storage-blob: the sha256 goes
// into the blob's metadata, and an upload is skipped when the blob already has that sha256.
import { createHash } from 'node:crypto';
import { createReadStream } from 'node:fs';
import { stat } from 'node:fs/promises';
import type { TokenCredential } from '@azure/identity';
import { ContainerClient, RestError } from '@azure/storage-blob';
import type { Secret } from '../secret.js';
import { storageError } from '../storage/storage-error.js';

// Moved to clients/storage (shared with the Synapse engine's lake files); kept importable here.
export { storageError };

export interface UploadArtifactOptions {
  /** Container URL with a SAS (e.g. PendingUpload.sasUri), as a Secret or a string. */
  containerUrl: Secret | string;
  /** An Azure AD credential for the storage scope, when the URL carries no SAS. */
  credential?: TokenCredential;
  blobName: string;
  /** Exactly one of filePath / data. */
  filePath?: string;
  data?: Buffer;
  /** Precomputed digest (hex); computed from the content when absent. */
  sha256?: string;
  signal?: AbortSignal;
}

export interface UploadArtifactResult {
  /** The blob's URL without any query string (no SAS). */
  blobUrl: string;
  sha256: string;
  bytes: number;
  uploaded: boolean;
}

export async function sha256OfFile(path: string): Promise<string> {
  const hash = createHash('sha256');
  for await (const chunk of createReadStream(path)) hash.update(chunk as Buffer);
  return hash.digest('hex');
}

export async function uploadArtifactIfChanged(options: UploadArtifactOptions): Promise<UploadArtifactResult> {
  if ((options.filePath === undefined) === (options.data === undefined)) {
    throw new Error('uploadArtifactIfChanged needs exactly one of filePath or data');
  }
  const url = typeof options.containerUrl === 'string' ? options.containerUrl : options.containerUrl.reveal();
  const container = options.credential ? new ContainerClient(url, options.credential) : new ContainerClient(url);
  const blob = container.getBlockBlobClient(options.blobName);
  const sha256 =
    options.sha256 ??
    (options.data ? createHash('sha256').update(options.data).digest('hex') : await sha256OfFile(options.filePath ?? ''));
  const bytes = options.data ? options.data.length : (await stat(options.filePath ?? '')).size;
  const blobUrl = blob.url.split('?')[0] ?? blob.url;

  try {
    const props = await blob.getProperties({ abortSignal: options.signal });
    if (props.metadata?.sha256 === sha256) return { blobUrl, sha256, bytes, uploaded: false };
  } catch (err) {
    if (!(err instanceof RestError && err.statusCode === 404)) throw storageError('reading', options.blobName, err);
  }

  const uploadOptions = {
    metadata: { sha256 },
    blobHTTPHeaders: { blobContentType: 'application/octet-stream' },
    abortSignal: options.signal,
  };
  try {
    if (options.data) await blob.uploadData(options.data, uploadOptions);
    else await blob.uploadFile(options.filePath ?? '', uploadOptions);
  } catch (err) {
    throw storageError('uploading', options.blobName, err);
  }
  return { blobUrl, sha256, bytes, uploaded: true };
}
