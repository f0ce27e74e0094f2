// The shared HTTP layer: retry classification, backoff and Retry-After, bounded attempts,
// token refresh, same-origin links, and that errors never carry secrets.
import { type IncomingMessage, type Server, type ServerResponse, createServer } from 'node:http';
import type { AddressInfo } from 'node:net';
import { inspect } from 'node:util';
import { afterEach, describe, expect, it } from 'vitest';
import { RemoteError } from '../../src/core/errors.js';
import { HttpClient, type HttpClientOptions, type RetryEvent, RemoteHttpError, parseRetryAfter } from '../../src/clients/http.js';
import { Secret } from '../../src/clients/secret.js';
import { reachableStrings } from '../emulators/azureml/test-kit.js';

type Handler = (req: IncomingMessage, res: ServerResponse, n: number) => void;

const servers: Server[] = [];
afterEach(async () => {
  await Promise.all(servers.splice(0).map((s) => new Promise<void>((r) => { s.closeAllConnections(); s.close(() => r()); })));
});

/** A local server answering request n (1-based) with handler(req, res, n). */
async function scripted(handler: Handler): Promise<{ url: string; hits: () => number; auth: string[] }> {
  let n = 0;
  const auth: string[] = [];
  const server = createServer((req, res) => {
    n++;
    auth.push(req.headers.authorization ?? '');
    req.resume();
    req.on('end', () => handler(req, res, n));
  });
  await new Promise<void>((r) => server.listen(0, '127.0.0.1', () => r()));
  servers.push(server);
  return { url: `http://127.0.0.1:${(server.address() as AddressInfo).port}`, hits: () => n, auth };
}

const json = (res: ServerResponse, status: number, body?: unknown, headers: Record<string, string> = {}): void => {
  res.writeHead(status, { 'Content-Type': 'application/json', ...headers });
  res.end(body === undefined ? undefined : JSON.stringify(body));
};

const SECRET_TOKEN = 'eyJhbGciOiJSUzI1NiJ9.eyJvaWQiOiJzZWNyZXQtcHJpbmNpcGFsIn0.c2lnbmF0dXJlLXRoYXQtbXVzdC1ub3QtbGVhaw';

function client(url: string, extra: Partial<HttpClientOptions> = {}): { http: HttpClient; delays: number[]; events: RetryEvent[] } {
  const delays: number[] = [];
  const events: RetryEvent[] = [];
  const http = new HttpClient({
    service: 'Test API',
    baseUrl: url,
    tokenProvider: { getToken: async () => SECRET_TOKEN },
    sleep: async (ms) => {
      delays.push(ms);
    },
    random: () => 1,
    onRetry: (e) => events.push(e),
    ...extra,
  });
  return { http, delays, events };
}

describe('parseRetryAfter', () => {
  it('reads seconds, HTTP dates and the millisecond headers (which win)', () => {
    expect(parseRetryAfter({ 'retry-after': '7' })).toBe(7000);
    expect(parseRetryAfter({ 'retry-after': 'Wed, 21 Oct 2015 07:28:10 GMT' }, Date.parse('Wed, 21 Oct 2015 07:28:00 GMT'))).toBe(10_000);
    expect(parseRetryAfter({ 'retry-after': '7', 'x-ms-retry-after-ms': '250' })).toBe(250);
    expect(parseRetryAfter({ 'retry-after-ms': '40' })).toBe(40);
    expect(parseRetryAfter({ 'retry-after': 'soon' })).toBeUndefined();
    expect(parseRetryAfter({})).toBeUndefined();
  });
});

