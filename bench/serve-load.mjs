// Load on `manymodels serve`: N production `linear` models (stores × items daily series),
// a cache sized for a tenth of them, Zipf-distributed keys from a keep-alive load generator on
// 127.0.0.1 asking for 7-day forecasts. Reports p50/p99 latency for warm hits and cold loads
// (told apart by the x-manymodels-cache header), warm requests/s, and the peak memory of the
// server and its workers against a server that preloads every model.
// Usage: node bench/serve-load.mjs [STORES=100] [ITEMS=100] [REQUESTS=40000] [CONCURRENCY=32]
// Any answer that is not a 200 is counted; the first is printed with its body, and the script
// exits 1 (figures of a failing server measure its errors, not its scoring).
// (needs `npm run build`; the first run trains and promotes, ~2–4 min at 10,000 models, and
// keeps the project under $TMPDIR/mm-bench-serve-STORESxITEMS for later runs)
import { execFileSync, spawn } from 'node:child_process';
import { existsSync, mkdirSync, readFileSync, writeFileSync } from 'node:fs';
import { Agent, request } from 'node:http';
import { tmpdir } from 'node:os';
import path from 'node:path';

const [stores, items, total, concurrency] = [100, 100, 40_000, 32].map((d, i) => Number(process.argv[2 + i] ?? d));
const repo = path.resolve(import.meta.dirname, '..');
const bin = path.join(repo, 'bin/manymodels.js');
const python = process.env.MANYMODELS_PYTHON ?? 'python3';
const dir = path.join(tmpdir(), `mm-bench-serve-${stores}x${items}`);

function cli(args) {
  execFileSync(process.execPath, [bin, ...args], { cwd: dir, stdio: ['ignore', 'ignore', 'inherit'] });
}

if (!existsSync(path.join(dir, '.manymodels/production/registry.db'))) {
  mkdirSync(dir, { recursive: true });
  writeFileSync(path.join(dir, 'pipelines.yaml'), `version: 1
project: bench
pipelines:
  - name: daily
    data: { format: csv, path: data/sales.csv }
    keys: [store_id, item_id]
    time: { column: date, frequency: D }
    target: sales
    features: [price, promo]
    task: forecast
    model: { type: linear, holdout: 7 }
    metrics: [wape]
    promotion:
      rules: [{ metric: wape, max: 100 }]
      gate: { min_promoted_fraction: 0 }
    scoring: { horizon: 7, table: predictions }
`);
  execFileSync(python, [path.join(repo, 'pyspark-templates/sample_data_entry.py'), '--out', path.join(dir, 'data/sales.csv'), '--stores', String(stores), '--items', String(items), '--days', '120', '--seed', '1'], { stdio: 'ignore' });
  const t = Date.now();
  cli(['train']);
  cli(['promote']);
  console.log(`trained and promoted in ${((Date.now() - t) / 1000).toFixed(0)} s`);
}

// The production groups, read the way the server will (models list --json would do too).
const { DatabaseSync } = await import('node:sqlite');
const db = new DatabaseSync(path.join(dir, '.manymodels/production/registry.db'), { readOnly: true });
const groups = db.prepare('SELECT DISTINCT keys_json FROM versions').all().map((r) => JSON.parse(r.keys_json));
db.close();
const n = groups.length;

/** Zipf(s) over ranks 1..n by inverse CDF on a precomputed table. */
function zipf(s, seed) {
  const cdf = new Float64Array(n);
  let acc = 0;
  for (let k = 1; k <= n; k++) cdf[k - 1] = acc += 1 / k ** s;
  for (let k = 0; k < n; k++) cdf[k] /= acc;
  let x = seed >>> 0;
  const rand = () => ((x = (Math.imul(x, 1664525) + 1013904223) >>> 0) / 2 ** 32);
  return () => {
    const u = rand();
    let lo = 0;
    let hi = n - 1;
    while (lo < hi) {
      const mid = (lo + hi) >> 1;
      if (cdf[mid] < u) lo = mid + 1;
      else hi = mid;
    }
    return lo;
  };
}

function treeRssPeakKb(pid) {
  // VmHWM (peak resident) of the server and every process under it.
  const all = execFileSync('ps', ['-e', '-o', 'pid=,ppid='], { encoding: 'utf8' }).trim().split('\n').map((l) => l.trim().split(/\s+/).map(Number));
  const tree = [pid];
  for (let i = 0; i < tree.length; i++) for (const [p, pp] of all) if (pp === tree[i]) tree.push(p);
  let kb = 0;
  for (const p of tree) {
    try {
      const m = /VmHWM:\s+(\d+)/.exec(readFileSync(`/proc/${p}/status`, 'utf8'));
      kb += m ? Number(m[1]) : 0;
    } catch {
      // gone
    }
  }
  return kb;
}

