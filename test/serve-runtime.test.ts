// `manymodels serve` when its Python runtime cannot be imported, over real HTTP on 127.0.0.1:
// a copy of the installed package (bin, dist, pyspark-templates) whose runtime holds an
// unfinished merge (conflict markers in training.py, which the online core imports) — the state
// a benchmark once ran against, every one of its 40,000 requests answered 503 behind a server
// that said it was ready. Serve must refuse to start in that state, and a server whose worker
// can no longer start must say so on /ready.
import { execFileSync, spawn, type ChildProcess } from 'node:child_process';
import { cpSync, readFileSync, symlinkSync, writeFileSync } from 'node:fs';
import path from 'node:path';
import { beforeAll, describe, expect, it } from 'vitest';
import { projectKit } from './helpers/project.js';
import { binEnv, forecastProject, repo, runBin } from './helpers/reliability-kit.js';

const scratch = projectKit('mm-serve-runtime-').tempDir;

/** A copy of the package as installed, so its runtime can be broken without touching the repo. */
function packageCopy(): string {
  const root = scratch();
  for (const part of ['bin', 'dist', 'pyspark-templates', 'package.json']) cpSync(path.join(repo, part), path.join(root, part), { recursive: true });
  symlinkSync(path.join(repo, 'node_modules'), path.join(root, 'node_modules'));
  return root;
}

/** What `git merge` leaves in a file it could not merge. */
function breakRuntime(root: string): void {
  const file = path.join(root, 'pyspark-templates/manymodels_runtime/training.py');
  writeFileSync(file, `<<<<<<< HEAD\nOLD = 1\n=======\nNEW = 2\n>>>>>>> plan\n${readFileSync(file, 'utf8')}`);
}

interface Started {
  child: ChildProcess;
  url: string | null;
  code: number | null;
  stderr: () => string;
}

/** Starts serve from a package copy; resolves once it listens or has exited. */
async function serveFrom(root: string, dir: string, args: string[] = []): Promise<Started> {
  const child = spawn(process.execPath, [path.join(root, 'bin/manymodels.js'), 'serve', '--port', '0', '--refresh', '0.5', ...args], { cwd: dir, env: binEnv(), stdio: ['ignore', 'ignore', 'pipe'] });
  let stderr = '';
  child.stderr!.on('data', (d: Buffer) => (stderr += d.toString()));
  const exited = new Promise<number | null>((resolve) => child.on('exit', (code) => resolve(code)));
  const end = Date.now() + 90_000;
  while (!/ on (http:\/\/\S+)/.test(stderr) && child.exitCode === null && Date.now() < end) await new Promise((r) => setTimeout(r, 50));
  if (child.exitCode === null && !/ on (http:\/\/\S+)/.test(stderr)) child.kill('SIGKILL');
  const url = / on (http:\/\/\S+)/.exec(stderr)?.[1] ?? null;
  return { child, url, code: url ? null : await exited, stderr: () => stderr };
}

async function getJson(url: string, init?: RequestInit): Promise<{ status: number; json: any }> {
  const res = await fetch(url, init);
  return { status: res.status, json: await res.json() };
}

const predictBody = { method: 'POST', headers: { 'content-type': 'application/json' }, body: JSON.stringify({ keys: { store_id: '1', item_id: '1' }, horizon: 3 }) };

describe('serve with a runtime that cannot be imported', () => {
  let dir: string;

  beforeAll(async () => {
    dir = forecastProject(scratch(), { stores: 2, items: 2, days: 120 });
    for (const cmd of ['train', 'promote']) {
      const r = await runBin([cmd], { cwd: dir });
      expect(r.code, r.stderr).toBe(0);
    }
  }, 180_000);

  it('refuses to start (MM717, exit 1, naming the error and its file) instead of answering every request 503', async () => {
    const root = packageCopy();
    breakRuntime(root);
    const s = await serveFrom(root, dir, ['--workers', '2']);
    // Seen over HTTP when it listens anyway: what a client (the benchmark) was answered.
    let seen: { ready: number; predict: number } | null = null;
    if (s.url) {
      seen = { ready: (await getJson(`${s.url}/ready`)).status, predict: (await getJson(`${s.url}/v1/pipelines/daily/predict`, predictBody)).status };
      s.child.kill('SIGKILL');
    }
    expect(seen, 'serve listened with workers that cannot start').toBeNull();
    expect(s.code).toBe(1);
    expect(s.stderr()).toMatch(/MM717.*scoring workers could not start: SyntaxError/);
    expect(s.stderr()).toMatch(/training\.py/);
    expect(s.stderr()).not.toMatch(/at .*\.js:\d+/);
  }, 120_000);

  it('answers /ready 503 (MM717) while a worker that stopped cannot start again, and ready once it can', async () => {
    const root = packageCopy();
    const s = await serveFrom(root, dir, ['--workers', '1']);
    expect(s.url, s.stderr()).not.toBeNull();
    try {
      expect((await getJson(`${s.url}/ready`)).status).toBe(200);
      expect((await getJson(`${s.url}/v1/pipelines/daily/predict`, predictBody)).status).toBe(200);
      const file = path.join(root, 'pyspark-templates/manymodels_runtime/training.py');
      const good = readFileSync(file, 'utf8');
      breakRuntime(root);
      const worker = Number(execFileSync('ps', ['-o', 'pid=', '--ppid', String(s.child.pid)], { encoding: 'utf8' }).trim().split('\n')[0]);
      process.kill(worker, 'SIGKILL');
      let ready = await getJson(`${s.url}/ready`);
      for (const end = Date.now() + 30_000; !(ready.status === 503 && /could not start/.test(ready.json.error?.message ?? '')) && Date.now() < end; ready = await getJson(`${s.url}/ready`)) await new Promise((r) => setTimeout(r, 200));
      expect(ready.status).toBe(503);
      expect(ready.json.error).toMatchObject({ code: 'MM717', status: 503 });
      expect(ready.json.error.message).toMatch(/SyntaxError/);
      const p = await getJson(`${s.url}/v1/pipelines/daily/predict`, predictBody);
      expect(p.status).toBe(503);
      expect(p.json.error.code).toBe('MM707');
      // Mended: the next restart starts, and the server is ready again without a restart of its own.
      writeFileSync(file, good);
      for (const end = Date.now() + 60_000; ready.status !== 200 && Date.now() < end; ready = await getJson(`${s.url}/ready`)) await new Promise((r) => setTimeout(r, 200));
      expect(ready.status).toBe(200);
      expect((await getJson(`${s.url}/v1/pipelines/daily/predict`, predictBody)).status).toBe(200);
    } finally {
      s.child.kill('SIGKILL');
    }
  }, 180_000);
});