describe('HttpClient retries', () => {
  it('retries 5xx on GET with full-jitter exponential backoff, then succeeds', async () => {
    const srv = await scripted((_q, res, n) => (n <= 3 ? json(res, n === 2 ? 502 : 500, { error: { code: 'Boom', message: 'x' } }) : json(res, 200, { ok: true })));
    const { http, delays, events } = client(srv.url);
    const res = await http.request({ method: 'GET', url: '/thing' });
    expect(res.data).toEqual({ ok: true });
    // random() = 1 gives the cap of each step: 500, 1000, 2000.
    expect(delays).toEqual([500, 1000, 2000]);
    expect(events.map((e) => [e.attempt, e.reason, e.status])).toEqual([[1, 'server-error', 500], [2, 'server-error', 502], [3, 'server-error', 500]]);
    expect(http.stats).toEqual({ requests: 4, retries: 3, throttled: 0 });
  });

  it('honours Retry-After on 429 as a floor and reports throttles', async () => {
    const srv = await scripted((_q, res, n) => (n === 1 ? json(res, 429, { error: { code: 'TooMany', message: 'slow down' } }, { 'Retry-After': '3' }) : json(res, 200, {})));
    const throttles: RetryEvent[] = [];
    const { http, delays } = client(srv.url, { random: () => 0.5, onThrottle: (e) => throttles.push(e) });
    await http.request({ method: 'POST', url: '/submit', body: { a: 1 } });
    expect(delays).toEqual([3000 + 250]);
    expect(throttles).toEqual([expect.objectContaining({ status: 429, retryAfterMs: 3000 })]);
    expect(http.stats.throttled).toBe(1);
  });

  it('does not sleep through a Retry-After longer than the policy allows', async () => {
    const srv = await scripted((_q, res) => json(res, 429, { error: { code: 'TooMany', message: 'later' } }, { 'Retry-After': '3600' }));
    const { http, delays } = client(srv.url);
    const err = await http.request({ method: 'GET', url: '/x' }).catch((e: unknown) => e);
    expect(err).toBeInstanceOf(RemoteHttpError);
    expect(err).toMatchObject({ code: 'MM603', status: 429, serviceCode: 'TooMany', attempts: 1 });
    expect(delays).toEqual([]);
  });

  it('gives up after maxAttempts with one RemoteError naming service, method, path and status', async () => {
    const srv = await scripted((_q, res) => json(res, 503, { error: { code: 'ServiceUnavailable', message: 'down' } }));
    const { http } = client(srv.url, { retry: { maxAttempts: 3 } });
    const err = await http.request({ method: 'GET', url: '/models/m1', query: { 'api-version': '1', sig: 'abc' } }).catch((e: unknown) => e);
    expect(err).toBeInstanceOf(RemoteError);
    expect((err as Error).message).toBe('Test API GET /models/m1 failed: HTTP 503 ServiceUnavailable: down (after 3 attempts)');
    expect(err).toMatchObject({ exitCode: 3, code: 'MM601', status: 503, attempts: 3, maybeProcessed: false });
    expect(srv.hits()).toBe(3);
  });

  it('does not resend a POST after a 500 (it may have been processed), unless marked idempotent', async () => {
    const srv = await scripted((_q, res) => json(res, 500, { error: { code: 'Internal', message: 'hmm' } }));
    const { http } = client(srv.url);
    const err = await http.request({ method: 'POST', url: '/publish', body: {} }).catch((e: unknown) => e);
    expect(err).toMatchObject({ status: 500, maybeProcessed: true, attempts: 1 });
    expect(srv.hits()).toBe(1);
    await http.request({ method: 'POST', url: '/upload', body: {}, idempotent: true }).catch(() => undefined);
    expect(srv.hits()).toBe(1 + 6);
  });

  it('retries a dropped connection for GET/PUT but not for POST', async () => {
    const srv = await scripted((req, res, n) => (n % 2 === 1 ? req.socket.destroy() : json(res, 200, { n })));
    const { http, events } = client(srv.url);
    expect((await http.request({ method: 'PUT', url: '/v/1', body: { x: 1 } })).data).toEqual({ n: 2 });
    expect(events[0]).toMatchObject({ reason: 'connection', errorCode: 'ECONNRESET' });
    const err = await http.request({ method: 'POST', url: '/publish', body: {} }).catch((e: unknown) => e);
    expect(err).toBeInstanceOf(RemoteHttpError);
    expect(err).toMatchObject({ code: 'MM602', serviceCode: 'ECONNRESET', maybeProcessed: true, attempts: 1 });
    expect(srv.hits()).toBe(3);
  });

  it('retries a refused connection for any method (nothing was sent)', async () => {
    const srv = await scripted((_q, res) => json(res, 200, {}));
    const port = new URL(srv.url).port;
    await Promise.all(servers.splice(0).map((s) => new Promise<void>((r) => s.close(() => r()))));
    const { http, delays } = client(`http://127.0.0.1:${port}`, { retry: { maxAttempts: 2 } });
    const err = await http.request({ method: 'POST', url: '/x', body: {} }).catch((e: unknown) => e);
    expect(err).toMatchObject({ code: 'MM602', serviceCode: 'ECONNREFUSED', maybeProcessed: false, attempts: 2 });
    expect(delays).toHaveLength(1);
  });

  it('refreshes the token once on 401', async () => {
    const srv = await scripted((_q, res, n) => (n === 1 ? json(res, 401, { error: { code: 'ExpiredAuthenticationToken', message: 'expired' } }) : json(res, 200, {})));
    let issued = 0;
    let invalidated = 0;
    const { http } = client(srv.url, { tokenProvider: { getToken: async () => `token-${++issued}`, invalidate: () => void invalidated++ } });
    await http.request({ method: 'GET', url: '/x' });
    expect(srv.auth).toEqual(['Bearer token-1', 'Bearer token-2']);
    expect(invalidated).toBe(1);
  });

  it('maps auth failures to MM604 with next steps, including a failing credential', async () => {
    const srv = await scripted((_q, res) => json(res, 403, { error: { code: 'AuthorizationFailed', message: 'no role' } }));
    const { http } = client(srv.url);
    await expect(http.request({ method: 'GET', url: '/x' })).rejects.toMatchObject({ code: 'MM604', status: 403, nextSteps: [expect.stringContaining('role')] });
    const noCred = client(srv.url, { tokenProvider: { getToken: async () => Promise.reject(new Error('DefaultAzureCredential failed to retrieve a token\nmore lines')) } });
    await expect(noCred.http.request({ method: 'GET', url: '/x' })).rejects.toMatchObject({ code: 'MM604', message: expect.stringContaining('could not get an access token') });
  });

  it('refuses links to another origin so the token never leaves the service', async () => {
    const srv = await scripted((_q, res) => json(res, 200, {}));
    const { http } = client(srv.url);
    await expect(http.request({ method: 'GET', url: 'https://elsewhere.example.com/steal' })).rejects.toMatchObject({ code: 'MM607' });
    expect(srv.hits()).toBe(0);
  });
});

