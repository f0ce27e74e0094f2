// Nothing fitted is lost, nothing is registered twice: a local train stopped by Ctrl-C, by a
// kill -9 of the CLI, by a kill -9 of the runtime (what an OOM kill does) or during the
// registration of its models, then `train --resume` (as often as it takes) → every group has
// exactly one model version, and no group is fitted again beyond the few in flight when it
// stopped. Real CLI processes and real signals; a custom model logs each fit to a file.
import { appendFileSync, existsSync, mkdirSync, readdirSync, readFileSync, rmSync, unlinkSync, writeFileSync } from 'node:fs';
import { hostname } from 'node:os';
import path from 'node:path';
import { describe, expect, it } from 'vitest';
import { processStartTime } from '../src/core/process-identity.js';
import { readRunJournal, RUN_JOURNAL_FILE } from '../src/jobs/run-journal.js';
import { binEnv, forecastProject, forecastYaml, runBin, startBin, type BinResult } from './helpers/reliability-kit.js';
import { projectKit, sqliteQuery } from './helpers/project.js';

const scratch = projectKit('mm-rel-resume-').tempDir;
const GROUPS = 60;
const WORKERS = 2;

// Fits are told apart by the group's first row (the holdout fit and the refit share it).
const COUNTING_MODEL = `import os, time

def train(pdf, params):
    fd = os.open("fits.log", os.O_WRONLY | os.O_APPEND | os.O_CREAT)
    os.write(fd, f"{pdf['sales'].iloc[0]:.6f}/{pdf['price'].iloc[0]:.4f}\\n".encode())
    os.close(fd)
    time.sleep(0.08)
    return float(pdf["sales"].mean())

def predict(model, pdf):
    return [model] * len(pdf)
`;

function project(): string {
  const dir = forecastProject(scratch(), { stores: 6, items: 10, days: 120, yaml: forecastYaml('daily', '{ type: custom, path: counting.py, holdout: 14 }') });
  writeFileSync(path.join(dir, 'counting.py'), COUNTING_MODEL);
  return dir;
}

const RUN_ID = /run (\d{8}-\d{6}-train-[0-9a-f]{6})/;

async function until(what: string, check: () => boolean, ms = 60_000): Promise<void> {
  const end = Date.now() + ms;
  while (!check()) {
    if (Date.now() > end) throw new Error(`timed out waiting for ${what}`);
    await new Promise((r) => setTimeout(r, 40));
  }
}

const journalLines = (dir: string, runId: string): number => {
  const file = path.join(dir, '.manymodels/runs', runId, RUN_JOURNAL_FILE);
  return existsSync(file) ? readFileSync(file, 'utf8').split('\n').filter(Boolean).length - 1 : 0;
};

/** Starts `train`, waits until its journal holds `fitted` groups, then does `stop` to it. */
async function trainAndStop(dir: string, fitted: number, stop: (cli: number, runId: string) => void, args: string[] = []): Promise<{ runId: string; result: BinResult }> {
  const { child, done } = startBin(['train', '--workers', String(WORKERS), ...args], { cwd: dir, env: binEnv({ MANYMODELS_LOCK_WAIT: '120' }) });
  let stderr = '';
  child.stderr!.on('data', (d: Buffer) => (stderr += d.toString()));
  await until('the run id', () => RUN_ID.test(stderr));
  const runId = RUN_ID.exec(stderr)![1]!;
  await until(`${fitted} journaled groups`, () => journalLines(dir, runId) >= fitted);
  stop(child.pid!, runId);
  return { runId, result: await done };
}

/** The (first) child process of `pid`, read from /proc. */
function childOf(pid: number): number {
  for (const name of readdirSync('/proc')) {
    if (!/^\d+$/.test(name)) continue;
    try {
      const stat = readFileSync(`/proc/${name}/stat`, 'utf8');
      if (Number(stat.slice(stat.lastIndexOf(')') + 2).split(' ')[1]) === pid) return Number(name);
    } catch {
      // Exited meanwhile.
    }
  }
  throw new Error(`process ${pid} has no child`);
}

/** Resumes the run; it must succeed. */
async function resumeUntilDone(dir: string, runId: string): Promise<BinResult> {
  const result = await runBin(['train', '--resume', runId, '--workers', String(WORKERS)], { cwd: dir });
  expect(result.code, result.stderr).toBe(0);
  return result;
}

/** Every group registered exactly once, and fitted again only when in flight at a stop (or `redone` on purpose). */
function expectExactlyOnce(dir: string, stops: number, redone = 0): void {
  const versions = sqliteQuery<{ name: string; n: number }>(path.join(dir, '.manymodels/registry/registry.db'), 'SELECT name, COUNT(*) AS n FROM versions GROUP BY name');
  // One group of the sample data is too short to train (skipped); every other one is registered once.
  expect(versions.length).toBe(GROUPS - 1);
  expect(versions.every((v) => v.n === 1)).toBe(true);
  const fits = new Map<string, number>();
  for (const line of readFileSync(path.join(dir, 'fits.log'), 'utf8').split('\n').filter(Boolean)) fits.set(line, (fits.get(line) ?? 0) + 1);
  expect(fits.size).toBe(GROUPS - 1);
  const refitted = [...fits.values()].filter((n) => n > 2).length;
  // Each worker has at most one group in flight and one result on its way when it is stopped.
  expect(refitted).toBeLessThanOrEqual(stops * WORKERS * 2 + redone);
}

