// The one HTTP layer every Azure client uses: an axios instance per service, bearer tokens,
// bounded retries with backoff, and the single place where transport errors become RemoteError.
//
// Retry rules (why, in one place):
// - 429 is always retried: ARM documents that a throttled request was not processed.
// - 5xx (500, 502, 503, 504) and "response lost" connection errors (ECONNRESET, socket hang
//   up, EPIPE, timeouts) are retried only for idempotent requests: GET/HEAD/PUT/DELETE, or a
//   request the caller marks `idempotent: true`. A POST that may have been processed is not
//   resent blindly; the caller reconciles (see AzureMlClient.publishModelVersion).
// - Errors raised before the request left (ECONNREFUSED, DNS failures) are retried for all.
// - Delays: full-jitter exponential backoff; a server hint (`x-ms-retry-after-ms`,
//   `retry-after-ms`, `Retry-After` seconds or HTTP date) is a floor, plus a little jitter so
//   many throttled workers do not wake together. A hint longer than `maxRetryAfterMs` stops
//   retrying instead of sleeping silently for minutes.
import { Agent as HttpAgent } from 'node:http';
import { Agent as HttpsAgent } from 'node:https';
import axios, { AxiosError, type AxiosInstance, type AxiosResponse } from 'axios';
import { InterruptedError, RemoteError } from '../core/errors.js';
import { redactSecrets } from '../core/redact.js';
import type { TokenProvider } from '../contracts/azure.js';
import type { RequestPacer } from './arm-pacer.js';

export type { TokenProvider } from '../contracts/azure.js';

export interface RetryPolicy {
  /** Total attempts including the first. */
  maxAttempts: number;
  baseDelayMs: number;
  maxDelayMs: number;
  /** A Retry-After longer than this is not waited for: the error is raised instead. */
  maxRetryAfterMs: number;
}

export const DEFAULT_RETRY_POLICY: RetryPolicy = {
  maxAttempts: 6,
  baseDelayMs: 500,
  maxDelayMs: 30_000,
  maxRetryAfterMs: 120_000,
};

/** Stable codes of the errors this layer raises (listed in docs/azureml.md). */
export const RemoteErrorCode = {
  Http: 'MM601',
  Network: 'MM602',
  Throttled: 'MM603',
  Auth: 'MM604',
  OperationFailed: 'MM605',
  OperationTimeout: 'MM606',
  UnexpectedResponse: 'MM607',
  Storage: 'MM608',
} as const;

export type RetryReason = 'throttled' | 'server-error' | 'connection' | 'auth-refresh';

export interface RetryEvent {
  service: string;
  method: string;
  /** Path only, never the query string. */
  path: string;
  /** The attempt that just failed (1-based). */
  attempt: number;
  delayMs: number;
  reason: RetryReason;
  status?: number;
  retryAfterMs?: number;
  errorCode?: string;
}

export interface HttpClientStats {
  /** Requests put on the wire, retries included. */
  requests: number;
  retries: number;
  throttled: number;
}

export interface ServiceErrorInfo {
  code?: string;
  message?: string;
}

export type ServiceErrorParser = (body: unknown) => ServiceErrorInfo;

/** ARM ErrorResponse: `{error: {code, message, target, details}}`. */
export const parseArmError: ServiceErrorParser = (body) => {
  const error = isRecord(body) && isRecord(body.error) ? body.error : undefined;
  return {
    code: typeof error?.code === 'string' ? error.code : undefined,
    message: typeof error?.message === 'string' ? error.message : undefined,
  };
};

export type HttpMethod = 'GET' | 'HEAD' | 'PUT' | 'POST' | 'PATCH' | 'DELETE';

export interface HttpRequest {
  method: HttpMethod;
  /** A path relative to the base URL, or an absolute URL on the same origin (nextLink, LRO). */
  url: string;
  query?: Record<string, string | number | boolean | undefined>;
  body?: unknown;
  headers?: Record<string, string>;
  /** Overrides the method's default idempotency (only GET/HEAD/PUT/DELETE are by default). */
  idempotent?: boolean;
  /** Non-2xx statuses handed back to the caller instead of thrown (e.g. 404 = absent). */
  acceptStatus?: number[];
  signal?: AbortSignal;
  /** `arraybuffer`: the reply body as a Buffer (binary downloads); JSON by default. */
  responseType?: 'json' | 'arraybuffer';
}

