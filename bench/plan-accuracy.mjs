#!/usr/bin/env node
// How close `manymodels plan`'s local estimate comes to the measured `manymodels train`: for
// each data size × model, a fresh project with the generator's data, `plan --json` (its
// estimate.local.wall_seconds), then `train --json` timed from spawn to exit (what a user
// waits), and the error of the estimate in % of the measured time. The plan leaves the
// parsed-input cache warm, as any earlier run would; the train then reads from it, which is
// what the estimate assumes. Projects go to bench-data/plan-accuracy/ (git-ignored), removed
// afterwards unless --keep.
//
//   node bench/plan-accuracy.mjs [--sizes small,medium,large] [--models linear,gbm] [--pilot 50] [--workers 0] [--json]
//
// Sizes (generator stores × items × days): small 5 × 10 × 365 (50 groups, ~18k rows),
// medium 10 × 50 × 730 (500 groups, ~365k rows), large 20 × 100 × 1095 (2,000 groups, ~2.2M rows).
import { spawnSync } from 'node:child_process';
import { mkdirSync, rmSync, writeFileSync } from 'node:fs';
import path from 'node:path';
import { parseArgs } from 'node:util';

const ROOT = path.resolve(import.meta.dirname, '..');
const BIN = path.join(ROOT, 'bin/manymodels.js');
const WORK = path.join(ROOT, 'bench-data', 'plan-accuracy');
const SIZES = {
  small: { stores: 5, items: 10, days: 365 },
  medium: { stores: 10, items: 50, days: 730 },
  large: { stores: 20, items: 100, days: 1095 },
};
const { values: args } = parseArgs({
  options: {
    sizes: { type: 'string', default: 'small,medium,large' },
    models: { type: 'string', default: 'linear,gbm' },
    pilot: { type: 'string', default: '50' },
    workers: { type: 'string', default: '0' },
    keep: { type: 'boolean', default: false },
    json: { type: 'boolean', default: false },
  },
});
const log = (msg) => process.stderr.write(`[bench] ${msg}\n`);
const sizes = args.sizes.split(',').map((s) => s.trim()).filter(Boolean);
const models = args.models.split(',').map((s) => s.trim()).filter(Boolean);
for (const s of sizes) if (!SIZES[s]) throw new Error(`unknown size ${s} (small, medium, large)`);
for (const m of models) if (!/^[a-z_]+$/.test(m)) throw new Error(`not a model type: ${m}`);
if (!/^\d+$/.test(args.workers) || !/^\d+$/.test(args.pilot)) throw new Error('--workers and --pilot are whole numbers');

const pipelinesYaml = (model) => `version: 1
project: plan-accuracy
targets:
  local: { default: true, engine: local, workers: ${args.workers} }
pipelines:
  - name: bench
    data: { format: csv, path: data/sales.csv }
    keys: [store_id, item_id]
    time: { column: date, frequency: D }
    target: sales
    features: [price, promo]
    task: forecast
    model: { type: ${model}, holdout: 28 }
    metrics: [wape]
    scoring: { horizon: 28, table: predictions }
`;

/** Runs the built CLI in `cwd`; its wall time in seconds, exit code and output. */
function cli(cwd, argv) {
  const t0 = performance.now();
  const r = spawnSync(process.execPath, [BIN, ...argv], { cwd, encoding: 'utf8', maxBuffer: 1 << 28, env: { ...process.env, CI: '', TF_BUILD: '', GITHUB_ACTIONS: '' } });
  const seconds = (performance.now() - t0) / 1000;
  if (r.status !== 0) throw new Error(`manymodels ${argv.join(' ')} exited ${r.status}: ${(r.stderr ?? '').slice(-2000)}`);
  return { seconds, stdout: r.stdout };
}

const results = [];
mkdirSync(WORK, { recursive: true });
for (const size of sizes) {
  const { stores, items, days } = SIZES[size];
  const dir = path.join(WORK, size);
  rmSync(dir, { recursive: true, force: true });
  mkdirSync(dir, { recursive: true });
  log(`${size}: generating ${stores * items} series × ${days} days`);
  writeFileSync(path.join(dir, 'pipelines.yaml'), pipelinesYaml(models[0]));
  cli(dir, ['sample-data', '--out', 'data/sales.csv', '--stores', String(stores), '--items', String(items), '--days', String(days), '--seed', '11', '--json']);
  for (const model of models) {
    writeFileSync(path.join(dir, 'pipelines.yaml'), pipelinesYaml(model));
    log(`${size} × ${model}: plan`);
    const plan = cli(dir, ['plan', '--json', '--pilot', args.pilot]);
    const line = JSON.parse(plan.stdout.trim().split('\n').pop());
    const estimate = line.estimate.local;
    log(`${size} × ${model}: train`);
    const train = cli(dir, ['train', '--json']);
    const error = ((estimate.wall_seconds - train.seconds) / train.seconds) * 100;
    results.push({
      size, model, groups: line.profile.groups, rows: line.profile.rows, workers: estimate.workers,
      planSeconds: Number(plan.seconds.toFixed(2)), estimateSeconds: estimate.wall_seconds,
      measuredSeconds: Number(train.seconds.toFixed(2)), errorPercent: Number(error.toFixed(1)), parts: estimate.parts,
    });
    log(`${size} × ${model}: estimate ${estimate.wall_seconds.toFixed(1)} s, measured ${train.seconds.toFixed(1)} s (${error >= 0 ? '+' : ''}${error.toFixed(1)} %)`);
  }
  if (!args.keep) rmSync(dir, { recursive: true, force: true });
}

if (args.json) process.stdout.write(`${JSON.stringify(results, null, 2)}\n`);
else {
  const rows = [['size', 'model', 'groups', 'rows', 'workers', 'plan s', 'estimate s', 'train s', 'error %']];
  for (const r of results) rows.push([r.size, r.model, String(r.groups), String(r.rows), String(r.workers), r.planSeconds.toFixed(1), r.estimateSeconds.toFixed(1), r.measuredSeconds.toFixed(1), `${r.errorPercent >= 0 ? '+' : ''}${r.errorPercent.toFixed(1)}`]);
  const widths = rows[0].map((_, c) => Math.max(...rows.map((r) => r[c].length)));
  for (const r of rows) process.stdout.write(`${r.map((v, c) => (c < 2 ? v.padEnd(widths[c]) : v.padStart(widths[c]))).join('  ')}\n`);
  const within = results.filter((r) => Math.abs(r.errorPercent) <= 25).length;
  process.stdout.write(`${within} of ${results.length} estimates within ±25 % of the measured train\n`);
}
