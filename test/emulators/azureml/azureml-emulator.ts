// A protocol-level Azure ML (ARM) emulator on 127.0.0.1: model containers/versions in
// workspaces and registries, registry LROs, publish, pending uploads, online endpoints and
// deployments, environment and code versions (a code version's codeUri checked against the blob
// storage given), ARM throttling and injectable faults. Every request is validated against the official 2024-04-01 definitions
// and every reply is checked against them before it is sent.
import { createHash, randomUUID } from 'node:crypto';
import type { IncomingHttpHeaders, IncomingMessage, ServerResponse } from 'node:http';
import {
  BlobServiceClient,
  ContainerSASPermissions,
  SASProtocol,
  StorageSharedKeyCredential,
  generateBlobSASQueryParameters,
} from '@azure/storage-blob';
import { azureMlMfeSpec, commonTypesV5Spec } from '../spec/spec-paths.js';
import { type SwaggerValidator, type ValidationIssue, loadSwaggerValidator } from '../spec/swagger-validator.js';
import { ArmFailure, armErrorBody } from './arm-errors.js';
import {
  type EmulatorServer, type Reply, applyTransportFault, bearerToken, fakeJwt, holdMinLatency, jwtClaims, readBody, requestLine, sendReply,
  startEmulatorServer,
} from '../shared/emulator-server.js';
import { FaultController, type FaultKind, faultStatus } from '../shared/fault-injection.js';
import {
  type Actor,
  type AssetScope,
  ModelStore,
  type ScopeKind,
  type ScopeRef,
  byListView,
  matchesFilterList,
  orderVersions,
  parseFilterList,
} from './model-store.js';
import { OnlineStore, type WorkspaceRef } from './online-store.js';
import { ARM_THROTTLE_LIMITS, type RequestKind, type ThrottleLimits, ThrottleBuckets, requestKind } from './token-bucket.js';

export const AZURE_ML_API_VERSION = '2024-04-01';

export interface AuthFailure {
  status: 401 | 403;
  code: string;
  message: string;
}

export interface AzureMlEmulatorOptions {
  /** Minimum time every reply takes, so a runaway poll loop times out instead of spinning. */
  minLatencyMs?: number;
  /** ARM throttling per (subscription, principal); `false` disables it. Default: ARM's numbers. */
  throttle?: Partial<ThrottleLimits> | false;
  /** Items per page when the request sets no $top/count. */
  pageSize?: number;
  /** Status polls (or Location polls) before an operation completes. */
  lroPollsToComplete?: number;
  /**
   * An operation also completes once this much time has passed, observed on its next poll or
   * on a GET of the resource it works on (real operations progress without being polled).
   * Default 30 s.
   */
  lroMaxDurationMs?: number;
  /** Retry-After on LRO replies; the definitions require 10..600 seconds. */
  lroRetryAfterSeconds?: number;
  location?: string;
  /** Known workspaces/registries; when omitted any name exists on first use. */
  workspaces?: ScopeRef[];
  registries?: ScopeRef[];
  /** Azurite (or a real account) for startPendingUpload; without it the SAS is fake. */
  blobStorage?: { connectionString: string; container?: string };
  /** Extra token checks after "Bearer <token>" is present; return a failure to reject. */
  authorize?: (token: string) => AuthFailure | undefined;
  /** Validate every reply against the definitions (default true). */
  selfCheck?: boolean;
}

export interface RecordedRequest {
  seq: number;
  method: string;
  path: string;
  query: Record<string, string>;
  headers: IncomingHttpHeaders;
  body: unknown;
  operationId?: string;
  fault?: FaultKind;
  status?: number;
  responseHeaders?: Record<string, string>;
  responseBody?: unknown;
}

interface Operation {
  id: string;
  subscriptionId: string;
  /** The asset this operation creates/deletes ("kind/sub/rg/scope|model|version"), lower-case. */
  resourceKey: string;
  startedAt: number;
  status: 'InProgress' | 'Succeeded' | 'Failed';
  startTime: string;
  endTime?: string;
  pollsLeft: number;
  failure?: { code: string; message: string };
  /** Status returned by the Location URL on success (200 or 204). */
  resultStatus: 200 | 204;
  onSucceed: () => void;
  onFail: () => void;
}

interface RequestContext {
  method: string;
  path: string;
  query: Record<string, string>;
  body: unknown;
  pathParams: Record<string, string>;
  actor: Actor;
  lroFault?: { code: string; message: string };
  /** CodeVersions_CreateOrUpdate: whether the blob storage holds anything under the codeUri (undefined: not checked). */
  codeUriHasBlobs?: boolean;
}

const PROVIDER = 'Microsoft.MachineLearningServices';
const OPERATION_PATH = /^\/subscriptions\/([^/]+)\/providers\/Microsoft\.MachineLearningServices\/locations\/([^/]+)\/(mfeOperationsStatus|mfeOperationResults)\/([^/]+)\/?$/i;
/** A JWT-shaped test token (unsigned): the emulator reads oid/name/idtyp from it. */
export function fakeBearerToken(claims: { oid: string; name?: string; app?: boolean }): string {
  const signature = Buffer.from(JSON.stringify({ sig: randomUUID() })).toString('base64url');
  return fakeJwt({ oid: claims.oid, name: claims.name ?? claims.oid, idtyp: claims.app ? 'app' : 'user' }, signature);
}

const bodyTooLarge = (): ArmFailure => new ArmFailure(413, 'RequestEntityTooLarge', 'The request body is larger than 4 MB.');

