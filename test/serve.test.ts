// `manymodels serve` over real HTTP on 127.0.0.1: the real CLI, a real production registry,
// real Python scoring workers. Each status code, the same numbers as `score`, an LRU bounded by
// bytes, one load under 50 concurrent requests for a cold model, a promotion picked up without
// a restart, a tampered artifact refused while the other groups are still served, and a
// graceful stop on SIGTERM.
import { chmodSync, readdirSync, readFileSync, writeFileSync } from 'node:fs';
import { request } from 'node:http';
import { createServer } from 'node:net';
import path from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { binEnv, forecastProject, runBin, startBin, type BinResult } from './helpers/reliability-kit.js';
import { projectKit, sqliteQuery } from './helpers/project.js';
import type { ChildProcess } from 'node:child_process';

const scratch = projectKit('mm-serve-').tempDir;

interface Served {
  url: string;
  child: ChildProcess;
  done: Promise<BinResult>;
  stderr: () => string;
}

async function serve(dir: string, args: string[] = []): Promise<Served> {
  const { child, done } = startBin(['serve', '--port', '0', '--refresh', '0.5', ...args], { cwd: dir, env: binEnv() });
  let stderr = '';
  child.stderr!.on('data', (d: Buffer) => (stderr += d.toString()));
  const end = Date.now() + 60_000;
  while (!/ on (http:\/\/\S+)/.test(stderr)) {
    if (Date.now() > end || child.exitCode !== null) throw new Error(`serve did not start: ${stderr}`);
    await new Promise((r) => setTimeout(r, 50));
  }
  return { url: / on (http:\/\/\S+)/.exec(stderr)![1]!, child, done, stderr: () => stderr };
}

async function post(url: string, body: unknown): Promise<{ status: number; json: any; cache: string | null }> {
  const res = await fetch(url, { method: 'POST', body: typeof body === 'string' ? body : JSON.stringify(body), headers: { 'content-type': 'application/json' } });
  return { status: res.status, json: await res.json(), cache: res.headers.get('x-manymodels-cache') };
}

async function metric(url: string, name: string): Promise<number> {
  const text = await (await fetch(`${url}/metrics`)).text();
  const line = text.split('\n').find((l) => l.startsWith(`${name} `));
  return line ? Number(line.split(' ')[1]) : NaN;
}

interface Version {
  name: string;
  version: string;
  keys: string;
  artifact_uri: string;
}

function production(dir: string): Version[] {
  const root = path.join(dir, '.manymodels/production');
  return sqliteQuery<{ name: string; version: number; keys: string; artifact: string }>(path.join(root, 'registry.db'), 'SELECT name, version, keys_json AS keys, artifact FROM versions ORDER BY name, version').map((v) => ({
    name: v.name,
    version: String(v.version),
    keys: v.keys,
    artifact_uri: path.resolve(root, v.artifact),
  }));
}

const keysOf = (v: Version): Record<string, string> => JSON.parse(v.keys) as Record<string, string>;

