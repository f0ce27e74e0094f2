// The Synapse Spark batch client: @azure/synapse-spark's SparkClient (Livy batches: create, get,
// list, cancel) behind our own retry rules, and the one place its failures become RemoteErrors.
//
// Why our own retries instead of the SDK's: the SDK's default policy resends any request after
// a 5xx or a dropped connection, POSTs included, and Livy has no idempotency key — a create
// resent after its reply was lost starts a second batch. So the SDK retries nothing here, and:
// - 429 is retried for every operation (a throttled request was not processed), after Retry-After;
// - 5xx and lost replies are retried for get, list and cancel (cancelling twice is harmless);
// - a create that may have been processed is NOT resent: the caller reconciles by listing the
//   pool's batches and looking for its tag (see findBatchByTag and the Synapse backend);
// - a connection that never reached the server (refused, DNS) is retried for every operation;
// - a 401 fetches a fresh token once.
import type { RestError } from '@azure/storage-blob';
import { SparkClient, type SparkBatchJob } from '@azure/synapse-spark';
import { InterruptedError } from '../../core/errors.js';
import { redactSecrets } from '../../core/redact.js';
import { DEFAULT_RETRY_POLICY, NOT_SENT_CODES, RemoteErrorCode, RemoteHttpError, defaultSleep, isRecord, parseRetryAfter, retryDecision, type RetryEvent, type RetryPolicy, type TokenProvider } from '../http.js';
import { asTokenCredential } from '../storage/token-credential.js';
import type { SparkBatch, SparkBatchPage, SparkBatchRequest } from './types.js';

/** The Livy API version the SDK speaks by default (README §2); the service also takes 2020-12-01. */
export const LIVY_API_VERSION = '2019-11-01-preview';
/** sparkJob.json: a list page holds at most 20 batches. */
export const LIST_PAGE_SIZE = 20;

export interface SynapseSparkClientOptions {
  /** The workspace development endpoint, https://<workspace>.dev.azuresynapse.net. */
  endpoint: string;
  sparkPool: string;
  tokenProvider: TokenProvider;
  livyApiVersion?: string;
  retry?: Partial<RetryPolicy>;
  sleep?: (ms: number, signal?: AbortSignal) => Promise<void>;
  random?: () => number;
  onRetry?: (event: RetryEvent) => void;
}


/** By name, not instanceof: the SDKs may each load their own copy of core-rest-pipeline. */
function isRestError(err: unknown): err is RestError {
  return err instanceof Error && err.name === 'RestError';
}

const AUTH_STEPS = [
  'Check the credential: an Azure AD identity (az login, or AZURE_TENANT_ID/AZURE_CLIENT_ID/AZURE_CLIENT_SECRET) for the Synapse workspace.',
  'The identity needs the Synapse Compute Operator role (or Synapse Contributor) on the workspace or the Spark pool. See docs/synapse.md#permissions.',
];

interface Operation {
  method: 'GET' | 'POST' | 'DELETE';
  /** Path for messages (never a query string). */
  path: string;
  /** May it be resent after a 5xx or a lost reply? */
  idempotent: boolean;
}

/** The Synapse error body `{TraceId, Message}` (not specified by sparkJob.json; README §7). */
function serviceMessage(err: RestError): string | undefined {
  const body = err.response?.bodyAsText;
  if (!body) return undefined;
  try {
    const parsed = JSON.parse(body) as unknown;
    if (isRecord(parsed)) {
      const m = parsed.Message ?? parsed.message ?? (isRecord(parsed.error) ? parsed.error.message : undefined);
      if (typeof m === 'string') return m;
    }
  } catch {
    // not JSON: the text itself
  }
  return body.slice(0, 300);
}

function headersOf(err: RestError): Record<string, string> {
  const out: Record<string, string> = {};
  for (const [k, v] of err.response?.headers ?? []) out[k.toLowerCase()] = v;
  return out;
}

/** Drops what a RestError carries that can hold a credential (the request's Authorization header). */
function scrub(err: RestError): RestError {
  const mutable = err as unknown as { request?: unknown; response?: { request?: unknown } };
  mutable.request = undefined;
  if (mutable.response) mutable.response.request = undefined;
  err.message = redactSecrets(err.message);
  if (typeof err.stack === 'string') err.stack = redactSecrets(err.stack);
  return err;
}

