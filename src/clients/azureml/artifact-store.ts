// A registry's blob container: content-addressed uploads, downloads hashed as they are written,
// with an Azure AD token for storage or a SAS kept in a Secret.
import { createHash, randomBytes } from 'node:crypto';
import { createWriteStream } from 'node:fs';
import { mkdir, rename, rm } from 'node:fs/promises';
import path from 'node:path';
import { Transform } from 'node:stream';
import { pipeline } from 'node:stream/promises';
import type { TokenCredential } from '@azure/identity';
import { BlobClient } from '@azure/storage-blob';
import { RemoteError } from '../../core/errors.js';
import { RemoteErrorCode, type TokenProvider } from '../http.js';
import { Secret } from '../secret.js';
import { asTokenCredential } from '../storage/token-credential.js';
import { type UploadArtifactResult, storageError, uploadArtifactIfChanged } from './blob-upload.js';

export type BlobCredential = { kind: 'token'; tokenProvider: TokenProvider } | { kind: 'sas'; sas: Secret };

export interface BlobArtifactStoreOptions {
  /** e.g. https://account.blob.core.windows.net/container (no query string). */
  containerUrl: string;
  credential: BlobCredential;
}

export interface DownloadResult {
  sha256: string;
  bytes: number;
}

export class BlobArtifactStore {
  readonly containerUrl: string;
  private readonly credential: BlobCredential;
  private readonly tokenCredential: TokenCredential | undefined;

  constructor(options: BlobArtifactStoreOptions) {
    const url = new URL(options.containerUrl);
    if (url.search) throw new RangeError('the container URL must not carry a query string; pass a SAS as the credential');
    this.containerUrl = `${url.origin}${url.pathname.replace(/\/+$/, '')}`;
    this.credential = options.credential;
    this.tokenCredential = options.credential.kind === 'token' ? asTokenCredential(options.credential.tokenProvider) : undefined;
  }

  blobUrl(blobName: string): string {
    return `${this.containerUrl}/${blobName.split('/').map(encodeURIComponent).join('/')}`;
  }

  /**
   * True when `url` is a blob of this container. Only such URLs are ever read: a modelUri
   * pointing elsewhere must not receive our storage token.
   */
  owns(url: string): boolean {
    try {
      const u = new URL(url);
      return !u.search && `${u.origin}${u.pathname}`.startsWith(`${this.containerUrl}/`);
    } catch {
      return false;
    }
  }

  private withSas(url: string): string {
    return this.credential.kind === 'sas' ? `${url}?${this.credential.sas.reveal().replace(/^\?/, '')}` : url;
  }

  /** Uploads unless the blob already holds content with this sha256 (one HEAD then). */
  async put(options: { blobName: string; filePath?: string; data?: Buffer; sha256?: string; signal?: AbortSignal }): Promise<UploadArtifactResult> {
    const upload: Parameters<typeof uploadArtifactIfChanged>[0] = {
      containerUrl: this.credential.kind === 'sas' ? new Secret(this.withSas(this.containerUrl)) : this.containerUrl,
      blobName: options.blobName,
    };
    if (this.tokenCredential) upload.credential = this.tokenCredential;
    if (options.filePath !== undefined) upload.filePath = options.filePath;
    if (options.data !== undefined) upload.data = options.data;
    if (options.sha256 !== undefined) upload.sha256 = options.sha256;
    if (options.signal) upload.signal = options.signal;
    const result = await uploadArtifactIfChanged(upload);
    return { ...result, blobUrl: this.blobUrl(options.blobName) };
  }

  private client(url: string): BlobClient {
    if (!this.owns(url)) {
      throw new RemoteError(`refusing to read ${url}: it is not in the registry's storage container ${this.containerUrl}`, {
        code: RemoteErrorCode.UnexpectedResponse,
      });
    }
    return this.tokenCredential ? new BlobClient(url, this.tokenCredential) : new BlobClient(this.withSas(url));
  }

  private blobName(url: string): string {
    return decodeURIComponent(new URL(url).pathname.slice(new URL(this.containerUrl).pathname.length + 1));
  }

  /**
   * Streams a blob into `dest`, hashing on the way; written to a temporary name and renamed,
   * so `dest` never holds a partial file.
   */
  async downloadToFile(url: string, dest: string, signal?: AbortSignal): Promise<DownloadResult> {
    const blob = this.client(url);
    const hash = createHash('sha256');
    let bytes = 0;
    const tmp = `${dest}.part-${randomBytes(4).toString('hex')}`;
    await mkdir(path.dirname(dest), { recursive: true });
    try {
      const res = await blob.download(0, undefined, { abortSignal: signal });
      if (!res.readableStreamBody) throw new Error('empty download body');
      const tap = new Transform({
        transform(chunk: Buffer, _enc, done) {
          hash.update(chunk);
          bytes += chunk.length;
          done(null, chunk);
        },
      });
      await pipeline(res.readableStreamBody, tap, createWriteStream(tmp), { signal });
      await rename(tmp, dest);
    } catch (err) {
      await rm(tmp, { force: true });
      if (err instanceof RemoteError) throw err;
      throw storageError('downloading', this.blobName(url), err);
    }
    return { sha256: hash.digest('hex'), bytes };
  }

  async downloadBuffer(url: string, signal?: AbortSignal): Promise<Buffer> {
    const blob = this.client(url);
    try {
      return await blob.downloadToBuffer(0, undefined, { abortSignal: signal });
    } catch (err) {
      throw storageError('downloading', this.blobName(url), err);
    }
  }
}