export interface HttpResponse {
  status: number;
  /** Lower-cased header names. */
  headers: Record<string, string>;
  data: unknown;
  url: string;
}

export interface HttpClientOptions {
  /** Human name used in messages, e.g. "Azure ML". */
  service: string;
  baseUrl: string;
  tokenProvider?: TokenProvider;
  retry?: Partial<RetryPolicy>;
  timeoutMs?: number;
  sleep?: (ms: number, signal?: AbortSignal) => Promise<void>;
  random?: () => number;
  onRetry?: (event: RetryEvent) => void;
  /** Called on every 429 (before the retry decision), for progress and counting. */
  onThrottle?: (event: RetryEvent) => void;
  parseServiceError?: ServiceErrorParser;
  userAgent?: string;
  /** Waits before each attempt and learns from each reply (ARM pacing, see arm-pacer.ts). */
  pacer?: RequestPacer;
}

/** A RemoteError raised by this layer, with what a caller needs to reconcile. */
export class RemoteHttpError extends RemoteError {
  readonly service: string;
  readonly method: string;
  readonly path: string;
  readonly attempts: number;
  /** True when the server may have acted on the request before the failure was seen. */
  readonly maybeProcessed: boolean;

  constructor(
    message: string,
    details: ConstructorParameters<typeof RemoteError>[1] & {
      service: string;
      method: string;
      path: string;
      attempts: number;
      maybeProcessed: boolean;
    },
  ) {
    super(message, details);
    this.service = details.service;
    this.method = details.method;
    this.path = details.path;
    this.attempts = details.attempts;
    this.maybeProcessed = details.maybeProcessed;
  }
}

/** The original non-2xx reply, kept as `cause` (body redacted, no request headers). */
export class ServiceResponseError extends Error {
  readonly status: number;
  readonly body: string;
  constructor(status: number, body: string) {
    super(`HTTP ${status}`);
    this.name = 'ServiceResponseError';
    this.status = status;
    this.body = body;
  }
}

export function isRecord(v: unknown): v is Record<string, unknown> {
  return typeof v === 'object' && v !== null && !Array.isArray(v);
}

export function defaultSleep(ms: number, signal?: AbortSignal): Promise<void> {
  return new Promise((resolve, reject) => {
    if (signal?.aborted) {
      reject(signal.reason);
      return;
    }
    const timer = setTimeout(() => {
      signal?.removeEventListener('abort', onAbort);
      resolve();
    }, ms);
    const onAbort = (): void => {
      clearTimeout(timer);
      reject(signal?.reason);
    };
    signal?.addEventListener('abort', onAbort, { once: true });
  });
}

/** Reads a server retry hint in ms: x-ms-retry-after-ms, retry-after-ms, Retry-After (s or date). */
export function parseRetryAfter(headers: Record<string, string>, now: number = Date.now()): number | undefined {
  for (const name of ['x-ms-retry-after-ms', 'retry-after-ms']) {
    const v = headers[name];
    if (v !== undefined && /^\d+(\.\d+)?$/.test(v.trim())) return Math.ceil(Number(v));
  }
  const ra = headers['retry-after'];
  if (ra === undefined) return undefined;
  if (/^\d+(\.\d+)?$/.test(ra.trim())) return Math.ceil(Number(ra) * 1000);
  const date = Date.parse(ra);
  return Number.isNaN(date) ? undefined : Math.max(0, date - now);
}

/** Connection errors raised before the request left: nothing reached the service. */
export const NOT_SENT_CODES: ReadonlySet<string> = new Set(['ECONNREFUSED', 'ENOTFOUND', 'EAI_AGAIN', 'EHOSTUNREACH', 'ENETUNREACH']);
const LOST_RESPONSE_CODES = new Set(['ECONNRESET', 'EPIPE', 'ECONNABORTED', 'ETIMEDOUT', 'ERR_SOCKET_CONNECTION_TIMEOUT']);
const RETRYABLE_STATUS = new Set([500, 502, 503, 504]);

/** A failed attempt, as the retry rules see it. */
export type AttemptFailure =
  /** No reply. `resendable`: the request never left, or it may be sent twice safely. */
  | { kind: 'connection'; resendable: boolean }
  | { kind: 'status'; status: number; idempotent: boolean; retryAfterMs?: number };

