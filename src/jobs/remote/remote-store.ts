// What the engine-neutral remote-run code needs from a remote file system (DBFS, a Unity
// Catalog volume, workspace files, ADLS Gen2): list, stat, upload, ranged read. Paths are the
// store's own API paths; a RemoteLocation turns them into what a cluster sees.

export interface RemoteFileStore {
  /** Human name for messages, e.g. "DBFS". */
  readonly kind: string;
  /** File name → size of the files directly in a folder, or `undefined` when listing is not
   *  possible there (then `stat` is asked per file). An absent folder is an empty map. */
  list(dir: string, signal?: AbortSignal): Promise<Map<string, number> | undefined>;
  /** Size of a file, `undefined` when it does not exist. */
  stat(path: string, signal?: AbortSignal): Promise<number | undefined>;
  /** Writes a whole file, replacing any file there. Creates missing folders. */
  upload(path: string, bytes: Buffer, signal?: AbortSignal): Promise<void>;
  /** Bytes from `offset` (at most `max` when given); empty at or past the end. */
  read(path: string, offset: number, max?: number, signal?: AbortSignal): Promise<Buffer>;
  /** Largest useful read, so callers can tell a short read (end of file) from a full one. */
  readonly maxRead: number;
}

/**
 * A folder on a remote store, seen three ways: the API path the store takes, the path a
 * process on the cluster opens (a FUSE mount), and the URI Spark and the runtime read.
 */
export interface RemoteLocation {
  readonly store: RemoteFileStore;
  /** API path of `rel` under this folder. */
  apiPath(rel?: string): string;
  /** Path a Python process on the cluster opens (e.g. /dbfs/x, /Volumes/…, /Workspace/…). */
  clusterPath(rel?: string): string;
  /** URI for job settings and manifests (e.g. dbfs:/x); a cluster path where there is no scheme. */
  uri(rel?: string): string;
  /** The same location one folder down. */
  child(rel: string): RemoteLocation;
}

/** Reads a whole remote file, chunk by chunk. `undefined` when it does not exist. */
export async function readWholeFile(store: RemoteFileStore, path: string, signal?: AbortSignal): Promise<Buffer | undefined> {
  const size = await store.stat(path, signal);
  if (size === undefined) return undefined;
  const parts: Buffer[] = [];
  let offset = 0;
  while (offset < size) {
    const chunk = await store.read(path, offset, Math.min(store.maxRead, size - offset), signal);
    if (chunk.length === 0) break;
    parts.push(chunk);
    offset += chunk.length;
  }
  return Buffer.concat(parts);
}
