// The dashboard's views and keys, rendered by ink-testing-library over a real project's runs
// (trained by the real runtime), and one end-to-end run of the real CLI in a real terminal
// (tmux from Debian's packages) against a live local run.
import { spawn, spawnSync } from 'node:child_process';
import { appendFileSync, existsSync, mkdirSync, readdirSync, readFileSync, renameSync, rmSync, writeFileSync } from 'node:fs';
import path from 'node:path';
import { render } from 'ink-testing-library';
import { beforeAll, describe, expect, it } from 'vitest';
import { App } from '../src/cli/ui/dashboard/app.js';
import { RunStore } from '../src/jobs/run-store.js';
import { loadProject } from '../src/pipeline/project.js';
import { dashboardSource, EventsFollower, liveCounts, unchangedFileCache, type DashboardSource } from '../src/runs/dashboard.js';
import { cli } from './helpers/cli.js';
import { tmuxPane } from './helpers/tmux.js';
import { dailyProject } from './helpers/daily-project.js';
import { projectKit, PYTHON, REPO } from './helpers/project.js';

const kit = projectKit('mm-dash-');

const project = (model: string, stores: number, items: number): string =>
  dailyProject(kit, {
    name: 'dash', model, stores, items, metrics: ['wape', 'rmse'],
    extra: '    promotion:\n      rules: [{ metric: wape, max: 0.4 }]\n      gate: { min_promoted_fraction: 0 }\n',
  });

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
      expect(app.lastFrame()).toContain(`Retrain the ${skipped} groups that are not ok? y/n`);
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

  it('opens a promotion with its decisions: promoted, kept, rejected by rule, the gate', async () => {
    const app = render(<App source={source} refreshMs={60_000} />);
    app.stdin.write('\r');
    await pause();
    const frame = app.lastFrame()!;
    expect(frame).toMatch(/Run \d{8}-\d{6}-promote-[0-9a-f]{6} · promote daily/);
    const m = /promotion: \d+ candidates · \d+ promoted · \d+ kept \(already in production\) · (\d+) rejected · gate met/.exec(frame);
    expect(m, frame).not.toBeNull();
    if (Number(m![1]) > 0) expect(frame).toMatch(/ {2}rejected by "[^"]+": \d+/);
    app.unmount();
  });

  it('moves with the arrow keys as with j/k', async () => {
    const app = render(<App source={source} refreshMs={60_000} />);
    const cursorLine = (): string => app.lastFrame()!.split('\n').find((l) => l.startsWith('▶'))!;
    app.stdin.write('\u001B[B');
    await pause();
    expect(cursorLine()).toContain(trainId);
    app.stdin.write('\u001B[A');
    await pause();
    expect(cursorLine()).toContain('promote');
    app.stdin.write('\u001B[B');
    await pause();
    app.stdin.write('\r');
    await pause();
    app.stdin.write('g');
    await pause();
    const first = cursorLine();
    app.stdin.write('\u001B[B');
    await pause();
    expect(cursorLine()).not.toBe(first);
    app.stdin.write('\u001B[A');
    await pause();
    expect(cursorLine()).toBe(first);
    app.unmount();
  });

  it('redraws every view at the new size when the terminal is resized, each line within it', async () => {
    const app = render(<App source={source} refreshMs={60_000} />);
    const resize = async (columns: number, rows: number): Promise<void> => {
      Object.defineProperty(app.stdout, 'columns', { value: columns, configurable: true });
      Object.defineProperty(app.stdout, 'rows', { value: rows, configurable: true });
      app.stdout.emit('resize');
      await pause();
    };
    for (const keys of ['', 'j\r', 'g', '\u001B\u001Bm']) {
      for (const k of keys) {
        app.stdin.write(k);
        await pause(40);
      }
      for (const [columns, rows] of [[80, 24], [40, 12], [60, 20], [120, 40], [80, 24]] as const) {
        await resize(columns, rows);
        const lines = app.lastFrame()!.split('\n');
        expect(lines.length, `${keys} at ${columns}×${rows}`).toBeLessThanOrEqual(rows);
        for (const line of lines) expect(line.length, `${keys} at ${columns}×${rows}: ${line}`).toBeLessThanOrEqual(columns);
        // The header, the view's title and the help line are all there, once each.
        expect(lines[0]).toMatch(/^manymodels · /);
        expect(lines.filter((l) => l.startsWith('manymodels · '))).toHaveLength(1);
        expect(lines.at(-1)).toMatch(/q quit|…$/);
      }
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

describe('failures, retraining and remote runs', () => {
  let source: DashboardSource;
  let trainId: string;
  let remoteId: string;
  let notOk = 0;
  beforeAll(async () => {
    const dir = project('{ type: custom, path: failing.py, holdout: 14 }', 3, 4);
    // Store 2 sells a thousand times more, and the model refuses such numbers: its 4 groups fail.
    const csv = path.join(dir, 'data/sales.csv');
    const rows = readFileSync(csv, 'utf8').trim().split('\n');
    writeFileSync(csv, `${rows.map((r, i) => (i > 0 && r.startsWith('2,') ? r.replace(/^([^,]*,[^,]*,[^,]*,)(\d+)/, (_m, head: string, v: string) => `${head}${Number(v) * 1000 + 1000}`) : r)).join('\n')}\n`);
    writeFileSync(
      path.join(dir, 'failing.py'),
      'def train(pdf, params):\n    if pdf["sales"].mean() >= 1000:\n        raise ValueError("store 2 has no model")\n    return float(pdf["sales"].mean())\n\ndef predict(model, pdf):\n    return [model] * len(pdf)\n',
    );
    await cli(['train'], { cwd: dir });
    notOk = JSON.parse(readFileSync(path.join(dir, '.manymodels/runs', readdirSync(path.join(dir, '.manymodels/runs'))[0]!, 'run-manifest.json'), 'utf8')).groups.filter((g: { status: string }) => g.status !== 'ok').length as number;
    const { project: p } = loadProject({ file: 'pipelines.yaml', cwd: dir, vars: {}, env: {} });
    source = dashboardSource({ project: p!, context: { env: {} }, file: 'pipelines.yaml', cwd: dir, env: {} });
    trainId = source.runs()[0]!.id;
    // A run on Databricks that this process watches: running, with its run page.
    const store = new RunStore(p!.target.stateDir);
    remoteId = store.newRunId('train');
    store.create({ id: remoteId, stage: 'train', pipeline: 'daily', project: 'dash', target: 'prod', engine: 'databricks', state: 'running', resumeOf: null, sourceRun: null, external: { id: '4711', url: 'https://adb-1234567890123456.7.azuredatabricks.net/?o=1234567890123456#job/12/run/4711' } });
  }, 180_000);

  it('shows failures by class, f lists the failed groups, r asks before retraining them (n and Esc do nothing)', async () => {
    const app = render(<App source={source} refreshMs={60_000} />);
    for (let i = 0; i < 10 && !app.lastFrame()!.split('\n').find((l) => l.startsWith('▶'))?.includes(trainId); i++) {
      app.stdin.write('j');
      await pause();
    }
    app.stdin.write('\r');
    await pause();
    let frame = app.lastFrame()!;
    expect(frame).toMatch(/█+ 12\/12 · 4 failed/);
    expect(frame).toContain('failures by class:');
    expect(frame).toContain('4 × ValueError: store 2 has no model');
    expect(frame).toMatch(/store_id=2 item_id=1 · store_id=2 item_id=2 · store_id=2 item_id=3 …/);
    app.stdin.write('r');
    await pause();
    expect(app.lastFrame()).toContain(`Retrain the ${notOk} groups that are not ok? y/n · train daily --resume ${trainId}`);
    // In a narrow terminal the question is cut after its y/n, not before.
    Object.defineProperty(app.stdout, 'columns', { value: 50, configurable: true });
    app.stdout.emit('resize');
    await pause();
    expect(app.lastFrame()!.split('\n').at(-1)).toMatch(/^Retrain the \d+ groups that are not ok\? y\/n · t.*…$/);
    Object.defineProperty(app.stdout, 'columns', { value: 100, configurable: true });
    app.stdout.emit('resize');
    app.stdin.write('n');
    await pause();
    expect(app.lastFrame()).toContain('nothing done');
    app.stdin.write('r');
    await pause();
    app.stdin.write('\u001B');
    await pause();
    frame = app.lastFrame()!;
    expect(frame).toContain('nothing done');
    expect(frame).toContain(`Run ${trainId}`);
    app.stdin.write('f');
    await pause();
    frame = app.lastFrame()!;
    expect(frame).toContain(`Groups of ${trainId} (4 failed)`);
    const rows = frame.split('\n').filter((l) => /^[▶ ] \d/.test(l));
    expect(rows).toHaveLength(4);
    for (const row of rows) expect(row).toMatch(/^[▶ ] 2\s+\d\s+failed\s.*ValueError: store 2 has no model/);
    app.stdin.write('f');
    await pause();
    expect(app.lastFrame()).toContain(`Groups of ${trainId} (12)`);
    app.unmount();
  });

  it('shows a remote run live with its run page, and c asks before cancelling it', async () => {
    const app = render(<App source={source} refreshMs={60_000} />);
    let frame = app.lastFrame()!;
    expect(frame.split('\n').find((l) => l.startsWith('▶'))).toMatch(new RegExp(`${remoteId}\\s+daily\\s+running`));
    app.stdin.write('\r');
    await pause();
    frame = app.lastFrame()!;
    expect(frame).toContain(`Run ${remoteId} · train daily · prod (databricks) · running`);
    // A terminal hyperlink (OSC 8) to the run page.
    expect(frame).toContain('run page: \x1b]8;;https://adb-1234567890123456.7.azuredatabricks.net/?o=1234567890123456#job/12/run/4711\x1b\\https://adb-1234567890123456.7.azuredatabricks.net/');
    app.stdin.write('c');
    await pause();
    expect(app.lastFrame()).toContain(`Cancel remote run 4711? y/n · runs cancel ${remoteId}`);
    app.stdin.write('n');
    await pause();
    frame = app.lastFrame()!;
    expect(frame).toContain('nothing done');
    expect(frame).not.toContain('? y/n');
    app.unmount();
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
    const { capture, until } = tmuxPane(session);
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

  it('resizes cleanly (no wrapped or left-over lines), and Ctrl-C quits leaving the terminal as it was', async () => {
    const dir = project('{ type: linear, holdout: 14 }', 3, 5);
    expect((await cli(['train'], { cwd: dir })).code).toBe(0);
    const session = `mm-dash-size-${process.pid}`;
    const bin = path.join(REPO, 'bin/manymodels.js');
    const exitFile = path.join(dir, 'dashboard.exit');
    const sttyFile = path.join(dir, 'stty.txt');
    const pane = tmuxPane(session);
    const capture = pane.capture;
    const until = (what: string, test: (screen: string) => boolean, ms = 30_000): Promise<string> => pane.until(what, test, ms);
    /** One clean frame at this size: every line within the width, the header, title and help line once each, the help line last. */
    const clean = (columns: number, rows: number) => (screen: string): boolean => {
      const lines = screen.replace(/\n+$/, '').split('\n');
      return (
        lines.length <= rows &&
        lines.every((l) => l.length <= columns) &&
        lines.filter((l) => l.startsWith('manymodels · dash')).length === 1 &&
        lines[0]!.startsWith('manymodels · dash') &&
        lines.filter((l) => l.startsWith('Run ')).length === 1 &&
        lines.filter((l) => /^g groups/.test(l)).length === 1 &&
        /^g groups/.test(lines.at(-1)!)
      );
    };
    try {
      const cmd = `cd ${JSON.stringify(dir)} && PATH=${JSON.stringify(process.env.PATH ?? '')} ${JSON.stringify(process.execPath)} ${JSON.stringify(bin)} dashboard; echo $? > ${JSON.stringify(exitFile)}; stty -a > ${JSON.stringify(sttyFile)}; sleep 60`;
      expect(spawnSync('tmux', ['new-session', '-d', '-s', session, '-x', '80', '-y', '24', cmd]).status).toBe(0);
      await until('the runs', (s) => /-train-[0-9a-f]{6}\s+daily\s+succeeded/.test(s));
      spawnSync('tmux', ['send-keys', '-t', session, 'Enter']);
      await until('the run detail at 80×24', clean(80, 24));
      for (const [x, y] of [[60, 20], [100, 30], [44, 16], [80, 24]] as const) {
        expect(spawnSync('tmux', ['resize-window', '-t', session, '-x', String(x), '-y', String(y)]).status).toBe(0);
        await until(`a clean frame at ${x}×${y}`, clean(x, y));
        // Still clean a moment later: nothing is drawn again on top of the frame.
        await pause(400);
        expect(clean(x, y)(capture()), capture()).toBe(true);
      }
      spawnSync('tmux', ['send-keys', '-t', session, 'C-c']);
      const end = Date.now() + 15_000;
      while (!existsSync(sttyFile) && Date.now() < end) await pause(100);
      expect(readFileSync(exitFile, 'utf8').trim()).toBe('0');
      // The terminal as it was: the cursor shown, line editing and echo back on.
      expect(spawnSync('tmux', ['display-message', '-p', '-t', session, '#{cursor_flag}'], { encoding: 'utf8' }).stdout.trim()).toBe('1');
      const stty = readFileSync(sttyFile, 'utf8');
      expect(stty).toMatch(/(^|\s)icanon(\s|$)/);
      expect(stty).toMatch(/(^|\s)echo(\s|$)/);
    } finally {
      spawnSync('tmux', ['kill-session', '-t', session]);
    }
  }, 180_000);
});
