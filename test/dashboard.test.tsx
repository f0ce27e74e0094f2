// The dashboard's views and keys, rendered by ink-testing-library over a real project's runs
// (trained by the real runtime), and one end-to-end run of the real CLI in a real terminal
// (tmux from Debian's packages) against a live local run.
import { spawn, spawnSync } from 'node:child_process';
import { appendFileSync, existsSync, mkdirSync, readFileSync, renameSync, rmSync, writeFileSync } from 'node:fs';
import path from 'node:path';
import { render } from 'ink-testing-library';
import { beforeAll, describe, expect, it } from 'vitest';
import { App } from '../src/cli/ui/dashboard/app.js';
import { loadProject } from '../src/pipeline/project.js';
import { dashboardSource, EventsFollower, liveCounts, unchangedFileCache, type DashboardSource } from '../src/runs/dashboard.js';
import { cli } from './helpers/cli.js';
import { projectKit, PYTHON, REPO, writeSampleData } from './helpers/project.js';

const kit = projectKit('mm-dash-');

function project(model: string, stores: number, items: number): string {
  const dir = kit.tempDir();
  writeSampleData(path.join(dir, 'data/sales.csv'), { stores, items, days: 200, seed: 3 });
  writeFileSync(
    path.join(dir, 'pipelines.yaml'),
    `version: 1
project: dash
targets:
  local: { engine: local, workers: 1 }
pipelines:
  - name: daily
    data: { format: csv, path: data/sales.csv }
    keys: [store_id, item_id]
    time: { column: date, frequency: D }
    target: sales
    task: forecast
    model: ${model}
    metrics: [wape, rmse]
    promotion:
      rules: [{ metric: wape, max: 0.4 }]
      gate: { min_promoted_fraction: 0 }
    scoring: { horizon: 14, table: predictions }
`,
  );
  return dir;
}

const pause = (ms = 80): Promise<void> => new Promise((r) => setTimeout(r, ms));

