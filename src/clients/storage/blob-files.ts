// Files in one blob container, seen as folders of files: list a folder, size of a file, write a
// whole file, read a byte range. Works on ADLS Gen2 accounts too (the Blob API serves them), with
// an Azure AD token for storage or a SAS kept in a Secret. Used for a Synapse run's lake files.
import { ContainerClient, RestError } from '@azure/storage-blob';
import type { TokenProvider } from '../http.js';
import type { Secret } from '../secret.js';
import { storageError } from './storage-error.js';
import { asTokenCredential } from './token-credential.js';

export type BlobFilesCredential = { kind: 'token'; tokenProvider: TokenProvider } | { kind: 'sas'; sas: Secret };

export interface BlobFilesOptions {
  /** The blob endpoint of the account: https://<account>.blob.core.windows.net (no query string). */
  accountUrl: string;
  container: string;
  credential: BlobFilesCredential;
}

const absent = (err: unknown): boolean => err instanceof RestError && err.statusCode === 404;

export class BlobFiles {
  readonly containerUrl: string;
  private readonly container: ContainerClient;

  constructor(options: BlobFilesOptions) {
    const base = new URL(options.accountUrl);
    if (base.search) throw new RangeError('the account URL must not carry a query string; pass a SAS as the credential');
    this.containerUrl = `${base.origin}${base.pathname.replace(/\/+$/, '')}/${options.container}`;
    const { credential } = options;
    // The SAS goes on the URL the SDK holds, never into anything we print: messages name blobs only.
    this.container = credential.kind === 'token'
      ? new ContainerClient(this.containerUrl, asTokenCredential(credential.tokenProvider))
      : new ContainerClient(`${this.containerUrl}?${credential.sas.reveal().replace(/^\?/, '')}`);
  }

  /** The files directly in `folder` (a blob name prefix without the trailing slash) with their sizes. */
  async list(folder: string, signal?: AbortSignal): Promise<Map<string, number>> {
    const prefix = folder ? `${folder.replace(/\/+$/, '')}/` : '';
    const out = new Map<string, number>();
    try {
      for await (const item of this.container.listBlobsByHierarchy('/', { prefix, abortSignal: signal })) {
        if (item.kind === 'blob') out.set(item.name.slice(prefix.length), item.properties.contentLength ?? -1);
      }
    } catch (err) {
      throw storageError('listing', prefix || '/', err);
    }
    return out;
  }

  /** Size of a blob, `undefined` when there is none. */
  async size(name: string, signal?: AbortSignal): Promise<number | undefined> {
    try {
      return (await this.container.getBlobClient(name).getProperties({ abortSignal: signal })).contentLength ?? 0;
    } catch (err) {
      if (absent(err)) return undefined;
      throw storageError('reading the properties of', name, err);
    }
  }

  /** Writes a whole block blob, replacing any there (so a resent upload leaves the same file). */
  async upload(name: string, bytes: Buffer, signal?: AbortSignal): Promise<void> {
    try {
      await this.container.getBlockBlobClient(name).uploadData(bytes, {
        blobHTTPHeaders: { blobContentType: 'application/octet-stream' },
        abortSignal: signal,
      });
    } catch (err) {
      throw storageError('uploading', name, err);
    }
  }

  /**
   * Up to `max` bytes from `offset`; empty at or past the end and for a blob that does not exist
   * (yet). The size is asked first: a range past the end is an error to the service, and a range
   * that runs past it makes the SDK's retrying reader wait for bytes that never come.
   */
  async read(name: string, offset: number, max: number, signal?: AbortSignal): Promise<Buffer> {
    const size = await this.size(name, signal);
    if (size === undefined || offset >= size) return Buffer.alloc(0);
    try {
      return await this.container.getBlobClient(name).downloadToBuffer(offset, Math.min(max, size - offset), { abortSignal: signal });
    } catch (err) {
      if (absent(err)) return Buffer.alloc(0);
      throw storageError('downloading', name, err);
    }
  }
}
