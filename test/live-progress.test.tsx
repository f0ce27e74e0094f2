// The live progress view of train / score / promote: the dashboard's component at any width
// (ink-testing-library), the Ink view on a terminal stream with notes above it, a real `train`
// in a 60-column tmux pane, and the one-line-per-change log mode without a terminal or in CI.
import { spawnSync } from 'node:child_process';
import { existsSync, readFileSync, writeFileSync } from 'node:fs';
import path from 'node:path';
import { render } from 'ink-testing-library';
import { describe, expect, it } from 'vitest';
import { hyperlink, LiveProgress, thousands } from '../src/cli/ui/live-progress.js';
import { LiveRunView } from '../src/cli/ui/live-run.js';
import { runCli } from '../src/cli/main.js';
import { dailyProject } from './helpers/daily-project.js';
import { tmuxPane } from './helpers/tmux.js';
import { projectKit, PYTHON, REPO, runBuiltCli } from './helpers/project.js';

const kit = projectKit('mm-live-');
const pause = (ms = 80): Promise<void> => new Promise((r) => setTimeout(r, ms));
const plain = (s: string): string => s.replace(/\x1b\[[0-9;?]*[A-Za-z]/g, '');

const project = (model: string, stores: number, items: number): string =>
  dailyProject(kit, { name: 'live', model, stores, items });

const SLOW = 'import time\n\ndef train(pdf, params):\n    time.sleep(0.1)\n    return float(pdf["sales"].mean())\n\ndef predict(model, pdf):\n    return [model] * len(pdf)\n';

describe('the live progress component', () => {
  for (const width of [40, 60, 80, 120]) {
    it(`fits ${width} columns with counts, throughput and ETA`, () => {
      const app = render(<LiveProgress width={width} counts={{ done: 2500, failed: 3, skipped: 10, total: 10000 }} elapsedSeconds={10} running state="train store-item-daily: running" url="https://adb-1234567890123456.7.azuredatabricks.net/?o=1234567890123456#job/123/run/456" />);
      const frame = app.lastFrame()!;
      // The run page is a terminal hyperlink to the whole address, however much of it fits.
      expect(frame).toContain('run page: \x1b]8;;https://adb-1234567890123456.7.azuredatabricks.net/?o=1234567890123456#job/123/run/456\x1b\\https://adb-');
      const lines = frame.replace(/\x1b\]8;;[^\x1b]*\x1b\\/g, '').split('\n');
      for (const line of lines) expect(line.length).toBeLessThanOrEqual(width);
      const text = lines.join(' ');
      for (const part of ['█', '2,500/10,000', '3 failed', '10 skipped', '250 groups/s', '0:10', 'ETA 0:30', 'run page: https://adb-']) expect(text).toContain(part);
      app.unmount();
    });
  }

  it('writes counts with thousands separators as en-US does', () => {
    for (const v of [0, 7, 999, 1000, 12345, 999999, 1000000, 1234567890, -4321]) expect(thousands(v)).toBe(v.toLocaleString('en-US'));
  });

  it('links only an http(s) address of printable characters', () => {
    expect(hyperlink('page', 'https://example.test/run/1')).toBe('\x1b]8;;https://example.test/run/1\x1b\\page\x1b]8;;\x1b\\');
    for (const url of ['javascript:alert(1)', 'https://x.test/\x1b[2J', 'https://x.test/a b', 'https://x.test/\u0007']) expect(hyperlink('page', url)).toBe('page');
  });

  it('shows no ETA once the run is over', () => {
    const app = render(<LiveProgress width={80} counts={{ done: 60, failed: 0, skipped: 1, total: 60 }} elapsedSeconds={8} running={false} />);
    expect(app.lastFrame()).toMatch(/█+ 60\/60 · 0 failed · 1 skipped\n7\.5 groups\/s · 0:08$/);
    app.unmount();
  });
});

describe('the React build the CLI runs', () => {
  it("is React's production build unless NODE_ENV says otherwise", () => {
    // What the process's environment says as it exits, printed by a module loaded before the bin.
    const probe = 'data:text/javascript,process.on("exit",()=>process.stderr.write("NODE_ENV="+process.env.NODE_ENV+"\\n"))';
    const bin = path.join(REPO, 'bin/manymodels.js');
    const env = (extra: Record<string, string>): NodeJS.ProcessEnv => ({ PATH: process.env.PATH, HOME: process.env.HOME, ...extra });
    expect(spawnSync(process.execPath, ['--import', probe, bin, '--version'], { encoding: 'utf8', env: env({}) }).stderr).toContain('NODE_ENV=production');
    expect(spawnSync(process.execPath, ['--import', probe, bin, '--version'], { encoding: 'utf8', env: env({ NODE_ENV: 'development' }) }).stderr).toContain('NODE_ENV=development');
  });
});