export class AzureMlEmulator {
  readonly requests: RecordedRequest[] = [];
  readonly faults = new FaultController();
  readonly selfCheckFailures: string[] = [];
  readonly store: ModelStore;
  /** Online endpoints and their deployments; a deployment's model is looked up in `store`. */
  readonly online = new OnlineStore({
    modelExists: (ref) => {
      const scope = this.store.allScopes().find((s) => s.kind === ref.kind && [s.subscriptionId, s.resourceGroup, s.name].join('/').toLowerCase() === [ref.subscriptionId, ref.resourceGroup, ref.scope].join('/').toLowerCase());
      const v = scope?.containers.get(ref.name)?.versions.get(ref.version);
      return v !== undefined && v.provisioningState !== 'Deleting';
    },
  });
  private readonly options: AzureMlEmulatorOptions;
  private server: EmulatorServer | undefined;
  private url = '';
  private validator: SwaggerValidator | undefined;
  private typesValidator: SwaggerValidator | undefined;
  private buckets: ThrottleBuckets | undefined;
  private readonly operations = new Map<string, Operation>();
  private readonly pendingUploads = new Map<string, Record<string, unknown>>();
  private seq = 0;

  constructor(options: AzureMlEmulatorOptions = {}) {
    this.options = options;
    this.store = new ModelStore({ workspaces: options.workspaces, registries: options.registries });
    if (options.throttle !== false) this.buckets = new ThrottleBuckets({ ...ARM_THROTTLE_LIMITS, ...options.throttle });
  }

  get baseUrl(): string {
    if (!this.url) throw new Error('AzureMlEmulator is not started');
    return this.url;
  }

  /** The validator for mfe.json, for tests that check replies themselves. */
  get spec(): SwaggerValidator {
    if (!this.validator) throw new Error('AzureMlEmulator is not started');
    return this.validator;
  }

  async start(): Promise<string> {
    this.validator = await loadSwaggerValidator(azureMlMfeSpec());
    this.typesValidator = await loadSwaggerValidator(commonTypesV5Spec());
    this.server = await startEmulatorServer((req, res) => this.handle(req, res), {
      onUnhandled: (err, res) => {
        this.selfCheckFailures.push(`unhandled: ${err instanceof Error ? err.stack ?? err.message : String(err)}`);
        if (!res.headersSent) this.send(res, { status: 500, body: armErrorBody('InternalServerError', 'emulator crashed') });
      },
    });
    this.url = this.server.url;
    return this.url;
  }

  async stop(): Promise<void> {
    const server = this.server;
    if (!server) return;
    this.server = undefined;
    await server.stop();
  }

  /** Number of versions of a model in a scope (test helper). */
  versionCount(kind: ScopeKind, ref: ScopeRef, model: string): number {
    return this.store.scope(kind, ref).containers.get(model)?.versions.size ?? 0;
  }

  // ---------------------------------------------------------------------------------------

  private async handle(req: IncomingMessage, res: ServerResponse): Promise<void> {
    const started = Date.now();
    const { method, url, query } = requestLine(req);
    const record: RecordedRequest = { seq: ++this.seq, method, path: url.pathname, query, headers: req.headers, body: undefined };
    this.requests.push(record);

    let rawBody: Buffer;
    try {
      rawBody = await readBody(req, 4 * 1024 * 1024, bodyTooLarge);
    } catch (err) {
      const failure = err instanceof ArmFailure ? err : new ArmFailure(400, 'InvalidRequestContent', 'The request body could not be read.');
      return this.finish(res, record, started, { status: failure.status, body: failure.body() });
    }
    if (rawBody.length > 0) {
      try {
        record.body = JSON.parse(rawBody.toString('utf8'));
      } catch {
        return this.finish(res, record, started, {
          status: 400,
          body: armErrorBody('InvalidRequestContent', 'The request content was invalid and could not be deserialized.'),
        });
      }
    }

    const found = this.spec.findOperation(method, url.pathname);
    const operationId = found.operation?.operationId;
    record.operationId = operationId;

    // Faults first: they stand for the network and the service front door.
    const fault = this.faults.take(method, url.pathname, operationId);
    let resetAfter = false;
    let lroFault: RequestContext['lroFault'];
    if (fault) {
      record.fault = fault.kind;
      const transport = await applyTransportFault(fault, req);
      if (transport.dropped) return;
      resetAfter = transport.dropAfterHandling;
      switch (fault.kind) {
        case 'reset-after-handling':
        case 'slow':
          break;
        case 'lro-failure':
          lroFault = { code: fault.code ?? 'OperationFailed', message: fault.message ?? 'The operation failed.' };
          break;
        case 'rate-limit':
          return this.finish(res, record, started, this.throttled(url.pathname, 'fault', fault.retryAfterSeconds ?? 1, requestKind(method)));
        default: {
          const { status, retryAfterSeconds } = faultStatus(fault) ?? { status: 500 };
          const code = fault.code ?? (status === 503 ? 'ServiceUnavailable' : status === 504 ? 'GatewayTimeout' : 'InternalServerError');
          const headers: Record<string, string> = retryAfterSeconds !== undefined ? { 'Retry-After': String(retryAfterSeconds) } : {};
          return this.finish(res, record, started, { status, body: armErrorBody(code, `Injected ${status}.`), headers });
        }
      }
    }

    // The one check that needs the blob storage (asynchronous), made before the synchronous part.
    const codeUriHasBlobs = operationId === 'CodeVersions_CreateOrUpdate' ? await this.blobsUnder((record.body as { properties?: { codeUri?: unknown } } | undefined)?.properties?.codeUri) : undefined;
    const reply = this.process(req, method, url, query, record.body, lroFault, codeUriHasBlobs);
    if (resetAfter) {
      // The work is done; the reply is lost on the way back.
      record.status = reply.status;
      req.socket.destroy();
      return;
    }
    return this.finish(res, record, started, reply);
  }

