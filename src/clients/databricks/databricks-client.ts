// The Databricks workspace REST client: Jobs 2.2 one-time runs, DBFS 2.0, Workspace import and
// the Files API, on the shared HttpClient (retries, Retry-After, one RemoteError per failure).
//
// Which requests may be resent (the HttpClient resends 5xx and lost replies only for those):
// - runs/submit always carries an idempotency_token, so resending it never starts a second run;
// - runs/cancel, dbfs/put (overwrite), dbfs/create (overwrite), dbfs/mkdirs and workspace
//   import (overwrite) leave the same state however often they are applied;
// - dbfs/add-block and dbfs/close are not: a block sent twice is appended twice. A streamed
//   upload that fails midway is started again from dbfs/create instead (see dbfsUpload).
import { RemoteErrorCode, RemoteHttpError, HttpClient, isRecord, type HttpClientOptions, type HttpRequest, type ServiceErrorParser, type TokenProvider } from '../http.js';
import type {
  ClusterInfo, ClusterPolicy, DbfsFileInfo, DirectoryEntry, InstancePoolInfo, NodeType, SparkVersion, Run, RunList, RunOutput, SubmitRunRequest, WorkspaceObjectInfo,
} from './types.js';

/** DBFS put, add-block and read move at most 1 MiB per call (README §1.8). */
export const DBFS_BLOCK_BYTES = 1024 * 1024;
/** Workspace import takes at most 10 MB (README §1.8). */
export const WORKSPACE_IMPORT_MAX_BYTES = 10 * 1024 * 1024;

/** Databricks errors are `{error_code, message}`; legacy 1.2 APIs send `{error}` (README §1.9). */
export const parseDatabricksError: ServiceErrorParser = (body) => {
  if (!isRecord(body)) return {};
  const code = typeof body.error_code === 'string' ? body.error_code : undefined;
  const message = typeof body.message === 'string' ? body.message : typeof body.error === 'string' ? body.error : undefined;
  return { code, message };
};

export interface DatabricksClientOptions {
  /** The workspace URL, e.g. https://adb-123.4.azuredatabricks.net. */
  host: string;
  tokenProvider: TokenProvider;
  /** Jobs API version: 2.2 is current (README §1.1). */
  jobsApiVersion?: '2.1' | '2.2';
  /** Test seams and tuning of the shared HTTP layer (sleep, random, retry, onRetry). */
  http?: Partial<Omit<HttpClientOptions, 'service' | 'baseUrl' | 'tokenProvider' | 'parseServiceError'>>;
}

const AUTH_STEPS = [
  'Check the credential: DATABRICKS_TOKEN (or the profile\'s token) for auth: pat, DATABRICKS_CLIENT_ID/DATABRICKS_CLIENT_SECRET for auth: oauth-m2m, or an Azure AD identity (az login, or AZURE_TENANT_ID/AZURE_CLIENT_ID/AZURE_CLIENT_SECRET) that is a user of the workspace for auth: azure.',
  'The identity needs workspace access, permission to create job runs (and Can Attach To on an existing cluster, or cluster creation / the cluster policy), and write access to the artifacts location. See docs/databricks.md#permissions.',
];

/** Whether a failed streamed upload is worth starting again from dbfs/create. */
function worthRestarting(err: unknown): boolean {
  if (!(err instanceof RemoteHttpError)) return false;
  if (err.code === RemoteErrorCode.Auth) return false;
  return err.maybeProcessed || err.code === RemoteErrorCode.Network || err.status === 429 || (err.status ?? 0) >= 500
    // An expired handle, or a close whose reply was lost and whose retry finds it closed.
    || err.serviceCode === 'RESOURCE_DOES_NOT_EXIST';
}

/** `/Volumes/c/s/v/a b.txt` → `/Volumes/c/s/v/a%20b.txt`: each segment escaped, as the SDK does. */
function escapeSegments(remotePath: string): string {
  return remotePath.split('/').map((s) => encodeURIComponent(s)).join('/');
}

export class DatabricksClient {
  readonly host: string;
  readonly http: HttpClient;
  private readonly jobs: string;

  constructor(options: DatabricksClientOptions) {
    this.host = options.host.replace(/\/+$/, '');
    this.jobs = `/api/${options.jobsApiVersion ?? '2.2'}/jobs`;
    this.http = new HttpClient({
      ...options.http,
      service: 'Databricks',
      baseUrl: this.host,
      tokenProvider: options.tokenProvider,
      parseServiceError: parseDatabricksError,
    });
  }