describe('the live view on a terminal stream', () => {
  it('redraws in place under permanent notes, and takes in other writes to stderr as notes', async () => {
    for (const columns of [40, 60]) {
      let out = '';
      const stream = { write: (s: string) => (out += s), isTTY: true, columns, rows: 24 };
      const view = new LiveRunView(stream);
      view.note('train: run 20261207-110000-train-abcdef');
      for (let done = 0; done <= 10000; done += 500) {
        view.update({ done, failed: 12, skipped: 3, total: 10000 });
        if (done === 5000) stream.write('Waiting for the registry registry.db: in use by train\n');
        await pause(5);
      }
      view.end();
      const screen = plain(out).split('\n');
      for (const line of screen) expect(line.length).toBeLessThanOrEqual(columns);
      // Notes print once each, above the view; the view was redrawn (erased lines) not appended.
      expect(screen.filter((l) => l.includes('run 20261207-110000-train-abcdef'))).toHaveLength(1);
      expect(screen.filter((l) => l.startsWith('Waiting for the registry'))).toHaveLength(1);
      expect(out).toContain('\x1b[2K');
      expect(screen.filter(Boolean).slice(-3).join(' ')).toMatch(/10,000\/10,000 · 12 failed( ·)? 3 skipped/);
    }
  });
});

describe('a run in a log: one line per change', () => {
  it('without a terminal, train prints the run, its state, a line per tenth and the end — no redraws', async () => {
    const dir = project('{ type: linear, holdout: 14 }', 4, 5);
    const r = await runBuiltCli(['train'], { cwd: dir });
    expect(r.code).toBe(0);
    expect(r.stderr).not.toMatch(/[\r\x1b]/);
    const lines = r.stderr.trim().split('\n');
    expect(lines[0]).toMatch(/^train daily: run \d{8}-\d{6}-train-[0-9a-f]{6}$/);
    expect(lines.filter((l) => l === 'train daily: running')).toHaveLength(1);
    const progress = lines.filter((l) => l.includes(' groups ('));
    expect(progress.length).toBeLessThanOrEqual(11);
    expect(new Set(progress).size).toBe(progress.length);
    expect(progress.at(-1)).toContain('20/20 groups (100%)');
    expect(r.stdout).toMatch(/Trained daily on local: \d+ ok · 0 failed · \d+ skipped of 20 groups/);
  }, 120_000);

  it('with CI set, a terminal gets the same lines (no live view)', async () => {
    const dir = project('{ type: linear, holdout: 14 }', 2, 3);
    let stderr = '';
    let stdout = '';
    for (const env of [{ CI: 'true' }, { TF_BUILD: 'True', MANYMODELS_CI: 'none' }]) {
      stderr = '';
      const code = await runCli(['train'], {
        stdout: { write: (s: string) => (stdout += s) },
        stderr: { write: (s: string) => (stderr += s), isTTY: true, columns: 60 },
        cwd: dir,
        env: { PATH: process.env.PATH, HOME: process.env.HOME, MANYMODELS_PYTHON: PYTHON, ...env },
      });
      expect(code).toBe(0);
      expect(stderr).not.toMatch(/[\r\x1b]/);
      expect(stderr).toMatch(/^train daily: run .*\ntrain daily: running\n/);
      expect(stderr).toContain('6/6 groups (100%)');
    }
  }, 120_000);
});

const haveTmux = spawnSync('tmux', ['-V']).status === 0;
if (!haveTmux && process.env.CI) throw new Error('tmux is missing: scripts/bootstrap.sh installs it for the tests');

describe.skipIf(!haveTmux)('train in a real 60-column terminal', () => {
  it('redraws its progress in place and ends with the result', async () => {
    // ~0.1 s per group on one worker: a few seconds of live progress.
    const dir = project('{ type: custom, path: slow.py, holdout: 14 }', 5, 8);
    writeFileSync(path.join(dir, 'slow.py'), SLOW);
    const session = `mm-live-${process.pid}`;
    const exitFile = path.join(dir, 'train.exit');
    const bin = path.join(REPO, 'bin/manymodels.js');
    const { capture } = tmuxPane(session);
    // A developer's terminal: no CI variable from the test run reaches the CLI.
    const cmd = `unset CI TF_BUILD GITHUB_ACTIONS; cd ${JSON.stringify(dir)} && PATH=${JSON.stringify(process.env.PATH ?? '')} MANYMODELS_PYTHON=${JSON.stringify(PYTHON)} ${JSON.stringify(process.execPath)} ${JSON.stringify(bin)} train; echo $? > ${JSON.stringify(exitFile)}; sleep 60`;
    try {
      expect(spawnSync('tmux', ['new-session', '-d', '-s', session, '-x', '60', '-y', '20', cmd]).status).toBe(0);
      const seen: string[] = [];
      const end = Date.now() + 90_000;
      while (!existsSync(exitFile) && Date.now() < end) {
        const screen = capture();
        const m = /(\d+)\/40 · \d+ failed/.exec(screen);
        if (m) seen.push(m[1]!);
        // Never more than one progress frame on the screen: it is redrawn, not appended.
        expect(screen.match(/\d+\/40 · \d+ failed/g)?.length ?? 0).toBeLessThanOrEqual(1);
        await pause(150);
      }
      expect(readFileSync(exitFile, 'utf8').trim()).toBe('0');
      await pause(200);
      const screen = capture();
      for (const line of screen.split('\n')) expect(line.length).toBeLessThanOrEqual(60);
      expect(new Set(seen).size).toBeGreaterThan(2);
      expect(screen.match(/\d+\/40 · \d+ failed/g)).toHaveLength(1);
      expect(screen).toMatch(/█+ 40\/40 · 0 failed/);
      expect(screen).toMatch(/train daily: run \d{8}-\d{6}-train-[0-9a-f]{6}/);
      expect(screen).toMatch(/Trained daily on local: \d+ ok · 0 failed/);
      expect(screen).not.toContain('train daily: running');
    } finally {
      spawnSync('tmux', ['kill-session', '-t', session]);
    }
  }, 180_000);
});