  private actorFrom(token: string): { actor: Actor; principal: string } {
    const claims = jwtClaims(token);
    const id = claims && (typeof claims.oid === 'string' ? claims.oid : typeof claims.sub === 'string' ? claims.sub : undefined);
    const principal = id ?? createHash('sha256').update(token).digest('hex').slice(0, 16);
    const name = claims && typeof claims.name === 'string' ? claims.name : principal;
    return { actor: { name, type: claims?.idtyp === 'app' ? 'Application' : 'User' }, principal };
  }

  private throttled(path: string, principal: string, retryAfterSeconds: number, kind: RequestKind): Reply {
    const sub = /^\/subscriptions\/([^/]+)/i.exec(path)?.[1] ?? 'tenant';
    const op = kind === 'reads' ? 'read' : kind === 'deletes' ? 'delete' : 'write';
    return {
      status: 429,
      headers: { 'Retry-After': String(retryAfterSeconds), [`x-ms-ratelimit-remaining-subscription-${kind}`]: '0' },
      body: armErrorBody(
        'SubscriptionRequestsThrottled',
        `Number of '${op}' requests for subscription '${sub}' actor '${principal}' exceeded. Please try again after '${retryAfterSeconds}' seconds after additional tokens are available.`,
      ),
    };
  }

  /** Auth, throttling, validation and dispatch; synchronous so state changes are atomic. */
  /**
   * Whether the blob storage holds a blob at `uri` or under it as a folder; undefined when there is
   * no blob storage or `uri` is not in its account (nothing to check against).
   */
  private async blobsUnder(uri: unknown): Promise<boolean | undefined> {
    const storage = this.options.blobStorage;
    if (!storage || typeof uri !== 'string') return undefined;
    const endpoint = /(?:^|;)BlobEndpoint=([^;]+)/.exec(storage.connectionString)?.[1]?.replace(/\/+$/, '');
    if (!endpoint || !uri.startsWith(`${endpoint}/`)) return undefined;
    const [container, ...rest] = decodeURIComponent(uri.slice(endpoint.length + 1).split('?')[0] ?? '').split('/');
    const prefix = rest.join('/').replace(/\/+$/, '');
    if (!container) return false;
    try {
      for await (const blob of BlobServiceClient.fromConnectionString(storage.connectionString).getContainerClient(container).listBlobsFlat({ prefix })) {
        if (blob.name === prefix || blob.name.startsWith(`${prefix}/`) || prefix === '') return true;
      }
    } catch {
      return false;
    }
    return false;
  }

  private process(req: IncomingMessage, method: string, url: URL, query: Record<string, string>, body: unknown, lroFault: RequestContext['lroFault'], codeUriHasBlobs?: boolean): Reply {
    const token = bearerToken(req.headers.authorization);
    if (!token) {
      return { status: 401, body: armErrorBody('AuthenticationFailed', "Authentication failed. The 'Authorization' header is missing.") };
    }
    const authFailure = this.options.authorize?.(token);
    if (authFailure) return { status: authFailure.status, body: armErrorBody(authFailure.code, authFailure.message) };
    const { actor, principal } = this.actorFrom(token);

    const kind = requestKind(method);
    const extraHeaders: Record<string, string> = {};
    if (this.buckets) {
      const sub = /^\/subscriptions\/([^/]+)/i.exec(url.pathname)?.[1]?.toLowerCase() ?? 'tenant';
      const taken = this.buckets.take(`${sub}|${principal}`, kind);
      if (!taken.ok) return this.throttled(url.pathname, principal, taken.retryAfterSeconds, kind);
      extraHeaders[`x-ms-ratelimit-remaining-subscription-${kind}`] = String(taken.remaining);
    }

    let reply: Reply;
    try {
      reply = this.route(method, url, query, body, actor, lroFault, codeUriHasBlobs);
    } catch (err) {
      if (!(err instanceof ArmFailure)) throw err;
      reply = { status: err.status, body: err.body(), headers: err.headers };
    }
    reply.headers = { ...reply.headers, ...extraHeaders };
    return reply;
  }

  private route(method: string, url: URL, query: Record<string, string>, body: unknown, actor: Actor, lroFault: RequestContext['lroFault'], codeUriHasBlobs?: boolean): Reply {
    const opMatch = OPERATION_PATH.exec(url.pathname);
    if (opMatch && method === 'GET') {
      this.checkApiVersion(query);
      return this.pollOperation(opMatch[4] ?? '', opMatch[3]?.toLowerCase() === 'mfeoperationsstatus');
    }

    const result = this.spec.validateRequest({ method, path: url.pathname + url.search, body });
    if (!result.operation) {
      const issue = result.errors[0];
      if (issue?.keyword === 'methodNotAllowed') throw new ArmFailure(405, 'MethodNotAllowed', `The requested resource does not support http method '${method}'.`);
      if (url.pathname.toLowerCase().includes(`/providers/${PROVIDER.toLowerCase()}/`)) {
        throw new ArmFailure(404, 'InvalidResourceType', `The resource type could not be found in the namespace '${PROVIDER}' for api version '${query['api-version'] ?? ''}'.`);
      }
      throw new ArmFailure(404, 'NotFound', `No route for ${method} ${url.pathname}.`);
    }
    this.checkApiVersion(query, result.errors);
    if (result.errors.length > 0) throw validationFailure(result.errors);

    const ctx: RequestContext = { method, path: url.pathname, query, body, pathParams: result.pathParams, actor, lroFault };
    if (codeUriHasBlobs !== undefined) ctx.codeUriHasBlobs = codeUriHasBlobs;
    return this.dispatch(result.operation.operationId, ctx);
  }