/**
 * The retry rules (the file's header), once for every client that runs its own attempt loop
 * (HttpClient here, the Synapse Livy client over its SDK): how long to wait before attempt
 * `attempt + 1`, and why — or `undefined`: raise the error.
 */
export function retryDecision(
  policy: RetryPolicy,
  random: () => number,
  attempt: number,
  failure: AttemptFailure,
): { delayMs: number; reason: RetryReason } | undefined {
  if (attempt >= policy.maxAttempts) return undefined;
  // Full-jitter exponential backoff.
  const backoff = (): number => Math.floor(random() * Math.min(policy.maxDelayMs, policy.baseDelayMs * 2 ** (attempt - 1)));
  if (failure.kind === 'connection') return failure.resendable ? { delayMs: backoff(), reason: 'connection' } : undefined;
  const { status, retryAfterMs } = failure;
  const retryable = status === 429 || (RETRYABLE_STATUS.has(status) && failure.idempotent);
  if (!retryable || (retryAfterMs !== undefined && retryAfterMs > policy.maxRetryAfterMs)) return undefined;
  // A server hint is a floor, plus a little jitter so many throttled workers do not wake together.
  const delayMs = retryAfterMs !== undefined ? retryAfterMs + Math.floor(random() * policy.baseDelayMs) : backoff();
  return { delayMs, reason: status === 429 ? 'throttled' : 'server-error' };
}

function networkCode(err: AxiosError): string | undefined {
  const inner = err.cause as { code?: unknown } | undefined;
  if (typeof err.code === 'string' && err.code !== 'ERR_NETWORK' && err.code !== 'ERR_BAD_RESPONSE') return err.code;
  if (typeof inner?.code === 'string') return inner.code;
  if (/socket hang up/i.test(err.message)) return 'ECONNRESET';
  return err.code;
}

/**
 * Strips what an AxiosError carries that can hold secrets, in place, so the original error can
 * still be kept as `cause`. Not just the Authorization header: the config also references the
 * keep-alive agent, whose live sockets reference the ClientRequest whose `_header` holds the
 * bearer token (a deep util.inspect finds it). So the config becomes a minimal plain copy.
 */
function scrubAxiosError(err: AxiosError): AxiosError {
  const config = err.config;
  const mutable = err as unknown as { config?: unknown; request?: unknown; response?: { request?: unknown; config?: unknown } };
  mutable.config = config
    ? { method: config.method, url: typeof config.url === 'string' ? redactSecrets(config.url) : undefined, timeout: config.timeout }
    : undefined;
  mutable.request = undefined;
  if (mutable.response) {
    mutable.response.request = undefined;
    mutable.response.config = undefined;
  }
  err.message = redactSecrets(err.message);
  if (typeof err.stack === 'string') err.stack = redactSecrets(err.stack);
  return err;
}

function flattenHeaders(headers: AxiosResponse['headers']): Record<string, string> {
  const out: Record<string, string> = {};
  for (const [k, v] of Object.entries(headers ?? {})) {
    if (v === undefined || v === null) continue;
    out[k.toLowerCase()] = Array.isArray(v) ? v.join(', ') : String(v);
  }
  return out;
}

function bodyText(data: unknown): string {
  if (data === undefined || data === null || data === '') return '';
  const text = typeof data === 'string' ? data : JSON.stringify(data);
  return redactSecrets(text.length > 2000 ? `${text.slice(0, 2000)}…` : text);
}

/** The reply body; a binary reply that is an error is decoded, so its service error can be read. */
function replyData(res: AxiosResponse): unknown {
  if (res.data === '') return undefined;
  if (Buffer.isBuffer(res.data) && (res.status < 200 || res.status >= 300)) {
    const text = res.data.toString('utf8');
    if (!text) return undefined;
    try {
      return JSON.parse(text) as unknown;
    } catch {
      return text;
    }
  }
  return res.data;
}

export class HttpClient {
  readonly service: string;
  readonly baseUrl: string;
  readonly stats: HttpClientStats = { requests: 0, retries: 0, throttled: 0 };
  readonly sleep: (ms: number, signal?: AbortSignal) => Promise<void>;
  readonly random: () => number;
  private readonly axios: AxiosInstance;
  private readonly origin: string;
  private readonly policy: RetryPolicy;
  private readonly options: HttpClientOptions;

