// The three places a Databricks run's files can live, as RemoteFileStores and RemoteLocations:
// DBFS (API `/x`, cluster `/dbfs/x`, URI `dbfs:/x`), Unity Catalog volumes (`/Volumes/…`
// everywhere) and workspace files (API `/Users/…`, cluster `/Workspace/Users/…`).
import path from 'node:path';
import { type DatabricksClient, DBFS_BLOCK_BYTES, WORKSPACE_IMPORT_MAX_BYTES } from '../../clients/databricks/index.js';
import { UsageError } from '../../core/errors.js';
import { databricksPathKind, type DatabricksLocationKind } from '../../contracts/targets.js';
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

const clean = (p: string): string => {
  const normal = path.posix.normalize(p);
  return normal.length > 1 && normal.endsWith('/') ? normal.slice(0, -1) : normal;
};

function location(store: RemoteFileStore, kind: LocationKind, apiRoot: string): RemoteLocation {
  const api = (rel?: string): string => (rel ? clean(`${apiRoot}/${rel}`) : apiRoot);
  const cluster = (rel?: string): string => {
    const p = api(rel);
    if (kind === 'dbfs') return p === '/' ? '/dbfs' : `/dbfs${p}`;
    if (kind === 'workspace') return `/Workspace${p}`;
    return p;
  };
  return {
    store,
    apiPath: api,
    clusterPath: cluster,
    uri: (rel) => (kind === 'dbfs' ? `dbfs:${api(rel)}` : cluster(rel)),
    child: (rel) => location(store, kind, api(rel)),
  };
}

/** What kind of location a path names: `dbfs:/…` or `/dbfs/…`, `/Volumes/…`, or a workspace path. */
export const kindOfPath = databricksPathKind;

/**
 * A location for a path as the YAML gives it. `expected` is the kind the field requires; a
 * mismatch, a relative path or a volume path above the volume is a settings error (MM404).
 */
export function locationFor(client: DatabricksClient, p: string, field: string, expected?: LocationKind | LocationKind[]): RemoteLocation {
  const kind = kindOfPath(p);
  const allowed = expected === undefined ? undefined : Array.isArray(expected) ? expected : [expected];
  const bad = (why: string, hint: string): UsageError => new UsageError(`${field}: ${why}`, { code: 'MM404', nextSteps: [hint] });
  if (allowed && !allowed.includes(kind)) {
    throw bad(`"${p}" is a ${kind} path, but ${allowed.join(' or ')} is needed here`, allowed.includes('dbfs') ? 'Use dbfs:/… (or /Volumes/<catalog>/<schema>/<volume>/…).' : 'Use a path of the kind the location names.');
  }
  if (kind === 'dbfs') {
    const api = clean(p.startsWith('dbfs:') ? p.slice('dbfs:'.length) : p.slice('/dbfs'.length) || '/');
    if (!api.startsWith('/') || api.split('/').includes('..')) throw bad(`"${p}" is not an absolute DBFS path`, 'Use dbfs:/folder/….');
    return location(new DbfsStore(client), 'dbfs', api);
  }
  if (kind === 'volume') {
    const api = clean(p);
    if (!/^\/Volumes\/[^/]+\/[^/]+\/[^/]+(\/|$)/.test(api) || api.split('/').includes('..')) {
      throw bad(`"${p}" is not inside a volume`, 'Use /Volumes/<catalog>/<schema>/<volume>/….');
    }
    return location(new VolumeStore(client), 'volume', api);
  }
  if (!p.startsWith('/') || p.split('/').includes('..')) throw bad(`"${p}" is not an absolute workspace path`, 'Use /Workspace/Users/<you>/manymodels or /Shared/manymodels.');
  const api = clean(p === '/Workspace' ? '/' : p.replace(/^\/Workspace\//, '/'));
  return location(new WorkspaceFilesStore(client), 'workspace', api);
}