  /** ARM checks api-version at the front door, before the provider sees the request. */
  private checkApiVersion(query: Record<string, string>, errors: ValidationIssue[] = []): void {
    const version = Object.entries(query).find(([k]) => k.toLowerCase() === 'api-version')?.[1];
    if (version === undefined) {
      throw new ArmFailure(400, 'MissingApiVersionParameter', "The api-version query parameter (?api-version=) is required for all requests.");
    }
    if (version !== AZURE_ML_API_VERSION || errors.some((e) => e.keyword === 'apiVersion')) {
      throw new ArmFailure(
        400,
        'NoRegisteredProviderFound',
        `No registered resource provider found for location '${this.options.location ?? 'westeurope'}' and API version '${version}' for type 'workspaces'. The supported api-versions are '${AZURE_ML_API_VERSION}'.`,
      );
    }
  }

  private scopeOf(ctx: RequestContext): AssetScope {
    const p = ctx.pathParams;
    const kind: ScopeKind = p.workspaceName !== undefined ? 'workspaces' : 'registries';
    return this.store.scope(kind, { subscriptionId: p.subscriptionId ?? '', resourceGroup: p.resourceGroupName ?? '', name: p.workspaceName ?? p.registryName ?? '' });
  }

  private dispatch(operationId: string, ctx: RequestContext): Reply {
    const p = ctx.pathParams;
    const model = p.name ?? p.modelName ?? '';
    const version = p.version ?? '';
    const props = (): Record<string, unknown> => {
      const b = ctx.body as { properties?: unknown } | undefined;
      return typeof b?.properties === 'object' && b.properties !== null ? (b.properties as Record<string, unknown>) : {};
    };
    switch (operationId) {
      case 'ModelContainers_List':
      case 'RegistryModelContainers_List':
        return this.listContainers(ctx);
      case 'ModelContainers_Get':
      case 'RegistryModelContainers_Get': {
        const scope = this.scopeOf(ctx);
        this.observe(scope, model);
        return { status: 200, body: this.store.renderContainer(scope, this.store.container(scope, model)) };
      }
      case 'ModelContainers_CreateOrUpdate': {
        const scope = this.scopeOf(ctx);
        const { record, created } = this.store.putContainer(scope, model, props(), ctx.actor);
        return { status: created ? 201 : 200, body: this.store.renderContainer(scope, record) };
      }
      case 'RegistryModelContainers_CreateOrUpdate':
        return this.putRegistryContainer(ctx, model, props());
      case 'ModelContainers_Delete': {
        const scope = this.scopeOf(ctx);
        return { status: this.store.deleteContainer(scope, model) ? 200 : 204 };
      }
      case 'RegistryModelContainers_Delete':
        return this.deleteRegistryAsset(ctx, model, undefined);
      case 'ModelVersions_List':
      case 'RegistryModelVersions_List':
        return this.listVersions(ctx, model);
      case 'ModelVersions_Get':
      case 'RegistryModelVersions_Get': {
        const scope = this.scopeOf(ctx);
        this.observe(scope, model, version);
        return { status: 200, body: this.store.renderVersion(scope, model, this.store.version(scope, model, version)) };
      }
      case 'ModelVersions_CreateOrUpdate': {
        const scope = this.scopeOf(ctx);
        const { record, created } = this.store.putVersion(scope, model, version, props(), ctx.actor);
        return { status: created ? 201 : 200, body: this.store.renderVersion(scope, model, record) };
      }
      case 'RegistryModelVersions_CreateOrUpdate':
        return this.putRegistryVersion(ctx, model, version, props());
      case 'ModelVersions_Delete': {
        const scope = this.scopeOf(ctx);
        return { status: this.store.deleteVersion(scope, model, version) ? 200 : 204 };
      }
      case 'RegistryModelVersions_Delete':
        return this.deleteRegistryAsset(ctx, model, version);
      case 'ModelVersions_Publish':
        return this.publish(ctx, model, version);
      case 'RegistryModelVersions_CreateOrGetStartPendingUpload':
        return this.startPendingUpload(ctx, model, version);
      case 'OnlineEndpoints_List':
      case 'OnlineEndpoints_Get':
      case 'OnlineEndpoints_CreateOrUpdate':
      case 'OnlineEndpoints_Update':
      case 'OnlineEndpoints_Delete':
      case 'OnlineDeployments_List':
      case 'OnlineDeployments_Get':
      case 'OnlineDeployments_CreateOrUpdate':
      case 'OnlineDeployments_Delete':
        return this.onlineOperation(operationId, ctx);
      case 'EnvironmentVersions_CreateOrUpdate':
      case 'EnvironmentVersions_Get':
      case 'CodeVersions_CreateOrUpdate':
      case 'CodeVersions_Get':
        return this.environmentOperation(operationId, ctx);
      default:
        throw new ArmFailure(501, 'NotImplemented', `The emulator does not implement ${operationId}.`);
    }
  }

  // ---- paging ----

  private page<T>(ctx: RequestContext, items: T[], pageSizeParam: string): { value: T[]; nextLink?: string } {
    const skipToken = ctx.query.$skip;
    let offset = 0;
    if (skipToken !== undefined) {
      const decoded = /^o(\d+)$/.exec(Buffer.from(skipToken, 'base64url').toString('utf8'));
      if (!decoded) throw new ArmFailure(400, 'UserError', 'The continuation token ($skip) is invalid.', { target: '$skip' });
      offset = Number(decoded[1]);
    }
    const requested = Number(ctx.query[pageSizeParam]);
    // $top/count are read as the page size; nextLink continues (the client caps totals itself).
    const size = Number.isInteger(requested) && requested > 0 ? requested : this.options.pageSize ?? 100;
    const value = items.slice(offset, offset + size);
    if (offset + size >= items.length) return { value };
    // Built by hand: ARM's nextLinks carry a literal `$skip=` (URLSearchParams would write %24).
    const entries = Object.entries(ctx.query).filter(([k]) => k !== '$skip');
    entries.push(['$skip', Buffer.from(`o${offset + size}`).toString('base64url')]);
    const queryString = entries.map(([k, v]) => `${encodeURIComponent(k).replace(/^%24/, '$')}=${encodeURIComponent(v)}`).join('&');
    return { value, nextLink: `${this.url}${ctx.path}?${queryString}` };
  }

