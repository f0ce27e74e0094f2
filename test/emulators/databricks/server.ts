// The Databricks emulator: one HTTP(S) server on 127.0.0.1 speaking the Jobs 2.1/2.2 runs API,
// DBFS 2.0, Workspace import, the Files API and the ARM workspace GET, recording every request.
import { randomUUID } from 'node:crypto';
import fs from 'node:fs';
import type http from 'node:http';
import os from 'node:os';
import path from 'node:path';
import { databricksArmSpec } from '../spec/spec-paths.js';
import { loadSwaggerValidator } from '../spec/swagger-validator.js';
import { ArmApiError, DatabricksApiError, InvalidRequestError, invalidParameter } from './api-error.js';
import { EmulatorStorage } from './emulator-storage.js';
import {
  type Reply, type RequestOutcome, applyTransportFault, bearerToken, dropConnection, holdMinLatency, invalidRequests, isJwtShaped, parseJsonBody,
  pollUntil, readBody, replyProblems, requestLine, sendReply, startEmulatorServer,
} from '../shared/emulator-server.js';
import { ALL_FAULT_KINDS, FaultController, type FaultRule, faultStatus, retryAfterHeader } from '../shared/fault-injection.js';
import { getJobsApiValidator, type ValidationIssue } from './openapi3-validator.js';
import {
  DEFAULT_TIMINGS, type ForcedOutcome, RunEngine, isTerminal, type ParentRun, type RunTimings, type TaskRun,
} from './run-engine.js';
import { findStorageOperation, validateStorageRequest, validateStorageResponse, type StorageOperation } from './storage-api-contract.js';

type Json = Record<string, unknown>;

export interface DatabricksEmulatorOptions {
  /** Interpreter for spark_python_task. Default: $MANYMODELS_PYTHON, else `python3`. */
  readonly python?: string;
  /** Extra environment for the task processes (on top of this process's environment). */
  readonly env?: Readonly<Record<string, string>>;
  /** Folder for DBFS, workspace and volume files. Default: a fresh temp folder, removed by stop(). */
  readonly storageRoot?: string;
  /** Every reply waits at least this long (default 5 ms), so a runaway poll loop times out instead of spinning. */
  readonly minLatencyMs?: number;
  /** Life-cycle pacing; defaults keep a run under ~0.2 s plus the script. */
  readonly timings?: Partial<RunTimings>;
  /** Tail of stdout+stderr kept per task run (default 5 MB, as the service). */
  readonly maxLogBytes?: number;
  /** Active runs allowed at once; queued runs wait, unqueued runs are skipped (default unlimited). */
  readonly maxConcurrentRuns?: number;
  /** When set, only these bearer tokens are accepted (others get 403); default: any bearer token. */
  readonly acceptedTokens?: readonly string[];
  /** The workspace id in run URLs and the ARM reply (default a random 16-digit id). */
  readonly workspaceId?: string;
  /** Restricts which ARM workspace exists; default: any subscription/group/name resolves. */
  readonly armWorkspace?: { readonly subscriptionId?: string; readonly resourceGroup?: string; readonly name?: string; readonly location?: string };
  /** Serve HTTPS with this key and certificate (the Azure SDKs refuse bearer tokens over http). */
  readonly tls?: { readonly key: string | Buffer; readonly cert: string | Buffer };
  /** runs/get and runs/list send `status` only, without the deprecated `state` (Jobs 2.2 deprecates it). */
  readonly omitDeprecatedState?: boolean;
  /**
   * Service principals that may get OAuth tokens at `POST /oidc/v1/token` (client credentials).
   * Their tokens are then accepted like the acceptedTokens; default: none (every token request is refused).
   */
  readonly oauthClients?: ReadonlyArray<{ readonly clientId: string; readonly clientSecret: string }>;
  /** Lifetime of an OAuth access token in seconds (default 3600, as the service). */
  readonly oauthTokenSeconds?: number;
  /**
   * What the Clusters API lists (spark-versions, list-node-types) and what runs/submit accepts in a
   * new_cluster. Default: DEFAULT_SPARK_VERSIONS and DEFAULT_NODE_TYPES.
   */
  readonly sparkVersions?: readonly string[];
  readonly nodeTypes?: readonly string[];
  /** Instance pools (instance-pools/get); default none. */
  readonly instancePools?: ReadonlyArray<{ readonly instance_pool_id: string; readonly node_type_id: string; readonly state?: string }>;
  /** Cluster policies (policies/clusters/get); `definition` is the policy JSON as a string. Default none. */
  readonly clusterPolicies?: ReadonlyArray<{ readonly policy_id: string; readonly name: string; readonly definition: string }>;
  /** Existing clusters by id with their state (clusters/get); default: any id is a RUNNING cluster. */
  readonly clusters?: Readonly<Record<string, string>>;
  /** Check every JSON reply against the API definitions and record problems (default true). */
  readonly checkReplies?: boolean;
}

