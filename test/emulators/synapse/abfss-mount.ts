// The emulator's stand-in for ADLS Gen2 as a Spark pool sees it: `abfss://` URIs mapped to a local
// folder per batch (`<root>/<container>@<account>/<path>`), mirrored from Azurite and synced back.
import fs from 'node:fs';
import path from 'node:path';
import type { BlobServiceClient } from '@azure/storage-blob';

export interface AbfssLocation {
  readonly container: string;
  readonly account: string;
  /** Path inside the container, without a leading slash; '' for the container root. */
  readonly path: string;
}

// abfs:// is the non-TLS twin; Synapse takes both. Only the ADLS Gen2 (dfs) host form is mapped.
const ABFSS_URI = /^abfss?:\/\/([^@/]+)@([^./]+)\.dfs\.core\.windows\.net(?:\/(.*))?$/i;
const MOUNT_FOLDER = /^([a-z0-9](?:[a-z0-9-]*[a-z0-9])?)@([a-z0-9]+)$/;

/** Splits a container path into safe segments; undefined when a `.`/`..` segment would escape. */
function safeSegments(rest: string, decode: boolean): string[] | undefined {
  const segments: string[] = [];
  for (const raw of rest.split('/')) {
    if (raw === '') continue;
    let segment = raw;
    if (decode) {
      try {
        segment = decodeURIComponent(raw);
      } catch {
        // Not percent-encoded after all: keep it as written.
      }
    }
    // A `..` would let a job (or a blob name) escape its mount folder.
    if (segment === '.' || segment === '..' || segment.includes('/') || segment.includes('\\') || segment.includes('\0')) return undefined;
    segments.push(segment);
  }
  return segments;
}

/** Parses an abfss:// URI; undefined for other schemes and for paths with `.`/`..` segments. */
export function parseAbfss(uri: string): AbfssLocation | undefined {
  const m = ABFSS_URI.exec(uri.trim());
  if (!m) return undefined;
  const [, container = '', account = '', rest = ''] = m;
  const segments = safeSegments(rest, true);
  return segments ? { container: container.toLowerCase(), account: account.toLowerCase(), path: segments.join('/') } : undefined;
}

export const abfssUri = (loc: AbfssLocation): string =>
  `abfss://${loc.container}@${loc.account}.dfs.core.windows.net/${loc.path}`;

/** `<root>/<container>@<account>/<path>`: the emulator-only mapping a job process sees. */
export function localPathFor(root: string, loc: AbfssLocation): string {
  return path.join(root, `${loc.container}@${loc.account}`, ...loc.path.split('/').filter(Boolean));
}

const fingerprint = (st: fs.Stats): string => `${st.size}:${st.mtimeMs}`;

function* filesUnder(dir: string): Generator<string> {
  let entries: fs.Dirent[];
  try {
    entries = fs.readdirSync(dir, { withFileTypes: true });
  } catch {
    return;
  }
  for (const entry of entries) {
    const full = path.join(dir, entry.name);
    if (entry.isDirectory()) yield* filesUnder(full);
    else if (entry.isFile()) yield full;
  }
}

/** Runs `fn` over `items` with at most `limit` in flight (Azurite is fast; this keeps sockets few). */
async function eachLimited<T>(items: readonly T[], limit: number, fn: (item: T) => Promise<void>): Promise<void> {
  let next = 0;
  const worker = async (): Promise<void> => {
    while (next < items.length) {
      const item = items[next++] as T;
      await fn(item);
    }
  };
  await Promise.all(Array.from({ length: Math.min(limit, items.length) }, worker));
}

/**
 * One batch's view of ADLS. Every account name maps to the one blob service it was given
 * (Azurite has one account); the account stays in the folder name so paths look alike.
 */
export class AbfssMount {
  /** Local file -> fingerprint last mirrored or uploaded: what sync-back compares against. */
  private readonly known = new Map<string, string>();
  private syncing: Promise<unknown> = Promise.resolve();

  constructor(readonly root: string, private readonly service: BlobServiceClient) {
    fs.mkdirSync(root, { recursive: true });
  }

  localPathFor(uri: string): string | undefined {
    const loc = parseAbfss(uri);
    return loc ? localPathFor(this.root, loc) : undefined;
  }

  /** Downloads every blob of each named container that exists; returns how many files came down. */
  async mirror(containers: ReadonlyArray<{ container: string; account: string }>): Promise<number> {
    const unique = new Map(containers.map((c) => [`${c.container}@${c.account}`, c]));
    let count = 0;
    for (const [folder, { container }] of unique) {
      fs.mkdirSync(path.join(this.root, folder), { recursive: true });
      const client = this.service.getContainerClient(container);
      if (!(await client.exists())) continue;
      const names: string[] = [];
      for await (const blob of client.listBlobsFlat({ includeMetadata: true })) {
        // Directory placeholders (hierarchical-namespace style) are folders, not files.
        if (blob.name.endsWith('/') || blob.metadata?.hdi_isfolder === 'true') continue;
        names.push(blob.name);
      }
      await eachLimited(names, 8, async (name) => {
        const segments = safeSegments(name, false);
        if (!segments || segments.length === 0) return;
        const local = path.join(this.root, folder, ...segments);
        fs.mkdirSync(path.dirname(local), { recursive: true });
        await client.getBlobClient(name).downloadToFile(local);
        this.known.set(local, fingerprint(fs.statSync(local)));
        count++;
      });
    }
    return count;
  }

  /**
   * Uploads files that are new or changed since they were mirrored or last uploaded, under
   * every `<container>@<account>` folder (creating containers the job wrote into). Deletions
   * are not propagated. Calls are serialised, so a periodic sync never races the final one.
   */
  syncBack(): Promise<string[]> {
    const run = this.syncing.then(() => this.syncOnce());
    this.syncing = run.catch(() => undefined);
    return run;
  }

  private async syncOnce(): Promise<string[]> {
    const uploaded: string[] = [];
    for (const folder of fs.readdirSync(this.root)) {
      const m = MOUNT_FOLDER.exec(folder);
      if (!m) continue;
      const [, container = '', account = ''] = m;
      const changed: Array<{ file: string; print: string; blob: string }> = [];
      for (const file of filesUnder(path.join(this.root, folder))) {
        // A job may delete its temporary files while a periodic pass walks the tree.
        const st = fs.statSync(file, { throwIfNoEntry: false });
        if (!st) continue;
        const print = fingerprint(st);
        if (this.known.get(file) === print) continue;
        const blob = path.relative(path.join(this.root, folder), file).split(path.sep).join('/');
        changed.push({ file, print, blob });
      }
      if (changed.length === 0) continue;
      const client = this.service.getContainerClient(container);
      await client.createIfNotExists();
      await eachLimited(changed, 8, async ({ file, print, blob }) => {
        try {
          await client.getBlockBlobClient(blob).uploadFile(file);
        } catch (err) {
          if (!fs.existsSync(file)) return;
          throw err;
        }
        // The fingerprint taken before the upload: a write during the upload is caught next time.
        this.known.set(file, print);
        uploaded.push(abfssUri({ container, account, path: blob }));
      });
    }
    return uploaded.sort();
  }
}
