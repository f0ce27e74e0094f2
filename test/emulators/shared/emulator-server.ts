// The base every emulator composes: an HTTP(S) server on 127.0.0.1 at a free port, the request
// line and body (size-capped, JSON-parsed), bearer tokens and their JWT claims, the request log,
// transport faults (dropped connections, slow replies), the minimum reply latency, sending a
// reply, and start/stop. What a service answers (routing by its official definition, validation,
// error shapes) stays in each emulator.
import http from 'node:http';
import https from 'node:https';
import type { AddressInfo } from 'node:net';
import { setTimeout as sleep } from 'node:timers/promises';
import type { FaultRule } from './fault-injection.js';

/** What a handler answers: a Buffer body is sent as is, anything else as JSON. */
export interface Reply {
  status: number;
  body?: unknown;
  headers?: Record<string, string>;
}

export interface EmulatorServerOptions {
  /** Serve HTTPS with this key and certificate (the Azure SDKs refuse bearer tokens over http). */
  readonly tls?: { readonly key: string | Buffer; readonly cert: string | Buffer };
  /**
   * A handler that threw past its own error handling. Default: destroy the reply (only a write
   * on a dead socket gets there, and there is nobody left to answer).
   */
  readonly onUnhandled?: (err: unknown, res: http.ServerResponse) => void;
}

export interface EmulatorServer {
  /** `http://127.0.0.1:<port>` (or https). */
  readonly url: string;
  /** `127.0.0.1:<port>`. */
  readonly host: string;
  readonly port: number;
  /** Drops every open connection and closes the server; a second call does nothing. */
  stop(): Promise<void>;
}

export type RequestHandler = (req: http.IncomingMessage, res: http.ServerResponse) => Promise<void>;

/** Starts `handle` on 127.0.0.1 at a port the system picks. */
export async function startEmulatorServer(handle: RequestHandler, options: EmulatorServerOptions = {}): Promise<EmulatorServer> {
  const onUnhandled = options.onUnhandled ?? ((err: unknown, res: http.ServerResponse) => {
    if (!res.headersSent) res.destroy(err as Error);
  });
  const listener = (req: http.IncomingMessage, res: http.ServerResponse): void => {
    handle(req, res).catch((err: unknown) => onUnhandled(err, res));
  };
  const server = options.tls
    ? https.createServer({ key: options.tls.key, cert: options.tls.cert }, listener)
    : http.createServer(listener);
  await new Promise<void>((resolve, reject) => {
    server.once('error', reject);
    server.listen(0, '127.0.0.1', () => resolve());
  });
  const { port } = server.address() as AddressInfo;
  const host = `127.0.0.1:${port}`;
  let stopped: Promise<void> | undefined;
  return {
    url: `${options.tls ? 'https' : 'http'}://${host}`,
    host,
    port,
    stop: () => {
      stopped ??= new Promise<void>((resolve) => {
        server.closeAllConnections();
        server.close(() => resolve());
      });
      return stopped;
    },
  };
}

// ---- the request ----

export interface RequestLine {
  readonly method: string;
  readonly url: URL;
  /** The URL path, without the query. */
  readonly path: string;
  readonly query: Record<string, string>;
}

export function requestLine(req: http.IncomingMessage): RequestLine {
  const url = new URL(req.url ?? '/', 'http://emulator.invalid');
  return { method: (req.method ?? 'GET').toUpperCase(), url, path: url.pathname, query: Object.fromEntries(url.searchParams) };
}

/** The whole body; throws `tooLarge()` as soon as it passes `maxBytes`. */
export async function readBody(req: http.IncomingMessage, maxBytes: number, tooLarge: () => Error): Promise<Buffer> {
  const chunks: Buffer[] = [];
  let size = 0;
  for await (const chunk of req) {
    size += (chunk as Buffer).length;
    if (size > maxBytes) throw tooLarge();
    chunks.push(chunk as Buffer);
  }
  return Buffer.concat(chunks);
}

/** An empty body is no body; one that is not JSON is `unparsable` and recorded by its size. */
export function parseJsonBody(raw: Buffer): { body: unknown; recorded: unknown; unparsable: boolean } {
  if (raw.length === 0) return { body: undefined, recorded: undefined, unparsable: false };
  try {
    const body: unknown = JSON.parse(raw.toString('utf8'));
    return { body, recorded: body, unparsable: false };
  } catch {
    return { body: undefined, recorded: { unparsableBytes: raw.length }, unparsable: true };
  }
}

// ---- bearer tokens ----

const JWT_SHAPE = /^eyJ[\w-]*\.[\w-]+\.[\w-]*$/;

/** The token of `Authorization: Bearer <token>`, or undefined. */
export function bearerToken(header: string | undefined): string | undefined {
  return /^Bearer\s+(\S+)$/i.exec(header ?? '')?.[1];
}

