// A run's record names the CLI process that runs it (pid + process start time), so a run
// whose process is gone is shown as interrupted (local) or lost (remote, never confirmed),
// never as running, and its runtime does not outlive it. Checked with a real kill -9 of the
// CLI during a local train.
import { spawn } from 'node:child_process';
import { existsSync, readdirSync, readFileSync, writeFileSync } from 'node:fs';
import { hostname } from 'node:os';
import path from 'node:path';
import { describe, expect, it } from 'vitest';
import { processStartTime } from '../src/core/process-identity.js';
import { fakeRunId, forecastProject, forecastYaml, runBin, startBin, writeRun } from './helpers/reliability-kit.js';
import { projectKit } from './helpers/project.js';

const scratch = projectKit('mm-rel-live-').tempDir;

/** Pids whose parent is `pid` (read from /proc before the parent dies). */
function childrenOf(pid: number): number[] {
  const out: number[] = [];
  for (const name of readdirSync('/proc')) {
    if (!/^\d+$/.test(name)) continue;
    try {
      const stat = readFileSync(`/proc/${name}/stat`, 'utf8');
      const ppid = Number(stat.slice(stat.lastIndexOf(')') + 2).split(' ')[1]);
      if (ppid === pid) out.push(Number(name));
    } catch {
      // Exited meanwhile.
    }
  }
  return out;
}

/** A process that still runs (not gone, not a zombie waiting to be reaped). */
function alive(pid: number): boolean {
  try {
    return !readFileSync(`/proc/${pid}/stat`, 'utf8').includes(') Z ');
  } catch {
    return false;
  }
}

/** SIGKILLs the process groups led by `pids`, whatever happened in the test. */
function killGroups(pids: number[]): void {
  for (const pid of pids) {
    try {
      process.kill(-pid, 'SIGKILL');
    } catch {
      // Already gone.
    }
  }
}

async function until(check: () => boolean, ms: number): Promise<void> {
  const end = Date.now() + ms;
  while (!check()) {
    if (Date.now() > end) throw new Error('timed out');
    await new Promise((r) => setTimeout(r, 50));
  }
}

