// ARM long-running operations: polls Azure-AsyncOperation or Location until a terminal state,
// honouring Retry-After, then fetches the final result the way the operation's
// `final-state-via` says. Polling is an async generator that yields only on a state change.
import { RemoteError } from '../core/errors.js';
import { redactSecrets } from '../core/redact.js';
import { type HttpClient, type HttpResponse, RemoteErrorCode, isRecord, parseRetryAfter } from './http.js';

export type FinalStateVia = 'original-uri' | 'location' | 'azure-async-operation';

export interface LroOptions {
  /** Where the final result is read (from the spec's x-ms-long-running-operation-options). */
  finalStateVia: FinalStateVia;
  /** The URL the operation was started on (GET here for original-uri). */
  originalUrl: string;
  /** Delay between polls when the service gives no Retry-After. */
  pollIntervalMs?: number;
  /** Give up after this long; the operation itself keeps running in the service. */
  timeoutMs?: number;
  now?: () => number;
  signal?: AbortSignal;
  /** A short name for messages, e.g. "create model version m1:3". */
  description?: string;
}

export interface LroProgress {
  status: string;
  /** Milliseconds since polling started. */
  elapsedMs: number;
}

export const DEFAULT_LRO_POLL_INTERVAL_MS = 5_000;
export const DEFAULT_LRO_TIMEOUT_MS = 30 * 60_000;

const TERMINAL_FAILURES = new Set(['failed', 'canceled', 'cancelled']);

function operationError(description: string, status: string, body: unknown): RemoteError {
  const error = isRecord(body) && isRecord(body.error) ? body.error : undefined;
  const code = typeof error?.code === 'string' ? error.code : undefined;
  const message = typeof error?.message === 'string' ? error.message : undefined;
  return new RemoteError(redactSecrets(`${description} ended ${status}${code ? `: ${code}` : ''}${message ? `: ${message}` : ''}`), {
    code: RemoteErrorCode.OperationFailed,
    serviceCode: code,
  });
}

/**
 * Polls an operation started by `initial`. Yields each new status; returns the final
 * response (undefined when the operation defines no result, e.g. a delete).
 */
export async function* pollArmOperation(http: HttpClient, initial: HttpResponse, options: LroOptions): AsyncGenerator<LroProgress, HttpResponse | undefined> {
  const asyncUrl = initial.headers['azure-asyncoperation'];
  let location = initial.headers.location;
  if (!asyncUrl && !location) return initial.status === 204 ? undefined : initial;

  const now = options.now ?? Date.now;
  const started = now();
  const timeoutMs = options.timeoutMs ?? DEFAULT_LRO_TIMEOUT_MS;
  const interval = options.pollIntervalMs ?? DEFAULT_LRO_POLL_INTERVAL_MS;
  const description = options.description ?? `${http.service} operation`;
  let waitMs = parseRetryAfter(initial.headers) ?? interval;
  let lastStatus = '';
  let locationResult: HttpResponse | undefined;

  for (;;) {
    if (now() - started + waitMs > timeoutMs) {
      throw new RemoteError(`${description} did not finish within ${Math.round(timeoutMs / 1000)} s (last status: ${lastStatus || 'unknown'})`, {
        code: RemoteErrorCode.OperationTimeout,
        nextSteps: ['The operation may still complete in the service; check it before retrying.'],
      });
    }
    await http.sleep(waitMs, options.signal);

    if (asyncUrl) {
      const res = await http.request({ method: 'GET', url: asyncUrl, signal: options.signal });
      const status = isRecord(res.data) && typeof res.data.status === 'string' ? res.data.status : 'Unknown';
      if (status !== lastStatus) {
        lastStatus = status;
        yield { status, elapsedMs: now() - started };
      }
      const lower = status.toLowerCase();
      if (TERMINAL_FAILURES.has(lower)) throw operationError(description, status, res.data);
      if (lower === 'succeeded') break;
      waitMs = parseRetryAfter(res.headers) ?? interval;
      continue;
    }

    // Location polling: 202 while running; any 2xx other than 202 is the result, an error
    // status is how a failed operation reports itself.
    const res = await http.request({ method: 'GET', url: location ?? '', signal: options.signal });
    if (res.status === 202) {
      if (lastStatus !== 'InProgress') {
        lastStatus = 'InProgress';
        yield { status: lastStatus, elapsedMs: now() - started };
      }
      location = res.headers.location ?? location;
      waitMs = parseRetryAfter(res.headers) ?? interval;
      continue;
    }
    yield { status: 'Succeeded', elapsedMs: now() - started };
    locationResult = res;
    break;
  }

  if (!asyncUrl) return locationResult?.status === 204 ? undefined : locationResult;
  if (options.finalStateVia === 'original-uri') {
    return http.request({ method: 'GET', url: options.originalUrl, signal: options.signal });
  }
  if (options.finalStateVia === 'location' && location) {
    const res = await http.request({ method: 'GET', url: location, signal: options.signal });
    return res.status === 204 ? undefined : res;
  }
  return undefined;
}

/** Runs pollArmOperation to the end; `onProgress` sees each state change. */
export async function waitForArmOperation(
  http: HttpClient,
  initial: HttpResponse,
  options: LroOptions & { onProgress?: (p: LroProgress) => void },
): Promise<HttpResponse | undefined> {
  const poller = pollArmOperation(http, initial, options);
  for (;;) {
    const step = await poller.next();
    if (step.done) return step.value;
    options.onProgress?.(step.value);
  }
}
