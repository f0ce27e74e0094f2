// Two of the same command at once, as real CLI processes on one project: both succeed (the
// second waits for the registry lock) or one is refused cleanly; never a UNIQUE constraint
// crash, never a run left `running`, never a version number taken twice. Plus the lock file:
// a dead holder is taken over, a live one is named in the refusal.
import { spawn } from 'node:child_process';
import { existsSync, readdirSync, readFileSync, writeFileSync } from 'node:fs';
import { hostname } from 'node:os';
import path from 'node:path';
import { DatabaseSync } from 'node:sqlite';
import { beforeAll, describe, expect, it } from 'vitest';
import { processStartTime } from '../src/core/process-identity.js';
import { binEnv, forecastProject, runBin } from './helpers/reliability-kit.js';
import { projectKit } from './helpers/project.js';

const scratch = projectKit('mm-rel-conc-').tempDir;

function rows<T>(file: string, sql: string): T[] {
  const db = new DatabaseSync(file, { readOnly: true });
  try {
    return db.prepare(sql).all() as T[];
  } finally {
    db.close();
  }
}

function runStates(dir: string): string[] {
  const folder = path.join(dir, '.manymodels/runs');
  return existsSync(folder)
    ? readdirSync(folder).map((id) => (JSON.parse(readFileSync(path.join(folder, id, 'run.json'), 'utf8')) as { state: string }).state)
    : [];
}

const noCrash = (out: string): void => expect(out).not.toMatch(/UNIQUE|Internal error|    at /);

describe('two at once', () => {
  let dir: string;
  beforeAll(() => {
    dir = forecastProject(scratch());
  });

  it('train × 2: both succeed, each model gets two distinct versions', async () => {
    const [a, b] = await Promise.all([runBin(['train'], { cwd: dir }), runBin(['train'], { cwd: dir })]);
    for (const r of [a, b]) {
      noCrash(r.stderr);
      expect(r.code, r.stderr).toBe(0);
    }
    const versions = rows<{ name: string; n: number; runs: number; maxv: number }>(
      path.join(dir, '.manymodels/registry/registry.db'),
      'SELECT name, COUNT(*) AS n, COUNT(DISTINCT run_id) AS runs, MAX(version) AS maxv FROM versions GROUP BY name',
    );
    expect(versions.length).toBeGreaterThan(5);
    for (const v of versions) expect(v).toMatchObject({ n: 2, runs: 2, maxv: 2 });
    expect(runStates(dir).filter((s) => s === 'running')).toEqual([]);
  }, 120_000);

  it('promote × 2: both succeed (one waits), production holds one version per group', async () => {
    const [a, b] = await Promise.all([runBin(['promote'], { cwd: dir }), runBin(['promote'], { cwd: dir })]);
    for (const r of [a, b]) {
      noCrash(r.stderr);
      expect(r.code, r.stderr).toBe(0);
    }
    // The second decided after the first had copied: it found everything already there.
    const copied = [a, b].map((r) => Number(/Copied (\d+) model/.exec(r.stdout)![1]));
    expect(Math.min(...copied)).toBe(0);
    expect(Math.max(...copied)).toBeGreaterThan(5);
    const prod = rows<{ n: number }>(path.join(dir, '.manymodels/production/registry.db'), 'SELECT COUNT(*) AS n FROM versions GROUP BY name');
    expect(prod.every((r) => r.n === 1)).toBe(true);
    expect(existsSync(path.join(dir, '.manymodels/production/.lock'))).toBe(false);
    expect(runStates(dir).filter((s) => s === 'running')).toEqual([]);
  }, 120_000);

  it('a live holder of the lock is named in a clean refusal (MANYMODELS_LOCK_WAIT=0)', async () => {
    const sleeper = spawn('sleep', ['60'], { stdio: 'ignore' });
    try {
      const lock = path.join(dir, '.manymodels/production/.lock');
      writeFileSync(lock, JSON.stringify({ runId: '20261201-100000-promote-abcdef', purpose: 'promote daily', pid: sleeper.pid, startTime: processStartTime(sleeper.pid!), host: hostname(), acquiredAt: '2026-12-01T10:00:00.000Z' }));
      const before = runStates(dir).length;
      const r = await runBin(['promote'], { cwd: dir, env: binEnv({ MANYMODELS_LOCK_WAIT: '0' }) });
      noCrash(r.stderr);
      expect(r.code).toBe(1);
      expect(r.stderr).toContain('Error MM523:');
      expect(r.stderr).toContain(`run 20261201-100000-promote-abcdef (pid ${sleeper.pid}`);
      expect(r.stderr).toContain(lock);
      // Refused before it started: no promotion run recorded, none left running.
      expect(runStates(dir).length).toBe(before);
      expect(existsSync(lock)).toBe(true);
    } finally {
      sleeper.kill('SIGKILL');
    }
  }, 60_000);

  it('a lock whose holder is dead is taken over', async () => {
    const lock = path.join(dir, '.manymodels/production/.lock');
    const gone = spawn('true');
    await new Promise((resolve) => gone.on('close', resolve));
    writeFileSync(lock, JSON.stringify({ runId: '20261201-100000-promote-abcdef', purpose: 'promote daily', pid: gone.pid, startTime: '1', host: hostname(), acquiredAt: '2026-12-01T10:00:00.000Z' }));
    const r = await runBin(['promote'], { cwd: dir, env: binEnv({ MANYMODELS_LOCK_WAIT: '0' }) });
    noCrash(r.stderr);
    expect(r.code, r.stderr).toBe(0);
    expect(existsSync(lock)).toBe(false);
  }, 60_000);
});