  /** Every call goes through here: the one place a Databricks failure gets its next steps. */
  private async call<T>(req: HttpRequest): Promise<{ status: number; data: T; headers: Record<string, string> }> {
    try {
      const res = await this.http.request(req);
      return { status: res.status, data: res.data as T, headers: res.headers };
    } catch (err) {
      // The OAuth token endpoint's failures already carry their own next steps.
      if (err instanceof RemoteHttpError && err.code === RemoteErrorCode.Auth && err.status !== undefined && err.service === this.http.service) {
        // The shared layer's hint names Azure ML roles; a workspace needs its own.
        err.nextSteps.splice(0, err.nextSteps.length, ...AUTH_STEPS);
      }
      throw err;
    }
  }

  // ---- Jobs: one-time runs ----

  /** runs/submit. The body must carry an idempotency_token: that is what makes resending safe. */
  async submitRun(body: SubmitRunRequest, signal?: AbortSignal): Promise<number> {
    const res = await this.call<{ run_id?: unknown }>({ method: 'POST', url: `${this.jobs}/runs/submit`, body, idempotent: true, signal });
    if (typeof res.data?.run_id !== 'number') throw this.unexpected('runs/submit', 'no run_id in the reply');
    return res.data.run_id;
  }

  async getRun(runId: number, signal?: AbortSignal): Promise<Run> {
    const res = await this.call<Run>({ method: 'GET', url: `${this.jobs}/runs/get`, query: { run_id: runId }, signal });
    // Jobs 2.2 reads `status`; the deprecated `state` is the fallback, so either will do.
    if (!isRecord(res.data) || !(isRecord(res.data.status) || isRecord(res.data.state))) throw this.unexpected('runs/get', 'no status in the reply');
    return res.data;
  }

  /** The output of one task run (the parent of a multi-task run has none: README §1.5). */
  async getRunOutput(taskRunId: number, signal?: AbortSignal): Promise<RunOutput> {
    const res = await this.call<RunOutput>({ method: 'GET', url: `${this.jobs}/runs/get-output`, query: { run_id: taskRunId }, signal });
    return isRecord(res.data) ? res.data : {};
  }

  /** Asynchronous on the service: the run ends TERMINATED/CANCELED shortly after. */
  async cancelRun(runId: number, signal?: AbortSignal): Promise<void> {
    await this.call({ method: 'POST', url: `${this.jobs}/runs/cancel`, body: { run_id: runId }, idempotent: true, signal });
  }

  async listRuns(query: { active_only?: boolean; limit?: number; page_token?: string } = {}, signal?: AbortSignal): Promise<RunList> {
    const res = await this.call<RunList>({ method: 'GET', url: `${this.jobs}/runs/list`, query, signal });
    return isRecord(res.data) ? res.data : {};
  }

  // ---- Clusters, instance pools, cluster policies (read only: what a target may name) ----

  /** The Databricks Runtime versions the workspace offers (`key` is what spark_version takes). */
  async sparkVersions(signal?: AbortSignal): Promise<SparkVersion[]> {
    const res = await this.call<{ versions?: SparkVersion[] }>({ method: 'GET', url: '/api/2.0/clusters/spark-versions', signal });
    return Array.isArray(res.data?.versions) ? res.data.versions : [];
  }

  /** The node types the workspace offers. */
  async listNodeTypes(signal?: AbortSignal): Promise<NodeType[]> {
    const res = await this.call<{ node_types?: NodeType[] }>({ method: 'GET', url: '/api/2.0/clusters/list-node-types', signal });
    return Array.isArray(res.data?.node_types) ? res.data.node_types : [];
  }

  /** A cluster, `undefined` when there is none with that id. */
  async getCluster(clusterId: string, signal?: AbortSignal): Promise<ClusterInfo | undefined> {
    return this.getOrAbsent<ClusterInfo>('/api/2.0/clusters/get', { cluster_id: clusterId }, signal);
  }

  async getInstancePool(poolId: string, signal?: AbortSignal): Promise<InstancePoolInfo | undefined> {
    return this.getOrAbsent<InstancePoolInfo>('/api/2.0/instance-pools/get', { instance_pool_id: poolId }, signal);
  }

  async getClusterPolicy(policyId: string, signal?: AbortSignal): Promise<ClusterPolicy | undefined> {
    return this.getOrAbsent<ClusterPolicy>('/api/2.0/policies/clusters/get', { policy_id: policyId }, signal);
  }

