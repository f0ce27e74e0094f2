// The Azure ML model registry: artifacts in blob storage, a model per group (per_group) or a
// model-set version per run (model_set), and a registry index that resolves every group at once.

// Write order of a registration (each step is safe to repeat, and a crash between two steps
// leaves readers on the previous index):
//   1. artifacts, content-addressed (skipped when the blob already holds that sha256);
//   2. per_group: one version per group, named by the training run id (journaled locally);
//   3. the index manifest (blob, content-addressed);
//   4. the index version: the commit record of the registration;
//   5. the pointer tags on the index container, last: what readers follow.
import { existsSync, mkdirSync } from 'node:fs';
import { rename, rm } from 'node:fs/promises';
import { createHash, randomBytes } from 'node:crypto';
import path from 'node:path';
import {
  type AzureMlClient,
  type BlobArtifactStore,
  type ModelContainerResource,
  type ModelScope,
  type ModelVersionResource,
  scopePath,
  sha256OfFile,
} from '../../clients/azureml/index.js';
import { RemoteError, WorkFailedError } from '../../core/errors.js';
import type { ModelRegistry, ModelVersion, NewModelVersion, RegisterOptions, RegisterProgress, VersionFilter } from '../model-registry.js';
import { TAG } from '../model-registry.js';
import { forEachBounded } from './bounded-pool.js';
import { RegistrationJournal } from './registration-journal.js';
import {
  AML,
  type Granularity,
  INDEX_FORMAT,
  type RegistryIndex,
  artifactBlobName,
  derivedBatchId,
  entriesKey,
  indexAssetName,
  indexBlobName,
  indexKind,
  mergeMembers,
  parseIndex,
  serializeIndex,
} from './registry-index.js';
import { MODEL_TYPE, memberFor, memberFromResource, versionInput } from './version-mapping.js';

export interface AzureMlRegistryOptions {
  client: AzureMlClient;
  scope: ModelScope;
  granularity: Granularity;
  artifacts: BlobArtifactStore;
  /** ARM writes in flight (per_group version PUTs). Default 8. */
  concurrency?: number;
  /** Blob uploads and downloads in flight. Default 16. */
  transferConcurrency?: number;
  /** Where registrations in progress are journaled; without it a stopped one rewrites its versions. */
  journalDir?: string;
  now?: () => Date;
}

export interface AzureMlRegistryStats {
  /** Group version PUTs this registry sent (the HTTP layer's retries not counted). */
  versionWrites: number;
  /** Group versions not written because the journal or the index already had them. */
  versionsSkipped: number;
  uploads: number;
  uploadsSkipped: number;
  downloads: number;
  cacheHits: number;
}

interface Pointer {
  version: string;
  sha256: string;
  uri: string;
}

/** Model names come from the runtime; checked again because they become URL segments. */
const SAFE_NAME = /^[A-Za-z0-9][A-Za-z0-9_-]{0,254}$/;
const SAFE_VERSION = /^[A-Za-z0-9][A-Za-z0-9._:-]{0,127}$/;
const SHA256 = /^[0-9a-f]{64}$/;
/** Run tags on one index version; a promotion spans a handful of runs (a run and what it resumed). */
const MAX_RUN_TAGS = 32;

const sha256Hex = (data: Buffer): string => createHash('sha256').update(data).digest('hex');
const unsettled = (r: ModelVersionResource): boolean => r.properties.provisioningState === 'Creating' || r.properties.provisioningState === 'Updating';

function integrityError(message: string): WorkFailedError {
  return new WorkFailedError(message, {
    code: 'MM508',
    nextSteps: ['The stored bytes are not what was registered: re-register the model (train again) or restore the blob; it is never loaded as it is.'],
  });
}

export class AzureMlRegistry implements ModelRegistry {
  readonly description: string;
  readonly stats: AzureMlRegistryStats = { versionWrites: 0, versionsSkipped: 0, uploads: 0, uploadsSkipped: 0, downloads: 0, cacheHits: 0 };
  private readonly options: AzureMlRegistryOptions;
  /** Index files by sha256: immutable, so a promotion reads each at most once. */
  private readonly indexCache = new Map<string, RegistryIndex>();

