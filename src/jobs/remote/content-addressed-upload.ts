// Content-addressed uploads: every file a remote run needs is stored under a name that holds its
// sha256, so a file already there (same name, same size) is never sent again — across runs,
// pipelines and machines. One listing of the folder decides, not one request per file.
import { createHash } from 'node:crypto';
import { createReadStream } from 'node:fs';
import { readFile, stat } from 'node:fs/promises';
import path from 'node:path';
import { ManyModelsError, RemoteError } from '../../core/errors.js';
import { ExitCode } from '../../core/exit-codes.js';
import type { RemoteLocation } from './remote-store.js';

export interface UploadItem {
  /** The file's name in the content-addressed folder: `<sha256>-<name>` (see casName). */
  readonly remoteName: string;
  readonly sha256: string;
  readonly size: number;
  /** The bytes, read only if the file has to be sent. */
  load(): Promise<Buffer>;
}

export interface UploadPlan {
  upload: UploadItem[];
  present: UploadItem[];
}

/** `<sha256>-<name>`, the name reduced to characters every store accepts. */
export function casName(sha256: string, name: string): string {
  return `${sha256}-${name.replace(/[^A-Za-z0-9._-]/g, '_')}`;
}

export function sha256Of(bytes: Buffer): string {
  return createHash('sha256').update(bytes).digest('hex');
}

export async function sha256OfFile(file: string): Promise<string> {
  const hash = createHash('sha256');
  for await (const chunk of createReadStream(file)) hash.update(chunk as Buffer);
  return hash.digest('hex');
}

export function itemFromBytes(name: string, bytes: Buffer): UploadItem {
  const sha256 = sha256Of(bytes);
  return { remoteName: casName(sha256, name), sha256, size: bytes.length, load: async () => bytes };
}

/** A local file, hashed now (streamed), read again only if it must be sent. */
export async function itemFromFile(file: string, name = path.basename(file), knownSha256?: string): Promise<UploadItem> {
  const [info, sha256] = await Promise.all([stat(file), knownSha256 ? Promise.resolve(knownSha256) : sha256OfFile(file)]);
  return { remoteName: casName(sha256, name), sha256, size: info.size, load: () => readFile(file) };
}

/** Pure: which items are missing from a folder holding `existing` (name → size). Duplicates are planned once. */
export function planUploads(items: readonly UploadItem[], existing: ReadonlyMap<string, number>): UploadPlan {
  const seen = new Set<string>();
  const plan: UploadPlan = { upload: [], present: [] };
  for (const item of items) {
    if (seen.has(item.remoteName)) continue;
    seen.add(item.remoteName);
    // A file of another size under a content address is a torn upload: send it again.
    (existing.get(item.remoteName) === item.size ? plan.present : plan.upload).push(item);
  }
  return plan;
}

export interface UploadResult {
  uploaded: number;
  skipped: number;
  bytes: number;
}

/**
 * Uploads the items missing from `folder`, a few at a time, and checks each one's size
 * afterwards (an upload that was cut short must not be trusted under its content address).
 */
export async function uploadContentAddressed(
  folder: RemoteLocation,
  items: readonly UploadItem[],
  options: { signal?: AbortSignal; concurrency?: number; onProgress?: (done: number, total: number) => void } = {},
): Promise<UploadResult> {
  const { store } = folder;
  let existing = await store.list(folder.apiPath(), options.signal);
  if (!existing) {
    // This store cannot list: ask about each file instead.
    existing = new Map();
    for (const item of items) {
      const size = await store.stat(folder.apiPath(item.remoteName), options.signal);
      if (size !== undefined) existing.set(item.remoteName, size);
    }
  }
  const plan = planUploads(items, existing);
  let next = 0;
  let done = 0;
  let bytes = 0;
  const worker = async (): Promise<void> => {
    while (next < plan.upload.length) {
      const item = plan.upload[next++]!;
      const target = folder.apiPath(item.remoteName);
      const data = await item.load();
      if (data.length !== item.size || sha256Of(data) !== item.sha256) {
        // Stored under a content address it does not match, it would be trusted by every later run.
        throw new ManyModelsError(`${item.remoteName}: the local file does not hash to ${item.sha256} (it changed, or its record is wrong); not uploading it`, ExitCode.WorkFailed, {
          code: 'MM508',
          nextSteps: ['Run again; if a model artifact is named, re-register it (train again) or restore its file.'],
        });
      }
      await store.upload(target, data, options.signal);
      const size = await store.stat(target, options.signal);
      if (size !== item.size) {
        throw new RemoteError(`${store.kind} holds ${size ?? 'no'} bytes at ${target} after uploading ${item.size}`, {
          code: 'MM608',
          nextSteps: ['Run again: the file is sent again when its size is wrong.'],
        });
      }
      bytes += item.size;
      options.onProgress?.(++done, plan.upload.length);
    }
  };
  const lanes = Math.max(1, Math.min(options.concurrency ?? 4, plan.upload.length));
  await Promise.all(Array.from({ length: lanes }, worker));
  return { uploaded: plan.upload.length, skipped: plan.present.length, bytes };
}