export type { RequestOutcome };

/** What the emulator saw and did. Bearer tokens are never stored, only their kind. */
export interface RecordedRequest {
  readonly seq: number;
  readonly method: string;
  readonly path: string;
  readonly query: Readonly<Record<string, string>>;
  /** Parsed JSON body; `{ rawBytes }` for binary uploads; `undefined` for none. */
  body: unknown;
  readonly tokenKind: 'pat' | 'aad' | 'oauth' | 'basic' | 'other' | 'none';
  readonly receivedAt: number;
  /** Matched operation, e.g. `JobsRunsSubmit`, `DbfsAddBlock`, `Workspaces_Get`. */
  operation?: string;
  outcome?: RequestOutcome;
  /** 0 when the connection was dropped instead of answered. */
  status?: number;
  errorCode?: string;
  fault?: FaultRule['kind'];
  /** Why the request was rejected as invalid (its definition or a documented service rule). */
  issues?: readonly ValidationIssue[];
  /** Problems found in the emulator's own reply (should stay empty: tests assert it). */
  replyIssues?: readonly ValidationIssue[];
}

export interface EmulatorRuns {
  /** Submitted (parent) runs, oldest first. */
  list(): readonly ParentRun[];
  /** A parent run or a task run by id. */
  get(runId: number): ParentRun | TaskRun | undefined;
  /** Python processes launched so far (idempotency tests count these). */
  processesStarted(): number;
  /** Resolves when the run reaches a terminal state. */
  waitForTerminal(runId: number, timeoutMs?: number): Promise<ParentRun>;
}

export interface DatabricksEmulator {
  /** `http://127.0.0.1:<port>` (or https). */
  readonly url: string;
  /** `127.0.0.1:<port>`: what ARM returns as workspaceUrl (no scheme, like the real one). */
  readonly workspaceHost: string;
  readonly workspaceId: string;
  readonly requests: readonly RecordedRequest[];
  /** Requests rejected as invalid or unauthenticated, or sent to a path that does not exist. */
  invalidRequests(): RecordedRequest[];
  /** Requests whose reply failed the emulator's own check against the definitions. */
  replyProblems(): RecordedRequest[];
  readonly faults: FaultController<ForcedOutcome>;
  readonly runs: EmulatorRuns;
  readonly storage: EmulatorStorage;
  readonly storageRoot: string;
  readonly dbfsRoot: string;
  /** Where a cluster path (`dbfs:/…`, `/dbfs/…`, `/Volumes/…`, workspace path) lives locally. */
  localPathFor(remote: string): string | undefined;
  /** Ends the life of every OAuth token issued so far, as their expiry would. */
  expireOAuthTokens(): void;
  stop(): Promise<void>;
}

interface Context {
  readonly method: string;
  readonly path: string;
  readonly query: Readonly<Record<string, string>>;
  readonly body: unknown;
  readonly raw: Buffer;
  readonly apiVersion: '2.1' | '2.2';
}

/** Bodies above this are refused outright (workspace import's 10 MB arrives as ~13.4 MB of base64). */
const MAX_BODY_BYTES = 64 * 1024 * 1024;

function tokenKind(header: string | undefined): RecordedRequest['tokenKind'] {
  const token = bearerToken(header);
  if (!token) return header ? 'other' : 'none';
  if (token.startsWith('dapi')) return 'pat';
  return isJwtShaped(token) ? 'aad' : 'other';
}

const bodyTooLarge = (): DatabricksApiError => new DatabricksApiError(413, 'REQUEST_LIMIT_EXCEEDED', `Request body larger than ${MAX_BODY_BYTES} bytes.`);

function filesPath(urlPath: string, prefix: string): string {
  // The SDK escapes each segment of the file path; decode them back.
  return `/${urlPath.slice(prefix.length).split('/').map((s) => decodeURIComponent(s)).join('/')}`.replace(/^\/+/, '/');
}

/** Every fault kind but `lro-failure` (Jobs runs are not ARM long-running operations). */
const DATABRICKS_FAULT_KINDS = ALL_FAULT_KINDS.filter((k) => k !== 'lro-failure');

/** error_code of an injected server error by status (a rule's `code` wins). */
const DATABRICKS_STATUS_CODES: Record<number, string> = { 500: 'INTERNAL_ERROR', 502: 'BAD_GATEWAY', 503: 'TEMPORARILY_UNAVAILABLE', 504: 'DEADLINE_EXCEEDED' };

const OIDC_TOKEN_PATH = '/oidc/v1/token';