  constructor(options: AzureMlRegistryOptions) {
    this.options = options;
    const s = options.scope;
    this.description = `Azure ML ${s.kind === 'workspace' ? `workspace ${s.workspace}` : `registry ${s.registry}`} (${options.granularity})`;
  }

  private get client(): AzureMlClient {
    return this.options.client;
  }

  private get scope(): ModelScope {
    return this.options.scope;
  }

  private get granularity(): Granularity {
    return this.options.granularity;
  }

  /**
   * Version PUTs in flight. In a registry every write is a long-running operation whose first
   * status poll comes after Retry-After (10 s or more), so slots spend their time waiting, not
   * writing; more of them keep the write quota busy. The pacer still bounds the write rate.
   */
  private writeSlots(): number {
    const base = this.options.concurrency ?? 8;
    return this.scope.kind === 'registry' ? Math.min(256, base * 16) : base;
  }

  private get transferSlots(): number {
    return this.options.transferConcurrency ?? 16;
  }

  private journalDir(pipeline: string): string | undefined {
    if (!this.options.journalDir) return undefined;
    const scopeKey = createHash('sha256').update(`${scopePath(this.scope)}|${this.granularity}`).digest('hex').slice(0, 16);
    return path.join(this.options.journalDir, scopeKey, pipeline);
  }

  // ---- registration ----

  async registerVersions(entries: NewModelVersion[], onProgress?: (p: RegisterProgress) => void, options: RegisterOptions = {}): Promise<ModelVersion[]> {
    const byPipeline = new Map<string, number[]>();
    entries.forEach((e, i) => {
      if (!SAFE_NAME.test(e.name)) throw new Error(`unsafe model name from the runtime: ${JSON.stringify(e.name)}`);
      if (!SAFE_VERSION.test(e.runId)) throw new Error(`run id cannot be a model version: ${JSON.stringify(e.runId)}`);
      if (!SHA256.test(e.sha256)) throw new Error(`artifact sha256 of ${e.name} is not a hex digest: ${JSON.stringify(e.sha256)}`);
      byPipeline.set(e.pipeline, [...(byPipeline.get(e.pipeline) ?? []), i]);
    });
    const out: ModelVersion[] = new Array<ModelVersion>(entries.length);
    let done = 0;
    const tick = (): void => {
      done++;
      onProgress?.({ done, total: entries.length });
    };
    for (const [pipeline, indices] of byPipeline) {
      const members = await this.registerPipeline(pipeline, indices.map((i) => entries[i]!), tick, options);
      indices.forEach((i, k) => {
        out[i] = members[k]!;
      });
    }
    return out;
  }

