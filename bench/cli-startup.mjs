// Measures how long `manymodels --help` and `manymodels validate pipelines.yaml` take as a
// user runs them: a fresh Node process each time, wall clock, median of N runs.
//   node bench/cli-startup.mjs [runs=15]
import { spawnSync } from 'node:child_process';
import { fileURLToPath } from 'node:url';

const root = fileURLToPath(new URL('..', import.meta.url));
const runs = Number(process.argv[2] ?? 15);
const bin = `${root}bin/manymodels.js`;

function measure(args) {
  const times = [];
  spawnSync(process.execPath, [bin, ...args], { cwd: root }); // warm the file cache
  for (let i = 0; i < runs; i++) {
    const t = process.hrtime.bigint();
    const r = spawnSync(process.execPath, [bin, ...args], { cwd: root, encoding: 'utf8' });
    times.push(Number(process.hrtime.bigint() - t) / 1e6);
    if (r.status !== 0) throw new Error(`manymodels ${args.join(' ')} exited ${r.status}: ${r.stderr}`);
  }
  times.sort((a, b) => a - b);
  const q = (p) => times[Math.min(times.length - 1, Math.floor(p * times.length))];
  return { median: q(0.5), min: times[0], p90: q(0.9) };
}

console.log(`node ${process.version}, ${runs} runs each, wall clock ms`);
for (const args of [['--help'], ['validate', 'pipelines.yaml']]) {
  const r = measure(args);
  console.log(`manymodels ${args.join(' ').padEnd(24)} median ${r.median.toFixed(0)}  min ${r.min.toFixed(0)}  p90 ${r.p90.toFixed(0)}`);
}