function toBatch(job: SparkBatchJob): SparkBatch {
  const live = job.livyInfo;
  const batch: SparkBatch = {
    id: job.id,
    state: job.state ?? 'unknown',
    appInfo: { ...(job.appInfo ?? {}) },
    log: [...(job.logLines ?? [])],
    tags: { ...(job.tags ?? {}) },
    errors: (job.errors ?? []).map((e) => ({ message: e.message ?? '', ...(e.errorCode ? { errorCode: e.errorCode } : {}), ...(e.source ? { source: e.source } : {}) })),
  };
  if (job.name !== undefined) batch.name = job.name;
  if (job.result !== undefined) batch.result = job.result;
  if (job.appId) batch.appId = job.appId;
  if (job.scheduler?.currentState) batch.schedulerState = job.scheduler.currentState;
  if (job.plugin?.currentState) batch.pluginState = job.plugin.currentState;
  if (live?.runningAt) batch.runningAt = live.runningAt;
  const ended = live?.successAt ?? live?.deadAt ?? live?.terminatedAt;
  if (ended) batch.endedAt = ended;
  return batch;
}

export class SynapseSparkClient {
  readonly endpoint: string;
  readonly sparkPool: string;
  readonly livyApiVersion: string;
  private readonly policy: RetryPolicy;
  private readonly sleep: (ms: number, signal?: AbortSignal) => Promise<void>;
  private readonly random: () => number;
  private sdk: SparkClient;

  constructor(private readonly options: SynapseSparkClientOptions) {
    this.endpoint = options.endpoint.replace(/\/+$/, '');
    this.sparkPool = options.sparkPool;
    this.livyApiVersion = options.livyApiVersion ?? LIVY_API_VERSION;
    this.policy = { ...DEFAULT_RETRY_POLICY, ...options.retry };
    this.sleep = options.sleep ?? defaultSleep;
    this.random = options.random ?? Math.random;
    this.sdk = this.makeSdk();
  }

  private makeSdk(): SparkClient {
    return new SparkClient(asTokenCredential(this.options.tokenProvider), this.endpoint, this.sparkPool, {
      livyApiVersion: this.livyApiVersion,
      // Every retry is decided here (see the header): the SDK's own would resend creates.
      retryOptions: { maxRetries: 0 },
      userAgentOptions: { userAgentPrefix: 'manymodels' },
    });
  }

  /** Where the batch lives in the Livy API: the run's address when no Studio link can be made. */
  batchUrl(id: number): string {
    return `${this.endpoint}${this.batchesPath()}/${id}`;
  }

  private batchesPath(): string {
    return `/livyApi/versions/${encodeURIComponent(this.livyApiVersion)}/sparkPools/${encodeURIComponent(this.sparkPool)}/batches`;
  }

  private async pause(event: RetryEvent, signal?: AbortSignal): Promise<void> {
    this.options.onRetry?.(event);
    try {
      await this.sleep(event.delayMs, signal);
    } catch (err) {
      throw new InterruptedError(`Synapse ${event.method} ${event.path} was cancelled`, { code: 'MM130', cause: err });
    }
  }

  private async call<T>(op: Operation, signal: AbortSignal | undefined, send: () => Promise<T>): Promise<T> {
    const base = { service: 'Synapse', method: op.method, path: op.path };
    let refreshed = false;
    for (let attempt = 1; ; attempt++) {
      try {
        return await send();
      } catch (err) {
        if (signal?.aborted) throw new InterruptedError(`Synapse ${op.method} ${op.path} was cancelled`, { code: 'MM130', cause: err });
        if (!isRestError(err)) throw err;
        scrub(err);
        const status = err.statusCode;
        if (status === undefined) {
          const code = err.code;
          // Anything but a connection that never reached the server may have been acted on.
          const notSent = code !== undefined && NOT_SENT_CODES.has(code);
          const retry = retryDecision(this.policy, this.random, attempt, { kind: 'connection', resendable: notSent || op.idempotent });
          if (retry) {
            await this.pause({ ...base, attempt, ...retry, ...(code ? { errorCode: code } : {}) }, signal);
            continue;
          }
          throw new RemoteHttpError(redactSecrets(`Synapse ${op.method} ${op.path} failed: ${code ?? 'network error'}: ${err.message}${attempt > 1 ? ` (after ${attempt} attempts)` : ''}`), {
            ...base,
            code: RemoteErrorCode.Network,
            ...(code ? { serviceCode: code } : {}),
            cause: err,
            attempts: attempt,
            // A reply lost on its way back: the service may have acted on the request.
            maybeProcessed: !notSent,
            nextSteps: ['Check network access to the Synapse workspace endpoint and retry.'],
          });
        }
        if (status === 401 && !refreshed && this.options.tokenProvider.invalidate) {
          // An expired or revoked token: a fresh one once (a new SDK client: it caches tokens too).
          refreshed = true;
          this.options.tokenProvider.invalidate();
          this.sdk = this.makeSdk();
          await this.pause({ ...base, attempt, delayMs: 0, reason: 'auth-refresh', status }, signal);
          continue;
        }
        const headers = headersOf(err);
        const retryAfterMs = parseRetryAfter(headers);
        const retry = retryDecision(this.policy, this.random, attempt, { kind: 'status', status, idempotent: op.idempotent, ...(retryAfterMs !== undefined ? { retryAfterMs } : {}) });
        if (retry) {
          await this.pause({ ...base, attempt, ...retry, status, ...(retryAfterMs !== undefined ? { retryAfterMs } : {}) }, signal);
          continue;
        }
        const auth = status === 401 || status === 403;
        const message = serviceMessage(err);
        throw new RemoteHttpError(
          redactSecrets(`Synapse ${op.method} ${op.path} failed: HTTP ${status}${message ? ` ${message}` : ''}${attempt > 1 ? ` (after ${attempt} attempts)` : ''}`),
          {
            ...base,
            code: auth ? RemoteErrorCode.Auth : status === 429 ? RemoteErrorCode.Throttled : RemoteErrorCode.Http,
            status,
            cause: err,
            attempts: attempt,
            // A 5xx on a create is ambiguous: the batch may exist.
            maybeProcessed: status >= 500 && !op.idempotent,
            nextSteps: auth ? [...AUTH_STEPS] : status === 429 ? ['Synapse kept throttling; retry later.'] : [],
          },
        );
      }
    }
  }

