// Typed Azure ML client for model containers/versions in workspaces and registries
// (ARM, api-version 2024-04-01): CRUD, filtered paging, registry LROs, publish, pending uploads.
import { randomUUID } from 'node:crypto';
import { RemoteError } from '../../core/errors.js';
import { type FinalStateVia, type LroProgress, waitForArmOperation } from '../arm-lro.js';
import {
  type HttpClient,
  type HttpClientOptions,
  type HttpResponse,
  RemoteErrorCode,
  RemoteHttpError,
  type TokenProvider,
  createHttpClient,
  isRecord,
} from '../http.js';
import { Secret } from '../secret.js';
import { type TagFilter, formatTagFilter, matchesTagFilter } from './tag-filter.js';
import {
  ARM_ENDPOINT,
  AZURE_ML_API_VERSION,
  type ListViewType,
  type ModelContainerInput,
  type ModelContainerResource,
  type ModelScope,
  type ModelVersionInput,
  type ModelVersionResource,
  type RegistryScope,
  type StringMap,
  type WorkspaceScope,
  parseModelContainer,
  parseModelVersion,
  parsePage,
} from './types.js';

export interface AzureMlClientOptions {
  tokenProvider: TokenProvider;
  /** ARM endpoint; the emulator's URL in tests. */
  baseUrl?: string;
  /** Retry policy, sleep/random injection and retry/throttle hooks for the HTTP layer. */
  http?: Omit<HttpClientOptions, 'service' | 'baseUrl' | 'tokenProvider'>;
  /** Used when an LRO reply has no Retry-After. */
  lroPollIntervalMs?: number;
  lroTimeoutMs?: number;
  now?: () => number;
  onLroProgress?: (operation: string, progress: LroProgress) => void;
}

export interface ListVersionsOptions {
  tags?: TagFilter;
  /** At most this many versions in total (also sent as $top). */
  top?: number;
  /** e.g. "createdtime desc" (the form the azure-ai-ml SDK uses; not in the definitions). */
  orderBy?: string;
  listViewType?: ListViewType;
  signal?: AbortSignal;
}

export interface PendingUpload {
  pendingUploadId: string;
  /** Where the asset goes (no SAS); use as the version's modelUri after uploading. */
  blobUri: string;
  /** Container-level SAS URL; a Secret so it never prints. */
  sasUri: Secret;
  storageAccountArmId: string | undefined;
}

export interface TaggedVersion {
  model: string;
  version: ModelVersionResource;
}

export interface ProductionPointer {
  version: string;
  sha256?: string;
  modelUri?: string;
}

export interface ProductionModel extends ProductionPointer {
  model: string;
  containerTags: StringMap;
}

/** Container tags that point at a group's current production version (see docs/azureml.md). */
export const PRODUCTION_POINTER_PREFIX = 'manymodels.production.';

const PROVIDER = 'Microsoft.MachineLearningServices';
const enc = encodeURIComponent;

export function scopePath(scope: ModelScope): string {
  const base = `/subscriptions/${enc(scope.subscriptionId)}/resourceGroups/${enc(scope.resourceGroup)}/providers/${PROVIDER}`;
  return scope.kind === 'workspace' ? `${base}/workspaces/${enc(scope.workspace)}` : `${base}/registries/${enc(scope.registry)}`;
}

const containerPath = (scope: ModelScope, model: string): string => `${scopePath(scope)}/models/${enc(model)}`;
const versionPath = (scope: ModelScope, model: string, version: string): string => `${containerPath(scope, model)}/versions/${enc(version)}`;
const describe = (scope: ModelScope): string => (scope.kind === 'workspace' ? `workspace ${scope.workspace}` : `registry ${scope.registry}`);

/** Runs `work` over `items` with at most `limit` in flight. */
export async function forEachLimit<T>(items: T[], limit: number, work: (item: T) => Promise<void>): Promise<void> {
  let next = 0;
  const workers = Array.from({ length: Math.min(limit, items.length) }, async () => {
    while (next < items.length) {
      const item = items[next++] as T;
      await work(item);
    }
  });
  await Promise.all(workers);
}

export class AzureMlClient {
  readonly http: HttpClient;
  private readonly options: AzureMlClientOptions;
  private readonly apiVersion = { 'api-version': AZURE_ML_API_VERSION };

  constructor(options: AzureMlClientOptions) {
    this.options = options;
    this.http = createHttpClient({
      ...options.http,
      service: 'Azure ML',
      baseUrl: options.baseUrl ?? ARM_ENDPOINT,
      tokenProvider: options.tokenProvider,
    });
  }

  /** Number of requests sent so far (retries included): the budget the docs talk about. */
  get requestCount(): number {
    return this.http.stats.requests;
  }

