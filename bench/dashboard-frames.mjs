// Benchmark: frame time of the dashboard and of the live progress component while a synthetic
// run of 10,000 groups streams its results, and CPU when nothing happens.
//   npm run build && node bench/dashboard-frames.mjs [--groups 10000] [--idle 5]
// Draws into an in-memory 120×40 terminal. A frame's time is React's render of the tree
// (Profiler actualDuration) plus Ink's layout and output (Ink's onRender renderTime).
// Targets (issue 15): ≤ 16 ms per frame, ≤ 5% of a core when idle.
import { EventEmitter } from 'node:events';
import { PassThrough } from 'node:stream';
import { parseArgs } from 'node:util';
import { render } from 'ink';
import { createElement as h, Profiler } from 'react';
import { App } from '../dist/cli/ui/dashboard/app.js';
import { LiveProgress } from '../dist/cli/ui/live-progress.js';
import { LiveRunView } from '../dist/cli/ui/live-run.js';

const { values } = parseArgs({ options: { groups: { type: 'string', default: '10000' }, idle: { type: 'string', default: '5' } } });
const GROUPS = Number(values.groups);
const IDLE_S = Number(values.idle);
const sleep = (ms) => new Promise((r) => setTimeout(r, ms));

class Terminal extends EventEmitter {
  isTTY = true;
  columns = 120;
  rows = 40;
  bytes = 0;
  write(s) {
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
const show = (name, xs) => {
  const r = stats(xs);
  console.log(`${name}: ${r.frames} frames · median ${ms(r.median)} · p95 ${ms(r.p95)} · max ${ms(r.max)}`);
};
async function idleCpu(seconds) {
  const c0 = process.cpuUsage();
  const t0 = performance.now();
  await sleep(seconds * 1000);
  const c = process.cpuUsage(c0);
  return ((c.user + c.system) / 1000 / (performance.now() - t0)) * 100;
}

// Two runs: a finished training run of 10,000 groups (its manifest read and parsed again at
// every refresh, as the dashboard reads run-manifest.json), and a running one whose progress
// events stream in over ~5 s (2,000 groups a second).
const started = Date.now();
const record = (id, state) => ({
  id, stage: 'train', pipeline: 'bench', project: 'bench', target: 'local', engine: 'local', state, createdAt: new Date(started).toISOString(),
  finishedAt: null, counts: null, timings: {}, resumeOf: null, sourceRun: null, external: null, error: null, summary: {},
});
const running = record('20261207-120500-train-123456', 'running');
const finished = { ...record('20261207-120000-train-abcdef', 'succeeded'), counts: { total: GROUPS, ok: GROUPS - Math.ceil(GROUPS / 97), failed: Math.ceil(GROUPS / 97), skipped: 0 } };
const groups = [];
for (let k = 0; k < GROUPS; k++) {
  const failed = k % 97 === 0;
  groups.push({
    groupId: `g${k}`, modelName: `bench__${k % 100}_${Math.floor(k / 100)}`, keys: { store_id: String(k % 100), item_id: String(Math.floor(k / 100)) },
    status: failed ? 'failed' : 'ok', reason: null, errorClass: failed ? 'ValueError' : null, errorMessage: failed ? 'not enough rows' : null,
    metrics: failed ? {} : { wape: 0.2 + ((k * 7919) % 1000) / 1000, rmse: (k % 50) + 1 }, artifact: null, sha256: null, fitSeconds: 0.01,
  });
}
const manifestJson = JSON.stringify({
  specVersion: 1, runId: finished.id, stage: 'train', pipeline: 'bench', startedAt: finished.createdAt, finishedAt: finished.createdAt, dataFingerprint: null,
  counts: finished.counts, groups,
});
let done = 0;
const live = () => ({ done, ok: done - Math.floor(done / 97), failed: Math.floor(done / 97), skipped: 0, total: GROUPS, startedAt: started, updatedAt: Date.now() });
const source = {
  title: 'bench · pipelines.yaml · target local (local)',
  runs: () => [running, finished],
  live: (r) => (r.id === running.id ? live() : null),
  detail: (id) => (id === running.id ? { run: running, live: live() } : { run: finished, live: null, manifest: JSON.parse(manifestJson) }),
  models: async () => [],
  cancel: async () => 0,
  retrain: async () => 0,
};

// 1. The dashboard while the events stream: the runs list, the running run's detail, then the
// groups table of the 10,000-group run, scrolled.
{
  const react = [];
  const ink = [];
  const term = new Terminal();
  const stdin = keys();
  const tree = (refreshMs) => h(Profiler, { id: 'app', onRender: (_id, _phase, d) => react.push(d) }, h(App, { source, refreshMs }));
  const app = render(tree(50), { stdout: term, stdin, exitOnCtrlC: false, patchConsole: false, onRender: ({ renderTime }) => ink.push(renderTime) });
  const stream = setInterval(() => (done = Math.min(GROUPS, done + 40)), 20);
  await sleep(500);
  stdin.write('\r');
  while (done < GROUPS / 2) await sleep(20);
  stdin.write('\x1b');
  await sleep(100);
  stdin.write('j');
  await sleep(100);
  stdin.write('\r');
  await sleep(200);
  stdin.write('g');
  while (done < GROUPS) {
    stdin.write('j');
    await sleep(30);
  }
  clearInterval(stream);
  await sleep(200);
  const n = Math.min(react.length, ink.length);
  show('dashboard, React render', react);
  show('dashboard, Ink layout + output', ink);
  show('dashboard, frame (React + Ink)', react.slice(-n).map((r, i) => r + ink[ink.length - n + i]));
  app.rerender(tree(1000));
  await sleep(200);
  console.log(`dashboard idle (refresh 1 s, groups view of ${GROUPS} groups): ${(await idleCpu(IDLE_S)).toFixed(2)}% of a core over ${IDLE_S} s`);
  app.unmount();
}

// 2. The live progress component, one render per progress event of the run.
{
  const react = [];
  const ink = [];
  const term = new Terminal();
  const tree = (done) => h(Profiler, { id: 'live', onRender: (_id, _phase, d) => react.push(d) }, h(LiveProgress, { width: 60, counts: { done, failed: Math.floor(done / 97), skipped: 0, total: GROUPS }, elapsedSeconds: done / 2000, running: done < GROUPS }));
  const app = render(tree(0), { stdout: term, stdin: keys(), exitOnCtrlC: false, patchConsole: false, onRender: ({ renderTime }) => ink.push(renderTime) });
  for (let d = 1; d <= GROUPS; d++) {
    app.rerender(tree(d));
    if (d % 40 === 0) await sleep(2);
  }
  await sleep(100);
  app.unmount();
  show('live progress, React render', react);
  show('live progress, Ink layout + output', ink);
  const view = new LiveRunView(Object.assign(new Terminal(), { columns: 60 }));
  view.update({ done: 5000, failed: 51, skipped: 0, total: GROUPS });
  console.log(`live progress idle (train waiting on a slow group): ${(await idleCpu(IDLE_S)).toFixed(2)}% of a core over ${IDLE_S} s`);
  view.end();
}
