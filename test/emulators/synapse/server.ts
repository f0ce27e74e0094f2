// The Synapse Spark emulator: one HTTP(S) server on 127.0.0.1 speaking the Livy batch API of
// sparkJob.json at both livyApiVersions, running batches on a local Python over Azurite storage.
import { randomUUID } from 'node:crypto';
import fs from 'node:fs';
import type http from 'node:http';
import os from 'node:os';
import path from 'node:path';
import { BlobServiceClient } from '@azure/storage-blob';
import type { ValidationIssue } from '../spec/swagger-validator.js';
import { parseAbfss, type AbfssLocation } from './abfss-mount.js';
import { type Batch, BatchEngine, type BatchTimings, DEFAULT_TIMINGS, type ForcedOutcome, isTerminal } from './batch-engine.js';
import {
  type Reply, type RequestOutcome, applyTransportFault, bearerToken, dropConnection, holdMinLatency, invalidRequests, isJwtShaped, jwtClaims,
  parseJsonBody, pollUntil, readBody, replyProblems, requestLine, sendReply, startEmulatorServer,
} from '../shared/emulator-server.js';
import { ALL_FAULT_KINDS, FaultController, type FaultRule, faultStatus, retryAfterHeader } from '../shared/fault-injection.js';
import { LIVY_API_VERSIONS, LivyContract, isBatchOperation } from './livy-contract.js';
import { InvalidRequestError, SynapseApiError, errorBody } from './livy-error.js';

type Json = Record<string, unknown>;

export interface SynapseEmulatorOptions {
  /** Azurite (or any blob endpoint) that stands in for ADLS Gen2; without it batches end `dead`. */
  readonly blobStorage?: { readonly connectionString: string };
  /** Interpreter for batch files. Default: $MANYMODELS_PYTHON, else `python3`. */
  readonly python?: string;
  /** Extra environment for batch processes (on top of this process's environment). */
  readonly env?: Readonly<Record<string, string>>;
  /** Folders put first on the batch processes' PYTHONPATH (e.g. a fake `pyspark`). */
  readonly pythonPath?: readonly string[];
  /** Folder for per-batch mounts and working folders. Default: a fresh temp folder, removed by stop(). */
  readonly workRoot?: string;
  /** Containers (`abfss://c@a.dfs.core.windows.net/`, or `c@a`) mirrored for every batch besides those it names. */
  readonly extraContainers?: readonly string[];
  /** Every reply waits at least this long (default 5 ms), so a runaway poll loop times out instead of spinning. */
  readonly minLatencyMs?: number;
  /** Life-cycle pacing; defaults keep a batch under ~0.2 s plus the script. */
  readonly timings?: Partial<BatchTimings>;
  /** Lines of the Livy log returned in `log` (default 10, as Apache Livy's batch view). */
  readonly logTailLines?: number;
  /** When set, only these bearer tokens are accepted (others get 401); default: any bearer token. */
  readonly acceptedTokens?: readonly string[];
  /** `workspaceName` in detailed replies (default `mm-emulator-ws`). */
  readonly workspaceName?: string;
  /** When set, only these Spark pools exist (others get 404); default: any pool name. */
  readonly sparkPools?: readonly string[];
  /**
   * Spark pools as ARM describes them (`GET …/Microsoft.Synapse/workspaces/<ws>/bigDataPools[/<pool>]`,
   * api-version required). A batch on one of these pools is refused (400) when an executor or the
   * driver asks for more cores or memory than the pool's node size has, or all of them more vCores
   * than the pool's maximum nodes. Default: none (ARM knows no pools; batches are not sized).
   */
  readonly bigDataPools?: Readonly<Record<string, BigDataPoolSpec>>;
  /** Serve HTTPS with this key and certificate (the Azure SDKs refuse bearer tokens over http). */
  readonly tls?: { readonly key: string | Buffer; readonly cert: string | Buffer };
  /** Check every reply against sparkJob.json (errors against `{TraceId, Message}`) and record problems (default true). */
  readonly checkReplies?: boolean;
}

export type { RequestOutcome };

export interface BigDataPoolSpec {
  readonly nodeSize: 'Small' | 'Medium' | 'Large' | 'XLarge' | 'XXLarge' | 'XXXLarge';
  /** Fixed size; or autoScale.maxNodeCount when autoscaling. */
  readonly nodeCount?: number;
  readonly autoScale?: { readonly enabled: boolean; readonly minNodeCount: number; readonly maxNodeCount: number };
  readonly sparkVersion?: string;
}