async function startServer(extra) {
  const child = spawn(process.execPath, [bin, 'serve', '--port', '0', ...extra], { cwd: dir, stdio: ['ignore', 'ignore', 'pipe'] });
  let err = '';
  child.stderr.on('data', (d) => (err += d));
  while (!/ on (http:\/\/\S+)/.test(err)) {
    if (child.exitCode !== null) throw new Error(err);
    await new Promise((r) => setTimeout(r, 50));
  }
  return { child, url: new URL(/ on (http:\/\/\S+)/.exec(err)[1]) };
}

let failures = 0;
let firstFailure = null;
function failed() {
  if (!failures) return false;
  console.error(`FAILED: ${failures} request(s) not answered 200; the first: status ${firstFailure.status} for ${JSON.stringify(firstFailure.keys)}: ${firstFailure.body}`);
  return true;
}

function fire(url, agent, keys) {
  const body = JSON.stringify({ keys, horizon: 7 });
  const t = process.hrtime.bigint();
  return new Promise((resolve, reject) => {
    const req = request({ host: url.hostname, port: url.port, path: '/v1/pipelines/daily/predict', method: 'POST', agent, headers: { 'content-type': 'application/json', 'content-length': Buffer.byteLength(body) } }, (res) => {
      res.resume();
      res.on('end', () => resolve({ status: res.statusCode, cache: res.headers['x-manymodels-cache'], ms: Number(process.hrtime.bigint() - t) / 1e6 }));
    });
    req.on('error', reject);
    req.end(body);
  });
}

async function load(url, pick, count) {
  const agent = new Agent({ keepAlive: true, maxSockets: concurrency });
  const results = [];
  let next = 0;
  const t = Date.now();
  await Promise.all(Array.from({ length: concurrency }, async () => {
    while (next < count) {
      next += 1;
      results.push(await fire(url, agent, groups[pick()]));
    }
  }));
  agent.destroy();
  return { results, seconds: (Date.now() - t) / 1000 };
}

const pct = (xs, p) => {
  if (!xs.length) return NaN;
  const s = [...xs].sort((a, b) => a - b);
  return s[Math.min(s.length - 1, Math.floor((p / 100) * s.length))];
};

const cacheModels = Math.max(1, Math.round(n / 10));
console.log(`${n.toLocaleString('en-US')} production models, cache for ${cacheModels.toLocaleString('en-US')}, ${total.toLocaleString('en-US')} requests, ${concurrency} at once, Zipf s=1.1`);
const lazy = await startServer(['--workers', '2', '--cache-models', String(cacheModels)]);
try {
  const pick = zipf(1.1, 7);
  const { results, seconds } = await load(lazy.url, pick, total);
  const ok = results.filter((r) => r.status === 200);
  const warm = ok.filter((r) => r.cache === 'hit').map((r) => r.ms);
  const cold = ok.filter((r) => r.cache === 'miss').map((r) => r.ms);
  console.log(`all: ${results.length} requests in ${seconds.toFixed(1)} s = ${(results.length / seconds).toFixed(0)} req/s, ${results.length - ok.length} not 200`);
  console.log(`warm: ${warm.length} · p50 ${pct(warm, 50).toFixed(2)} ms · p99 ${pct(warm, 99).toFixed(2)} ms`);
  console.log(`cold: ${cold.length} · p50 ${pct(cold, 50).toFixed(2)} ms · p99 ${pct(cold, 99).toFixed(2)} ms`);
  if (failed()) {
    lazy.child.kill('SIGTERM');
    process.exit(1);
  }
  // Warm throughput: the hottest 500 groups only, all loaded by now.
  const hot = zipf(1.1, 11);
  const pickHot = () => hot() % Math.min(500, cacheModels);
  await load(lazy.url, pickHot, 2_000);
  const w = await load(lazy.url, pickHot, Math.min(total, 20_000));
  const wms = w.results.map((r) => r.ms);
  console.log(`warm only: ${(w.results.length / w.seconds).toFixed(0)} req/s · p50 ${pct(wms, 50).toFixed(2)} ms · p99 ${pct(wms, 99).toFixed(2)} ms`);
  if (failed()) process.exitCode = 1;
  else console.log(`peak memory, cache for ${cacheModels}: ${(treeRssPeakKb(lazy.child.pid) / 1024).toFixed(0)} MB (server + workers)`);
} finally {
  lazy.child.kill('SIGTERM');
}
// No figures from a server that failed: the warm-only and memory numbers would be of errors.
if (failures) process.exit(1);
const eager = await startServer(['--workers', '2', '--cache-models', String(n), '--cache-mb', '8192']);
try {
  let i = 0;
  await load(eager.url, () => i++ % n, n);
  if (failed()) process.exitCode = 1;
  else console.log(`peak memory, every model loaded: ${(treeRssPeakKb(eager.child.pid) / 1024).toFixed(0)} MB (server + workers)`);
} finally {
  eager.child.kill('SIGTERM');
}
