// The three places a Databricks run's files can live, as RemoteFileStores and RemoteLocations:
// DBFS (API `/x`, cluster `/dbfs/x`, URI `dbfs:/x`), Unity Catalog volumes (`/Volumes/…`
// everywhere) and workspace files (API `/Users/…`, cluster `/Workspace/Users/…`).
import path from 'node:path';
import { type DatabricksClient, DBFS_BLOCK_BYTES, WORKSPACE_IMPORT_MAX_BYTES } from '../../clients/databricks/index.js';
import { UsageError } from '../../core/errors.js';
import type { DatabricksLocationKind } from '../../contracts/targets.js';
import { databricksLocation } from './paths.js';

export { kindOfPath } from './paths.js';
import type { RemoteFileStore, RemoteLocation } from '../remote/remote-store.js';

export type LocationKind = DatabricksLocationKind;

export class DbfsStore implements RemoteFileStore {
  readonly kind = 'DBFS';
  readonly maxRead = DBFS_BLOCK_BYTES;
  constructor(private readonly client: DatabricksClient) {}

  async list(dir: string, signal?: AbortSignal): Promise<Map<string, number>> {
    const files = (await this.client.dbfsList(dir, signal)) ?? [];
    return new Map(files.filter((f) => !f.is_dir).map((f) => [path.posix.basename(f.path), f.file_size]));
  }

  async stat(file: string, signal?: AbortSignal): Promise<number | undefined> {
    const info = await this.client.dbfsGetStatus(file, signal);
    return info && !info.is_dir ? info.file_size : undefined;
  }

  async upload(file: string, bytes: Buffer, signal?: AbortSignal): Promise<void> {
    await this.client.dbfsUpload(file, bytes, signal);
  }

  async read(file: string, offset: number, max = DBFS_BLOCK_BYTES, signal?: AbortSignal): Promise<Buffer> {
    return (await this.client.dbfsRead(file, offset, Math.min(max, DBFS_BLOCK_BYTES), signal)) ?? Buffer.alloc(0);
  }
}

export class VolumeStore implements RemoteFileStore {
  readonly kind = 'Unity Catalog volume';
  // One GET returns the rest of the file: there is no per-call limit to respect.
  readonly maxRead = 1024 * 1024 * 1024;
  constructor(private readonly client: DatabricksClient) {}

  async list(dir: string, signal?: AbortSignal): Promise<Map<string, number>> {
    const entries = (await this.client.filesListDirectory(dir, signal)) ?? [];
    return new Map(entries.filter((e) => !e.is_directory).map((e) => [e.name, e.file_size ?? -1]));
  }

  async stat(file: string, signal?: AbortSignal): Promise<number | undefined> {
    return (await this.client.filesGetMetadata(file, signal))?.size;
  }

  async upload(file: string, bytes: Buffer, signal?: AbortSignal): Promise<void> {
    await this.client.filesUpload(file, bytes, signal);
  }

  async read(file: string, offset: number, max?: number, signal?: AbortSignal): Promise<Buffer> {
    const data = (await this.client.filesDownload(file, offset, signal)) ?? Buffer.alloc(0);
    return max === undefined ? data : data.subarray(0, max);
  }
}

export class WorkspaceFilesStore implements RemoteFileStore {
  readonly kind = 'workspace files';
  readonly maxRead = WORKSPACE_IMPORT_MAX_BYTES;
  private readonly folders = new Set<string>();
  constructor(private readonly client: DatabricksClient) {}

  /** The emulator and the service have workspace/list, but per-file get-status is enough here. */
  async list(): Promise<undefined> {
    return undefined;
  }

  async stat(file: string, signal?: AbortSignal): Promise<number | undefined> {
    const info = await this.client.workspaceGetStatus(file, signal);
    return info && info.object_type === 'FILE' ? (info.size ?? -1) : undefined;
  }

  async upload(file: string, bytes: Buffer, signal?: AbortSignal): Promise<void> {
    if (bytes.length > WORKSPACE_IMPORT_MAX_BYTES) {
      throw new UsageError(`${path.posix.basename(file)} is ${bytes.length} bytes; workspace files take at most ${WORKSPACE_IMPORT_MAX_BYTES}`, {
        code: 'MM404',
        nextSteps: ['Use databricks.artifacts.location: dbfs or volume for large files (model artifacts, say).'],
      });
    }
    const folder = path.posix.dirname(file);
    if (!this.folders.has(folder)) {
      await this.client.workspaceMkdirs(folder, signal);
      this.folders.add(folder);
    }
    await this.client.workspaceImport(file, bytes, signal);
  }

  async read(): Promise<Buffer> {
    throw new UsageError('workspace files cannot hold run outputs', { code: 'MM404', nextSteps: ['Set databricks.runs_path to a dbfs:/ or /Volumes/ folder.'] });
  }
}

/**
 * A location for a path as the YAML gives it (checked when the target was resolved, MM406); a
 * relative path or a volume path above the volume is refused here too (MM404): remote-run.json
 * files are read back from disk.
 */
export function locationFor(client: DatabricksClient, p: string, field: string): RemoteLocation {
  return databricksLocation(p, field, storesOf(client));
}

/** The store of each kind of location, over one client. */
export function storesOf(client: DatabricksClient): (kind: LocationKind) => RemoteFileStore {
  return (kind) => (kind === 'dbfs' ? new DbfsStore(client) : kind === 'volume' ? new VolumeStore(client) : new WorkspaceFilesStore(client));
}