/** vCores and the memory a Spark driver or executor may ask for on each node size (Synapse Studio's figures). */
const NODE_LIMITS: Record<BigDataPoolSpec['nodeSize'], { cores: number; memoryGb: number }> = {
  Small: { cores: 4, memoryGb: 28 }, Medium: { cores: 8, memoryGb: 56 }, Large: { cores: 16, memoryGb: 112 },
  XLarge: { cores: 32, memoryGb: 224 }, XXLarge: { cores: 64, memoryGb: 400 }, XXXLarge: { cores: 80, memoryGb: 2000 },
};

const ARM_POOLS = /^\/subscriptions\/([^/]+)\/resourceGroups\/([^/]+)\/providers\/Microsoft\.Synapse\/workspaces\/([^/]+)\/bigDataPools(?:\/([^/]+))?\/?$/i;

/** `28g`, `28G`, `28672m` → GB. */
function memoryGb(v: unknown): number | undefined {
  const m = /^(\d+(?:\.\d+)?)([mgt])b?$/i.exec(String(v ?? ''));
  if (!m) return undefined;
  const n = Number(m[1]);
  return m[2]!.toLowerCase() === 'm' ? n / 1024 : m[2]!.toLowerCase() === 't' ? n * 1024 : n;
}

/** What the service refuses in a batch: plain-http files, and (on a known pool) sizes the pool cannot hold. */
function checkBatch(body: Json, pool: BigDataPoolSpec | undefined, poolName: string): string | undefined {
  const files = [body.file, ...(['pyFiles', 'jars', 'files', 'archives'] as const).flatMap((k) => (Array.isArray(body[k]) ? body[k] as unknown[] : []))];
  const http = files.find((f) => typeof f === 'string' && /^http:\/\//i.test(f));
  if (http) return `File ${String(http)} uses http://; Spark batch files must be abfss://, wasbs:// or https:// URIs.`;
  if (!pool) return undefined;
  const node = NODE_LIMITS[pool.nodeSize];
  for (const role of ['driver', 'executor'] as const) {
    const cores = Number(body[`${role}Cores`] ?? 0);
    const mem = memoryGb(body[`${role}Memory`]);
    if (cores > node.cores || (mem !== undefined && mem > node.memoryGb)) {
      return `The ${role} asks for ${cores} cores and ${String(body[`${role}Memory`])}; nodes of pool ${poolName} (${pool.nodeSize}) have ${node.cores} cores and ${node.memoryGb}g for Spark.`;
    }
  }
  const maxNodes = pool.autoScale?.enabled ? pool.autoScale.maxNodeCount : pool.nodeCount ?? 3;
  const requested = Number(body.numExecutors ?? 0) * Number(body.executorCores ?? 0) + Number(body.driverCores ?? 0);
  if (requested > maxNodes * node.cores) {
    return `Your Spark job requested ${requested} vcores. However, the pool ${poolName} has a ${maxNodes * node.cores} core limit.`;
  }
  return undefined;
}

/** What the emulator saw and did. Bearer tokens are never stored, only their kind. */
export interface RecordedRequest {
  readonly seq: number;
  readonly method: string;
  readonly path: string;
  readonly query: Readonly<Record<string, string>>;
  /** Parsed JSON body; `{ unparsableBytes }` when it was not JSON; `undefined` for none. */
  body: unknown;
  /** `aad` for a JWT-shaped token, `other` for any other bearer value or scheme, `none` without a header. */
  readonly tokenKind: 'aad' | 'other' | 'none';
  readonly receivedAt: number;
  /** sparkJob.json operationId, e.g. `SparkBatch_CreateSparkBatchJob`. */
  operation?: string;
  livyApiVersion?: string;
  sparkPool?: string;
  /** The batch created (create) or addressed (get, cancel). */
  batchId?: number;
  outcome?: RequestOutcome;
  /** 0 when the connection was dropped instead of answered. */
  status?: number;
  /** The emulator's classification of an error reply (not sent: Synapse error bodies carry none). */
  errorCode?: string;
  fault?: FaultRule['kind'];
  /** Why the request was rejected as invalid (sparkJob.json or an emulator rule). */
  issues?: readonly ValidationIssue[];
  /** Problems found in the emulator's own reply (should stay empty: tests assert it). */
  replyIssues?: readonly ValidationIssue[];
}

export interface EmulatorBatches {
  /** Batches oldest first, of one pool or all. */
  list(pool?: string): readonly Batch[];
  get(pool: string, id: number): Batch | undefined;
  /** Python processes launched so far. */
  processesStarted(): number;
  /** Resolves when the batch reaches a Livy end state. */
  waitForTerminal(pool: string, id: number, timeoutMs?: number): Promise<Batch>;
}

export interface SynapseEmulator {
  /** `http://127.0.0.1:<port>` (or https): the workspace dev endpoint. */
  readonly url: string;
  readonly workspaceName: string;
  readonly requests: readonly RecordedRequest[];
  /** Requests rejected as invalid or unauthenticated, or sent to a path that does not exist. */
  invalidRequests(): RecordedRequest[];
  /** Requests whose reply failed the emulator's own check. */
  replyProblems(): RecordedRequest[];
  readonly faults: FaultController<ForcedOutcome>;
  readonly batches: EmulatorBatches;
  /** Where per-batch folders live: `<workRoot>/<pool>/<id>/{mount,work}`. */
  readonly workRoot: string;
  /** `/livyApi/versions/<v>/sparkPools/<pool>/batches` (v defaults to the SDK's 2019-11-01-preview). */
  batchesPath(pool: string, livyApiVersion?: string): string;
  /** The local file a batch's process sees for an abfss:// URI (the emulator-only mapping). */
  localPathFor(pool: string, batchId: number, abfssUri: string): string | undefined;
  stop(): Promise<void>;
}

/** Livy bodies are small JSON; anything this large is refused outright. */
const MAX_BODY_BYTES = 10 * 1024 * 1024;

function tokenKind(header: string | undefined): RecordedRequest['tokenKind'] {
  const token = bearerToken(header);
  if (!token) return header ? 'other' : 'none';
  return isJwtShaped(token) ? 'aad' : 'other';
}

/** submitterName/submitterId from the token's claims (never the token itself). */
function submitterOf(token: string): { name: string; id: string } {
  const claims = isJwtShaped(token) ? jwtClaims(token) : undefined;
  if (!claims) return { name: 'unknown', id: 'unknown' };
  const pick = (...keys: string[]): string | undefined => keys.map((k) => claims[k]).find((v): v is string => typeof v === 'string');
  return { name: pick('upn', 'unique_name', 'name', 'appid', 'azp') ?? 'unknown', id: pick('oid', 'sub') ?? 'unknown' };
}

const bodyTooLarge = (): SynapseApiError => new SynapseApiError(413, 'RequestTooLarge', `Request body larger than ${MAX_BODY_BYTES} bytes.`);

function containerOf(spec: string): AbfssLocation {
  const loc = parseAbfss(spec.includes('://') ? spec : `abfss://${spec}.dfs.core.windows.net/`);
  if (!loc) throw new Error(`extraContainers: ${spec} is neither an abfss:// URI nor <container>@<account>`);
  return { ...loc, path: '' };
}

export async function startSynapseEmulator(options: SynapseEmulatorOptions = {}): Promise<SynapseEmulator> {
  const ownsRoot = options.workRoot === undefined;
  const workRoot = options.workRoot ?? fs.mkdtempSync(path.join(os.tmpdir(), 'mm-synapse-emu-'));
  const contract = await LivyContract.load();
  // Every fault kind but `lro-failure` (Livy batches are not ARM long-running operations).
  const faults = new FaultController<ForcedOutcome>(ALL_FAULT_KINDS.filter((k) => k !== 'lro-failure'));
  const minLatencyMs = options.minLatencyMs ?? 5;
  const checkReplies = options.checkReplies ?? true;
  const workspaceName = options.workspaceName ?? 'mm-emulator-ws';
  const requests: RecordedRequest[] = [];
  let baseUrl = '';

  // Few, quick retries: a storage outage should end the batch `dead` promptly, not after minutes.
  const blobService = options.blobStorage
    ? BlobServiceClient.fromConnectionString(options.blobStorage.connectionString, { retryOptions: { maxTries: 2, retryDelayInMs: 50, maxRetryDelayInMs: 200 } })
    : undefined;

  const engine = new BatchEngine({
    workRoot,
    python: options.python ?? process.env.MANYMODELS_PYTHON ?? 'python3',
    env: options.env ?? {},
    pythonPath: options.pythonPath ?? [],
    timings: { ...DEFAULT_TIMINGS, ...options.timings },
    logTailLines: options.logTailLines ?? 10,
    workspaceName,
    blobService,
    extraContainers: (options.extraContainers ?? []).map(containerOf),
    baseUrl: () => baseUrl,
    takeForcedOutcome: () => faults.takeForcedOutcome(),
  });

  const authorise = (req: http.IncomingMessage): string => {
    const token = bearerToken(req.headers.authorization);
    // Synapse's data plane takes only Entra ID bearer tokens; both failures are 401 there.
    if (!token) throw new SynapseApiError(401, 'Unauthorized', 'Authentication failed: the request has no bearer token.', { 'www-authenticate': 'Bearer' });
    if (options.acceptedTokens && !options.acceptedTokens.includes(token)) {
      throw new SynapseApiError(401, 'Unauthorized', 'Authentication failed: the bearer token is not valid for this workspace.', { 'www-authenticate': 'Bearer' });
    }
    return token;
  };

  /** The canned replies of the status faults; Synapse's error shape, Retry-After where asked. */
  const faultReply = (rule: FaultRule, urlPath: string, clientRequestId: string | undefined): Reply | undefined => {
    const fault = faultStatus(rule);
    if (!fault) return undefined;
    const note = '(emulator fault injection)';
    const headers = retryAfterHeader(fault);
    const message = rule.kind === 'rate-limit'
      ? `Too many requests to ${urlPath}. Retry after ${fault.retryAfterSeconds} seconds. ${note}`
      : fault.status === 503 ? `The service is temporarily unavailable. Please retry later. ${note}` : `An internal server error occurred. ${note}`;
    return { status: fault.status, ...(Object.keys(headers).length > 0 ? { headers } : {}), body: errorBody(message, clientRequestId) };
  };

  const handleBatchOperation = (record: RecordedRequest, operationId: string, pathParams: Readonly<Record<string, string>>, token: string, body: unknown): Reply => {
    const pool = pathParams.sparkPoolName ?? '';
    const detailed = record.query.detailed === 'true';
    if (options.sparkPools && !options.sparkPools.includes(pool)) {
      throw new SynapseApiError(404, 'SparkPoolNotFound', `Spark pool ${pool} does not exist in workspace ${workspaceName}.`);
    }
    switch (operationId) {
      case 'SparkBatch_CreateSparkBatchJob': {
        const refused = checkBatch(body as Json, options.bigDataPools?.[pool], pool);
        if (refused) {
          record.outcome = 'invalid';
          throw new SynapseApiError(400, 'InvalidBatchRequest', refused);
        }
        const batch = engine.create(pool, body as Json, record.livyApiVersion ?? '', submitterOf(token));
        record.batchId = batch.id;
        return { status: 200, body: engine.toJson(batch, detailed) };
      }
      case 'SparkBatch_GetSparkBatchJob':
        return { status: 200, body: engine.toJson(engine.get(pool, Number(pathParams.batchId)), detailed) };
      case 'SparkBatch_GetSparkBatchJobs': {
        const from = record.query.from === undefined ? 0 : Number(record.query.from);
        const size = record.query.size === undefined ? undefined : Number(record.query.size);
        return { status: 200, body: engine.listJson(pool, from, size, detailed) };
      }
      case 'SparkBatch_CancelSparkBatchJob': {
        engine.cancel(pool, Number(pathParams.batchId));
        // sparkJob.json documents a bare 200 (Apache Livy would add {"msg":"deleted"}).
        return { status: 200 };
      }
      default:
        throw new SynapseApiError(500, 'EmulatorBug', `no handler for ${operationId}`);
    }
  };

  const handle = async (req: http.IncomingMessage, res: http.ServerResponse): Promise<void> => {
    const started = Date.now();
    const { method, url, query } = requestLine(req);
    const clientRequestId = typeof req.headers['x-ms-client-request-id'] === 'string' ? req.headers['x-ms-client-request-id'] : undefined;
    const record: RecordedRequest = {
      seq: requests.length + 1,
      method,
      path: url.pathname,
      query,
      body: undefined,
      tokenKind: tokenKind(req.headers.authorization),
      receivedAt: started,
    };
    requests.push(record);

    const armPools = ARM_POOLS.exec(url.pathname);
    if (armPools) {
      record.operation = armPools[4] ? 'BigDataPools_Get' : 'BigDataPools_ListByWorkspace';
      let armReply: Reply;
      const armError = (status: number, code: string, message: string): Reply => {
        record.outcome = status === 401 ? 'unauthenticated' : status === 400 ? 'invalid' : 'api-error';
        record.errorCode = code;
        return { status, body: { error: { code, message } } };
      };
      if (!bearerToken(req.headers.authorization)) armReply = armError(401, 'AuthenticationFailed', "Authentication failed. The 'Authorization' header is missing.");
      else if (method !== 'GET') armReply = armError(405, 'MethodNotAllowed', `The emulator serves only GET on ${url.pathname}.`);
      else if (!query['api-version']) armReply = armError(400, 'MissingApiVersionParameter', 'The api-version query parameter (?api-version=) is required for all requests.');
      else {
        const [, sub = '', rg = '', ws = '', name] = armPools;
        const base = `/subscriptions/${sub}/resourceGroups/${rg}/providers/Microsoft.Synapse/workspaces/${ws}/bigDataPools`;
        const view = (n: string, spec: BigDataPoolSpec): Json => ({
          id: `${base}/${n}`, name: n, type: 'Microsoft.Synapse/workspaces/bigDataPools', location: 'westeurope',
          properties: {
            provisioningState: 'Succeeded', nodeSize: spec.nodeSize, nodeSizeFamily: 'MemoryOptimized', sparkVersion: spec.sparkVersion ?? '3.4',
            ...(spec.autoScale ? { autoScale: spec.autoScale } : { autoScale: { enabled: false }, nodeCount: spec.nodeCount ?? 3 }),
          },
        });
        const pools = options.bigDataPools ?? {};
        if (!name) armReply = { status: 200, body: { value: Object.entries(pools).map(([n, s]) => view(n, s)) } };
        else {
          const spec = Object.entries(pools).find(([n]) => n.toLowerCase() === name.toLowerCase());
          armReply = spec ? { status: 200, body: view(spec[0], spec[1]) } : armError(404, 'ResourceNotFound', `The Resource 'Microsoft.Synapse/workspaces/${ws}/bigDataPools/${name}' under resource group '${rg}' was not found.`);
        }
      }
      record.outcome ??= 'ok';
      await holdMinLatency(started, minLatencyMs);
      record.status = armReply.status;
      sendReply(res, armReply);
      return;
    }

    let dropAfterHandling = false;
    let reply: Reply;
    try {
      const raw = await readBody(req, MAX_BODY_BYTES, bodyTooLarge);
      const { body, recorded, unparsable } = parseJsonBody(raw);
      record.body = recorded;
      const checked = contract.checkRequest(method, url.pathname, record.query, body);
      if (checked.operation) {
        record.operation = checked.operation.operationId;
        record.livyApiVersion = checked.pathParams.livyApiVersion;
        record.sparkPool = checked.pathParams.sparkPoolName;
        // Known before any fault, so a throttled or dropped GET/DELETE still names its batch.
        if (/^\d+$/.test(checked.pathParams.batchId ?? '')) record.batchId = Number(checked.pathParams.batchId);
      }

      // Authentication comes first, as on the service: an anonymous bad request gets a 401.
      const token = authorise(req);

      const fault = faults.take(method, url.pathname, record.operation);
      if (fault) {
        record.fault = fault.kind;
        const transport = await applyTransportFault(fault, req, record);
        if (transport.dropped) return;
        dropAfterHandling = transport.dropAfterHandling;
        const canned = faultReply(fault, url.pathname, clientRequestId);
        if (canned) {
          record.outcome = 'fault';
          record.errorCode = fault.kind;
          await holdMinLatency(started, minLatencyMs);
          checkReply(record, canned);
          send(res, record, canned, clientRequestId);
          return;
        }
      }

      if (unparsable) {
        throw new InvalidRequestError('The request body is not valid JSON.', [{ in: 'body', name: '', keyword: 'json', message: 'the body is not JSON' }]);
      }
      if (!checked.operation) {
        record.outcome = 'not-found';
        if (checked.methodNotAllowed) throw new SynapseApiError(405, 'MethodNotAllowed', `The requested resource does not support http method '${method}'.`);
        throw new SynapseApiError(404, 'NotFound', `No HTTP resource was found that matches the request URI '${url.pathname}'.`);
      }
      if (!isBatchOperation(checked.operation.operationId)) {
        record.outcome = 'unsupported';
        throw new SynapseApiError(501, 'NotImplemented', `The Synapse emulator does not implement ${checked.operation.operationId}.`);
      }
      if (checked.issues.length > 0) {
        const first = checked.issues[0] as ValidationIssue;
        throw new InvalidRequestError(checked.issues.length === 1 ? first.message : `${first.message} (and ${checked.issues.length - 1} more)`, checked.issues);
      }
      reply = handleBatchOperation(record, checked.operation.operationId, checked.pathParams, token, body);
      record.outcome ??= 'ok';
    } catch (err) {
      reply = errorReply(err, record, clientRequestId);
    }

    await holdMinLatency(started, minLatencyMs);
    checkReply(record, reply);
    if (dropAfterHandling) {
      // The work is done (a batch exists, a cancel is under way) but the client never hears so.
      dropConnection(req, record);
      return;
    }
    send(res, record, reply, clientRequestId);
  };

  const checkReply = (record: RecordedRequest, reply: Reply): void => {
    if (!checkReplies) return;
    const issues = contract.checkReply(record.operation ?? '', reply.status, reply.body);
    if (issues.length > 0) record.replyIssues = issues;
  };

  const errorReply = (err: unknown, record: RecordedRequest, clientRequestId: string | undefined): Reply => {
    if (err instanceof SynapseApiError) {
      if (err instanceof InvalidRequestError) {
        record.issues = err.issues;
        record.outcome = 'invalid';
      } else if (err.status === 401) record.outcome = 'unauthenticated';
      else record.outcome ??= 'api-error';
      record.errorCode = err.code;
      return { status: err.status, body: err.body(clientRequestId), headers: { ...err.headers } };
    }
    record.outcome = 'emulator-bug';
    record.errorCode = 'EmulatorBug';
    return { status: 500, body: errorBody(`Emulator bug: ${(err as Error).stack ?? String(err)}`, clientRequestId) };
  };

  const send = (res: http.ServerResponse, record: RecordedRequest, reply: Reply, clientRequestId: string | undefined): void => {
    record.status = reply.status;
    sendReply(res, reply, {
      contentType: 'application/json; charset=utf-8',
      headers: { 'x-ms-request-id': randomUUID(), ...(clientRequestId ? { 'x-ms-client-request-id': clientRequestId } : {}) },
      emptyContentLength: true,
    });
  };

  const server = await startEmulatorServer(handle, options.tls ? { tls: options.tls } : {});
  baseUrl = server.url;

  const batches: EmulatorBatches = {
    list: (pool) => engine.all().filter((b) => pool === undefined || b.pool === pool).sort((a, b) => a.createdAt - b.createdAt || a.id - b.id),
    get: (pool, id) => engine.find(pool, id),
    processesStarted: () => engine.processesStarted(),
    waitForTerminal: (pool, id, timeoutMs = 20_000) => pollUntil(
      () => {
        const batch = engine.find(pool, id);
        if (!batch) throw new Error(`Batch ${id} does not exist in pool ${pool}`);
        return batch;
      },
      (batch) => isTerminal(batch.state),
      timeoutMs,
      (batch) => `Batch ${id} still ${batch.state}`,
    ),
  };

  let stopped = false;
  return {
    url: baseUrl,
    workspaceName,
    requests,
    invalidRequests: () => invalidRequests(requests),
    replyProblems: () => replyProblems(requests),
    faults,
    batches,
    workRoot,
    batchesPath: (pool, livyApiVersion = LIVY_API_VERSIONS[0]) => `/livyApi/versions/${livyApiVersion}/sparkPools/${pool}/batches`,
    localPathFor: (pool, batchId, uri) => engine.find(pool, batchId)?.mount?.localPathFor(uri),
    stop: async () => {
      if (stopped) return;
      stopped = true;
      await engine.stop();
      await server.stop();
      if (ownsRoot) fs.rmSync(workRoot, { recursive: true, force: true });
    },
  };
}