  private listContainers(ctx: RequestContext): Reply {
    const scope = this.scopeOf(ctx);
    const containers = byListView(
      [...scope.containers.values()].filter((c) => c.provisioningState !== 'Deleting').sort((a, b) => a.seq - b.seq),
      ctx.query.listViewType,
    );
    const page = this.page(ctx, containers, 'count');
    return { status: 200, body: { value: page.value.map((c) => this.store.renderContainer(scope, c)), ...(page.nextLink ? { nextLink: page.nextLink } : {}) } };
  }

  private listVersions(ctx: RequestContext, model: string): Reply {
    const scope = this.scopeOf(ctx);
    const container = scope.containers.get(model);
    let versions = container ? [...container.versions.values()] : [];
    versions = byListView(versions, ctx.query.listViewType);
    const q = ctx.query;
    if (q.tags) {
      const filter = parseFilterList(q.tags);
      versions = versions.filter((v) => matchesFilterList(v.tags, filter));
    }
    if (q.properties) {
      const filter = parseFilterList(q.properties);
      versions = versions.filter((v) => matchesFilterList(v.properties, filter));
    }
    if (q.version !== undefined) versions = versions.filter((v) => v.version === q.version);
    if (q.description !== undefined) versions = versions.filter((v) => v.description === q.description);
    versions = orderVersions(versions, q.$orderBy);
    if (q.offset !== undefined) versions = versions.slice(Number(q.offset));
    const page = this.page(ctx, versions, '$top');
    return { status: 200, body: { value: page.value.map((v) => this.store.renderVersion(scope, model, v)), ...(page.nextLink ? { nextLink: page.nextLink } : {}) } };
  }

  // ---- long-running operations ----

  private startOperation(ctx: RequestContext, resourceKey: string, resultStatus: 200 | 204, onSucceed: () => void, onFail: () => void): Operation {
    const id = randomUUID();
    const op: Operation = {
      id,
      subscriptionId: ctx.pathParams.subscriptionId ?? '',
      resourceKey,
      startedAt: Date.now(),
      status: 'InProgress',
      startTime: new Date().toISOString(),
      pollsLeft: this.options.lroPollsToComplete ?? 1,
      failure: ctx.lroFault,
      resultStatus,
      onSucceed,
      onFail,
    };
    this.operations.set(id, op);
    return op;
  }

  private operationUrl(op: Operation, kind: 'mfeOperationsStatus' | 'mfeOperationResults'): string {
    return `${this.url}/subscriptions/${op.subscriptionId}/providers/${PROVIDER}/locations/${this.options.location ?? 'westeurope'}/${kind}/${op.id}?api-version=${AZURE_ML_API_VERSION}`;
  }

  private lroHeaders(op: Operation, style: 'async' | 'location'): Record<string, string> {
    const retryAfter = String(this.options.lroRetryAfterSeconds ?? 10);
    return style === 'async'
      ? { 'Azure-AsyncOperation': this.operationUrl(op, 'mfeOperationsStatus'), 'x-ms-async-operation-timeout': 'PT1H', 'Retry-After': retryAfter }
      : { Location: this.operationUrl(op, 'mfeOperationResults'), 'Retry-After': retryAfter };
  }

  /** Moves an operation on: one poll used up (if polled), or its time is up. */
  private advance(op: Operation, polled: boolean): void {
    if (op.status !== 'InProgress') return;
    if (polled) op.pollsLeft--;
    if (op.pollsLeft > 0 && Date.now() - op.startedAt < (this.options.lroMaxDurationMs ?? 30_000)) return;
    op.endTime = new Date().toISOString();
    if (op.failure) {
      op.status = 'Failed';
      op.onFail();
    } else {
      op.status = 'Succeeded';
      op.onSucceed();
    }
  }

  private resourceKey(scope: AssetScope, model: string, version?: string): string {
    return this.store.resourceId(scope, model, version).toLowerCase();
  }

  /** A GET of an asset observes the operations working on it (time-based completion). */
  private observe(scope: AssetScope, model: string, version?: string): void {
    const key = this.resourceKey(scope, model, version);
    for (const op of this.operations.values()) if (op.resourceKey === key) this.advance(op, false);
  }

  private pollOperation(id: string, statusStyle: boolean): Reply {
    const op = this.operations.get(id);
    if (!op) throw new ArmFailure(404, 'ResourceNotFound', `Operation '${id}' was not found.`);
    this.advance(op, true);
    const retryAfter = { 'Retry-After': String(this.options.lroRetryAfterSeconds ?? 10) };
    if (statusStyle) {
      const body: Record<string, unknown> = {
        id: `/subscriptions/${op.subscriptionId}/providers/${PROVIDER}/locations/${this.options.location ?? 'westeurope'}/mfeOperationsStatus/${op.id}`,
        name: op.id,
        status: op.status,
        startTime: op.startTime,
      };
      if (op.endTime) body.endTime = op.endTime;
      if (op.status === 'Failed' && op.failure) body.error = { code: op.failure.code, message: op.failure.message };
      return { status: 200, body, headers: op.status === 'InProgress' ? retryAfter : {} };
    }
    if (op.status === 'InProgress') return { status: 202, headers: { Location: this.operationUrl(op, 'mfeOperationResults'), ...retryAfter } };
    if (op.status === 'Failed') return { status: 400, body: armErrorBody(op.failure?.code ?? 'OperationFailed', op.failure?.message ?? 'The operation failed.') };
    return { status: op.resultStatus };
  }