  private async lro(initial: HttpResponse, originalUrl: string, finalStateVia: FinalStateVia, description: string, signal?: AbortSignal): Promise<HttpResponse | undefined> {
    return waitForArmOperation(this.http, initial, {
      finalStateVia,
      originalUrl,
      description,
      pollIntervalMs: this.options.lroPollIntervalMs,
      timeoutMs: this.options.lroTimeoutMs,
      now: this.options.now,
      signal,
      onProgress: (p) => this.options.onLroProgress?.(description, p),
    });
  }

  private async *pages<T>(firstUrl: string, query: Record<string, string | number | undefined>, parse: (d: unknown) => T, what: string, signal?: AbortSignal): AsyncGenerator<T> {
    let url: string | undefined = firstUrl;
    let q: Record<string, string | number | undefined> | undefined = { ...this.apiVersion, ...query };
    const seen = new Set<string>();
    while (url) {
      const res = await this.http.request({ method: 'GET', url, query: q, signal });
      const page = parsePage(res.data, parse, what);
      yield* page.value;
      // nextLink is absolute and already carries api-version and the filters.
      url = page.nextLink;
      q = undefined;
      if (url && seen.has(url)) throw new RemoteError(`Azure ML returned the same nextLink twice while listing ${what}`, { code: RemoteErrorCode.UnexpectedResponse });
      if (url) seen.add(url);
    }
  }

  // ---- containers ----

  /** Every container in the scope, following nextLink. Containers have no tag filter. */
  listModelContainers(scope: ModelScope, options: { listViewType?: ListViewType; signal?: AbortSignal } = {}): AsyncGenerator<ModelContainerResource> {
    return this.pages(`${scopePath(scope)}/models`, { listViewType: options.listViewType }, parseModelContainer, `model containers in ${describe(scope)}`, options.signal);
  }

  async getModelContainer(scope: ModelScope, model: string, signal?: AbortSignal): Promise<ModelContainerResource | undefined> {
    const res = await this.http.request({ method: 'GET', url: containerPath(scope, model), query: this.apiVersion, acceptStatus: [404], signal });
    return res.status === 404 ? undefined : parseModelContainer(res.data);
  }

  /** PUT a container; in a registry this is an LRO and the call waits for it. */
  async createOrUpdateModelContainer(scope: ModelScope, model: string, properties: ModelContainerInput, signal?: AbortSignal): Promise<ModelContainerResource> {
    const url = containerPath(scope, model);
    const res = await this.http.request({ method: 'PUT', url, query: this.apiVersion, body: { properties }, signal });
    const final = scope.kind === 'registry' ? await this.lro(res, this.http.resolveUrl(url, this.apiVersion).toString(), 'original-uri', `create model container ${model}`, signal) : res;
    return parseModelContainer(final?.data);
  }

  /** Returns false when there was nothing to delete. Deletes every version too. */
  async deleteModelContainer(scope: ModelScope, model: string, signal?: AbortSignal): Promise<boolean> {
    const url = containerPath(scope, model);
    const res = await this.http.request({ method: 'DELETE', url, query: this.apiVersion, signal });
    if (scope.kind === 'registry' && res.status === 202) await this.lro(res, url, 'location', `delete model container ${model}`, signal);
    return res.status !== 204;
  }

  // ---- versions ----

  /** Versions of one model, following nextLink; `tags` filters server-side. */
  listModelVersions(scope: ModelScope, model: string, options: ListVersionsOptions = {}): AsyncGenerator<ModelVersionResource> {
    const query = {
      tags: options.tags ? formatTagFilter(options.tags) : undefined,
      $top: options.top,
      $orderBy: options.orderBy,
      listViewType: options.listViewType,
    };
    const all = this.pages(`${containerPath(scope, model)}/versions`, query, parseModelVersion, `versions of ${model}`, options.signal);
    const top = options.top;
    if (top === undefined) return all;
    // The service's reading of $top (page size or total) is not documented: cap client-side.
    return (async function* capped() {
      let n = 0;
      if (top <= 0) return;
      for await (const v of all) {
        yield v;
        if (++n >= top) return;
      }
    })();
  }

  async getModelVersion(scope: ModelScope, model: string, version: string, signal?: AbortSignal): Promise<ModelVersionResource | undefined> {
    const res = await this.http.request({ method: 'GET', url: versionPath(scope, model, version), query: this.apiVersion, acceptStatus: [404], signal });
    return res.status === 404 ? undefined : parseModelVersion(res.data);
  }

  /**
   * PUT a version. Idempotent for a fixed name/version and body, so the HTTP layer may resend
   * it after a dropped connection. In a registry the call waits for the LRO.
   */
  async createOrUpdateModelVersion(scope: ModelScope, model: string, version: string, properties: ModelVersionInput, signal?: AbortSignal): Promise<ModelVersionResource> {
    const url = versionPath(scope, model, version);
    const res = await this.http.request({ method: 'PUT', url, query: this.apiVersion, body: { properties }, signal });
    const final = scope.kind === 'registry' ? await this.lro(res, this.http.resolveUrl(url, this.apiVersion).toString(), 'original-uri', `create model version ${model}:${version}`, signal) : res;
    return parseModelVersion(final?.data);
  }