  /** A GET whose "no such thing" is 404 RESOURCE_DOES_NOT_EXIST or 400 INVALID_PARAMETER_VALUE ("… does not exist"). */
  private async getOrAbsent<T>(url: string, query: Record<string, string>, signal?: AbortSignal): Promise<T | undefined> {
    const res = await this.call<T & { error_code?: string; message?: string }>({ method: 'GET', url, query, acceptStatus: [400, 404], signal });
    if (res.status === 404) return undefined;
    if (res.status === 400) {
      const body = res.data as { error_code?: string; message?: string } | undefined;
      if (body?.error_code === 'RESOURCE_DOES_NOT_EXIST' || /does not exist/i.test(body?.message ?? '')) return undefined;
      throw new RemoteHttpError(`Databricks GET ${url} failed: HTTP 400 ${body?.error_code ?? ''}: ${body?.message ?? ''}`, {
        code: RemoteErrorCode.Http, service: 'Databricks', method: 'GET', path: url, attempts: 1, maybeProcessed: false, status: 400,
        ...(body?.error_code ? { serviceCode: body.error_code } : {}),
      });
    }
    return res.data;
  }

  // ---- DBFS 2.0 (paths are `/x`; clusters see them as dbfs:/x and /dbfs/x) ----

  async dbfsPut(path: string, bytes: Buffer, signal?: AbortSignal): Promise<void> {
    if (bytes.length > DBFS_BLOCK_BYTES) throw new RangeError(`dbfs/put takes at most ${DBFS_BLOCK_BYTES} bytes; use dbfsUpload`);
    await this.call({ method: 'POST', url: '/api/2.0/dbfs/put', body: { path, contents: bytes.toString('base64'), overwrite: true }, idempotent: true, signal });
  }

  async dbfsCreate(path: string, signal?: AbortSignal): Promise<number> {
    const res = await this.call<{ handle?: unknown }>({ method: 'POST', url: '/api/2.0/dbfs/create', body: { path, overwrite: true }, idempotent: true, signal });
    if (typeof res.data?.handle !== 'number') throw this.unexpected('dbfs/create', 'no handle in the reply');
    return res.data.handle;
  }

  async dbfsAddBlock(handle: number, bytes: Buffer, signal?: AbortSignal): Promise<void> {
    await this.call({ method: 'POST', url: '/api/2.0/dbfs/add-block', body: { handle, data: bytes.toString('base64') }, signal });
  }

  async dbfsClose(handle: number, signal?: AbortSignal): Promise<void> {
    await this.call({ method: 'POST', url: '/api/2.0/dbfs/close', body: { handle }, signal });
  }

  /**
   * Writes a whole file: one put up to 1 MiB, else create, 1 MiB blocks, close. A stream that
   * fails midway is restarted from create (never resumed: a resent block would be appended twice).
   * Returns the number of HTTP calls that carried data, for tests and logs.
   */
  async dbfsUpload(path: string, bytes: Buffer, signal?: AbortSignal): Promise<{ blocks: number; restarts: number }> {
    if (bytes.length <= DBFS_BLOCK_BYTES) {
      await this.dbfsPut(path, bytes, signal);
      return { blocks: 1, restarts: 0 };
    }
    for (let restarts = 0; ; restarts++) {
      try {
        const handle = await this.dbfsCreate(path, signal);
        let blocks = 0;
        for (let offset = 0; offset < bytes.length; offset += DBFS_BLOCK_BYTES) {
          await this.dbfsAddBlock(handle, bytes.subarray(offset, offset + DBFS_BLOCK_BYTES), signal);
          blocks++;
        }
        await this.dbfsClose(handle, signal);
        return { blocks, restarts };
      } catch (err) {
        if (restarts >= 2 || !worthRestarting(err) || signal?.aborted) throw err;
      }
    }
  }

  async dbfsGetStatus(path: string, signal?: AbortSignal): Promise<DbfsFileInfo | undefined> {
    const res = await this.call<DbfsFileInfo>({ method: 'GET', url: '/api/2.0/dbfs/get-status', query: { path }, acceptStatus: [404], signal });
    return res.status === 404 ? undefined : res.data;
  }

  /** The entries of a folder; `undefined` when it does not exist. */
  async dbfsList(path: string, signal?: AbortSignal): Promise<DbfsFileInfo[] | undefined> {
    const res = await this.call<{ files?: DbfsFileInfo[] }>({ method: 'GET', url: '/api/2.0/dbfs/list', query: { path }, acceptStatus: [404], signal });
    if (res.status === 404) return undefined;
    return Array.isArray(res.data?.files) ? res.data.files : [];
  }

  async dbfsMkdirs(path: string, signal?: AbortSignal): Promise<void> {
    await this.call({ method: 'POST', url: '/api/2.0/dbfs/mkdirs', body: { path }, idempotent: true, signal });
  }

