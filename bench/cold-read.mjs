#!/usr/bin/env node
// Cold linear training end to end (`manymodels train`, parsed-input cache cleared before each
// run), the runtime's own CSV reader beside the embedded reader (DuckDB) in the same run, on the
// generator's data as one CSV and as the same rows in two Parquet files: as Parquet is usually
// written (snappy, dictionaries; 0.08 GB) and uncompressed without dictionaries (1.42 GB, the
// "1 GB Parquet" of the issue). Rounds interleave the four so load on the machine falls on each alike; medians of --runs rounds. Each run starts
// after a `sync`, untimed, so no run pays for the disk writes of the one before. Each run's read
// time is taken from its runtime.log. Data and projects go to bench-data/ (git-ignored).
//
//   node bench/cold-read.mjs [--stores 100] [--items 100] [--days 4000] [--runs 3]
//
// The defaults are the full scale (40 million rows, 1.07 GB CSV); --items 5 is a 2M-row slice.
import { execFileSync, spawnSync } from 'node:child_process';
import { existsSync, mkdirSync, readFileSync, rmSync, statSync, writeFileSync } from 'node:fs';
import path from 'node:path';
import { parseArgs } from 'node:util';
import { DuckDBInstance } from '@duckdb/node-api';

const ROOT = path.resolve(import.meta.dirname, '..');
const DATA = path.join(ROOT, 'bench-data');
const PYTHON = process.env.MANYMODELS_PYTHON ?? 'python3';
const { values: args } = parseArgs({
  options: {
    stores: { type: 'string', default: '100' },
    items: { type: 'string', default: '100' },
    days: { type: 'string', default: '4000' },
    runs: { type: 'string', default: '3' },
  },
});
const runs = Number(args.runs);
const log = (msg) => process.stderr.write(`[bench] ${msg}\n`);

mkdirSync(DATA, { recursive: true });
const stem = `sales-${args.stores}x${args.items}x${args.days}`;
const csv = path.join(DATA, `${stem}.csv`);
const parquet = path.join(DATA, `${stem}.parquet`);
const plain = path.join(DATA, `${stem}-plain.parquet`);
if (!existsSync(csv)) {
  log(`generating ${Number(args.stores) * Number(args.items)} series × ${args.days} days`);
  execFileSync(PYTHON, [path.join(ROOT, 'pyspark-templates/sample_data_entry.py'), '--out', csv, '--stores', args.stores, '--items', args.items, '--days', args.days, '--seed', '0'], { stdio: 'inherit' });
}
if (!existsSync(parquet)) {
  log('writing the same rows as Parquet');
  const db = await DuckDBInstance.create(':memory:');
  const con = await db.connect();
  const q = (p) => `'${p.replace(/'/g, "''")}'`;
  // Keys stay text, as the CSV reader keeps them; numbers and dates typed, as a data lake holds them.
  await con.run(`COPY (SELECT store_id::VARCHAR AS store_id, item_id::VARCHAR AS item_id, date::DATE AS date, sales::DOUBLE AS sales, price::DOUBLE AS price, promo::INTEGER AS promo FROM read_csv(${q(csv)}, all_varchar=true, header=true)) TO ${q(parquet)} (FORMAT parquet)`);
  con.closeSync();
  db.closeSync();
}
if (!existsSync(plain)) {
  log('writing the same rows as uncompressed Parquet without dictionaries');
  const db = await DuckDBInstance.create(':memory:');
  const con = await db.connect();
  const q = (p) => `'${p.replace(/'/g, "''")}'`;
  await con.run(`COPY (SELECT * FROM read_parquet(${q(parquet)})) TO ${q(plain)} (FORMAT parquet, COMPRESSION uncompressed, DICTIONARY_SIZE_LIMIT 0)`);
  con.closeSync();
  db.closeSync();
}

const pipeline = (format, file) => `version: 1
project: bench
pipelines:
  - name: sales
    data: { format: ${format}, path: ../${path.basename(file)} }
    keys: [store_id, item_id]
    time: { column: date, frequency: D }
    target: sales
    features: [price, promo]
    task: forecast
    model: { type: linear, holdout: 28 }
    metrics: [wape, mape, rmse]
    promotion:
      rules: [{ metric: wape, max: 10 }]
    failure_budget: { max_failed_fraction: 0.05 }
    scoring: { horizon: 28 }
`;