describe('dashboard views and keys', () => {
  let dir: string;
  let source: DashboardSource;
  let trainId: string;
  beforeAll(async () => {
    dir = project('{ type: linear, holdout: 14 }', 3, 5);
    for (const cmd of ['train', 'promote']) expect((await cli([cmd], { cwd: dir })).code).toBe(0);
    const { project: p } = loadProject({ file: 'pipelines.yaml', cwd: dir, vars: {}, env: {} });
    source = dashboardSource({ project: p!, context: { env: {} }, file: 'pipelines.yaml', cwd: dir, env: {} });
    trainId = source.runs().find((r) => r.stage === 'train')!.id;
  }, 180_000);

  it('lists runs newest first, moves with j/k, filters with /', async () => {
    const app = render(<App source={source} refreshMs={60_000} />);
    const frame = app.lastFrame()!;
    expect(frame).toContain('Runs (2)');
    const lines = frame.split('\n');
    expect(lines.findIndex((l) => l.includes('promote'))).toBeLessThan(lines.findIndex((l) => l.includes(trainId)));
    expect(lines.find((l) => l.startsWith('▶'))).toContain('promote');
    app.stdin.write('j');
    await pause();
    expect(app.lastFrame()!.split('\n').find((l) => l.startsWith('▶'))).toContain(trainId);
    app.stdin.write('k');
    await pause();
    expect(app.lastFrame()!.split('\n').find((l) => l.startsWith('▶'))).toContain('promote');
    app.stdin.write('/');
    await pause();
    app.stdin.write('train');
    await pause();
    expect(app.lastFrame()).toContain('Runs (1 matching "train")');
    expect(app.lastFrame()).toContain('filter: train');
    app.stdin.write('\r');
    await pause();
    expect(app.lastFrame()).toContain('Enter open');
    app.unmount();
  });

  it('opens a run with Enter: progress, histogram, worst groups; g groups, s sort, / search, f failures, Esc back', async () => {
    const app = render(<App source={source} refreshMs={60_000} />);
    app.stdin.write('j');
    await pause();
    app.stdin.write('\r');
    await pause();
    let frame = app.lastFrame()!;
    expect(frame).toContain(`Run ${trainId} · train daily`);
    expect(frame).toMatch(/█+ 15\/15 · 0 failed · \d+ skipped/);
    expect(frame).toMatch(/wape across \d+ groups:/);
    expect(frame).toContain('worst by wape:');
    app.stdin.write('g');
    await pause();
    frame = app.lastFrame()!;
    expect(frame).toContain(`Groups of ${trainId} (15) · sorted by keys`);
    expect(frame.split('\n').find((l) => l.startsWith('▶'))).toMatch(/^▶ 1\s+1\s/);
    app.stdin.write('s');
    await pause();
    expect(app.lastFrame()).toContain('sorted by wape');
    app.stdin.write('/');
    await pause();
    app.stdin.write('store_id=2');
    await pause();
    app.stdin.write('\r');
    await pause();
    frame = app.lastFrame()!;
    expect(frame).toContain('(5 matching "store_id=2")');
    const rows = frame.split('\n').filter((l) => /^[▶ ] \d/.test(l));
    expect(rows).toHaveLength(5);
    expect(rows.every((l) => /^[▶ ] 2\s/.test(l))).toBe(true);
    app.stdin.write('f');
    await pause();
    expect(app.lastFrame()).toContain('(0 failed matching "store_id=2")');
    app.stdin.write('\u001B');
    await pause();
    expect(app.lastFrame()).toContain(`Run ${trainId}`);
    app.stdin.write('\u001B');
    await pause();
    expect(app.lastFrame()).toContain('Runs (2)');
    app.unmount();
  });

  it('asks before retraining, and says why cancel does nothing on a finished run', async () => {
    const app = render(<App source={source} refreshMs={60_000} />);
    app.stdin.write('j');
    await pause();
    app.stdin.write('\r');
    await pause();
    app.stdin.write('c');
    await pause();
    expect(app.lastFrame()).toContain(`run ${trainId} is succeeded: nothing to cancel`);
    app.stdin.write('r');
    await pause();
    const skipped = JSON.parse(readFileSync(path.join(dir, '.manymodels/runs', trainId, 'run-manifest.json'), 'utf8')).counts.skipped as number;
    if (skipped) {
      expect(app.lastFrame()).toContain(`Retrain the ${skipped} groups of ${trainId} that are not ok`);
      app.stdin.write('n');
      await pause();
      expect(app.lastFrame()).toContain('nothing done');
    } else {
      expect(app.lastFrame()).toContain('every group of this run is ok');
    }
    app.unmount();
  });

  it('shows production vs candidate by group (m)', async () => {
    const app = render(<App source={source} refreshMs={60_000} />);
    app.stdin.write('m');
    for (let i = 0; i < 50 && !app.lastFrame()!.includes('Models: production vs latest candidate (1'); i++) await pause(50);
    const frame = app.lastFrame()!;
    expect(frame).toMatch(/Models: production vs latest candidate \(\d+ groups\)/);
    expect(frame).toMatch(/store_id=\d item_id=\d\s+v1 wape [\d.]+\s+(v1 wape [\d.]+\s+champion is latest|-\s+not in production)/);
    app.unmount();
  });

  it('keeps every line within the terminal width', async () => {
    const app = render(<App source={source} refreshMs={60_000} />);
    for (const keys of ['', 'j', '\r', 'g']) {
      if (keys) app.stdin.write(keys);
      await pause();
      for (const line of app.lastFrame()!.split('\n')) expect(line.length).toBeLessThanOrEqual(100);
    }
    app.unmount();
  });

  it('reads live counts from the newest progress event, ignoring a line still being written', () => {
    const runDir = path.join(dir, '.manymodels/runs/20990101-000000-train-abcdef');
    mkdirSync(runDir, { recursive: true });
    writeFileSync(
      path.join(runDir, 'events.ndjson'),
      '{"event":"start","total":10,"ts":"2026-01-01T00:00:00Z"}\n{"event":"progress","done":4,"ok":3,"failed":1,"skipped":0,"total":10,"ts":"2026-01-01T00:00:02Z"}\n{"event":"progr',
    );
    expect(liveCounts(path.join(dir, '.manymodels'), '20990101-000000-train-abcdef')).toEqual({ done: 4, ok: 3, failed: 1, skipped: 0, total: 10, startedAt: Date.parse('2026-01-01T00:00:00Z'), updatedAt: Date.parse('2026-01-01T00:00:02Z') });
    rmSync(runDir, { recursive: true });
  });
});