/** Runtime keys as clusters/spark-versions lists them on Azure (LTS lines of 2024–2025). */
export const DEFAULT_SPARK_VERSIONS: readonly string[] = [
  '13.3.x-scala2.12', '14.3.x-scala2.12', '15.4.x-scala2.12', '15.4.x-photon-scala2.12', '16.4.x-scala2.12', '16.4.x-scala2.13', '17.3.x-scala2.13',
];
export const DEFAULT_NODE_TYPES: readonly string[] = [
  'Standard_DS3_v2', 'Standard_D4ds_v5', 'Standard_D8ds_v5', 'Standard_D16ds_v5', 'Standard_E8ds_v5', 'Standard_E16ds_v5', 'Standard_F8s_v2',
];

const CLUSTER_ROUTES: Record<string, string> = {
  '/api/2.0/clusters/spark-versions': 'ClustersSparkVersions',
  '/api/2.0/clusters/list-node-types': 'ClustersListNodeTypes',
  '/api/2.0/clusters/get': 'ClustersGet',
  '/api/2.0/instance-pools/get': 'InstancePoolsGet',
  '/api/2.0/policies/clusters/get': 'ClusterPoliciesGet',
};

/** An OAuth error reply (RFC 6749 §5.2), as the workspace token endpoint sends it. */
class OAuthError extends Error {
  constructor(readonly status: number, readonly code: string, readonly description: string) {
    super(description);
  }

  reply(record: RecordedRequest): Reply {
    record.outcome = this.status === 401 ? 'unauthenticated' : 'invalid';
    record.errorCode = this.code;
    return { status: this.status, body: { error: this.code, error_description: this.description } };
  }
}

/** A JWT-shaped access token, as the service's are (the emulator never signs or checks them). */
function oauthAccessToken(clientId: string): string {
  const part = (v: unknown): string => Buffer.from(JSON.stringify(v)).toString('base64url');
  return `${part({ alg: 'RS256', typ: 'at+jwt' })}.${part({ client_id: clientId, scope: 'all-apis', jti: randomUUID() })}.${randomUUID().replace(/-/g, '')}`;
}

const ARM_WORKSPACE = /^\/subscriptions\/([^/]+)\/resourceGroups\/([^/]+)\/providers\/Microsoft\.Databricks\/workspaces\/([^/]+)\/?$/i;

