// A Synapse run's files in the workspace's ADLS Gen2 account, as a RemoteFileStore (read and
// written through the Blob API) and RemoteLocations whose API paths are blob names and whose
// cluster paths and URIs are the abfss:// URIs the job is handed.
import { BlobFiles, type BlobFilesCredential } from '../../clients/storage/index.js';
import type { RemoteFileStore } from '../remote/remote-store.js';
import type { SynapseLake } from '../../contracts/targets.js';

/** One read of the events file or an output: enough for any manifest, small enough to poll with. */
const MAX_READ = 4 * 1024 * 1024;

export class LakeStore implements RemoteFileStore {
  readonly kind = 'ADLS Gen2';
  readonly maxRead = MAX_READ;
  constructor(private readonly files: BlobFiles) {}

  list(dir: string, signal?: AbortSignal): Promise<Map<string, number>> {
    return this.files.list(dir, signal);
  }

  stat(file: string, signal?: AbortSignal): Promise<number | undefined> {
    return this.files.size(file, signal);
  }

  upload(file: string, bytes: Buffer, signal?: AbortSignal): Promise<void> {
    // ADLS Gen2 creates the folders of a path on write: no mkdir first.
    return this.files.upload(file, bytes, signal);
  }

  read(file: string, offset: number, max = MAX_READ, signal?: AbortSignal): Promise<Buffer> {
    return this.files.read(file, offset, Math.min(max, MAX_READ), signal);
  }
}

export { abfssUri, lakeLocation } from './lake-paths.js';

export function lakeStore(lake: Pick<SynapseLake, 'blobAccountUrl' | 'container'>, credential: BlobFilesCredential): LakeStore {
  return new LakeStore(new BlobFiles({ accountUrl: lake.blobAccountUrl, container: lake.container, credential }));
}