describe('what a refresh reads again', () => {
  const ev = (o: Record<string, unknown>): string => `${JSON.stringify(o)}\n`;

  it('follows events.ndjson as it grows: only new lines, a line being written waits, a replaced file is read afresh', () => {
    const file = path.join(kit.tempDir(), 'events.ndjson');
    const f = new EventsFollower(file);
    expect(f.read()).toBeNull();
    writeFileSync(file, ev({ event: 'start', total: 10, ts: '2026-01-01T00:00:00Z' }) + ev({ event: 'progress', done: 2, ok: 2, failed: 0, skipped: 0, total: 10, ts: '2026-01-01T00:00:01Z' }));
    expect(f.read()).toMatchObject({ done: 2, ok: 2, total: 10, startedAt: Date.parse('2026-01-01T00:00:00Z') });
    // Half a line: the counts stay until its newline arrives.
    const next = ev({ event: 'progress', done: 5, ok: 4, failed: 1, skipped: 0, total: 10, ts: '2026-01-01T00:00:02Z' });
    appendFileSync(file, next.slice(0, 20));
    expect(f.read()).toMatchObject({ done: 2 });
    appendFileSync(file, next.slice(20) + ev({ event: 'log', message: 'é' }));
    expect(f.read()).toMatchObject({ done: 5, failed: 1, updatedAt: Date.parse('2026-01-01T00:00:02Z') });
    appendFileSync(file, ev({ event: 'summary', counts: { total: 10, ok: 8, failed: 1, skipped: 1 }, ts: '2026-01-01T00:00:03Z' }));
    expect(f.read()).toMatchObject({ done: 10, ok: 8, skipped: 1 });
    // A resumed run writes its events anew.
    writeFileSync(`${file}.new`, ev({ event: 'start', total: 4, ts: '2026-01-02T00:00:00Z' }));
    renameSync(`${file}.new`, file);
    expect(f.read()).toMatchObject({ done: 0, total: 4, startedAt: Date.parse('2026-01-02T00:00:00Z') });
  });

  it('parses an unchanged file once, and again once it changes', () => {
    const file = path.join(kit.tempDir(), 'run-manifest.json');
    let reads = 0;
    const cached = unchangedFileCache((f) => {
      reads += 1;
      return JSON.parse(readFileSync(f, 'utf8')) as { n: number };
    });
    expect(cached(file)).toBeUndefined();
    writeFileSync(file, '{"n":1}');
    const first = cached(file);
    expect(cached(file)).toBe(first);
    expect(reads).toBe(1);
    writeFileSync(`${file}.new`, '{"n":22}');
    renameSync(`${file}.new`, file);
    expect(cached(file)).toEqual({ n: 22 });
    expect(reads).toBe(2);
  });
});

const haveTmux = spawnSync('tmux', ['-V']).status === 0;
if (!haveTmux && process.env.CI) throw new Error('tmux is missing: scripts/bootstrap.sh installs it for the tests');

describe.skipIf(!haveTmux)('dashboard in a real terminal', () => {
  it('shows a live local run, its counts advance, Enter opens it, q exits 0', async () => {
    // ~0.15 s per group on one worker: a run of ~9 s on any machine, long enough to watch.
    const dir = project('{ type: custom, path: slow.py, holdout: 14 }', 6, 10);
    writeFileSync(path.join(dir, 'slow.py'), 'import time\n\ndef train(pdf, params):\n    time.sleep(0.15)\n    return float(pdf["sales"].mean())\n\ndef predict(model, pdf):\n    return [model] * len(pdf)\n');
    const session = `mm-dash-${process.pid}`;
    const bin = path.join(REPO, 'bin/manymodels.js');
    const train = spawn(process.execPath, [bin, 'train'], { cwd: dir, stdio: 'ignore', env: { PATH: process.env.PATH, HOME: process.env.HOME, MANYMODELS_PYTHON: PYTHON } });
    const trainDone = new Promise((r) => train.once('close', r));
    const exitFile = path.join(dir, 'dashboard.exit');
    const capture = (): string => spawnSync('tmux', ['capture-pane', '-p', '-t', session], { encoding: 'utf8' }).stdout;
    const until = async (what: string, test: (screen: string) => boolean, ms = 60_000): Promise<string> => {
      const end = Date.now() + ms;
      let screen = '';
      while (Date.now() < end) {
        screen = capture();
        if (test(screen)) return screen;
        await pause(150);
      }
      throw new Error(`timed out waiting for ${what}; screen:\n${screen}`);
    };
    try {
      const cmd = `cd ${JSON.stringify(dir)} && PATH=${JSON.stringify(process.env.PATH ?? '')} ${JSON.stringify(process.execPath)} ${JSON.stringify(bin)} dashboard --refresh 0.3; echo $? > ${JSON.stringify(exitFile)}`;
      expect(spawnSync('tmux', ['new-session', '-d', '-s', session, '-x', '80', '-y', '24', cmd]).status).toBe(0);
      const first = await until('the running train', (s) => /-train-[0-9a-f]{6}\s+daily\s+running\s+\d+\/60/.test(s));
      const done0 = Number(/running\s+(\d+)\/60/.exec(first)![1]);
      await until('the counts to advance', (s) => {
        const m = /(running|succeeded)\s+(\d+)\/60/.exec(s);
        return !!m && (m[1] === 'succeeded' || Number(m[2]) > done0);
      });
      spawnSync('tmux', ['send-keys', '-t', session, 'Enter']);
      await until('the run detail', (s) => /Run \d{8}-\d{6}-train-[0-9a-f]{6} · train daily/.test(s));
      for (const line of capture().split('\n')) expect(line.length).toBeLessThanOrEqual(80);
      spawnSync('tmux', ['send-keys', '-t', session, 'q']);
      const end = Date.now() + 15_000;
      while (!existsSync(exitFile) && Date.now() < end) await pause(100);
      expect(readFileSync(exitFile, 'utf8').trim()).toBe('0');
    } finally {
      spawnSync('tmux', ['kill-session', '-t', session]);
      if (train.exitCode === null && train.signalCode === null) train.kill('SIGINT');
      await trainDone;
    }
  }, 180_000);
});