describe('liveness of a run', () => {
  it('a local train whose CLI is killed with SIGKILL is interrupted, never running', async () => {
    const dir = forecastProject(scratch(), { stores: 10, items: 20, days: 240 });
    const { child, done } = startBin(['train', '--workers', '1'], { cwd: dir });
    let stderr = '';
    child.stderr!.on('data', (d: Buffer) => (stderr += d.toString()));
    await until(() => /run (\d{8}-\d{6}-train-[0-9a-f]{6})/.test(stderr), 60_000);
    const runId = /run (\d{8}-\d{6}-train-[0-9a-f]{6})/.exec(stderr)![1]!;
    // Its runtime: the CLI's child in its own process group (stopped below, whatever happens).
    await until(() => childrenOf(child.pid!).length > 0, 30_000);
    const runtime = childrenOf(child.pid!);
    try {
      const record = JSON.parse(readFileSync(path.join(dir, '.manymodels/runs', runId, 'run.json'), 'utf8')) as { state: string; process: { pid: number; startTime: string } };
      expect(record.state).toBe('running');
      expect(record.process.pid).toBe(child.pid);
      expect(record.process.startTime).toBe(processStartTime(child.pid!));

      const workers = runtime.flatMap((pid) => childrenOf(pid));
      child.kill('SIGKILL');
      const killed = await done;
      expect(killed.signal).toBe('SIGKILL');
      // No orphan: the runtime and its workers die with the CLI (PR_SET_PDEATHSIG), within 5 s.
      await until(() => ![...runtime, ...workers].some(alive), 5_000);

      const list = await runBin(['runs', 'list', '--json'], { cwd: dir });
      expect(list.code, list.stderr).toBe(0);
      const runs = JSON.parse(list.stdout) as Array<{ id: string; state: string }>;
      expect(runs.find((r) => r.id === runId)!.state).toBe('interrupted');
      const text = await runBin(['runs', 'list'], { cwd: dir });
      expect(text.stdout).toMatch(new RegExp(`${runId} .* interrupted`));
      const show = await runBin(['runs', 'show', runId], { cwd: dir });
      expect(show.code).toBe(0);
      expect(show.stdout).toContain('interrupted');
      expect(show.stdout).toContain(`pid ${child.pid}) is gone`);
      expect(show.stdout).toContain(`--resume ${runId}`);
      // Only shown so: the record on disk is not rewritten by a reader.
      expect(JSON.parse(readFileSync(path.join(dir, '.manymodels/runs', runId, 'run.json'), 'utf8')).state).toBe('running');
    } finally {
      killGroups(runtime);
    }
  }, 120_000);

  it('the runtime dies with a SIGKILLed CLI even while it is busy and writes nothing', async () => {
    // A model that sleeps in fit: the runtime waits on its worker and writes no event, so only
    // dying with its parent (not a broken pipe) can stop it.
    const dir = forecastProject(scratch(), { yaml: forecastYaml('daily', '{ type: custom, path: slow.py, holdout: 14 }') });
    writeFileSync(path.join(dir, 'slow.py'), 'import time\n\ndef train(pdf, params):\n    time.sleep(120)\n    return 0\n\ndef predict(model, pdf):\n    return [0.0] * len(pdf)\n');
    const { child, done } = startBin(['train', '--workers', '2'], { cwd: dir });
    let stderr = '';
    child.stderr!.on('data', (d: Buffer) => (stderr += d.toString()));
    await until(() => /run (\d{8}-\d{6}-train-[0-9a-f]{6})/.test(stderr), 60_000);
    const runId = /run (\d{8}-\d{6}-train-[0-9a-f]{6})/.exec(stderr)![1]!;
    const events = path.join(dir, '.manymodels/runs', runId, 'events.ndjson');
    await until(() => existsSync(events) && readFileSync(events, 'utf8').includes('"start"'), 60_000);
    await until(() => childrenOf(child.pid!).some((pid) => childrenOf(pid).length > 0), 30_000);
    const runtime = childrenOf(child.pid!);
    const workers = runtime.flatMap((pid) => childrenOf(pid));
    try {
      child.kill('SIGKILL');
      await done;
      await until(() => ![...runtime, ...workers].some(alive), 5_000);
    } finally {
      killGroups(runtime);
    }
  }, 120_000);

  it('a remote run whose CLI died before the service confirmed it is lost; one it confirmed goes on', async () => {
    const dir = forecastProject(scratch());
    const gone = spawn('true');
    await new Promise((r) => gone.on('close', r));
    const dead = { pid: gone.pid, startTime: '1', host: hostname() };
    const lost = fakeRunId('train');
    writeRun(dir, lost, { engine: 'databricks', state: 'running', finishedAt: null, counts: null, process: dead });
    const going = fakeRunId('train');
    writeRun(dir, going, { engine: 'databricks', state: 'running', finishedAt: null, counts: null, process: dead, external: { id: '7001' } });
    const reused = fakeRunId('score');
    // A live pid that belongs to a process started at another time (pid reuse): dead as well.
    writeRun(dir, reused, { state: 'running', finishedAt: null, counts: null, process: { pid: process.pid, startTime: '1', host: hostname() } });
    const alive = fakeRunId('score');
    writeRun(dir, alive, { state: 'running', finishedAt: null, counts: null, process: { pid: process.pid, startTime: processStartTime(process.pid), host: hostname() } });
    const list = await runBin(['runs', 'list', '--json'], { cwd: dir });
    const states = Object.fromEntries((JSON.parse(list.stdout) as Array<{ id: string; state: string }>).map((r) => [r.id, r.state]));
    expect(states).toEqual({ [lost]: 'lost', [going]: 'running', [reused]: 'interrupted', [alive]: 'running' });
    const show = await runBin(['runs', 'show', lost], { cwd: dir });
    expect(show.stdout).toContain('lost');
    expect(show.stdout).toContain('never confirmed');
  }, 60_000);
});