  private putRegistryContainer(ctx: RequestContext, model: string, props: Record<string, unknown>): Reply {
    const scope = this.scopeOf(ctx);
    const existed = scope.containers.has(model);
    const { record } = this.store.putContainer(scope, model, props, ctx.actor, existed ? 'Succeeded' : 'Creating');
    if (existed) return { status: 200, body: this.store.renderContainer(scope, record) };
    const op = this.startOperation(
      ctx,
      this.resourceKey(scope, model),
      200,
      () => {
        record.provisioningState = 'Succeeded';
      },
      () => {
        this.store.deleteContainer(scope, model);
      },
    );
    return { status: 201, body: this.store.renderContainer(scope, record), headers: this.lroHeaders(op, 'async') };
  }

  private putRegistryVersion(ctx: RequestContext, model: string, version: string, props: Record<string, unknown>): Reply {
    const scope = this.scopeOf(ctx);
    const existed = scope.containers.get(model)?.versions.has(version) ?? false;
    const { record, containerCreated } = this.store.putVersion(scope, model, version, props, ctx.actor, existed ? 'Succeeded' : 'Creating');
    if (existed) return { status: 200, body: this.store.renderVersion(scope, model, record) };
    const op = this.startOperation(
      ctx,
      this.resourceKey(scope, model, version),
      200,
      () => {
        record.provisioningState = 'Succeeded';
      },
      () => {
        this.store.deleteVersion(scope, model, version);
        if (containerCreated) this.store.deleteContainer(scope, model);
      },
    );
    return { status: 201, body: this.store.renderVersion(scope, model, record), headers: this.lroHeaders(op, 'async') };
  }

  private deleteRegistryAsset(ctx: RequestContext, model: string, version: string | undefined): Reply {
    const scope = this.scopeOf(ctx);
    const container = scope.containers.get(model);
    const target = version === undefined ? container : container?.versions.get(version);
    if (!container || !target) return { status: 204 };
    const previous = target.provisioningState;
    target.provisioningState = 'Deleting';
    const op = this.startOperation(
      ctx,
      this.resourceKey(scope, model, version),
      204,
      () => {
        if (version === undefined) this.store.deleteContainer(scope, model);
        else this.store.deleteVersion(scope, model, version);
      },
      () => {
        target.provisioningState = previous;
      },
    );
    return { status: 202, headers: this.lroHeaders(op, 'location') };
  }

  private publish(ctx: RequestContext, model: string, version: string): Reply {
    const source = this.scopeOf(ctx);
    const src = this.store.version(source, model, version);
    const b = (ctx.body ?? {}) as { destinationName?: string | null; destinationVersion?: string | null; registryName?: string | null };
    if (!b.registryName) throw new ArmFailure(400, 'UserError', 'registryName is required to publish.', { target: 'registryName' });
    const destName = b.destinationName ?? model;
    const destVersion = b.destinationVersion ?? version;
    const registry = this.store.registryByName(b.registryName, {
      subscriptionId: ctx.pathParams.subscriptionId ?? '',
      resourceGroup: ctx.pathParams.resourceGroupName ?? '',
      name: b.registryName,
    });
    const sourceId = this.store.resourceId(source, model, version);
    const existing = registry.containers.get(destName)?.versions.get(destVersion);
    if (existing) {
      // Publishing the same source again is harmless; anything else is a conflict.
      if (existing.publishedFrom !== sourceId) {
        throw new ArmFailure(409, 'Conflict', `Model version ${destName}:${destVersion} already exists in registry '${registry.name}'.`);
      }
      const op = this.startOperation(ctx, this.resourceKey(registry, destName, destVersion), 200, () => undefined, () => undefined);
      return { status: 202, headers: this.lroHeaders(op, 'location') };
    }
    const { record, containerCreated } = this.store.putVersion(
      registry,
      destName,
      destVersion,
      {
        description: src.description,
        tags: src.tags,
        properties: src.properties,
        flavors: src.flavors,
        jobName: src.jobName,
        modelType: src.modelType,
        modelUri: `azureml://registries/${registry.name}/models/${destName}/versions/${destVersion}`,
        stage: src.stage,
      },
      ctx.actor,
      'Creating',
    );
    record.publishedFrom = sourceId;
    const op = this.startOperation(
      ctx,
      this.resourceKey(registry, destName, destVersion),
      200,
      () => {
        record.provisioningState = 'Succeeded';
      },
      () => {
        this.store.deleteVersion(registry, destName, destVersion);
        if (containerCreated) this.store.deleteContainer(registry, destName);
      },
    );
    return { status: 202, headers: this.lroHeaders(op, 'location') };
  }

  // ---- environment and code versions (what an online deployment's environmentId and codeId name) ----