describe('manymodels serve', () => {
  let dir: string;
  let server: Served;
  let versions: Version[];
  const predict = (body: unknown) => post(`${server.url}/v1/pipelines/daily/predict`, body);

  beforeAll(async () => {
    dir = forecastProject(scratch(), { stores: 3, items: 4, days: 120 });
    for (const cmd of ['train', 'promote', 'score']) {
      const r = await runBin([cmd], { cwd: dir });
      expect(r.code, r.stderr).toBe(0);
    }
    versions = production(dir);
    expect(versions.length).toBeGreaterThan(5);
    server = await serve(dir, ['--workers', '2']);
  }, 240_000);

  afterAll(async () => {
    server?.child.kill('SIGKILL');
  });

  it('answers a forecast with the numbers batch scoring wrote, for every group', async () => {
    for (const v of versions) {
      const keys = keysOf(v);
      const r = await predict({ keys, horizon: 14 });
      expect(r.status, JSON.stringify(r.json)).toBe(200);
      expect(r.json).toMatchObject({ pipeline: 'daily', keys, model_version: v.version });
      const rows = sqliteQuery<{ time: string; prediction: number }>(path.join(dir, '.manymodels/predictions.db'), 'SELECT time, prediction FROM predictions WHERE store_id = ? AND item_id = ? ORDER BY time', keys.store_id!, keys.item_id!);
      expect(rows).toHaveLength(14);
      expect(r.json.predictions).toEqual(rows.map((x) => ({ time: x.time, prediction: x.prediction })));
    }
    // The horizon defaults to scoring.horizon; a shorter one is the same first periods.
    const v = versions[0]!;
    const full = await predict({ keys: keysOf(v) });
    const three = await predict({ keys: keysOf(v), horizon: 3 });
    expect(full.json.predictions).toHaveLength(14);
    expect(three.json.predictions).toEqual(full.json.predictions.slice(0, 3));
  }, 60_000);

  it('serves many groups in one batch request, each entry standing alone', async () => {
    const r = await predict({ requests: [{ keys: keysOf(versions[0]!), horizon: 2 }, { keys: { store_id: 'nope', item_id: '1' } }, { keys: keysOf(versions[1]!), horizon: 2 }] });
    expect(r.status).toBe(200);
    expect(r.json.results).toHaveLength(3);
    expect(r.json.results[0].predictions).toHaveLength(2);
    expect(r.json.results[1].error).toMatchObject({ code: 'MM702', status: 404 });
    expect(r.json.results[2].model_version).toBe(versions[1]!.version);
  });

  it('says what is wrong with a request, with the right status and an MM code, never a stack trace', async () => {
    const keys = keysOf(versions[0]!);
    const cases: Array<[unknown, number, string, RegExp]> = [
      ['{not json', 400, 'MM703', /not JSON/],
      [[1, 2], 400, 'MM703', /JSON object/],
      [{ keys: { store_id: keys.store_id } }, 400, 'MM703', /lacks "item_id"/],
      [{ keys: { ...keys, colour: 'red' } }, 400, 'MM703', /colour/],
      [{ keys, horizon: 0 }, 400, 'MM703', /horizon/],
      [{ keys, horizon: 'seven' }, 400, 'MM703', /horizon/],
      [{ keys, rows: [{ date: '2030-01-01', price: 'cheap', promo: 0 }] }, 400, 'MM704', /price must be a finite number/],
      [{ keys, rows: [{ date: '2030-01-01', promo: 0 }] }, 400, 'MM704', /lacks the feature "price"/],
      [{ keys, rows: [{ date: 'tomorrow', price: 1, promo: 0 }] }, 400, 'MM704', /ISO date/],
      [{ keys, shoe: 1 }, 400, 'MM703', /unknown field/],
      [{ keys: { store_id: 'S9', item_id: 'I9' } }, 404, 'MM702', /no production model for store_id=S9, item_id=I9/],
    ];
    for (const [body, status, code, message] of cases) {
      const r = await predict(body);
      expect([r.status, r.json.error?.code], JSON.stringify(body)).toEqual([status, code]);
      expect(r.json.error.message).toMatch(message);
      expect(JSON.stringify(r.json)).not.toMatch(/    at |Traceback/);
    }
    const unknown = await post(`${server.url}/v1/pipelines/weekly/predict`, { keys });
    expect([unknown.status, unknown.json.error.code]).toEqual([404, 'MM701']);
    const route = await fetch(`${server.url}/v2/else`);
    expect(route.status).toBe(404);
    const get = await fetch(`${server.url}/v1/pipelines/daily/predict`);
    expect(get.status).toBe(405);
    const big = await predict({ keys, pad: 'x'.repeat(1100 * 1024) });
    expect([big.status, big.json.error.code]).toEqual([413, 'MM705']);
    expect((await fetch(`${server.url}/health`)).status).toBe(200);
    const ready = await fetch(`${server.url}/ready`);
    expect([ready.status, ((await ready.json()) as { models: number }).models]).toEqual([200, versions.length]);
  }, 60_000);

  it('counts requests, hits, misses and loads in Prometheus text', async () => {
    const text = await (await fetch(`${server.url}/metrics`)).text();
    expect(text).toContain('# TYPE manymodels_request_duration_seconds histogram');
    expect(text).toMatch(/manymodels_requests_total\{route="predict",status="200"\} \d+/);
    expect(text).toMatch(/manymodels_requests_total\{route="predict",status="400"\} \d+/);
    expect(await metric(server.url, 'manymodels_model_loads_total')).toBe(versions.length);
    expect(await metric(server.url, 'manymodels_cache_hits_total')).toBeGreaterThan(0);
    expect(await metric(server.url, 'manymodels_cache_models')).toBe(versions.length);
    expect(await metric(server.url, 'manymodels_cache_bytes')).toBeGreaterThan(0);
  });

  it('loads a cold model once under 50 concurrent requests', async () => {
    const other = await serve(dir, ['--workers', '2']);
    try {
      const keys = keysOf(versions[2]!);
      const replies = await Promise.all(Array.from({ length: 50 }, () => post(`${other.url}/v1/pipelines/daily/predict`, { keys, horizon: 5 })));
      expect(replies.every((r) => r.status === 200)).toBe(true);
      expect(replies.filter((r) => r.cache === 'miss')).toHaveLength(1);
      expect(new Set(replies.map((r) => JSON.stringify(r.json))).size).toBe(1);
      expect(await metric(other.url, 'manymodels_model_loads_total')).toBe(1);
      expect(await metric(other.url, 'manymodels_cache_hits_total')).toBe(49);
    } finally {
      other.child.kill('SIGKILL');
    }
  }, 60_000);

  it('keeps the cache within its byte budget, evicting the least recently used', async () => {
    const size = readFileSync(versions[0]!.artifact_uri).length;
    // Room for two artifacts in one worker.
    const budgetMb = (size * 2.5) / (1024 * 1024);
    const small = await serve(dir, ['--workers', '1', '--cache-mb', budgetMb.toFixed(6)]);
    try {
      for (const v of versions.slice(0, 5)) expect((await post(`${small.url}/v1/pipelines/daily/predict`, { keys: keysOf(v), horizon: 1 })).status).toBe(200);
      expect(await metric(small.url, 'manymodels_cache_evictions_total')).toBe(3);
      expect(await metric(small.url, 'manymodels_cache_models')).toBe(2);
      expect(await metric(small.url, 'manymodels_cache_bytes')).toBeLessThanOrEqual(size * 2.5);
      // The most recent is still held; the first was evicted and loads again.
      await post(`${small.url}/v1/pipelines/daily/predict`, { keys: keysOf(versions[4]!), horizon: 1 });
      expect(await metric(small.url, 'manymodels_model_loads_total')).toBe(5);
      await post(`${small.url}/v1/pipelines/daily/predict`, { keys: keysOf(versions[0]!), horizon: 1 });
      expect(await metric(small.url, 'manymodels_model_loads_total')).toBe(6);
    } finally {
      small.child.kill('SIGKILL');
    }
  }, 60_000);

  it('refuses a tampered artifact for its group (503) and still serves the others', async () => {
    const victim = versions[3]!;
    const other = await serve(dir, ['--workers', '1']);
    try {
      chmodSync(victim.artifact_uri, 0o644);
      const bytes = readFileSync(victim.artifact_uri);
      bytes[bytes.length - 1] = bytes[bytes.length - 1]! ^ 0xff;
      writeFileSync(victim.artifact_uri, bytes);
      const bad = await post(`${other.url}/v1/pipelines/daily/predict`, { keys: keysOf(victim) });
      expect([bad.status, bad.json.error.code]).toEqual([503, 'MM706']);
      expect(bad.json.error.message).toContain('sha256');
      const good = await post(`${other.url}/v1/pipelines/daily/predict`, { keys: keysOf(versions[4]!) });
      expect(good.status).toBe(200);
      expect(await metric(other.url, 'manymodels_artifacts_refused_total')).toBe(1);
    } finally {
      other.child.kill('SIGKILL');
      const bytes = readFileSync(victim.artifact_uri);
      bytes[bytes.length - 1] = bytes[bytes.length - 1]! ^ 0xff;
      writeFileSync(victim.artifact_uri, bytes);
      chmodSync(victim.artifact_uri, 0o444);
    }
  }, 60_000);

  it('starts a scoring worker again after it is killed, answering 503 meanwhile, never hanging', async () => {
    const other = await serve(dir, ['--workers', '1']);
    try {
      const url = `${other.url}/v1/pipelines/daily/predict`;
      expect((await post(url, { keys: keysOf(versions[0]!), horizon: 1 })).status).toBe(200);
      const worker = readdirSync('/proc')
        .filter((p) => /^\d+$/.test(p))
        .find((p) => {
          try {
            return readFileSync(`/proc/${p}/cmdline`, 'utf8').includes('serve_entry.py') && readFileSync(`/proc/${p}/stat`, 'utf8').split(') ')[1]!.split(' ')[1] === String(other.child.pid);
          } catch {
            return false;
          }
        });
      expect(worker).toBeDefined();
      process.kill(Number(worker), 'SIGKILL');
      await new Promise((r) => setTimeout(r, 200));
      const during = await post(url, { keys: keysOf(versions[0]!), horizon: 1 });
      expect([during.status, during.json.error?.code]).toEqual([503, 'MM707']);
      const end = Date.now() + 15_000;
      let after = during;
      while (after.status !== 200 && Date.now() < end) {
        await new Promise((r) => setTimeout(r, 200));
        after = await post(url, { keys: keysOf(versions[0]!), horizon: 1 });
      }
      expect(after.status).toBe(200);
      expect(await metric(other.url, 'manymodels_worker_restarts_total')).toBe(1);
    } finally {
      other.child.kill('SIGKILL');
    }
  }, 60_000);

  it('picks up a newly promoted version without a restart', async () => {
    const v = versions[0]!;
    const before = await predict({ keys: keysOf(v), horizon: 1 });
    expect(before.json.model_version).toBe(v.version);
    for (const cmd of ['train', 'promote']) {
      const r = await runBin([cmd], { cwd: dir });
      expect(r.code, r.stderr).toBe(0);
    }
    const newest = production(dir).filter((x) => x.name === v.name).at(-1)!;
    expect(newest.version).not.toBe(v.version);
    const end = Date.now() + 10_000;
    let now = before;
    while (now.json.model_version !== newest.version && Date.now() < end) {
      await new Promise((r) => setTimeout(r, 200));
      now = await predict({ keys: keysOf(v), horizon: 1 });
    }
    expect(now.json.model_version).toBe(newest.version);
  }, 180_000);

  it('stops on SIGTERM after the requests in flight, exit 0', async () => {
    // A request whose body is still arriving when SIGTERM comes is in flight: it is answered.
    const body = JSON.stringify({ keys: keysOf(versions[1]!), horizon: 14 });
    const { port, hostname } = new URL(server.url);
    const answer = new Promise<{ status: number; text: string }>((resolve, reject) => {
      const req = request({ host: hostname, port, method: 'POST', path: '/v1/pipelines/daily/predict', headers: { 'content-type': 'application/json', 'content-length': Buffer.byteLength(body) } }, (res) => {
        let text = '';
        res.on('data', (d: Buffer) => (text += d.toString()));
        res.on('end', () => resolve({ status: res.statusCode ?? 0, text }));
      });
      req.on('error', reject);
      req.write(body.slice(0, 10));
      setTimeout(() => {
        server.child.kill('SIGTERM');
        setTimeout(() => req.end(body.slice(10)), 500);
      }, 300);
    });
    const t0 = Date.now();
    const r = await answer;
    expect(r.status, r.text).toBe(200);
    expect((JSON.parse(r.text) as { predictions: unknown[] }).predictions).toHaveLength(14);
    const exit = await server.done;
    // Gone soon after its last answer, not at the end of the drain timeout.
    expect(Date.now() - t0).toBeLessThan(5_000);
    expect(exit.code, exit.stderr).toBe(0);
    expect(exit.stderr).toContain('serve: stopped');
    // No new connection is taken once it stops.
    await expect(fetch(`${server.url}/health`)).rejects.toThrow();
  }, 60_000);

  it('a port in use is a clear MM709, exit 2', async () => {
    const holder = createServer();
    await new Promise<void>((resolve) => holder.listen(0, '127.0.0.1', resolve));
    try {
      const port = (holder.address() as { port: number }).port;
      const r = await runBin(['serve', '--port', String(port)], { cwd: dir });
      expect(r.code).toBe(2);
      expect(r.stderr).toContain('Error MM709');
      expect(r.stderr).not.toMatch(/    at /);
    } finally {
      holder.close();
    }
  }, 60_000);
});