  private async registerPipeline(pipeline: string, entries: NewModelVersion[], tick: () => void, options: RegisterOptions): Promise<ModelVersion[]> {
    const { signal } = options;
    const indexName = indexAssetName(pipeline, this.granularity);
    const container = await this.client.getModelContainer(this.scope, indexName, signal);
    const pointer = readPointer(container);
    const key = entriesKey(pipeline, entries);
    const base = options.batchId ?? derivedBatchId(pipeline, pointer?.version ?? null, entries);
    if (!SAFE_VERSION.test(base)) throw new Error(`batch id cannot be a model version: ${JSON.stringify(base)}`);

    // A registration of the same name may have completed before (a rerun), or stopped between
    // its index version and its pointer. The second name covers a run registered again with
    // other content: one version name must always mean one index file.
    let batchId: string | undefined;
    for (const candidate of [base, `${base}.${key.slice(0, 8)}`]) {
      let existing = await this.client.getModelVersion(this.scope, indexName, candidate, signal);
      if (existing && unsettled(existing)) existing = await this.client.waitForModelVersion(this.scope, indexName, candidate, signal);
      if (!existing) {
        batchId = candidate;
        break;
      }
      const index = await this.readIndexVersion(existing, signal);
      const byName = new Map(index.members.map((m) => [m.name, m]));
      const found = entries.map((e) => byName.get(e.name)).filter((m, i): m is ModelVersion => m?.runId === entries[i]!.runId && m.sha256 === entries[i]!.sha256);
      if (found.length === entries.length) {
        // Stopped after the index, before the pointer: finish the pointer. If the pointer has
        // moved on to a later index since, it stays there.
        if (pointer?.version !== candidate && (pointer?.version ?? null) === index.previousBatch) {
          await this.movePointer(container, indexName, pipeline, { version: candidate, sha256: indexSha(existing), uri: existing.properties.modelUri ?? '' }, signal);
        }
        this.stats.versionsSkipped += this.granularity === 'per_group' ? found.length : 0;
        for (let i = 0; i < found.length; i++) tick();
        return found;
      }
    }
    if (!batchId) throw new Error(`index versions ${base} and ${base}.${key.slice(0, 8)} of ${indexName} both exist with other content`);

    const previous = pointer ? await this.readIndexAt(pointer.uri, pointer.sha256, signal) : undefined;
    const known = new Map((previous?.members ?? []).map((m) => [m.name, m]));
    const current = entries.map((e) => known.get(e.name)).filter((m, i): m is ModelVersion => m?.runId === entries[i]!.runId && m.sha256 === entries[i]!.sha256);
    if (current.length === entries.length) {
      // Every entry is already the group's current version (e.g. the same winners promoted
      // again): a new index would say the same thing, so nothing is written.
      this.stats.versionsSkipped += this.granularity === 'per_group' ? current.length : 0;
      for (let i = 0; i < current.length; i++) tick();
      return current;
    }
    const journal = RegistrationJournal.open(this.journalDir(pipeline), key);
    const createdAt = (this.options.now ?? (() => new Date()))().toISOString();
    const members: ModelVersion[] = new Array<ModelVersion>(entries.length);
    const perGroup = this.granularity === 'per_group';

    await forEachBounded(
      entries,
      perGroup ? this.writeSlots() : this.transferSlots,
      async (entry, i) => {
        const already = known.get(entry.name);
        if (already && already.runId === entry.runId && already.sha256 === entry.sha256) {
          members[i] = already;
          if (perGroup) this.stats.versionsSkipped++;
          tick();
          return;
        }
        const member = memberFor(entry, await this.storeArtifact(pipeline, entry, signal), createdAt);
        if (perGroup) {
          if (journal.has(member.name, member.version)) this.stats.versionsSkipped++;
          else {
            await this.putGroupVersion(member, signal);
            journal.record(member.name, member.version);
          }
        }
        members[i] = member;
        tick();
      },
      signal,
    );

    const index: RegistryIndex = {
      format: INDEX_FORMAT,
      pipeline,
      granularity: this.granularity,
      batch: batchId,
      previousBatch: pointer?.version ?? null,
      createdAt,
      members: mergeMembers(previous?.members ?? [], members),
    };
    const data = serializeIndex(index);
    const sha256 = sha256Hex(data);
    const blob = await this.options.artifacts.put({ blobName: indexBlobName(pipeline, sha256), data, sha256, signal });
    const written = await this.client.createOrUpdateModelVersion(this.scope, indexName, batchId, this.indexVersionInput(index, entries, blob.blobUrl, sha256), signal);
    if (unsettled(written) && !(await this.client.waitForModelVersion(this.scope, indexName, batchId, signal))) {
      throw new RemoteError(`index version ${indexName}:${batchId} was not created in ${this.description}`, { code: 'MM605' });
    }
    // Last, the pointer: until it moves, every reader keeps the previous index.
    await this.movePointer(container, indexName, pipeline, { version: batchId, sha256, uri: blob.blobUrl }, signal);
    journal.finish();
    this.indexCache.set(sha256, index);
    return members;
  }