  constructor(options: HttpClientOptions) {
    this.options = options;
    this.service = options.service;
    this.baseUrl = options.baseUrl.replace(/\/+$/, '');
    this.origin = new URL(this.baseUrl).origin;
    this.policy = { ...DEFAULT_RETRY_POLICY, ...options.retry };
    this.sleep = options.sleep ?? defaultSleep;
    this.random = options.random ?? Math.random;
    this.axios = axios.create({
      timeout: options.timeoutMs ?? 60_000,
      // Statuses are ours to interpret; axios only throws for transport failures.
      validateStatus: () => true,
      // A redirect would carry the bearer token to wherever it points.
      maxRedirects: 0,
      httpAgent: new HttpAgent({ keepAlive: true }),
      httpsAgent: new HttpsAgent({ keepAlive: true }),
      headers: { 'User-Agent': options.userAgent ?? 'manymodels' },
      transitional: { silentJSONParsing: true, forcedJSONParsing: true, clarifyTimeoutError: false },
    });
  }

  /** Absolute URL for a path or same-origin link; refuses other origins (the token goes along). */
  resolveUrl(url: string, query?: HttpRequest['query']): URL {
    const absolute = /^https?:\/\//i.test(url) ? new URL(url) : new URL(this.baseUrl + (url.startsWith('/') ? url : `/${url}`));
    if (absolute.origin !== this.origin) {
      throw new RemoteHttpError(
        `${this.service} returned a link to another host (${absolute.origin}); refusing to send credentials there`,
        { code: RemoteErrorCode.UnexpectedResponse, service: this.service, method: 'GET', path: absolute.pathname, attempts: 0, maybeProcessed: false },
      );
    }
    for (const [k, v] of Object.entries(query ?? {})) if (v !== undefined) absolute.searchParams.set(k, String(v));
    return absolute;
  }

  async request(req: HttpRequest): Promise<HttpResponse> {
    const url = this.resolveUrl(req.url, req.query);
    const path = redactSecrets(url.pathname);
    const idempotent = req.idempotent ?? ['GET', 'HEAD', 'PUT', 'DELETE'].includes(req.method);
    const base = { service: this.service, method: req.method, path };
    let refreshedToken = false;

    for (let attempt = 1; ; attempt++) {
      if (this.options.pacer) {
        // Before the token: a long wait must not leave us holding an older token.
        try {
          await this.options.pacer.acquire(req.method, req.signal);
        } catch (err) {
          throw new InterruptedError(`${this.service} ${req.method} ${path} was cancelled`, { code: 'MM130', cause: err });
        }
      }
      const headers: Record<string, string> = { Accept: 'application/json', ...req.headers };
      // A caller sending raw bytes (Buffer) names its own Content-Type.
      if (req.body !== undefined && !Object.keys(headers).some((h) => h.toLowerCase() === 'content-type')) headers['Content-Type'] = 'application/json';
      const provider = this.options.tokenProvider;
      if (provider) headers.Authorization = `Bearer ${await this.getToken(provider, base)}`;

      let res: AxiosResponse;
      try {
        this.stats.requests++;
        res = await this.axios.request({ method: req.method, url: url.toString(), data: req.body, headers, signal: req.signal, responseType: req.responseType ?? 'json' });
      } catch (err) {
        if (req.signal?.aborted) throw new InterruptedError(`${this.service} ${req.method} ${path} was cancelled`, { code: 'MM130', cause: err });
        if (!(err instanceof AxiosError)) throw err;
        scrubAxiosError(err);
        const code = networkCode(err);
        const notSent = code !== undefined && NOT_SENT_CODES.has(code);
        const lost = code !== undefined && LOST_RESPONSE_CODES.has(code);
        const retry = retryDecision(this.policy, this.random, attempt, { kind: 'connection', resendable: notSent || (lost && idempotent) });
        if (retry) {
          await this.pause({ ...base, attempt, ...retry, errorCode: code }, req.signal);
          continue;
        }
        throw new RemoteHttpError(
          redactSecrets(`${this.service} ${req.method} ${path} failed: ${code ?? 'network error'}: ${err.message}${attempt > 1 ? ` (after ${attempt} attempts)` : ''}`),
          {
            ...base,
            code: RemoteErrorCode.Network,
            serviceCode: code,
            cause: err,
            attempts: attempt,
            maybeProcessed: !notSent,
            nextSteps: ['Check network access to the service endpoint and retry.'],
          },
        );
      }

      const resHeaders = flattenHeaders(res.headers);
      const response: HttpResponse = { status: res.status, headers: resHeaders, data: replyData(res), url: url.toString() };
      this.options.pacer?.observe(req.method, res.status, resHeaders, res.status === 429 ? parseRetryAfter(resHeaders) : undefined);
      if ((res.status >= 200 && res.status < 300) || req.acceptStatus?.includes(res.status)) return response;

      const retryAfterMs = parseRetryAfter(resHeaders);
      if (res.status === 429) {
        this.stats.throttled++;
        this.options.onThrottle?.({ ...base, attempt, delayMs: retryAfterMs ?? 0, reason: 'throttled', status: 429, retryAfterMs });
      }
      if (res.status === 401 && this.options.tokenProvider?.invalidate && !refreshedToken) {
        // An expired or revoked token: fetch a fresh one once, then give up.
        refreshedToken = true;
        this.options.tokenProvider.invalidate();
        await this.pause({ ...base, attempt, delayMs: 0, reason: 'auth-refresh', status: 401 }, req.signal);
        continue;
      }
      const retry = retryDecision(this.policy, this.random, attempt, { kind: 'status', status: res.status, idempotent, ...(retryAfterMs !== undefined ? { retryAfterMs } : {}) });
      if (retry) {
        await this.pause({ ...base, attempt, ...retry, status: res.status, retryAfterMs }, req.signal);
        continue;
      }
      throw this.statusError(req, path, response, attempt, idempotent);
    }
  }