  async deleteModelVersion(scope: ModelScope, model: string, version: string, signal?: AbortSignal): Promise<boolean> {
    const url = versionPath(scope, model, version);
    const res = await this.http.request({ method: 'DELETE', url, query: this.apiVersion, signal });
    if (scope.kind === 'registry' && res.status === 202) await this.lro(res, url, 'location', `delete model version ${model}:${version}`, signal);
    return res.status !== 204;
  }

  /**
   * Copies a workspace version into a registry (POST .../publish, an LRO via Location) and
   * returns the registry version. POST is not idempotent, so a reply lost after sending is
   * never blindly resent: the destination is looked up first and the POST repeated only if it
   * is absent. The remaining race (the first POST still queued when we look) is documented.
   */
  async publishModelVersion(
    source: WorkspaceScope,
    model: string,
    version: string,
    destination: { registry: RegistryScope; name?: string; version?: string },
    signal?: AbortSignal,
  ): Promise<ModelVersionResource> {
    const destName = destination.name ?? model;
    const destVersion = destination.version ?? version;
    const url = `${versionPath(source, model, version)}/publish`;
    const body = { destinationName: destName, destinationVersion: destVersion, registryName: destination.registry.registry };
    const description = `publish ${model}:${version} to registry ${destination.registry.registry}`;

    for (let attempt = 1; ; attempt++) {
      let res: HttpResponse;
      try {
        res = await this.http.request({ method: 'POST', url, query: this.apiVersion, body, signal });
      } catch (err) {
        if (!(err instanceof RemoteHttpError) || !err.maybeProcessed || attempt >= 2) throw err;
        const existing = await this.waitForVersionSettled(destination.registry, destName, destVersion, signal);
        if (existing) return existing;
        continue; // nothing arrived: the POST was not acted on, send it once more
      }
      if (res.status === 202) await this.lro(res, url, 'location', description, signal);
      const published = await this.waitForVersionSettled(destination.registry, destName, destVersion, signal);
      if (!published) {
        throw new RemoteError(`${description} reported success but ${destName}:${destVersion} is not in the registry`, { code: RemoteErrorCode.UnexpectedResponse });
      }
      return published;
    }
  }

  /**
   * Waits until a version has left Creating/Updating; undefined if it does not exist. For a
   * registry PUT whose first reply was lost: the resend answers 200 with the version still
   * Creating, and only a settled version may be counted as registered.
   */
  waitForModelVersion(scope: ModelScope, model: string, version: string, signal?: AbortSignal): Promise<ModelVersionResource | undefined> {
    return this.waitForVersionSettled(scope, model, version, signal);
  }

  /** GETs a version until it leaves Creating/Updating; undefined if it does not exist. */
  private async waitForVersionSettled(scope: ModelScope, model: string, version: string, signal?: AbortSignal): Promise<ModelVersionResource | undefined> {
    const now = this.options.now ?? Date.now;
    const deadline = now() + (this.options.lroTimeoutMs ?? 30 * 60_000);
    for (;;) {
      const found = await this.getModelVersion(scope, model, version, signal);
      const state = found?.properties.provisioningState;
      if (!found || state === undefined || state === 'Succeeded') return found;
      if (state === 'Failed' || state === 'Canceled') {
        throw new RemoteError(`${model}:${version} in ${describe(scope)} is ${state}`, { code: RemoteErrorCode.OperationFailed });
      }
      if (now() > deadline) throw new RemoteError(`${model}:${version} in ${describe(scope)} stayed ${state}`, { code: RemoteErrorCode.OperationTimeout });
      await this.http.sleep(this.options.lroPollIntervalMs ?? 5_000, signal);
    }
  }

