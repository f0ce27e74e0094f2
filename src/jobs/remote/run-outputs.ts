// Bringing a remote run's outputs home: tailing the NDJSON events file the job appends to
// beside its outputs (docs/contracts.md), and, once the run ends, copying the run manifest and
// the artifacts bundle into the local run folder, each artifact checked against the manifest's
// sha256. Engine-neutral: it sees the remote side only through a RemoteFileStore.
import { createHash } from 'node:crypto';
import { appendFileSync, existsSync, mkdirSync, readFileSync, renameSync, writeFileSync } from 'node:fs';
import path from 'node:path';
import { ManyModelsError, WorkFailedError } from '../../core/errors.js';
import { ExitCode } from '../../core/exit-codes.js';
import type { RuntimeEvent } from '../../contracts/runs.js';
import { readRunManifest } from '../run-manifest.js';
import { RUN_MANIFEST_FILE, type RunManifest } from '../../contracts/runs.js';
import { readWholeFile, type RemoteFileStore } from './remote-store.js';
import { readTar } from './tar-reader.js';

export const EVENTS_FILE = 'events.ndjson';
/** Written by the runtime with --bundle-artifacts: every ok group's artifact in one gzipped tar. */
export const ARTIFACTS_BUNDLE_FILE = 'artifacts.tar.gz';

/**
 * Follows a remote NDJSON file as it grows: each `poll` reads what was appended since the last
 * one, hands back the complete lines as events and keeps a partial last line for next time.
 * Every line is also appended to a local copy, so the run folder has the events the job sent.
 */
export class EventTail {
  private offset = 0;
  private partial = '';

  constructor(
    private readonly store: RemoteFileStore,
    private readonly remotePath: string,
    private readonly localCopy: string,
  ) {
    // Re-attaching: the local copy already holds what an earlier watcher read.
    if (existsSync(localCopy)) this.offset = readFileSync(localCopy).length;
  }

  async poll(signal?: AbortSignal): Promise<RuntimeEvent[]> {
    const chunks: Buffer[] = [];
    for (;;) {
      const chunk = await this.store.read(this.remotePath, this.offset, this.store.maxRead, signal);
      if (chunk.length === 0) break;
      chunks.push(chunk);
      this.offset += chunk.length;
      if (chunk.length < this.store.maxRead) break;
    }
    if (chunks.length === 0) return [];
    const bytes = Buffer.concat(chunks);
    appendFileSync(this.localCopy, bytes);
    const text = this.partial + bytes.toString('utf8');
    const lines = text.split('\n');
    this.partial = lines.pop() ?? '';
    const events: RuntimeEvent[] = [];
    for (const line of lines) {
      if (!line.trim()) continue;
      try {
        events.push(JSON.parse(line) as RuntimeEvent);
      } catch {
        // Not an event (a torn write is completed by the next poll; anything else is ignored).
      }
    }
    return events;
  }
}

function sha256(bytes: Buffer): string {
  return createHash('sha256').update(bytes).digest('hex');
}

function writeAtomic(file: string, bytes: Buffer): void {
  mkdirSync(path.dirname(file), { recursive: true });
  const tmp = `${file}.${process.pid}.tmp`;
  writeFileSync(tmp, bytes);
  renameSync(tmp, file);
}

export interface CollectedOutputs {
  manifest?: RunManifest;
  /** Artifacts written into the run folder (already present and matching ones are not counted). */
  artifacts: number;
}

/**
 * Copies the run manifest and, for training, the artifacts of its ok groups into `runDir`.
 * No manifest (the job stopped before writing one) is not an error: the caller decides.
 */
export async function collectRunOutputs(options: {
  store: RemoteFileStore;
  /** API path of the job's output folder. */
  remoteDir: string;
  runDir: string;
  stage: 'train' | 'score';
  signal?: AbortSignal;
}): Promise<CollectedOutputs> {
  const { store, remoteDir, runDir, signal } = options;
  const join = (name: string): string => `${remoteDir.replace(/\/+$/, '')}/${name}`;
  const manifestBytes = await readWholeFile(store, join(RUN_MANIFEST_FILE), signal);
  if (!manifestBytes) return { artifacts: 0 };
  writeAtomic(path.join(runDir, RUN_MANIFEST_FILE), manifestBytes);
  let manifest: RunManifest | undefined;
  try {
    manifest = readRunManifest(runDir);
  } catch (err) {
    throw new WorkFailedError(`the run manifest the job wrote is not usable: ${(err as Error).message}`, { code: 'MM502', cause: err });
  }
  if (!manifest || options.stage !== 'train') return manifest ? { manifest, artifacts: 0 } : { artifacts: 0 };

  const wanted = manifest.groups.filter((g) => g.status === 'ok' && g.artifact && g.sha256);
  const missing = wanted.filter((g) => {
    const local = path.join(runDir, g.artifact!);
    return !existsSync(local) || sha256(readFileSync(local)) !== g.sha256;
  });
  if (missing.length === 0) return { manifest, artifacts: 0 };
  const bundle = await readWholeFile(store, join(ARTIFACTS_BUNDLE_FILE), signal);
  if (!bundle) {
    throw new WorkFailedError(`the job wrote no ${ARTIFACTS_BUNDLE_FILE} beside its run manifest, so its ${missing.length} models cannot be registered`, {
      code: 'MM502',
      nextSteps: ['The job was started with a runtime that does not bundle artifacts; rerun it with this CLI.'],
    });
  }
  const files = new Map(readTar(bundle).map((f) => [path.posix.normalize(f.name), f.data]));
  let written = 0;
  for (const g of missing) {
    const data = files.get(path.posix.normalize(g.artifact!));
    if (!data) {
      throw new WorkFailedError(`${ARTIFACTS_BUNDLE_FILE} lacks ${g.artifact} (group ${g.modelName})`, { code: 'MM502' });
    }
    if (sha256(data) !== g.sha256) {
      // Bytes that are not the ones the job hashed are never kept (custom and legacy artifacts are pickles).
      throw new ManyModelsError(`artifact ${g.artifact} in ${ARTIFACTS_BUNDLE_FILE} does not hash to the sha256 the run manifest records; refusing it`, ExitCode.WorkFailed, {
        code: 'MM508',
        nextSteps: ['Run the training again; if it repeats, check what else writes to the run output folder.'],
      });
    }
    writeAtomic(path.join(runDir, g.artifact!), data);
    written++;
  }
  return { manifest, artifacts: written };
}