  /** Up to `length` (≤ 1 MiB) bytes from `offset`; fewer at the end of the file; `undefined` when there is no such file. */
  async dbfsRead(path: string, offset: number, length = DBFS_BLOCK_BYTES, signal?: AbortSignal): Promise<Buffer | undefined> {
    const res = await this.call<{ bytes_read?: number; data?: string }>({
      method: 'GET', url: '/api/2.0/dbfs/read', query: { path, offset, length: Math.min(length, DBFS_BLOCK_BYTES) }, acceptStatus: [404], signal,
    });
    if (res.status === 404) return undefined;
    return Buffer.from(typeof res.data?.data === 'string' ? res.data.data : '', 'base64');
  }

  // ---- Workspace files (paths without the /Workspace prefix clusters use) ----

  /** Imports a plain file (format RAW: never a notebook, which spark_python_task cannot run). */
  async workspaceImport(path: string, bytes: Buffer, signal?: AbortSignal): Promise<void> {
    await this.call({
      method: 'POST', url: '/api/2.0/workspace/import',
      body: { path, format: 'RAW', content: bytes.toString('base64'), overwrite: true }, idempotent: true, signal,
    });
  }

  async workspaceMkdirs(path: string, signal?: AbortSignal): Promise<void> {
    await this.call({ method: 'POST', url: '/api/2.0/workspace/mkdirs', body: { path }, idempotent: true, signal });
  }

  async workspaceGetStatus(path: string, signal?: AbortSignal): Promise<WorkspaceObjectInfo | undefined> {
    const res = await this.call<WorkspaceObjectInfo>({ method: 'GET', url: '/api/2.0/workspace/get-status', query: { path }, acceptStatus: [404], signal });
    return res.status === 404 ? undefined : res.data;
  }

  // ---- Files API (Unity Catalog volumes: /Volumes/<catalog>/<schema>/<volume>/...) ----

  async filesUpload(path: string, bytes: Buffer, signal?: AbortSignal): Promise<void> {
    await this.call({
      method: 'PUT', url: `/api/2.0/fs/files${escapeSegments(path)}`, query: { overwrite: true },
      body: bytes, headers: { 'Content-Type': 'application/octet-stream' }, signal,
    });
  }

  /** The size of a file, `undefined` when there is none. */
  async filesGetMetadata(path: string, signal?: AbortSignal): Promise<{ size: number } | undefined> {
    const res = await this.call({ method: 'HEAD', url: `/api/2.0/fs/files${escapeSegments(path)}`, acceptStatus: [404], signal });
    if (res.status === 404) return undefined;
    return { size: Number(res.headers['content-length'] ?? 0) };
  }

  /**
   * The bytes from `offset` to the end (`undefined`: no such file). Asks for a Range; a server that ignores it answers
   * 200 with the whole file, which is cut here, so both work.
   */
  async filesDownload(path: string, offset = 0, signal?: AbortSignal): Promise<Buffer | undefined> {
    const res = await this.call<Buffer>({
      method: 'GET', url: `/api/2.0/fs/files${escapeSegments(path)}`, responseType: 'arraybuffer',
      headers: { Accept: 'application/octet-stream', ...(offset > 0 ? { Range: `bytes=${offset}-` } : {}) },
      acceptStatus: [404, 416], signal,
    });
    if (res.status === 404) return undefined;
    if (res.status === 416) return Buffer.alloc(0);
    const data = Buffer.isBuffer(res.data) ? res.data : Buffer.alloc(0);
    return res.status === 206 ? data : data.subarray(offset);
  }

  async filesCreateDirectory(path: string, signal?: AbortSignal): Promise<void> {
    await this.call({ method: 'PUT', url: `/api/2.0/fs/directories${escapeSegments(path)}`, signal });
  }

  /** Every entry of a folder (all pages); `undefined` when it does not exist. */
  async filesListDirectory(path: string, signal?: AbortSignal): Promise<DirectoryEntry[] | undefined> {
    const out: DirectoryEntry[] = [];
    let pageToken: string | undefined;
    do {
      const res = await this.call<{ contents?: DirectoryEntry[]; next_page_token?: string }>({
        method: 'GET', url: `/api/2.0/fs/directories${escapeSegments(path)}`, query: { page_size: 1000, page_token: pageToken }, acceptStatus: [404], signal,
      });
      if (res.status === 404) return undefined;
      out.push(...(Array.isArray(res.data?.contents) ? res.data.contents : []));
      pageToken = typeof res.data?.next_page_token === 'string' && res.data.next_page_token ? res.data.next_page_token : undefined;
    } while (pageToken);
    return out;
  }

  private unexpected(operation: string, what: string): RemoteHttpError {
    return new RemoteHttpError(`Databricks ${operation}: ${what}`, {
      code: RemoteErrorCode.UnexpectedResponse, service: 'Databricks', method: 'POST', path: operation, attempts: 1, maybeProcessed: true,
    });
  }
}