export async function startDatabricksEmulator(options: DatabricksEmulatorOptions = {}): Promise<DatabricksEmulator> {
  const ownsRoot = options.storageRoot === undefined;
  const root = options.storageRoot ?? fs.mkdtempSync(path.join(os.tmpdir(), 'mm-databricks-emu-'));
  const storage = new EmulatorStorage(root);
  const faults = new FaultController<ForcedOutcome>(DATABRICKS_FAULT_KINDS);
  const workspaceId = options.workspaceId ?? String(1_000_000_000_000_000 + Math.floor(Math.random() * 8e15));
  const minLatencyMs = options.minLatencyMs ?? 5;
  const checkReplies = options.checkReplies ?? true;
  const jobs = getJobsApiValidator();
  const arm = await loadSwaggerValidator(databricksArmSpec());
  const requests: RecordedRequest[] = [];
  let baseUrl = '';
  let host = '';

  const engine = new RunEngine({
    storage,
    python: options.python ?? process.env.MANYMODELS_PYTHON ?? 'python3',
    env: options.env ?? {},
    timings: { ...DEFAULT_TIMINGS, ...options.timings },
    maxLogBytes: options.maxLogBytes ?? 5 * 1024 * 1024,
    maxConcurrentRuns: options.maxConcurrentRuns ?? Number.POSITIVE_INFINITY,
    workspaceId,
    baseUrl: () => baseUrl,
    takeForcedOutcome: () => faults.takeForcedOutcome(),
    ...(options.omitDeprecatedState ? { omitDeprecatedState: true } : {}),
  });
  /** OAuth access tokens issued by the token endpoint, with their expiry (epoch ms). */
  const oauthTokens = new Map<string, number>();
  const oauthSeconds = options.oauthTokenSeconds ?? 3600;

  // ---- handlers: each returns a Reply or throws a DatabricksApiError / ArmApiError ----

  const sparkVersions = options.sparkVersions ?? DEFAULT_SPARK_VERSIONS;
  const nodeTypes = options.nodeTypes ?? DEFAULT_NODE_TYPES;
  /** What the service refuses that depends on the workspace: a runtime or node type it does not offer. */
  const checkClusters = (body: Json): void => {
    const tasks = Array.isArray(body.tasks) ? body.tasks as Json[] : [];
    tasks.forEach((task, i) => {
      const c = task.new_cluster as Json | undefined;
      if (!c || typeof c !== 'object') return;
      const at = `/tasks/${i}/new_cluster`;
      if (typeof c.spark_version === 'string' && !sparkVersions.includes(c.spark_version)) {
        throw new InvalidRequestError('INVALID_PARAMETER_VALUE', `Invalid spark version ${c.spark_version}.`, [{ where: 'body', pointer: `${at}/spark_version`, message: `Invalid spark version ${c.spark_version}.`, code: 'INVALID_PARAMETER_VALUE' }]);
      }
      for (const field of ['node_type_id', 'driver_node_type_id']) {
        const v = c[field];
        if (typeof v === 'string' && !nodeTypes.includes(v)) {
          throw new InvalidRequestError('INVALID_PARAMETER_VALUE', `Node type ${v} is not supported.`, [{ where: 'body', pointer: `${at}/${field}`, message: `Node type ${v} is not supported.`, code: 'INVALID_PARAMETER_VALUE' }]);
        }
      }
    });
  };
  const notFound = (message: string): DatabricksApiError => new DatabricksApiError(400, 'INVALID_PARAMETER_VALUE', message);
  const clusterHandlers: Record<string, (ctx: Context) => Reply> = {
    ClustersSparkVersions: () => ({ status: 200, body: { versions: sparkVersions.map((key) => ({ key, name: `${key.split('.x')[0]} (emulated)` })) } }),
    ClustersListNodeTypes: () => ({ status: 200, body: { node_types: nodeTypes.map((node_type_id) => ({ node_type_id, num_cores: 4, memory_mb: 16384 })) } }),
    ClustersGet: (ctx) => {
      const id = ctx.query.cluster_id ?? '';
      const state = options.clusters ? options.clusters[id] : 'RUNNING';
      if (!id || !state) throw notFound(`Cluster ${id} does not exist`);
      return { status: 200, body: { cluster_id: id, cluster_name: `cluster-${id}`, state, spark_version: sparkVersions[0], node_type_id: nodeTypes[0] } };
    },
    InstancePoolsGet: (ctx) => {
      const pool = options.instancePools?.find((p) => p.instance_pool_id === ctx.query.instance_pool_id);
      if (!pool) throw notFound(`Instance pool ${ctx.query.instance_pool_id ?? ''} does not exist`);
      return { status: 200, body: { instance_pool_name: pool.instance_pool_id, state: 'ACTIVE', ...pool } };
    },
    ClusterPoliciesGet: (ctx) => {
      const policy = options.clusterPolicies?.find((p) => p.policy_id === ctx.query.policy_id);
      if (!policy) throw new DatabricksApiError(404, 'RESOURCE_DOES_NOT_EXIST', `Policy ${ctx.query.policy_id ?? ''} does not exist`);
      return { status: 200, body: { ...policy } };
    },
  };

  const jobsHandlers: Record<string, (ctx: Context) => Reply> = {
    JobsRunsSubmit: (ctx) => {
      checkClusters(ctx.body as Json);
      return { status: 200, body: { run_id: engine.submit(ctx.body as Json, ctx.apiVersion).runId } };
    },
    JobsRunsGet: (ctx) => ({ status: 200, body: engine.getJson(Number(ctx.query.run_id)) }),
    JobsRunsGetOutput: (ctx) => ({ status: 200, body: engine.getOutputJson(Number(ctx.query.run_id)) }),
    JobsRunsCancel: (ctx) => {
      engine.cancel(Number((ctx.body as Json).run_id));
      return { status: 200, body: {} };
    },
    JobsRunsList: (ctx) => ({ status: 200, body: engine.listJson(ctx.query, ctx.apiVersion) }),
  };

  const num = (v: string | undefined): number | undefined => (v === undefined ? undefined : Number(v));
  const bodyOf = (ctx: Context): Json => ctx.body as Json;
  const storageHandlers: Record<string, (ctx: Context) => Reply> = {
    DbfsPut: (ctx) => {
      const b = bodyOf(ctx);
      storage.dbfsPut(String(b.path), b.contents as string | undefined, b.overwrite === true);
      return { status: 200, body: {} };
    },
    DbfsCreate: (ctx) => ({ status: 200, body: { handle: storage.dbfsCreate(String(bodyOf(ctx).path), bodyOf(ctx).overwrite === true) } }),
    DbfsAddBlock: (ctx) => {
      storage.dbfsAddBlock(Number(bodyOf(ctx).handle), String(bodyOf(ctx).data));
      return { status: 200, body: {} };
    },
    DbfsClose: (ctx) => {
      storage.dbfsClose(Number(bodyOf(ctx).handle));
      return { status: 200, body: {} };
    },
    DbfsMkdirs: (ctx) => {
      storage.dbfsMkdirs(String(bodyOf(ctx).path));
      return { status: 200, body: {} };
    },
    DbfsDelete: (ctx) => {
      storage.dbfsDelete(String(bodyOf(ctx).path), bodyOf(ctx).recursive === true);
      return { status: 200, body: {} };
    },
    DbfsGetStatus: (ctx) => ({ status: 200, body: storage.dbfsGetStatus(String(ctx.query.path)) }),
    DbfsList: (ctx) => {
      const files = storage.dbfsList(String(ctx.query.path));
      // An empty directory answers `{}` (the field is omitted, as the SDK expects).
      return { status: 200, body: files.length > 0 ? { files } : {} };
    },
    DbfsRead: (ctx) => ({ status: 200, body: storage.dbfsRead(String(ctx.query.path), num(ctx.query.offset), num(ctx.query.length)) }),
    WorkspaceImport: (ctx) => {
      const b = bodyOf(ctx);
      storage.workspaceImport({
        path: String(b.path),
        ...(typeof b.format === 'string' ? { format: b.format } : {}),
        ...(typeof b.language === 'string' ? { language: b.language as 'PYTHON' } : {}),
        ...(typeof b.content === 'string' ? { content: b.content } : {}),
        overwrite: b.overwrite === true,
      });
      return { status: 200, body: {} };
    },
    WorkspaceMkdirs: (ctx) => {
      storage.workspaceMkdirs(String(bodyOf(ctx).path));
      return { status: 200, body: {} };
    },
    WorkspaceGetStatus: (ctx) => ({ status: 200, body: storage.workspaceGetStatus(String(ctx.query.path)) }),
    FilesUpload: (ctx) => {
      storage.filesUpload(filesPath(ctx.path, '/api/2.0/fs/files/'), ctx.raw, ctx.query.overwrite !== 'false');
      return { status: 204 };
    },
    FilesGetMetadata: (ctx) => {
      const st = storage.filesStat(filesPath(ctx.path, '/api/2.0/fs/files/'));
      return { status: 200, headers: { 'content-length': String(st.size), 'content-type': 'application/octet-stream', 'last-modified': st.modified.toUTCString() } };
    },
    FilesDownload: (ctx) => {
      const remote = filesPath(ctx.path, '/api/2.0/fs/files/');
      const st = storage.filesStat(remote);
      return { status: 200, body: storage.filesDownload(remote), headers: { 'content-type': 'application/octet-stream', 'last-modified': st.modified.toUTCString() } };
    },
    FilesCreateDirectory: (ctx) => {
      storage.directoryCreate(filesPath(ctx.path, '/api/2.0/fs/directories/'));
      return { status: 204 };
    },
    FilesGetDirectoryMetadata: (ctx) => {
      storage.directoryExists(filesPath(ctx.path, '/api/2.0/fs/directories/'));
      return { status: 200 };
    },
    FilesListDirectoryContents: (ctx) => ({
      status: 200,
      body: storage.directoryList(filesPath(ctx.path, '/api/2.0/fs/directories/'), num(ctx.query.page_size), ctx.query.page_token),
    }),
  };

  const armGet = (record: RecordedRequest, match: RegExpExecArray, query: Readonly<Record<string, string>>): Reply => {
    // README §4: the 4.x SDK defaults to a newer api-version than the saved 2024-05-01 one,
    // so any version is accepted, but ARM always requires one.
    if (!query['api-version']) {
      throw new ArmApiError(400, 'MissingApiVersionParameter', "The api-version query parameter (?api-version=) is required for all requests.");
    }
    const checked = arm.validateRequest({ method: 'GET', path: record.path, query: { ...query } });
    const problems = checked.errors.filter((e) => e.keyword !== 'apiVersion');
    if (problems.length > 0) {
      record.issues = problems.map((e) => ({ where: e.in === 'query' ? 'query' : 'body', pointer: e.name, message: e.message, code: 'INVALID_PARAMETER_VALUE' }));
      record.outcome = 'invalid';
      throw new ArmApiError(400, 'InvalidParameter', problems.map((e) => e.message).join('; '));
    }
    const [, sub = '', rg = '', name = ''] = match;
    const want = options.armWorkspace;
    const same = (a: string | undefined, b: string): boolean => a === undefined || a.toLowerCase() === b.toLowerCase();
    if (!same(want?.subscriptionId, sub) || !same(want?.resourceGroup, rg) || !same(want?.name, name)) {
      throw new ArmApiError(404, 'ResourceNotFound', `The Resource 'Microsoft.Databricks/workspaces/${name}' under resource group '${rg}' was not found.`);
    }
    return {
      status: 200,
      body: {
        id: `/subscriptions/${sub}/resourceGroups/${rg}/providers/Microsoft.Databricks/workspaces/${name}`,
        name,
        type: 'Microsoft.Databricks/workspaces',
        location: want?.location ?? 'westeurope',
        tags: {},
        sku: { name: 'premium' },
        properties: {
          managedResourceGroupId: `/subscriptions/${sub}/resourceGroups/databricks-rg-${name}`,
          provisioningState: 'Succeeded',
          workspaceId,
          // The emulator's own host:port: a client that follows workspaceUrl lands here.
          workspaceUrl: host,
          createdDateTime: startedAt,
          isUcEnabled: true,
        },
      },
    };
  };
  const startedAt = new Date().toISOString();

  // ---- the request pipeline ----

  const authorise = (req: http.IncomingMessage, arm: boolean): void => {
    const header = req.headers.authorization;
    const token = bearerToken(header);
    if (arm) {
      if (!header) throw new ArmApiError(401, 'AuthenticationFailed', "Authentication failed. The 'Authorization' header is missing.");
      // ARM takes only Entra ID (AAD) access tokens, never a Databricks PAT.
      if (!token || tokenKind(header) !== 'aad') throw new ArmApiError(401, 'InvalidAuthenticationToken', 'The access token is invalid.');
      return;
    }
    if (!token) {
      throw new DatabricksApiError(401, 'UNAUTHENTICATED', 'Credential was not sent or was of an unsupported type for this API.');
    }
    const oauthExpiry = oauthTokens.get(token);
    if (oauthExpiry !== undefined) {
      if (Date.now() >= oauthExpiry) throw new DatabricksApiError(401, 'UNAUTHENTICATED', 'Token is expired.');
      return;
    }
    if (options.acceptedTokens && !options.acceptedTokens.includes(token)) {
      throw new DatabricksApiError(403, 'PERMISSION_DENIED', 'Invalid access token.');
    }
  };

  /**
   * `POST /oidc/v1/token`: the OAuth client-credentials grant of a workspace, with its rules —
   * a form body, grant_type client_credentials, scope all-apis, and the client authenticated by
   * HTTP Basic (or client_id/client_secret in the form); errors are OAuth's `{error, error_description}`.
   */
  const tokenEndpoint = (req: http.IncomingMessage, raw: Buffer, record: RecordedRequest): Reply => {
    if (req.method !== 'POST') throw new OAuthError(405, 'invalid_request', 'The token endpoint takes POST only.');
    const type = String(req.headers['content-type'] ?? '').split(';')[0]!.trim().toLowerCase();
    if (type !== 'application/x-www-form-urlencoded') {
      throw new OAuthError(400, 'invalid_request', 'The request body must be application/x-www-form-urlencoded.');
    }
    const form = new URLSearchParams(raw.toString('utf8'));
    // What was asked, never the secret.
    record.body = { grant_type: form.get('grant_type'), scope: form.get('scope'), client_secret_in_body: form.has('client_secret') };
    let clientId = form.get('client_id') ?? undefined;
    let clientSecret = form.get('client_secret') ?? undefined;
    const basic = /^Basic\s+(\S+)$/i.exec(String(req.headers.authorization ?? ''));
    if (basic) {
      const decoded = Buffer.from(basic[1]!, 'base64').toString('utf8');
      const colon = decoded.indexOf(':');
      if (colon < 0) throw new OAuthError(401, 'invalid_client', 'Client authentication failed.');
      clientId = decodeURIComponent(decoded.slice(0, colon));
      clientSecret = decodeURIComponent(decoded.slice(colon + 1));
      (record as { tokenKind: string }).tokenKind = 'basic';
    } else if (req.headers.authorization) {
      throw new OAuthError(401, 'invalid_client', 'Client authentication failed.');
    }
    const grant = form.get('grant_type');
    if (!grant) throw new OAuthError(400, 'invalid_request', 'Missing grant_type.');
    if (grant !== 'client_credentials') throw new OAuthError(400, 'unsupported_grant_type', `Grant type ${grant} is not supported.`);
    const client = (options.oauthClients ?? []).find((c) => c.clientId === clientId);
    if (!clientId || !client || client.clientSecret !== clientSecret) throw new OAuthError(401, 'invalid_client', 'Client authentication failed.');
    const scopes = (form.get('scope') ?? '').split(/\s+/).filter(Boolean);
    if (!scopes.includes('all-apis')) throw new OAuthError(400, 'invalid_scope', 'The requested scope is invalid, unknown, or malformed.');
    const token = oauthAccessToken(clientId);
    oauthTokens.set(token, Date.now() + oauthSeconds * 1000);
    return { status: 200, body: { access_token: token, token_type: 'Bearer', scope: 'all-apis', expires_in: oauthSeconds } };
  };

  const faultReply = (rule: FaultRule, urlPath: string, armRoute: boolean): Reply | undefined => {
    const reply = databricksFaultReply(rule, urlPath);
    if (!reply || !armRoute) return reply;
    // ARM answers the same conditions in its own error shape.
    const armCodes: Record<number, string> = { 429: 'TooManyRequests', 500: 'InternalServerError', 502: 'BadGateway', 503: 'ServiceUnavailable', 504: 'GatewayTimeout' };
    const { message } = reply.body as { message: string };
    return { ...reply, body: { error: { code: armCodes[reply.status] ?? 'InternalServerError', message } } };
  };

  const databricksFaultReply = (rule: FaultRule, urlPath: string): Reply | undefined => {
    const fault = faultStatus(rule);
    if (!fault) return undefined;
    const headers = retryAfterHeader(fault);
    const reply = (errorCode: string, message: string): Reply => ({ status: fault.status, ...(Object.keys(headers).length > 0 ? { headers } : {}), body: { error_code: errorCode, message } });
    if (rule.kind === 'rate-limit') return reply('REQUEST_LIMIT_EXCEEDED', `Too many requests to ${urlPath}. Please retry after ${fault.retryAfterSeconds} seconds.`);
    if (fault.status === 503) return reply(rule.code ?? 'TEMPORARILY_UNAVAILABLE', `The service at ${urlPath} is temporarily unavailable. Please try again later.`);
    return reply(rule.code ?? DATABRICKS_STATUS_CODES[fault.status] ?? 'INTERNAL_ERROR', 'Unexpected internal error (emulator fault injection).');
  };

  const checkReply = (record: RecordedRequest, storageOp: StorageOperation | undefined, reply: Reply): void => {
    if (!checkReplies || Buffer.isBuffer(reply.body)) return;
    let issues: ValidationIssue[] = [];
    if (record.operation === 'Workspaces_Get') {
      issues = arm.validateResponse('Workspaces_Get', reply.status, reply.body).errors
        .map((e) => ({ where: 'response', pointer: e.name, message: e.message, code: 'INVALID_PARAMETER_VALUE' }));
    } else if (record.operation?.startsWith('Jobs')) {
      issues = jobs.validateResponse(record.path, record.method, reply.status, reply.body);
    } else if (storageOp) {
      issues = validateStorageResponse(storageOp, reply.status, reply.body);
    }
    if (issues.length > 0) record.replyIssues = issues;
  };

  const handle = async (req: http.IncomingMessage, res: http.ServerResponse): Promise<void> => {
    const started = Date.now();
    const { method, url, query } = requestLine(req);
    const record: RecordedRequest = {
      seq: requests.length + 1,
      method,
      path: url.pathname,
      query,
      body: undefined,
      tokenKind: oauthTokens.has(bearerToken(req.headers.authorization) ?? '') ? 'oauth' : tokenKind(req.headers.authorization),
      receivedAt: started,
    };
    requests.push(record);
    if (url.pathname === OIDC_TOKEN_PATH) {
      record.operation = 'OidcToken';
      let reply: Reply;
      try {
        reply = tokenEndpoint(req, await readBody(req, MAX_BODY_BYTES, bodyTooLarge), record);
        record.outcome = 'ok';
      } catch (err) {
        reply = err instanceof OAuthError ? err.reply(record) : errorReply(err, record);
      }
      await holdMinLatency(started, minLatencyMs);
      send(res, record, reply);
      return;
    }

    let dropAfterHandling = false;
    let storageOp: StorageOperation | undefined;
    let reply: Reply;
    const armMatch = ARM_WORKSPACE.exec(url.pathname);
    try {
      const raw = await readBody(req, MAX_BODY_BYTES, bodyTooLarge);
      const jobsOp = jobs.findOperation(method, url.pathname);
      storageOp = jobsOp ? undefined : findStorageOperation(method, url.pathname);
      const isJson = Boolean(jobsOp) || (storageOp !== undefined && storageOp.body !== 'raw');
      if (storageOp?.body === 'raw') record.body = { rawBytes: raw.length };
      const parsed = isJson ? parseJsonBody(raw) : undefined;
      const body = parsed?.body;
      const unparsable = parsed?.unparsable ?? false;
      if (parsed?.recorded !== undefined) record.body = parsed.recorded;

      const clusterOp = method === 'GET' ? CLUSTER_ROUTES[url.pathname] : undefined;
      if (armMatch && method === 'GET') record.operation = 'Workspaces_Get';
      else if (clusterOp) record.operation = clusterOp;
      else if (jobsOp) record.operation = jobsOp.operationId;
      else if (storageOp) record.operation = storageOp.name;

      // Authentication comes first, as on the service: an anonymous bad request gets a 401.
      authorise(req, Boolean(armMatch));

      const fault = faults.take(method, url.pathname);
      if (fault) {
        record.fault = fault.kind;
        const transport = await applyTransportFault(fault, req, record);
        if (transport.dropped) return;
        dropAfterHandling = transport.dropAfterHandling;
        const canned = faultReply(fault, url.pathname, Boolean(armMatch));
        if (canned) {
          record.outcome = 'fault';
          await holdMinLatency(started, minLatencyMs);
          send(res, record, canned);
          return;
        }
      }

      if (unparsable) {
        throw new InvalidRequestError('MALFORMED_REQUEST', 'Invalid JSON given in the body of the request - failed to parse given JSON',
          [{ where: 'body', pointer: '/', message: 'the body is not JSON', code: 'MALFORMED_REQUEST' }]);
      }
      if (armMatch) {
        if (method !== 'GET') throw new ArmApiError(405, 'MethodNotAllowed', `The emulator serves only GET on ${url.pathname}.`);
        reply = armGet(record, armMatch, record.query);
      } else if (jobsOp) {
        const issues = jobs.validateRequest({ method, path: url.pathname, query: record.query, body });
        if (issues.length > 0) throw invalidFrom(issues);
        const handler = jobsHandlers[jobsOp.operationId];
        if (!handler) {
          record.outcome = 'unsupported';
          throw new DatabricksApiError(501, 'NOT_IMPLEMENTED', `The emulator does not implement ${jobsOp.operationId}.`);
        }
        reply = handler({ method, path: url.pathname, query: record.query, body, raw, apiVersion: jobsOp.apiVersion });
      } else if (storageOp) {
        const issues = validateStorageRequest(storageOp, record.query, body);
        if (issues.length > 0) throw invalidFrom(issues);
        const handler = storageHandlers[storageOp.name] as (ctx: Context) => Reply;
        reply = handler({ method, path: url.pathname, query: record.query, body, raw, apiVersion: '2.1' });
      } else if (clusterOp) {
        reply = clusterHandlers[clusterOp]!({ method, path: url.pathname, query: record.query, body, raw, apiVersion: '2.1' });
      } else {
        record.outcome = 'not-found';
        throw new DatabricksApiError(404, 'ENDPOINT_NOT_FOUND', `No API found for '${method} ${url.pathname}'`);
      }
      record.outcome ??= 'ok';
    } catch (err) {
      reply = errorReply(err, record);
    }

    await holdMinLatency(started, minLatencyMs);
    checkReply(record, storageOp, reply);
    if (dropAfterHandling) {
      // The work is done (a run exists, a file is written) but the client never hears so.
      dropConnection(req, record);
      return;
    }
    send(res, record, reply);
  };

  const invalidFrom = (issues: readonly ValidationIssue[]): InvalidRequestError => {
    const first = issues[0] as ValidationIssue;
    const where = first.where === 'query' ? `query parameter ${first.pointer}` : first.pointer === '/' ? 'request body' : first.pointer;
    // A message quoted from the service (a capitalised sentence) is sent as is; others get the location.
    const message = /^[A-Z]/.test(first.message) ? first.message : `${where}: ${first.message}`;
    return new InvalidRequestError(first.code, message, issues);
  };

  const errorReply = (err: unknown, record: RecordedRequest): Reply => {
    if (err instanceof ArmApiError) {
      record.outcome ??= err.status === 401 ? 'unauthenticated' : err.code === 'MissingApiVersionParameter' ? 'invalid' : 'api-error';
      return { status: err.status, body: err.body() };
    }
    if (err instanceof DatabricksApiError) {
      if (err instanceof InvalidRequestError) {
        record.issues = err.issues;
        record.outcome = 'invalid';
      } else if (err.status === 401 || err.status === 403) record.outcome = 'unauthenticated';
      else record.outcome ??= 'api-error';
      return { status: err.status, body: err.body(), headers: { ...err.headers } };
    }
    record.outcome = 'emulator-bug';
    return { status: 500, body: { error_code: 'INTERNAL_ERROR', message: `Emulator bug: ${(err as Error).stack ?? String(err)}` } };
  };

  const send = (res: http.ServerResponse, record: RecordedRequest, reply: Reply): void => {
    record.status = reply.status;
    if (reply.status >= 400 && reply.body && typeof reply.body === 'object' && !Buffer.isBuffer(reply.body)) {
      const b = reply.body as { error_code?: string; error?: { code?: string } };
      const code = b.error_code ?? b.error?.code;
      if (code) record.errorCode = code;
    }
    sendReply(res, reply, { head: record.method === 'HEAD' });
  };

  const server = await startEmulatorServer(handle, options.tls ? { tls: options.tls } : {});
  host = server.host;
  baseUrl = server.url;

  const runs: EmulatorRuns = {
    list: () => engine.list(),
    get: (id) => engine.get(id),
    processesStarted: () => engine.processesStarted(),
    waitForTerminal: (runId, timeoutMs = 20_000) => pollUntil(
      () => {
        const run = engine.get(runId);
        if (!run || 'parent' in run) throw invalidParameter(`Run ${runId} is not a submitted run`);
        return run;
      },
      (run) => isTerminal(run.lifeCycle),
      timeoutMs,
      (run) => `Run ${runId} still ${run.lifeCycle}`,
    ),
  };

  let stopped = false;
  return {
    url: baseUrl,
    workspaceHost: host,
    workspaceId,
    requests,
    invalidRequests: () => invalidRequests(requests),
    replyProblems: () => replyProblems(requests),
    faults,
    runs,
    storage,
    storageRoot: root,
    dbfsRoot: storage.dbfsRoot,
    localPathFor: (remote) => storage.localPathFor(remote),
    expireOAuthTokens: () => {
      for (const token of oauthTokens.keys()) oauthTokens.set(token, 0);
    },
    stop: async () => {
      if (stopped) return;
      stopped = true;
      await engine.stop();
      await server.stop();
      if (ownsRoot) fs.rmSync(root, { recursive: true, force: true });
    },
  };
}
