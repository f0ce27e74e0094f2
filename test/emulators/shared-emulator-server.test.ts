// The server base every emulator composes, over real HTTP on 127.0.0.1.
import { afterAll, describe, expect, it } from 'vitest';
import {
  applyTransportFault, bearerToken, fakeJwt, holdMinLatency, isJwtShaped, jwtClaims, parseJsonBody, pollUntil, readBody, requestLine,
  sendReply, startEmulatorServer, type EmulatorServer,
} from './shared/emulator-server.js';
import { FaultController } from './shared/fault-injection.js';

const faults = new FaultController();
const seen: Array<{ method: string; path: string; query: Record<string, string>; body: unknown; token?: string }> = [];
const servers: EmulatorServer[] = [];

async function echoServer(): Promise<EmulatorServer> {
  const server = await startEmulatorServer(async (req, res) => {
    const started = Date.now();
    const line = requestLine(req);
    const raw = await readBody(req, 64, () => new Error('too large'));
    const { recorded } = parseJsonBody(raw);
    seen.push({ method: line.method, path: line.path, query: line.query, body: recorded, token: bearerToken(req.headers.authorization) });
    const fault = faults.take(line.method, line.path);
    if (fault && (await applyTransportFault(fault, req)).dropped) return;
    await holdMinLatency(started, 150);
    sendReply(res, { status: 201, body: { echoed: recorded }, headers: { 'x-mine': '1' } }, { contentType: 'application/json; charset=utf-8', head: line.method === 'HEAD' });
  });
  servers.push(server);
  return server;
}

afterAll(async () => {
  for (const s of servers) await s.stop();
});

describe('the emulator server base', () => {
  it('listens on 127.0.0.1 at a free port, parses the request line and JSON body, and sends JSON replies', async () => {
    const [a, b] = [await echoServer(), await echoServer()];
    expect(a.url).toMatch(/^http:\/\/127\.0\.0\.1:\d+$/);
    expect(a.port).not.toBe(b.port);
    const started = Date.now();
    const res = await fetch(`${a.url}/x/y?n=1&s=two`, { method: 'post', body: '{"k":[1]}', headers: { Authorization: 'Bearer abc' } });
    expect(Date.now() - started).toBeGreaterThanOrEqual(145);
    expect(res.status).toBe(201);
    expect([res.headers.get('content-type'), res.headers.get('x-mine')]).toEqual(['application/json; charset=utf-8', '1']);
    expect(await res.json()).toEqual({ echoed: { k: [1] } });
    expect(seen.at(-1)).toEqual({ method: 'POST', path: '/x/y', query: { n: '1', s: 'two' }, body: { k: [1] }, token: 'abc' });
    await fetch(`${a.url}/bad`, { method: 'POST', body: 'not json' });
    expect(seen.at(-1)?.body).toEqual({ unparsableBytes: 8 });
  });

  it('drops the connection on a reset fault, and stop() closes open connections once', async () => {
    const server = await echoServer();
    faults.inject({ kind: 'reset', path: '/drop' });
    await expect(fetch(`${server.url}/drop`)).rejects.toThrow();
    await server.stop();
    await server.stop();
    await expect(fetch(`${server.url}/after`)).rejects.toThrow();
  });

  it('refuses a body over the cap through the caller-given error', async () => {
    const server = await echoServer();
    const before = seen.length;
    await expect(fetch(`${server.url}/big`, { method: 'POST', body: 'x'.repeat(1000) })).rejects.toThrow();
    expect(seen.length).toBe(before);
  });

  it('reads bearer tokens and JWT claims, and makes JWT-shaped test tokens', () => {
    expect([bearerToken('Bearer t0k'), bearerToken('bearer  t0k'), bearerToken('Basic x'), bearerToken(undefined)]).toEqual(['t0k', 't0k', undefined, undefined]);
    const jwt = fakeJwt({ oid: 'o-1', upn: 'ci@x.invalid' });
    expect(isJwtShaped(jwt)).toBe(true);
    expect(isJwtShaped('dapi123')).toBe(false);
    expect(jwtClaims(jwt)).toEqual({ oid: 'o-1', upn: 'ci@x.invalid' });
    expect(jwtClaims('a.b.c')).toBeUndefined();
  });

  it('polls until done, and names what it waited for on timeout', async () => {
    let n = 0;
    expect(await pollUntil(() => ++n, (v) => v >= 3, 1000, () => 'never')).toBe(3);
    await expect(pollUntil(() => 'PENDING', () => false, 30, (v) => `run 1 still ${v}`)).rejects.toThrow('run 1 still PENDING after 30 ms');
  });
});