  /**
   * Storage location + SAS for uploading a registry asset. "CreateOrGet" by pendingUploadId,
   * and we always send one, so a resend after a dropped reply is safe (marked idempotent).
   */
  async startPendingUpload(scope: RegistryScope, model: string, version: string, options: { pendingUploadId?: string; signal?: AbortSignal } = {}): Promise<PendingUpload> {
    const pendingUploadId = options.pendingUploadId ?? randomUUID();
    const res = await this.http.request({
      method: 'POST',
      url: `${versionPath(scope, model, version)}/startPendingUpload`,
      query: this.apiVersion,
      body: { pendingUploadId, pendingUploadType: 'TemporaryBlobReference' },
      idempotent: true,
      signal: options.signal,
    });
    const ref = isRecord(res.data) && isRecord(res.data.blobReferenceForConsumption) ? res.data.blobReferenceForConsumption : undefined;
    const credential = ref && isRecord(ref.credential) ? ref.credential : undefined;
    if (!ref || typeof ref.blobUri !== 'string' || credential?.credentialType !== 'SAS' || typeof credential.sasUri !== 'string') {
      throw new RemoteError('Azure ML returned a pending upload without a blob URI and SAS credential', { code: RemoteErrorCode.UnexpectedResponse });
    }
    return {
      pendingUploadId: isRecord(res.data) && typeof res.data.pendingUploadId === 'string' ? res.data.pendingUploadId : pendingUploadId,
      blobUri: ref.blobUri,
      sasUri: new Secret(credential.sasUri),
      storageAccountArmId: typeof ref.storageAccountArmId === 'string' ? ref.storageAccountArmId : undefined,
    };
  }

  // ---- bulk resolution ----

  /**
   * Every version carrying `tagFilter`, across all models of a scope. Containers cannot be
   * filtered server-side, so: one paged container listing (ceil(C/P) calls), an optional
   * client-side container tag filter, then one filtered version listing per remaining
   * container (>= 1 call each, `concurrency` at a time). Calls: ceil(C/P) + sum ceil(V_i/P).
   * Exact, but per-container: use resolveProductionModels for thousands of groups.
   */
  async listAllVersionsWithTag(
    scope: ModelScope,
    tagFilter: TagFilter,
    options: { containerTags?: TagFilter; concurrency?: number; signal?: AbortSignal } = {},
  ): Promise<{ versions: TaggedVersion[]; containers: number; requests: number }> {
    const before = this.http.stats.requests;
    const models: string[] = [];
    for await (const c of this.listModelContainers(scope, { signal: options.signal })) {
      if (!c.name) continue;
      if (options.containerTags && !matchesTagFilter(c.properties.tags, options.containerTags)) continue;
      models.push(c.name);
    }
    const byModel = new Map<string, ModelVersionResource[]>();
    await forEachLimit(models, options.concurrency ?? 4, async (model) => {
      const found: ModelVersionResource[] = [];
      for await (const v of this.listModelVersions(scope, model, { tags: tagFilter, signal: options.signal })) found.push(v);
      byModel.set(model, found);
    });
    const versions = models.flatMap((model) => (byModel.get(model) ?? []).map((version) => ({ model, version })));
    return { versions, containers: models.length, requests: this.http.stats.requests - before };
  }

  /**
   * Every group's production model from container tags alone: ceil(C/P) calls for C
   * containers and page size P (10,000 groups at P=100: 100 GETs). The pointer tags are
   * written by setProductionPointer after the version itself, so a crash in between leaves
   * the previous production version in place; the artifact's sha256 is checked at load.
   */
  async resolveProductionModels(
    scope: ModelScope,
    options: { containerTags?: TagFilter; pointerPrefix?: string; signal?: AbortSignal } = {},
  ): Promise<{ models: ProductionModel[]; requests: number }> {
    const before = this.http.stats.requests;
    const prefix = options.pointerPrefix ?? PRODUCTION_POINTER_PREFIX;
    const models: ProductionModel[] = [];
    for await (const c of this.listModelContainers(scope, { signal: options.signal })) {
      const tags = c.properties.tags ?? {};
      if (!c.name || (options.containerTags && !matchesTagFilter(tags, options.containerTags))) continue;
      const version = tags[`${prefix}version`];
      if (!version) continue;
      models.push({
        model: c.name,
        version,
        sha256: tags[`${prefix}sha256`] ?? undefined,
        modelUri: tags[`${prefix}uri`] ?? undefined,
        containerTags: { ...tags },
      });
    }
    return { models, requests: this.http.stats.requests - before };
  }

  /** Points a container at its production version (GET + PUT, keeping other tags). */
  async setProductionPointer(scope: ModelScope, model: string, pointer: ProductionPointer, options: { pointerPrefix?: string; signal?: AbortSignal } = {}): Promise<ModelContainerResource> {
    const prefix = options.pointerPrefix ?? PRODUCTION_POINTER_PREFIX;
    const current = await this.getModelContainer(scope, model, options.signal);
    const tags: StringMap = { ...(current?.properties.tags ?? {}) };
    tags[`${prefix}version`] = pointer.version;
    if (pointer.sha256 !== undefined) tags[`${prefix}sha256`] = pointer.sha256;
    if (pointer.modelUri !== undefined) tags[`${prefix}uri`] = pointer.modelUri;
    return this.createOrUpdateModelContainer(
      scope,
      model,
      { description: current?.properties.description ?? null, properties: current?.properties.properties ?? null, isArchived: current?.properties.isArchived ?? false, tags },
      options.signal,
    );
  }
}