  /** Uploads a group's artifact once its bytes are checked against the sha256 the run recorded. */
  private async storeArtifact(pipeline: string, entry: NewModelVersion, signal: AbortSignal | undefined): Promise<string> {
    const actual = await sha256OfFile(entry.artifactPath);
    if (actual !== entry.sha256) {
      throw integrityError(`artifact ${entry.artifactPath} of ${entry.name} has sha256 ${actual}, but the run recorded ${entry.sha256}; refusing to register it`);
    }
    const put = await this.options.artifacts.put({ blobName: artifactBlobName(pipeline, entry.sha256), filePath: entry.artifactPath, sha256: entry.sha256, signal });
    if (put.uploaded) this.stats.uploads++;
    else this.stats.uploadsSkipped++;
    return put.blobUrl;
  }

  private async putGroupVersion(member: ModelVersion, signal: AbortSignal | undefined): Promise<void> {
    this.stats.versionWrites++;
    const res = await this.client.createOrUpdateModelVersion(this.scope, member.name, member.version, versionInput(member), signal);
    // A resend after a lost reply answers 200 while the first PUT's operation still runs.
    if (unsettled(res) && !(await this.client.waitForModelVersion(this.scope, member.name, member.version, signal))) {
      throw new RemoteError(`model version ${member.name}:${member.version} was not created in ${this.description}`, { code: 'MM605' });
    }
  }

  private indexVersionInput(index: RegistryIndex, entries: NewModelVersion[], uri: string, sha256: string): Parameters<AzureMlClient['createOrUpdateModelVersion']>[3] {
    const tags: Record<string, string> = { [AML.kind]: indexKind(this.granularity), [AML.pipeline]: index.pipeline, [TAG.pipeline]: index.pipeline };
    // Attributes every entry shares become tags too, so a model set reads like a model in the studio.
    const common = (pick: (e: NewModelVersion) => string): string | undefined => {
      const values = new Set(entries.map(pick));
      return values.size === 1 ? [...values][0] : undefined;
    };
    for (const [tag, value] of [
      [TAG.project, common((e) => e.project)],
      [TAG.modelType, common((e) => e.modelType)],
      [TAG.runId, common((e) => e.runId)],
      [TAG.dataFingerprint, common((e) => e.dataFingerprint)],
    ] as const) {
      // An empty fingerprint (the job could not stat its input) is no tag at all.
      if (value) tags[tag] = value;
    }
    for (const run of [...new Set(entries.map((e) => e.runId))].slice(0, MAX_RUN_TAGS)) tags[AML.run(run)] = '1';
    return {
      description: `manymodels ${indexKind(this.granularity)} of pipeline ${index.pipeline}: ${index.members.length} groups, ${entries.length} registered in this version`,
      tags,
      properties: { [AML.sha256]: sha256, [AML.members]: String(index.members.length), [AML.previousBatch]: index.previousBatch ?? '' },
      modelType: MODEL_TYPE,
      modelUri: uri,
      isAnonymous: false,
      isArchived: false,
    };
  }

  /** One container PUT carrying the pointer and our other tags (the container read at the start). */
  private async movePointer(container: ModelContainerResource | undefined, indexName: string, pipeline: string, pointer: Pointer, signal: AbortSignal | undefined): Promise<void> {
    const tags: Record<string, string | null> = {
      ...(container?.properties.tags ?? {}),
      [AML.kind]: indexKind(this.granularity),
      [AML.pipeline]: pipeline,
      [`${AML.pointerPrefix}version`]: pointer.version,
      [`${AML.pointerPrefix}sha256`]: pointer.sha256,
      [`${AML.pointerPrefix}uri`]: pointer.uri,
    };
    await this.client.createOrUpdateModelContainer(
      this.scope,
      indexName,
      {
        description: container?.properties.description ?? `manymodels ${indexKind(this.granularity)} of pipeline ${pipeline}`,
        properties: container?.properties.properties ?? null,
        isArchived: false,
        tags,
      },
      signal,
    );
  }

  // ---- reading the index ----