  /**
   * Creates a batch. Sent once (429 and never-sent connections aside): when the reply is lost or
   * a 5xx comes back, the error has `maybeProcessed` and the caller looks for the batch by tag.
   */
  async createBatch(request: SparkBatchRequest, signal?: AbortSignal): Promise<SparkBatch> {
    const job = await this.call({ method: 'POST', path: this.batchesPath(), idempotent: false }, signal, () =>
      this.sdk.sparkBatch.createSparkBatchJob({ ...request }, { detailed: true, abortSignal: signal }),
    );
    return toBatch(job);
  }

  async getBatch(id: number, signal?: AbortSignal): Promise<SparkBatch> {
    const job = await this.call({ method: 'GET', path: `${this.batchesPath()}/${id}`, idempotent: true }, signal, () =>
      this.sdk.sparkBatch.getSparkBatchJob(id, { detailed: true, abortSignal: signal }),
    );
    return toBatch(job);
  }

  async listBatches(page: { from: number; size?: number }, signal?: AbortSignal): Promise<SparkBatchPage> {
    const size = Math.min(page.size ?? LIST_PAGE_SIZE, LIST_PAGE_SIZE);
    const res = await this.call({ method: 'GET', path: this.batchesPath(), idempotent: true }, signal, () =>
      this.sdk.sparkBatch.getSparkBatchJobs({ fromParam: page.from, size, detailed: true, abortSignal: signal }),
    );
    return { from: res.from ?? page.from, total: res.total ?? 0, batches: (res.sessions ?? []).map(toBatch) };
  }

  /**
   * The batch of the pool carrying tag `key=value`, newest first, or `undefined`. Livy lists
   * oldest first, 20 a page, with the pool's total: the first page gives the total, then the
   * pages are read from the end, where a batch just created is. At most `maxBatches` are looked at.
   */
  async findBatchByTag(key: string, value: string, signal?: AbortSignal, maxBatches = 2_000): Promise<SparkBatch | undefined> {
    const pick = (batches: SparkBatch[]): SparkBatch | undefined => batches.filter((b) => b.tags[key] === value).sort((a, b) => b.id - a.id)[0];
    const first = await this.listBatches({ from: 0 }, signal);
    const covered = first.from + first.batches.length;
    let scanned = first.batches.length;
    for (let end = first.total; end > covered && scanned < maxBatches; ) {
      const from = Math.max(covered, end - LIST_PAGE_SIZE);
      const page = await this.listBatches({ from, size: end - from }, signal);
      const found = pick(page.batches);
      if (found) return found;
      scanned += end - from;
      end = from;
    }
    return pick(first.batches);
  }

  /** Asks Livy to kill the batch; it ends `killed` shortly after. Harmless on a finished batch. */
  async cancelBatch(id: number, signal?: AbortSignal): Promise<void> {
    await this.call({ method: 'DELETE', path: `${this.batchesPath()}/${id}`, idempotent: true }, signal, () =>
      this.sdk.sparkBatch.cancelSparkBatchJob(id, { abortSignal: signal }),
    );
  }
}