  private async getToken(provider: TokenProvider, base: { service: string; method: string; path: string }): Promise<string> {
    try {
      return await provider.getToken();
    } catch (err) {
      // A provider that speaks HTTP itself (Databricks OAuth) has already said what failed and what to do.
      if (err instanceof RemoteHttpError) throw err;
      const first = err instanceof Error ? (err.message.split('\n')[0] ?? '') : String(err);
      throw new RemoteHttpError(redactSecrets(`${this.service}: could not get an access token: ${first}`), {
        ...base,
        code: RemoteErrorCode.Auth,
        cause: err,
        attempts: 0,
        maybeProcessed: false,
        nextSteps: [
          'Sign in with `az login`, or set AZURE_TENANT_ID, AZURE_CLIENT_ID and AZURE_CLIENT_SECRET for a service principal.',
        ],
      });
    }
  }

  private async pause(event: RetryEvent, signal?: AbortSignal): Promise<void> {
    this.stats.retries++;
    this.options.onRetry?.(event);
    try {
      await this.sleep(event.delayMs, signal);
    } catch (err) {
      throw new InterruptedError(`${this.service} ${event.method} ${event.path} was cancelled`, { code: 'MM130', cause: err });
    }
  }

  private statusError(req: HttpRequest, path: string, res: HttpResponse, attempts: number, idempotent: boolean): RemoteHttpError {
    const parsed = (this.options.parseServiceError ?? parseArmError)(res.data);
    const text = bodyText(res.data);
    const detail = parsed.code || parsed.message ? `${parsed.code ?? 'error'}: ${parsed.message ?? ''}`.trim() : text.slice(0, 300);
    const auth = res.status === 401 || res.status === 403;
    const code = auth ? RemoteErrorCode.Auth : res.status === 429 ? RemoteErrorCode.Throttled : RemoteErrorCode.Http;
    const nextSteps =
      auth ? ['Check that the signed-in identity has a role on the resource (e.g. AzureML Data Scientist) and that the token is for the right tenant.']
      : res.status === 429 ? ['The service kept throttling; lower the concurrency or retry later.']
      : [];
    return new RemoteHttpError(
      redactSecrets(`${this.service} ${req.method} ${path} failed: HTTP ${res.status}${detail ? ` ${detail}` : ''}${attempts > 1 ? ` (after ${attempts} attempts)` : ''}`),
      {
        service: this.service,
        method: req.method,
        path,
        code,
        status: res.status,
        serviceCode: parsed.code,
        cause: new ServiceResponseError(res.status, text),
        attempts,
        // A 5xx on a non-idempotent request is ambiguous: the server may have acted on it.
        maybeProcessed: res.status >= 500 && !idempotent,
        nextSteps,
      },
    );
  }
}

export function createHttpClient(options: HttpClientOptions): HttpClient {
  return new HttpClient(options);
}