describe('HttpClient errors carry no secrets', () => {
  it('redacts tokens and SAS signatures from messages, causes and inspected errors', async () => {
    const sas = 'sv=2021-08-06&sr=c&sp=racwl&sig=SuperSecretSignature123';
    const srv = await scripted((req, res, n) =>
      n === 1
        ? json(res, 400, { error: { code: 'Echo', message: `got ${req.headers.authorization} for https://a.blob.core.windows.net/c?${sas}` } })
        : req.socket.destroy(),
    );
    const { http } = client(srv.url, { retry: { maxAttempts: 1 } });
    const httpErr = await http.request({ method: 'GET', url: '/x', query: { sig: 'SuperSecretSignature123' } }).catch((e: unknown) => e);
    const netErr = await http.request({ method: 'POST', url: `/y?${sas}`, body: { token: SECRET_TOKEN } }).catch((e: unknown) => e);
    for (const err of [httpErr, netErr]) {
      expect(err).toBeInstanceOf(RemoteError);
      const everything = `${(err as Error).message}\n${inspect(err, { depth: 12, showHidden: true })}\n${JSON.stringify(err)}\n${reachableStrings(err).join('\n')}`;
      expect(everything).not.toContain(SECRET_TOKEN);
      expect(everything).not.toContain('c2lnbmF0dXJlLXRoYXQtbXVzdC1ub3QtbGVhaw');
      expect(everything).not.toContain('SuperSecretSignature123');
    }
    expect((httpErr as Error).message).toContain('Echo');
    expect((netErr as RemoteHttpError).cause).toBeDefined();
  });

  it('Secret never prints', () => {
    const s = new Secret('https://a/c?sig=abc');
    expect(`${s}`).toBe('***');
    expect(JSON.stringify({ s })).toBe('{"s":"***"}');
    expect(inspect({ s })).not.toContain('abc');
    expect(s.reveal()).toContain('sig=abc');
  });
});