  private async readIndexAt(uri: string, sha256: string, signal?: AbortSignal): Promise<RegistryIndex> {
    const cached = this.indexCache.get(sha256);
    if (cached) return cached;
    if (!this.options.artifacts.owns(uri)) throw integrityError(`registry index ${uri} is outside the registry's storage container; refusing to read it`);
    const data = await this.options.artifacts.downloadBuffer(uri, signal);
    const actual = sha256Hex(data);
    if (actual !== sha256) throw integrityError(`registry index ${uri} has sha256 ${actual}, but Azure ML recorded ${sha256}; refusing to use it`);
    const index = parseIndex(data, uri);
    this.indexCache.set(sha256, index);
    return index;
  }

  private readIndexVersion(resource: ModelVersionResource, signal?: AbortSignal): Promise<RegistryIndex> {
    return this.readIndexAt(resource.properties.modelUri ?? '', indexSha(resource), signal);
  }

  private async currentIndex(pipeline: string, signal?: AbortSignal): Promise<RegistryIndex | undefined> {
    const container = await this.client.getModelContainer(this.scope, indexAssetName(pipeline, this.granularity), signal);
    const pointer = readPointer(container);
    return pointer ? this.readIndexAt(pointer.uri, pointer.sha256, signal) : undefined;
  }

  /**
   * Members registered by these runs: one filtered list call per run (index versions carry a
   * presence tag per run), then the index files they name.
   */
  private async membersOfRuns(pipeline: string, runIds: string[], signal?: AbortSignal): Promise<ModelVersion[]> {
    const indexName = indexAssetName(pipeline, this.granularity);
    const wanted = new Set(runIds);
    const found = new Map<string, ModelVersion>();
    for (const runId of runIds) {
      for (const v of await this.listOrEmpty(indexName, { [AML.run(runId)]: true }, signal)) {
        if (unsettled(v)) continue;
        for (const m of (await this.readIndexVersion(v, signal)).members) if (wanted.has(m.runId)) found.set(`${m.name}\0${m.version}`, m);
      }
    }
    return [...found.values()];
  }

  /** Versions of a model; a model that does not exist has none (whether the service says 404 or []). */
  private async listOrEmpty(model: string, tags: Record<string, string | true> | undefined, signal?: AbortSignal, orderBy?: string): Promise<ModelVersionResource[]> {
    const out: ModelVersionResource[] = [];
    try {
      const options: Parameters<AzureMlClient['listModelVersions']>[2] = { signal };
      if (tags) options.tags = tags;
      if (orderBy) options.orderBy = orderBy;
      for await (const v of this.client.listModelVersions(this.scope, model, options)) out.push(v);
    } catch (err) {
      if (err instanceof RemoteError && err.status === 404) return [];
      throw err;
    }
    return out;
  }

  /** Pipelines with an index here: one paged container listing (only when no pipeline is named). */
  private async pipelines(signal?: AbortSignal): Promise<string[]> {
    const out: string[] = [];
    for await (const c of this.client.listModelContainers(this.scope, { signal })) {
      const tags = c.properties.tags ?? {};
      const pipeline = tags[AML.pipeline];
      if (tags[AML.kind] === indexKind(this.granularity) && pipeline) out.push(pipeline);
    }
    return out;
  }

  /** Every group's newest version: one GET of the index container and one index download. */
  async latestByGroup(pipeline: string): Promise<Map<string, ModelVersion>> {
    const index = await this.currentIndex(pipeline);
    return new Map((index?.members ?? []).map((m) => [m.groupId, m]));
  }

  async listVersions(filter: VersionFilter): Promise<ModelVersion[]> {
    let members: ModelVersion[] = [];
    if (filter.name && this.granularity === 'per_group') {
      // One model's history, from Azure ML itself.
      const name = filter.name;
      members = (await this.listOrEmpty(name, undefined)).map((v) => memberFromResource(name, v)).filter((m): m is ModelVersion => m !== undefined);
    } else {
      for (const pipeline of filter.pipeline ? [filter.pipeline] : await this.pipelines()) {
        if (filter.runIds?.length) members.push(...(await this.membersOfRuns(pipeline, filter.runIds)));
        else members.push(...((await this.currentIndex(pipeline))?.members ?? []));
      }
    }
    const runIds = filter.runIds?.length ? new Set(filter.runIds) : undefined;
    const selected = members.filter(
      (m) =>
        (!filter.pipeline || m.pipeline === filter.pipeline) &&
        (!filter.name || m.name === filter.name) &&
        (!runIds || runIds.has(m.runId)) &&
        Object.entries(filter.tags ?? {}).every(([k, v]) => m.tags[k] === v),
    );
    selected.sort((a, b) => (a.name < b.name ? -1 : a.name > b.name ? 1 : a.version < b.version ? 1 : a.version > b.version ? -1 : 0));
    return filter.limit ? selected.slice(0, filter.limit) : selected;
  }