/** Entra ID access tokens are JWTs: three base64url parts, the first a JSON header. */
export function isJwtShaped(token: string): boolean {
  return JWT_SHAPE.test(token);
}

/** The claims of a JWT (never verified: emulators only read who is calling), or undefined. */
export function jwtClaims(token: string): Record<string, unknown> | undefined {
  const parts = token.split('.');
  if (parts.length !== 3 || !parts[1]) return undefined;
  try {
    const claims: unknown = JSON.parse(Buffer.from(parts[1], 'base64url').toString('utf8'));
    return typeof claims === 'object' && claims !== null ? (claims as Record<string, unknown>) : undefined;
  } catch {
    return undefined;
  }
}

/** An unsigned JWT-shaped test token with these claims; emulators read only its claims. */
export function fakeJwt(claims: Record<string, unknown>, signature = ''): string {
  const enc = (o: object): string => Buffer.from(JSON.stringify(o)).toString('base64url');
  return `${enc({ alg: 'none', typ: 'JWT' })}.${enc(claims)}.${signature}`;
}

// ---- the request log ----

export type RequestOutcome =
  | 'ok' | 'api-error' | 'invalid' | 'unauthenticated' | 'not-found' | 'unsupported' | 'fault' | 'reset' | 'emulator-bug';

/** The part of a recorded request the shared views read. */
export interface JudgedRequest {
  outcome?: RequestOutcome;
  /** 0 when the connection was dropped instead of answered. */
  status?: number;
  replyIssues?: readonly unknown[];
}

/** Requests rejected as invalid or unauthenticated, or sent to a path that does not exist. */
export function invalidRequests<R extends JudgedRequest>(requests: readonly R[]): R[] {
  return requests.filter((r) => r.outcome === 'invalid' || r.outcome === 'unauthenticated' || r.outcome === 'not-found');
}

/** Requests whose reply failed the emulator's own check against the definitions. */
export function replyProblems<R extends JudgedRequest>(requests: readonly R[]): R[] {
  return requests.filter((r) => (r.replyIssues?.length ?? 0) > 0);
}

// ---- transport faults and the reply ----

/** Destroys the socket without a reply; a recorded request says `reset`, status 0. */
export function dropConnection(req: http.IncomingMessage, record?: JudgedRequest): void {
  if (record) {
    record.outcome = 'reset';
    record.status = 0;
  }
  req.socket.destroy();
}

/**
 * The transport part of a fault: `reset` drops the connection now (`dropped`), `slow` waits
 * `delayMs` (default 1000), `reset-after-handling` asks the caller to drop it after handling.
 */
export async function applyTransportFault(fault: FaultRule, req: http.IncomingMessage, record?: JudgedRequest): Promise<{ dropped: boolean; dropAfterHandling: boolean }> {
  if (fault.kind === 'reset') {
    dropConnection(req, record);
    return { dropped: true, dropAfterHandling: false };
  }
  if (fault.kind === 'slow') await sleep(fault.delayMs ?? 1000);
  return { dropped: false, dropAfterHandling: fault.kind === 'reset-after-handling' };
}

/** Waits out the rest of `minLatencyMs` since `started`, so a runaway poll loop times out instead of spinning. */
export async function holdMinLatency(started: number, minLatencyMs: number): Promise<void> {
  const wait = minLatencyMs - (Date.now() - started);
  if (wait > 0) await sleep(wait);
}

export interface SendOptions {
  /** A HEAD request: headers only. */
  readonly head?: boolean;
  /** The content type of JSON bodies (default `application/json`). */
  readonly contentType?: string;
  /** Headers every reply carries (a reply's own win). */
  readonly headers?: Record<string, string>;
  /** Send `content-length: 0` on replies without a body too. */
  readonly emptyContentLength?: boolean;
}

export function sendReply(res: http.ServerResponse, reply: Reply, options: SendOptions = {}): void {
  const headers: Record<string, string> = { ...options.headers, ...reply.headers };
  let payload: Buffer | undefined;
  if (Buffer.isBuffer(reply.body)) payload = reply.body;
  else if (reply.body !== undefined) {
    payload = Buffer.from(JSON.stringify(reply.body));
    headers['content-type'] = options.contentType ?? 'application/json';
  }
  if (payload && !options.head) headers['content-length'] = String(payload.length);
  else if (!payload && options.emptyContentLength) headers['content-length'] = '0';
  res.writeHead(reply.status, headers);
  res.end(options.head ? undefined : payload);
}

/** Polls `get` every 10 ms until `done`; throws `what` (as still …) after `timeoutMs`. */
export async function pollUntil<T>(get: () => T, done: (value: T) => boolean, timeoutMs: number, still: (value: T) => string): Promise<T> {
  const deadline = Date.now() + timeoutMs;
  for (;;) {
    const value = get();
    if (done(value)) return value;
    if (Date.now() > deadline) throw new Error(`${still(value)} after ${timeoutMs} ms`);
    await sleep(10);
  }
}