const cases = [
  { name: 'CSV, the runtime reader (pandas)', dir: 'cold-csv-python', format: 'csv', file: csv, reader: 'python' },
  { name: 'CSV, the embedded reader (DuckDB)', dir: 'cold-csv-duckdb', format: 'csv', file: csv, reader: 'duckdb' },
  { name: 'Parquet, the embedded reader (DuckDB)', dir: 'cold-parquet-duckdb', format: 'parquet', file: parquet, reader: 'duckdb' },
  { name: 'Parquet uncompressed, the embedded reader (DuckDB)', dir: 'cold-parquet-plain-duckdb', format: 'parquet', file: plain, reader: 'duckdb' },
];
for (const c of cases) {
  const dir = path.join(DATA, c.dir);
  rmSync(dir, { recursive: true, force: true });
  mkdirSync(dir);
  writeFileSync(path.join(dir, 'pipelines.yaml'), pipeline(c.format, c.file));
  c.results = [];
}

/** The read time its runtime.log states: the embedded reader's line, else the runtime's own. */
function readSeconds(dir, stdout) {
  const run = /Run (\d{8}-\d{6}-\w+-[0-9a-f]{6})/.exec(stdout)?.[1];
  const text = readFileSync(path.join(dir, '.manymodels', 'runs', run, 'runtime.log'), 'utf8');
  const embedded = /read by the embedded reader \(DuckDB\) in ([\d.]+)s/.exec(text);
  const runtime = /read \d+ rows in ([\d.]+)s/.exec(text);
  return Number(embedded?.[1] ?? 0) + Number(runtime?.[1] ?? 0);
}

for (let round = 1; round <= runs; round++) {
  for (const c of cases) {
    const dir = path.join(DATA, c.dir);
    rmSync(path.join(dir, '.manymodels', 'cache'), { recursive: true, force: true });
    // Each run starts with no dirty pages of the one before: the kernel writes a run's ~1 GB
    // cache entry back to disk ~30 s after it, which otherwise lands on whichever run is next.
    spawnSync('sync');
    const env = { ...process.env, MANYMODELS_INPUT_READER: c.reader };
    const t0 = performance.now();
    const r = spawnSync(process.execPath, [path.join(ROOT, 'bin/manymodels.js'), 'train'], { cwd: dir, env, encoding: 'utf8' });
    const seconds = (performance.now() - t0) / 1000;
    if (r.status !== 0) throw new Error(`${c.name}: train failed\n${r.stdout}\n${r.stderr}`);
    const read = readSeconds(dir, r.stdout);
    c.results.push({ seconds, read });
    log(`round ${round}, ${c.name}: ${seconds.toFixed(1)} s (read ${read.toFixed(1)} s)`);
  }
}

const median = (xs) => {
  const s = [...xs].sort((a, b) => a - b);
  return s.length % 2 ? s[(s.length - 1) / 2] : (s[s.length / 2 - 1] + s[s.length / 2]) / 2;
};
const gb = (f) => (statSync(f).size / 1e9).toFixed(2);
const rows = Number(args.stores) * Number(args.items) * Number(args.days);
console.log(`\n${(rows / 1e6).toFixed(1)}M rows (nominal; ${args.stores}×${args.items} series × ${args.days} days): CSV ${gb(csv)} GB, Parquet ${gb(parquet)} GB, uncompressed ${gb(plain)} GB; medians of ${runs} rounds, ${new Date().toISOString().slice(0, 16)}Z\n`);
console.log('| cold `linear` train | runs | median | read (median) |\n| --- | --- | --- | --- |');
for (const c of cases) {
  console.log(`| ${c.name} | ${c.results.map((r) => r.seconds.toFixed(1)).join(' / ')} s | **${median(c.results.map((r) => r.seconds)).toFixed(1)} s** | ${median(c.results.map((r) => r.read)).toFixed(1)} s |`);
}