describe('train --resume after a stop keeps every fitted group', () => {
  it('Ctrl-C: exit 130, the hint resumes it, nothing fitted is fitted again', async () => {
    const dir = project();
    const { runId, result } = await trainAndStop(dir, 20, (cli) => process.kill(cli, 'SIGINT'));
    expect(result.code).toBe(130);
    expect(result.stdout).toMatch(/Stopped daily on local: \d+ groups finished and kept/);
    expect(result.stderr).toContain(`Pick up where it stopped: manymodels train daily --resume ${runId}`);
    const kept = readRunJournal(path.join(dir, '.manymodels/runs', runId))!;
    expect(kept.counts.ok).toBeGreaterThanOrEqual(19);
    const resumed = await resumeUntilDone(dir, runId);
    expect(resumed.stderr).toContain(`registered ${kept.counts.ok} models of run ${runId}`);
    expect(resumed.stdout).toContain(`of ${GROUPS - kept.counts.ok} groups`);
    expectExactlyOnce(dir, 1);
  });

  it('kill -9 of the CLI, twice, then resumed to the end', async () => {
    const dir = project();
    const first = await trainAndStop(dir, 15, (cli) => process.kill(cli, 'SIGKILL'));
    expect(first.result.signal).toBe('SIGKILL');
    const second = await trainAndStop(dir, 15, (cli) => process.kill(cli, 'SIGKILL'), ['--resume', first.runId]);
    expect(second.result.signal).toBe('SIGKILL');
    // The runtime died with its CLI: the journal does not grow any more.
    const lines = journalLines(dir, second.runId);
    await new Promise((r) => setTimeout(r, 700));
    expect(journalLines(dir, second.runId)).toBe(lines);
    await resumeUntilDone(dir, second.runId);
    expectExactlyOnce(dir, 2);
  });

  it('kill -9 of the runtime (an OOM kill): the CLI says it failed, resume keeps its groups', async () => {
    const dir = project();
    // The runtime is the CLI's child and leads its own process group (with its workers).
    const { runId, result } = await trainAndStop(dir, 20, (cli) => process.kill(-childOf(cli), 'SIGKILL'));
    expect(result.code).not.toBe(0);
    expect(result.stderr).toContain(`--resume ${runId}`);
    await resumeUntilDone(dir, runId);
    expectExactlyOnce(dir, 1);
  });

  it('kill -9 while waiting to register: the resume registers every model once', async () => {
    const dir = project();
    // Another live process (this test) holds the registry: the train fits everything, then waits.
    const registry = path.join(dir, '.manymodels/registry');
    mkdirSync(registry, { recursive: true });
    const lock = path.join(registry, '.lock');
    writeFileSync(lock, JSON.stringify({ runId: null, purpose: 'a test holding the registry', pid: process.pid, startTime: processStartTime(process.pid), host: hostname(), acquiredAt: new Date().toISOString() }));
    const { child, done } = startBin(['train', '--workers', String(WORKERS)], { cwd: dir, env: binEnv({ MANYMODELS_LOCK_WAIT: '120' }) });
    let stderr = '';
    child.stderr!.on('data', (d: Buffer) => (stderr += d.toString()));
    await until('the lock wait message', () => /Waiting for the registry .*: in use by a test holding the registry, pid \d+/.test(stderr));
    const runId = RUN_ID.exec(stderr)![1]!;
    expect(existsSync(path.join(dir, '.manymodels/runs', runId, 'run-manifest.json'))).toBe(true);
    child.kill('SIGKILL');
    await done;
    unlinkSync(lock);
    const resumed = await resumeUntilDone(dir, runId);
    expect(resumed.stderr).toContain(`registered ${GROUPS - 1} models of run ${runId}`);
    expectExactlyOnce(dir, 0);
  });
});

describe('the group journal as the CLI reads it', () => {
  it('drops a torn last line and ok rows whose artifact is missing or altered', async () => {
    const dir = project();
    const { runId } = await trainAndStop(dir, 12, (cli) => process.kill(cli, 'SIGKILL'));
    const runDir = path.join(dir, '.manymodels/runs', runId);
    const whole = readRunJournal(runDir)!;
    const ok = whole.groups.filter((g) => g.status === 'ok');
    expect(ok.length).toBeGreaterThanOrEqual(11);
    // A power loss tears the last write; an artifact is changed; another is gone.
    const file = path.join(runDir, RUN_JOURNAL_FILE);
    writeFileSync(file, `${readFileSync(file, 'utf8').trimEnd()}\n{"groupId": "torn", "sta`);
    appendFileSync(path.join(runDir, ok[0]!.artifact!), 'x');
    rmSync(path.join(runDir, ok[1]!.artifact!));
    const read = readRunJournal(runDir)!;
    expect(read.unverified).toBe(2);
    expect(read.groups.map((g) => g.groupId)).toEqual(whole.groups.map((g) => g.groupId).filter((id) => id !== ok[0]!.groupId && id !== ok[1]!.groupId));
    // Those two are trained again by the resume, and registered once like the rest.
    await resumeUntilDone(dir, runId);
    expectExactlyOnce(dir, 1, 2);
  });
});