  private environmentOperation(operationId: string, ctx: RequestContext): Reply {
    const p = ctx.pathParams;
    const w: WorkspaceRef = { subscriptionId: p.subscriptionId ?? '', resourceGroup: p.resourceGroupName ?? '', workspace: p.workspaceName ?? '' };
    if (this.options.workspaces && !this.options.workspaces.some((x) => x.subscriptionId.toLowerCase() === w.subscriptionId.toLowerCase() && x.resourceGroup.toLowerCase() === w.resourceGroup.toLowerCase() && x.name.toLowerCase() === w.workspace.toLowerCase())) {
      throw new ArmFailure(404, 'ResourceNotFound', `The Resource '${PROVIDER}/workspaces/${w.workspace}' under resource group '${w.resourceGroup}' was not found.`);
    }
    const name = p.name ?? '';
    const version = p.version ?? '';
    if (operationId === 'CodeVersions_Get') return { status: 200, body: this.online.renderCode(this.online.code(w, name, version)) };
    if (operationId === 'CodeVersions_CreateOrUpdate') {
      const { record, created } = this.online.putCode(w, name, version, (ctx.body ?? {}) as Record<string, unknown>, ctx.actor, ctx.codeUriHasBlobs);
      return { status: created ? 201 : 200, body: this.online.renderCode(record) };
    }
    if (operationId === 'EnvironmentVersions_Get') return { status: 200, body: this.online.renderEnvironment(this.online.environment(w, name, version)) };
    const { record, created } = this.online.putEnvironment(w, name, version, (ctx.body ?? {}) as Record<string, unknown>, ctx.actor);
    return { status: created ? 201 : 200, body: this.online.renderEnvironment(record) };
  }

  // ---- online endpoints and deployments ----

  private onlineOperation(operationId: string, ctx: RequestContext): Reply {
    const p = ctx.pathParams;
    const w: WorkspaceRef = { subscriptionId: p.subscriptionId ?? '', resourceGroup: p.resourceGroupName ?? '', workspace: p.workspaceName ?? '' };
    if (this.options.workspaces && !this.options.workspaces.some((x) => x.subscriptionId.toLowerCase() === w.subscriptionId.toLowerCase() && x.resourceGroup.toLowerCase() === w.resourceGroup.toLowerCase() && x.name.toLowerCase() === w.workspace.toLowerCase())) {
      throw new ArmFailure(404, 'ResourceNotFound', `The Resource '${PROVIDER}/workspaces/${w.workspace}' under resource group '${w.resourceGroup}' was not found.`);
    }
    const location = this.options.location ?? 'westeurope';
    const endpointName = p.endpointName ?? '';
    const deploymentName = p.deploymentName ?? '';
    const body = (ctx.body ?? {}) as Record<string, unknown>;
    const observe = (deployment?: string): void => {
      const key = this.online.resourceKey(w, endpointName, deployment);
      for (const op of this.operations.values()) if (op.resourceKey === key) this.advance(op, false);
    };
    switch (operationId) {
      case 'OnlineEndpoints_List': {
        const all = this.online.list(w);
        for (const e of all) for (const op of this.operations.values()) if (op.resourceKey === this.online.resourceKey(w, e.name)) this.advance(op, false);
        const page = this.page(ctx, all.filter((e) => e.provisioningState !== 'Deleting'), 'count');
        return { status: 200, body: { value: page.value.map((e) => this.online.renderEndpoint(e, location)), ...(page.nextLink ? { nextLink: page.nextLink } : {}) } };
      }
      case 'OnlineEndpoints_Get': {
        observe();
        return { status: 200, body: this.online.renderEndpoint(this.online.requireEndpoint(w, endpointName), location) };
      }
      case 'OnlineEndpoints_CreateOrUpdate': {
        const { record, created } = this.online.putEndpoint(w, endpointName, body, ctx.actor);
        const op = this.startOperation(ctx, this.online.resourceKey(w, endpointName), 200, () => (record.provisioningState = 'Succeeded', undefined), () => {
          if (created) this.online.deleteEndpoint(w, endpointName);
          else record.provisioningState = 'Failed';
        });
        // Both a create and an update are asynchronous: the reply carries the operation to poll.
        return { status: created ? 201 : 200, body: this.online.renderEndpoint(record, location), headers: this.lroHeaders(op, 'async') };
      }
      case 'OnlineEndpoints_Update': {
        // PartialMinimalTrackedResourceWithIdentity: tags and identity only.
        const record = this.online.requireEndpoint(w, endpointName);
        if (body.tags !== undefined) record.body = { ...record.body, tags: body.tags };
        if (body.identity !== undefined) record.body = { ...record.body, identity: body.identity };
        return { status: 200, body: this.online.renderEndpoint(record, location) };
      }
      case 'OnlineEndpoints_Delete': {
        const record = this.online.endpoint(w, endpointName);
        if (!record) return { status: 204 };
        const previous = record.provisioningState;
        record.provisioningState = 'Deleting';
        const op = this.startOperation(ctx, this.online.resourceKey(w, endpointName), 200, () => this.online.deleteEndpoint(w, endpointName), () => (record.provisioningState = previous, undefined));
        return { status: 202, headers: this.lroHeaders(op, 'location') };
      }
      case 'OnlineDeployments_List': {
        const endpoint = this.online.requireEndpoint(w, endpointName);
        for (const d of endpoint.deployments.values()) observe(d.name);
        const page = this.page(ctx, [...endpoint.deployments.values()].filter((d) => d.provisioningState !== 'Deleting'), '$top');
        return { status: 200, body: { value: page.value.map((d) => this.online.renderDeployment(endpoint, d, location)), ...(page.nextLink ? { nextLink: page.nextLink } : {}) } };
      }
      case 'OnlineDeployments_Get': {
        observe(deploymentName);
        const endpoint = this.online.requireEndpoint(w, endpointName);
        return { status: 200, body: this.online.renderDeployment(endpoint, this.online.requireDeployment(w, endpointName, deploymentName), location) };
      }
      case 'OnlineDeployments_CreateOrUpdate': {
        observe();
        const endpoint = this.online.requireEndpoint(w, endpointName);
        const { record, created } = this.online.putDeployment(w, endpointName, deploymentName, body, ctx.actor);
        const op = this.startOperation(ctx, this.online.resourceKey(w, endpointName, deploymentName), 200, () => (record.provisioningState = 'Succeeded', undefined), () => {
          if (created) endpoint.deployments.delete(deploymentName);
          else record.provisioningState = 'Failed';
        });
        return { status: created ? 201 : 200, body: this.online.renderDeployment(endpoint, record, location), headers: this.lroHeaders(op, 'async') };
      }
      case 'OnlineDeployments_Delete': {
        const endpoint = this.online.requireEndpoint(w, endpointName);
        const record = endpoint.deployments.get(deploymentName);
        if (!record) return { status: 204 };
        this.online.checkDeploymentDelete(endpoint, deploymentName);
        const previous = record.provisioningState;
        record.provisioningState = 'Deleting';
        const op = this.startOperation(ctx, this.online.resourceKey(w, endpointName, deploymentName), 200, () => (endpoint.deployments.delete(deploymentName), undefined), () => (record.provisioningState = previous, undefined));
        return { status: 202, headers: this.lroHeaders(op, 'location') };
      }
      default:
        throw new ArmFailure(501, 'NotImplemented', `The emulator does not implement ${operationId}.`);
    }
  }

