// Benchmark: frame time of the dashboard and of the live progress component while a run of
// 10,000 groups streams its progress, and CPU when nothing happens.
//   npm run build && node bench/dashboard-frames.mjs [--groups 10000] [--idle 5]
// React's production build, as the CLI runs it (bin/manymodels.js sets NODE_ENV=production
// unless it is set): NODE_ENV=development node bench/dashboard-frames.mjs measures the other.
//
// The dashboard reads a real project folder through its real source (src/runs/dashboard.ts):
// a finished training run of 10,000 groups (run.json and run-manifest.json) and a running one
// (its CLI is this process) whose events.ndjson gets a progress event every 20 ms, 40 groups
// each (2,000 groups a second), as the runtime's CLI appends them.
//
// A frame is one turn of the event loop in which the UI worked, timed on the wall clock: from
// the first of the refresh reading the runs, React starting to render the tree, or Ink
// writing, to the last of React committing and Ink's layout and write. Draws into an
// in-memory 120×40 terminal. Targets (issue 15): ≤ 16 ms per frame, ≤ 5% of a core idle.
import { EventEmitter } from 'node:events';
import { appendFileSync, mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { PassThrough } from 'node:stream';
import { parseArgs } from 'node:util';

process.env.NODE_ENV ??= 'production';
const { render } = await import('ink');
const { createElement: h, useLayoutEffect } = await import('react');
const { App } = await import('../dist/cli/ui/dashboard/app.js');
const { LiveProgress } = await import('../dist/cli/ui/live-progress.js');
const { LiveRunView } = await import('../dist/cli/ui/live-run.js');
const { dashboardSource } = await import('../dist/runs/dashboard.js');
const { loadProject } = await import('../dist/pipeline/project.js');
const { RunStore } = await import('../dist/jobs/run-store.js');

const { values } = parseArgs({ options: { groups: { type: 'string', default: '10000' }, idle: { type: 'string', default: '5' } } });
const GROUPS = Number(values.groups);
const IDLE_S = Number(values.idle);
const sleep = (ms) => new Promise((r) => setTimeout(r, ms));

/** Frames as turns of the event loop: begin() and end() mark UI work; a turn's frame closes after it. */
class Frames {
  times = [];
  byPhase = {};
  phase = 'all';
  onlyDrawn = false;
  commits = 0;
  draws = 0;
  open = null;
  begin(t = performance.now()) {
    if (this.open) return;
    this.open = { start: t, end: t, firstWrite: null, wrote: false };
    const phase = this.phase;
    setImmediate(() => {
      if (this.onlyDrawn && !this.open.wrote) {
        this.open = null;
        return;
      }
      this.times.push(this.open.end - this.open.start);
      (this.byPhase[phase] ??= []).push(this.open.end - this.open.start);
      this.open = null;
    });
  }
  end() {
    this.begin();
    this.open.end = performance.now();
  }
  write() {
    this.begin();
    this.open.wrote = true;
    this.open.firstWrite ??= performance.now();
    this.open.end = performance.now();
  }
  /** Ink's onRender: its layout took renderTime before the first write of the frame. */
  drawn(renderTime) {
    const t = performance.now();
    this.draws += 1;
    this.begin(t);
    this.open.start = Math.min(this.open.start, (this.open.firstWrite ?? t) - renderTime);
    this.open.end = t;
  }
}

class Terminal extends EventEmitter {
  isTTY = true;
  columns = 120;
  rows = 40;
  bytes = 0;
  constructor(frames) {
    super();
    this.frames = frames;
  }
  write(s) {
    this.frames?.write();
    this.bytes += s.length;
    return true;
  }
}
function keys() {
  const stdin = new PassThrough();
  Object.assign(stdin, { isTTY: true, setRawMode: () => stdin, ref: () => stdin, unref: () => stdin });
  return stdin;
}

function stats(xs) {
  const s = [...xs].sort((a, b) => a - b);
  const at = (q) => s[Math.min(s.length - 1, Math.floor(q * s.length))] ?? 0;
  return { frames: s.length, median: at(0.5), p95: at(0.95), max: s.at(-1) ?? 0 };
}
const ms = (v) => `${v.toFixed(2)} ms`;
const show = (name, f) => {
  const r = stats(f.times);
  console.log(`${name}: ${r.frames} frames (${f.commits} React commits, ${f.draws} Ink draws) · median ${ms(r.median)} · p95 ${ms(r.p95)} · max ${ms(r.max)}`);
  const phases = Object.entries(f.byPhase);
  if (phases.length > 1) {
    for (const [phase, xs] of phases) {
      const p = stats(xs);
      console.log(`  ${phase}: ${p.frames} frames · median ${ms(p.median)} · p95 ${ms(p.p95)} · max ${ms(p.max)}`);
    }
  }
};
async function idleCpu(seconds) {
  const c0 = process.cpuUsage();
  const t0 = performance.now();
  await sleep(seconds * 1000);
  const c = process.cpuUsage(c0);
  return ((c.user + c.system) / 1000 / (performance.now() - t0)) * 100;
}

// The project: two runs in .manymodels/runs as train writes them.
const dir = mkdtempSync(path.join(tmpdir(), 'mm-bench-dash-'));
writeFileSync(
  path.join(dir, 'pipelines.yaml'),
  'version: 1\nproject: bench\ntargets:\n  local: { engine: local }\npipelines:\n  - name: bench\n    data: { format: csv, path: sales.csv }\n    keys: [store_id, item_id]\n    time: { column: date, frequency: D }\n    target: sales\n    task: forecast\n    model: { type: linear }\n    metrics: [wape, rmse]\n',
);
const { project } = loadProject({ file: 'pipelines.yaml', cwd: dir, vars: {}, env: {} });
if (!project) throw new Error('the bench project did not load');
const store = new RunStore(project.target.stateDir);
const t0 = Date.now();
const at = (s) => new Date(t0 + s * 1000);
const failedCount = Math.ceil(GROUPS / 97);
const finished = store.create({
  id: store.newRunId('train', at(-600)), stage: 'train', pipeline: 'bench', project: 'bench', target: 'local', engine: 'local', state: 'succeeded', resumeOf: null, sourceRun: null,
  createdAt: at(-600).toISOString(), finishedAt: at(-300).toISOString(), counts: { total: GROUPS, ok: GROUPS - failedCount, failed: failedCount, skipped: 0 }, timings: { runSeconds: 300 },
});
const groups = [];
for (let k = 0; k < GROUPS; k++) {
  const failed = k % 97 === 0;
  groups.push({
    groupId: `g${k}`, modelName: `bench__${k % 100}_${Math.floor(k / 100)}`, keys: { store_id: String(k % 100), item_id: String(Math.floor(k / 100)) },
    status: failed ? 'failed' : 'ok', reason: null, errorClass: failed ? 'ValueError' : null, errorMessage: failed ? 'not enough rows' : null,
    metrics: failed ? {} : { wape: 0.2 + ((k * 7919) % 1000) / 1000, rmse: (k % 50) + 1 }, artifact: null, sha256: null, fitSeconds: 0.01,
  });
}
writeFileSync(
  path.join(store.runDir(finished.id), 'run-manifest.json'),
  JSON.stringify({ specVersion: 1, runId: finished.id, stage: 'train', pipeline: 'bench', startedAt: finished.createdAt, finishedAt: finished.finishedAt, dataFingerprint: null, counts: finished.counts, groups }),
);
const running = store.create({ id: store.newRunId('train', at(0)), stage: 'train', pipeline: 'bench', project: 'bench', target: 'local', engine: 'local', state: 'running', resumeOf: null, sourceRun: null });
const events = path.join(store.runDir(running.id), 'events.ndjson');
writeFileSync(events, `${JSON.stringify({ event: 'start', total: GROUPS, ts: new Date().toISOString() })}\n`);
let done = 0;
const progress = () => {
  done = Math.min(GROUPS, done + 40);
  const failed = Math.floor(done / 97);
  appendFileSync(events, `${JSON.stringify({ event: 'progress', done, ok: done - failed, failed, skipped: 0, total: GROUPS, ts: new Date().toISOString() })}\n`);
};
const real = dashboardSource({ project, context: { env: {} }, file: 'pipelines.yaml', cwd: dir, env: {}, bin: path.join(import.meta.dirname, '../bin/manymodels.js') });

// 1. The dashboard while the events stream: the runs list, the running run's detail, then the
// groups table of the 10,000-group run, scrolled with j, refreshing every 50 ms.
{
  const frames = new Frames();
  // Reading the runs is part of the frame that shows them.
  const source = { ...real, runs: () => (frames.begin(), real.runs()), detail: (id) => (frames.begin(), real.detail(id)) };
  const term = new Terminal(frames);
  const stdin = keys();
  function Timed(props) {
    frames.begin();
    const tree = App(props);
    useLayoutEffect(() => {
      frames.commits += 1;
      frames.end();
    });
    return tree;
  }
  const tree = (refreshMs) => h(Timed, { source, refreshMs });
  const app = render(tree(50), { stdout: term, stdin, exitOnCtrlC: false, patchConsole: false, interactive: true, onRender: ({ renderTime }) => frames.drawn(renderTime) });
  const stream = setInterval(progress, 20);
  frames.phase = 'runs list';
  await sleep(500);
  frames.phase = 'run detail, live';
  stdin.write('\r');
  while (done < GROUPS / 2) await sleep(20);
  frames.phase = 'runs list';
  stdin.write('\x1b');
  await sleep(100);
  stdin.write('j');
  await sleep(100);
  frames.phase = 'run detail, 10,000 groups';
  stdin.write('\r');
  await sleep(200);
  frames.phase = 'groups table, scrolled';
  stdin.write('g');
  while (done < GROUPS) {
    stdin.write('j');
    await sleep(30);
  }
  clearInterval(stream);
  await sleep(200);
  show(`dashboard (NODE_ENV=${process.env.NODE_ENV})`, frames);
  app.rerender(tree(1000));
  await sleep(200);
  console.log(`dashboard idle (refresh 1 s, groups view of ${GROUPS} groups): ${(await idleCpu(IDLE_S)).toFixed(2)}% of a core over ${IDLE_S} s`);
  app.unmount();
}

// 2. The live progress component rendered once per progress event of the run (no coalescing:
// the component's own cost), then the live view under `train` (LiveRunView, which coalesces)
// fed the same 10,000 events at 2,000 a second: its frames and its CPU while they stream.
{
  const frames = new Frames();
  const term = new Terminal(frames);
  const tree = (d) => h(LiveProgress, { width: 60, counts: { done: d, failed: Math.floor(d / 97), skipped: 0, total: GROUPS }, elapsedSeconds: d / 2000, running: d < GROUPS });
  const app = render(tree(0), { stdout: term, stdin: keys(), exitOnCtrlC: false, patchConsole: false, interactive: true, onRender: ({ renderTime }) => frames.drawn(renderTime) });
  for (let d = 1; d <= GROUPS; d++) {
    frames.begin();
    app.rerender(tree(d));
    frames.commits += 1;
    frames.end();
    // One progress event a turn, as they arrive from the runtime.
    await (d % 40 === 0 ? sleep(2) : new Promise((r) => setImmediate(r)));
  }
  await sleep(100);
  app.unmount();
  show('live progress component, a render per event', frames);
}
{
  const frames = new Frames();
  // Only the turns that drew: the others took in an event for the next frame.
  frames.onlyDrawn = true;
  const view = new LiveRunView(Object.assign(new Terminal(frames), { columns: 60 }));
  // Its renders (coalesced ones run from a timer): timed from React's render on.
  const rerender = view.ink.rerender.bind(view.ink);
  view.ink.rerender = (tree) => {
    frames.begin();
    rerender(tree);
    frames.commits += 1;
    frames.end();
  };
  const c0 = process.cpuUsage();
  const w0 = performance.now();
  for (let d = 1; d <= GROUPS; d++) {
    frames.begin();
    view.update({ done: d, failed: Math.floor(d / 97), skipped: 0, total: GROUPS });
    frames.end();
    await (d % 40 === 0 ? sleep(20) : new Promise((r) => setImmediate(r)));
  }
  const c = process.cpuUsage(c0);
  const cpu = ((c.user + c.system) / 1000 / (performance.now() - w0)) * 100;
  show('live view under train, 2,000 events/s (turns that drew)', frames);
  console.log(`live view under train: ${cpu.toFixed(1)}% of a core while the events stream (the bench's own loop included)`);
  view.update({ done: 5000, failed: 51, skipped: 0, total: GROUPS });
  await sleep(100);
  console.log(`live view idle (train waiting on a slow group): ${(await idleCpu(IDLE_S)).toFixed(2)}% of a core over ${IDLE_S} s`);
  view.end();
}
rmSync(dir, { recursive: true, force: true });