describe.skipIf(!haveTmux)('Ctrl-C in a real terminal during a live train', () => {
  it('stops the run, leaves the terminal as it was (cursor shown, cooked mode) and the run resumable', async () => {
    const dir = project('{ type: custom, path: slow.py, holdout: 14 }', 5, 8);
    writeFileSync(path.join(dir, 'slow.py'), SLOW);
    const session = `mm-live-int-${process.pid}`;
    const exitFile = path.join(dir, 'train.exit');
    const sttyFile = path.join(dir, 'stty.txt');
    const bin = path.join(REPO, 'bin/manymodels.js');
    const { capture } = tmuxPane(session);
    const cmd = `unset CI TF_BUILD GITHUB_ACTIONS; cd ${JSON.stringify(dir)} && PATH=${JSON.stringify(process.env.PATH ?? '')} MANYMODELS_PYTHON=${JSON.stringify(PYTHON)} ${JSON.stringify(process.execPath)} ${JSON.stringify(bin)} train; echo $? > ${JSON.stringify(exitFile)}; stty -a > ${JSON.stringify(sttyFile)}; sleep 60`;
    try {
      expect(spawnSync('tmux', ['new-session', '-d', '-s', session, '-x', '60', '-y', '20', cmd]).status).toBe(0);
      const end = Date.now() + 90_000;
      let screen = '';
      while (Date.now() < end) {
        screen = capture();
        const m = /(\d+)\/40 · \d+ failed/.exec(screen);
        if (m && Number(m[1]) >= 4) break;
        await pause(100);
      }
      expect(screen).toMatch(/\d+\/40 · \d+ failed/);
      spawnSync('tmux', ['send-keys', '-t', session, 'C-c']);
      while (!existsSync(sttyFile) && Date.now() < end) await pause(100);
      expect(readFileSync(exitFile, 'utf8').trim()).toBe('130');
      await pause(200);
      screen = capture();
      // The terminal as it was: the cursor shown again, line editing and echo on.
      expect(spawnSync('tmux', ['display-message', '-p', '-t', session, '#{cursor_flag}'], { encoding: 'utf8' }).stdout.trim()).toBe('1');
      const stty = readFileSync(sttyFile, 'utf8');
      expect(stty).toMatch(/(^|\s)icanon(\s|$)/);
      expect(stty).toMatch(/(^|\s)echo(\s|$)/);
      // One progress frame, no line wider than the pane, and what to do next.
      for (const line of screen.split('\n')) expect(line.length).toBeLessThanOrEqual(60);
      expect(screen.match(/\d+\/40 · \d+ failed/g)).toHaveLength(1);
      // The lines the terminal wrapped, joined again.
      const joined = spawnSync('tmux', ['capture-pane', '-p', '-J', '-t', session], { encoding: 'utf8' }).stdout;
      const kept = Number(/Stopped daily on local: (\d+) groups? finished and kept/.exec(joined)![1]);
      const runId = /train daily: run (\d{8}-\d{6}-train-[0-9a-f]{6})/.exec(screen)![1]!;
      expect(joined).toContain(`train daily --resume ${runId}`);
      // Resumable: the groups it kept are not trained again.
      const resumed = await runBuiltCli(['train', 'daily', '--resume', runId], { cwd: dir });
      expect(resumed.code).toBe(0);
      expect(resumed.stdout).toMatch(new RegExp(`Trained daily on local: \\d+ ok · 0 failed · \\d+ skipped of ${40 - kept} groups`));
    } finally {
      spawnSync('tmux', ['kill-session', '-t', session]);
    }
  }, 240_000);
});