  // ---- pending uploads ----

  private startPendingUpload(ctx: RequestContext, model: string, version: string): Reply {
    const scope = this.scopeOf(ctx);
    const b = (ctx.body ?? {}) as { pendingUploadId?: string | null };
    const id = b.pendingUploadId ?? randomUUID();
    const key = `${scope.name}|${model}|${version}|${id}`;
    const known = this.pendingUploads.get(key);
    if (known) return { status: 200, body: known };
    const storage = this.options.blobStorage;
    const containerName = storage?.container ?? 'pendinguploads';
    let containerUrl: string;
    let sas: string;
    let account: string;
    if (storage) {
      const parts = Object.fromEntries(
        storage.connectionString.split(';').filter(Boolean).map((kv) => {
          const i = kv.indexOf('=');
          return [kv.slice(0, i), kv.slice(i + 1)];
        }),
      );
      account = parts.AccountName ?? 'devstoreaccount1';
      const endpoint = (parts.BlobEndpoint ?? `https://${account}.blob.core.windows.net`).replace(/\/+$/, '');
      containerUrl = `${endpoint}/${containerName}`;
      sas = generateBlobSASQueryParameters(
        {
          containerName,
          permissions: ContainerSASPermissions.parse('racwl'),
          expiresOn: new Date(Date.now() + 3600_000),
          protocol: SASProtocol.HttpsAndHttp,
        },
        new StorageSharedKeyCredential(account, parts.AccountKey ?? ''),
      ).toString();
      this.ensureContainer(storage.connectionString, containerName);
    } else {
      account = 'emulatedstorage';
      containerUrl = `https://${account}.blob.core.windows.net/${containerName}`;
      sas = `sv=2021-08-06&sr=c&sp=racwl&se=${encodeURIComponent(new Date(Date.now() + 3600_000).toISOString())}&sig=${randomUUID().replace(/-/g, '')}`;
    }
    const body = {
      blobReferenceForConsumption: {
        blobUri: `${containerUrl}/${id}`,
        storageAccountArmId: `/subscriptions/${scope.subscriptionId}/resourceGroups/${scope.resourceGroup}/providers/Microsoft.Storage/storageAccounts/${account}`,
        credential: { credentialType: 'SAS', sasUri: `${containerUrl}?${sas}` },
      },
      pendingUploadId: id,
      pendingUploadType: 'TemporaryBlobReference',
    };
    this.pendingUploads.set(key, body);
    return { status: 200, body };
  }

  private readonly containersReady = new Map<string, Promise<unknown>>();

  /** Creates the upload container once; a reply goes out only after it exists (see finish). */
  private ensureContainer(connectionString: string, name: string): void {
    if (!this.containersReady.has(name)) {
      this.containersReady.set(name, BlobServiceClient.fromConnectionString(connectionString).getContainerClient(name).createIfNotExists());
    }
  }

  // ---- replies ----

  private async finish(res: ServerResponse, record: RecordedRequest, started: number, reply: Reply): Promise<void> {
    await Promise.all(this.containersReady.values());
    await holdMinLatency(started, this.options.minLatencyMs ?? 3);
    if (this.options.selfCheck !== false) this.selfCheck(record, reply);
    record.status = reply.status;
    record.responseBody = reply.body;
    record.responseHeaders = reply.headers;
    this.send(res, reply);
  }

  private selfCheck(record: RecordedRequest, reply: Reply): void {
    let problems: ValidationIssue[] = [];
    if (record.operationId) {
      problems = this.spec.validateResponse(record.operationId, reply.status, reply.body, reply.headers).errors;
    } else if (OPERATION_PATH.test(record.path) && reply.status === 200 && reply.body !== undefined && this.typesValidator) {
      problems = this.typesValidator.validateDefinition('OperationStatusResult', reply.body).errors;
    }
    if (problems.length > 0) {
      this.selfCheckFailures.push(`${record.method} ${record.path} -> ${reply.status}: ${problems.map((p) => p.message).join('; ')}`);
    }
  }

  private send(res: ServerResponse, reply: Reply): void {
    sendReply(res, reply, { contentType: 'application/json; charset=utf-8', headers: { 'x-ms-request-id': randomUUID() } });
  }
}

function validationFailure(errors: ValidationIssue[]): ArmFailure {
  const details = errors.map((e) => ({
    code: e.in === 'body' ? 'InvalidRequestContent' : 'InvalidParameter',
    message: e.message,
    target: e.in === 'body' ? `body${e.name.replace(/\//g, '.')}` : e.name,
  }));
  return new ArmFailure(400, 'UserError', `The request is invalid: ${errors[0]?.message ?? ''}`, { target: details[0]?.target, details });
}