  async getVersion(name: string, version?: string): Promise<ModelVersion | undefined> {
    if (this.granularity === 'per_group') {
      if (!SAFE_NAME.test(name)) return undefined;
      if (version !== undefined) {
        const res = await this.client.getModelVersion(this.scope, name, version);
        return res ? memberFromResource(name, res) : undefined;
      }
      const [newest] = await this.listOrEmpty(name, undefined, undefined, 'createdtime desc');
      return newest ? memberFromResource(name, newest) : undefined;
    }
    for (const pipeline of await this.pipelines()) {
      const current = (await this.currentIndex(pipeline))?.members.find((m) => m.name === name);
      if (current && (version === undefined || current.version === version)) return current;
      if (version !== undefined) {
        const older = (await this.membersOfRuns(pipeline, [version])).find((m) => m.name === name && m.version === version);
        if (older) return older;
      }
    }
    return undefined;
  }

  // ---- artifacts for a job ----

  /**
   * Downloads each artifact into `cacheDir` (named by sha256, so a cached file is reused after
   * it hashes right) and returns the paths. A file whose bytes do not hash to the recorded
   * sha256 is deleted and refused: custom and legacy (format 1) artifacts are pickles, loading one runs code.
   */
  async localArtifacts(versions: ModelVersion[], cacheDir: string, onProgress?: (p: RegisterProgress) => void): Promise<Map<string, string>> {
    mkdirSync(cacheDir, { recursive: true });
    const out = new Map<string, string>();
    let done = 0;
    await forEachBounded(versions, this.transferSlots, async (v) => {
      if (!SHA256.test(v.sha256)) throw integrityError(`${v.name}:${v.version} has no valid sha256 in the registry; refusing to load it`);
      const dest = path.join(cacheDir, `${v.sha256}.pkl`);
      if (existsSync(dest) && (await sha256OfFile(dest)) === v.sha256) {
        this.stats.cacheHits++;
      } else {
        if (!this.options.artifacts.owns(v.artifactUri)) {
          throw integrityError(`${v.name}:${v.version} points at ${v.artifactUri}, outside the registry's storage container; refusing to fetch it`);
        }
        const tmp = `${dest}.unverified-${randomBytes(4).toString('hex')}`;
        const got = await this.options.artifacts.downloadToFile(v.artifactUri, tmp);
        this.stats.downloads++;
        if (got.sha256 !== v.sha256) {
          await rm(tmp, { force: true });
          throw integrityError(`artifact of ${v.name}:${v.version} (${v.artifactUri}) has sha256 ${got.sha256}, but the registry recorded ${v.sha256}; refusing to use it`);
        }
        await rename(tmp, dest);
      }
      out.set(v.name, dest);
      onProgress?.({ done: ++done, total: versions.length });
    });
    return out;
  }

  async close(): Promise<void> {
    // Nothing held open: HTTP keep-alive sockets do not keep the process alive.
  }
}

function readPointer(container: ModelContainerResource | undefined): Pointer | undefined {
  const tags = container?.properties.tags ?? {};
  const version = tags[`${AML.pointerPrefix}version`];
  const sha256 = tags[`${AML.pointerPrefix}sha256`];
  const uri = tags[`${AML.pointerPrefix}uri`];
  return version && sha256 && uri ? { version, sha256, uri } : undefined;
}

function indexSha(resource: ModelVersionResource): string {
  return resource.properties.properties?.[AML.sha256] ?? '';
}
