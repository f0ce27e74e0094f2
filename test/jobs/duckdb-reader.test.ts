// The embedded reader (DuckDB, in the CLI) against the runtime's own CSV reader, on real files:
// the cache entry it writes, loaded by the runtime, is the Table the runtime's reader makes —
// keys and their codes, group sizes, times, target and feature values and dtypes — and a bad
// input is the same coded error with the same message.
import { spawnSync } from 'node:child_process';
import { readFileSync, readdirSync, writeFileSync } from 'node:fs';
import path from 'node:path';
import { DuckDBInstance } from '@duckdb/node-api';
import { describe, expect, it } from 'vitest';
import type { JobSpec } from '../../src/contracts/job-spec.js';
import { InputProblem } from '../../src/jobs/local/input-files.js';
import { prepareInput } from '../../src/jobs/local/duckdb-reader.js';
import { PYTHON, REPO, projectKit } from '../helpers/project.js';

const kit = projectKit('mm-duckdb-');

// NA strings, quoted fields (a delimiter, a line break and a quote inside), empty and
// whitespace keys, a key written "NA", numbers with spaces and signs, inf, n/a, a missing time,
// whole-number and boolean columns.
const TRICKY = [
  'store,item,date,sales,price,promo,flag',
  '" a ",1,2024-01-01,1,1.5,0,TRUE',
  ',1,2024-01-02,NA,2,1,false',
  '"NA",1,2024-01-03, 3 ,NA,0,True',
  '"a,b",2,2024-01-01,+4,1e3,1,',
  'NA,2,2024-01-02,"5",.5,0,FALSE',
  ' x ,2,2024-01-03,inf,-0,1,true',
  '"multi',
  'line",3,2024-01-01,7,n/a,0,False',
  'é,3,"2024-01-02",8,3,1,TRUE',
  '"quote""d",3,,9,4,0,true',
  ' a ,1,2024-01-04,-2.5e-1,5,1,false',
  '',
].join('\n');

function spec(over: Partial<JobSpec['columns']> = {}, task: JobSpec['task'] = 'forecast', file = 'data/t.csv'): JobSpec {
  return {
    specVersion: 1, stage: 'train', entryScript: 'train_entry.py', project: 'p', pipeline: 'p', target: 'local', engine: 'local', task, frequency: 'D', timeKind: 'date', seasonLength: null,
    data: { format: 'csv', path: file, options: {} },
    columns: { keys: ['store', 'item'], time: 'date', target: 'sales', features: ['price', 'promo', 'flag'], ...over },
    model: { type: 'linear', params: {}, holdout: { periods: 1, fraction: null, from: null }, minTrainRows: 1, refit: true, stale: 'skip', custom: null },
    metrics: ['wape'], failureBudget: { maxFailed: null, maxFailedFraction: 0.05 },
    scoring: { horizon: 1, sink: { type: 'sqlite', path: 'predictions.db', table: 'predictions' }, writeMode: 'overwrite' }, execution: { workers: 1, shufflePartitions: 'auto', sparkConf: {} },
  } as JobSpec;
}

// Reads the spec with the runtime's reader and loads the entry, then compares them column by column.
const COMPARE = `
import json, sys
import numpy as np
from manymodels_runtime.spec import load_job_spec
from manymodels_runtime.input_data import read_table
from manymodels_runtime.errors import InputError
spec = load_job_spec(sys.argv[1])
def read(entry):
    try:
        return read_table(spec, need_target=True, cache_dir=None, workers=1, input_entry=entry), None
    except InputError as e:
        return None, [e.code, e.message]
py, py_err = read(None)
if sys.argv[2] == "-":
    print(json.dumps({"python_error": py_err})); sys.exit(0)
dd, dd_err = read(sys.argv[2])
diffs = []
def same(name, a, b):
    if a is None or b is None:
        if (a is None) != (b is None): diffs.append(f"{name}: one is missing ({a is None}, {b is None})")
        return
    a, b = np.asarray(a), np.asarray(b)
    if a.dtype != b.dtype: diffs.append(f"{name}: dtype {a.dtype} vs {b.dtype}")
    elif a.dtype.kind == "f":
        if not np.array_equal(a, b, equal_nan=True): diffs.append(f"{name}: {a.tolist()} vs {b.tolist()}")
    elif not np.array_equal(a, b): diffs.append(f"{name}: {a.tolist()} vs {b.tolist()}")
if py_err or dd_err:
    print(json.dumps({"python_error": py_err, "duckdb_error": dd_err})); sys.exit(0)
same("n", py.n_rows, dd.n_rows)
for kp, kd in zip(py.keys, dd.keys):
    if list(kp.values) != list(kd.values): diffs.append(f"key {kp.name} values: {list(kp.values)} vs {list(kd.values)}")
    same(f"key {kp.name} codes", kp.codes, kd.codes)
same("time", py.time, dd.time)
same("target", py.target, dd.target)
if py.target_classes != dd.target_classes: diffs.append(f"classes {py.target_classes} vs {dd.target_classes}")
for f in py.features: same(f"feature {f}", py.features[f], dd.features[f])
print(json.dumps({"diffs": diffs, "rows": int(py.n_rows), "python_error": None, "duckdb_error": None}))
`;

interface Compared {
  diffs?: string[];
  rows?: number;
  python_error: [string, string] | null;
  duckdb_error?: [string, string] | null;
}

async function compare(csv: string, s: JobSpec): Promise<Compared> {
  const project = kit.project({ files: { [s.data.path!]: csv } });
  let entry = '-';
  let problem: InputProblem | undefined;
  try {
    entry = (await prepareInput(s, project.dir, project.path('.manymodels', 'cache'), 1))!.entry;
  } catch (err) {
    if (!(err instanceof InputProblem)) throw err;
    problem = err;
  }
  const out = runtimeAgainst(project.dir, s, entry);
  if (problem) out.duckdb_error = [problem.code, problem.message];
  return out;
}

/** The runtime's own read of `s` (its data a CSV) compared with the cache entry `entry`. */
function runtimeAgainst(dir: string, s: JobSpec, entry: string): Compared {
  const specFile = path.join(dir, 'spec.json');
  writeFileSync(specFile, JSON.stringify(s));
  const r = spawnSync(PYTHON, ['-c', COMPARE, specFile, entry], { cwd: dir, encoding: 'utf8', env: { ...process.env, PYTHONPATH: path.join(REPO, 'pyspark-templates') } });
  if (r.status !== 0) throw new Error(r.stderr);
  return JSON.parse(r.stdout) as Compared;
}

/** Every file of a cache entry, by name. */
function entryFiles(entry: string): Record<string, Buffer> {
  return Object.fromEntries(readdirSync(entry).sort().map((f) => [f, readFileSync(path.join(entry, f))]));
}

// A typed Parquet file, as a data lake holds one: keys text (one missing), a DATE, numbers typed
// (a missing target), written by DuckDB from this CSV.
const LAKE_CSV = ['store,item,date,sales,price,promo', 'a,1,2024-01-01,1,1.5,0', 'a,1,2024-01-02,,2,1', ',2,2024-01-01,3,2.5,0', 'b,2,2024-01-03,-4,3,1', 'b,10,2024-01-02,5.25,3.5,0', ''].join('\n');

async function writeLakeParquet(csvFile: string, parquetFile: string): Promise<void> {
  const db = await DuckDBInstance.create(':memory:');
  const con = await db.connect();
  const q = (p: string): string => `'${p.replace(/'/g, "''")}'`;
  await con.run(
    `COPY (SELECT NULLIF(store, '') AS store, item, date::DATE AS date, TRY_CAST(sales AS DOUBLE) AS sales, price::DOUBLE AS price, promo::INTEGER AS promo FROM read_csv(${q(csvFile)}, all_varchar=true, header=true)) TO ${q(parquetFile)} (FORMAT parquet)`,
  );
  con.closeSync();
  db.closeSync();
}

describe('the embedded reader against the runtime CSV reader', () => {
  it('makes the same Table from a tricky CSV', async () => {
    const r = await compare(TRICKY, spec());
    expect(r.python_error).toBeNull();
    expect(r.duckdb_error).toBeNull();
    expect(r.rows).toBe(10);
    expect(r.diffs).toEqual([]);
  }, 60_000);

  it('makes the same Table for text class labels and for numeric ones', async () => {
    const labels = 'k,t,y,x\na,2024-01-01,low,1\na,2024-01-02,high,2\nb,2024-01-01,NA,3\nb,2024-01-02,mid,4\n';
    expect((await compare(labels, spec({ keys: ['k'], time: 't', target: 'y', features: ['x'] }, 'classification'))).diffs).toEqual([]);
    const numeric = 'k,t,y,x\na,2024-01-01,1,1\na,2024-01-02,0,2\nb,2024-01-01,,3\nb,2024-01-02,1,4\n';
    expect((await compare(numeric, spec({ keys: ['k'], time: 't', target: 'y', features: ['x'] }, 'classification'))).diffs).toEqual([]);
  }, 60_000);

  it('reports a text target, a missing column and an empty file as the runtime does', async () => {
    const text = await compare('k,t,y\na,2024-01-01,1\na,2024-01-02,abc\nb,2024-01-01,abc\nb,2024-01-02,1e309\n', spec({ keys: ['k'], time: 't', target: 'y', features: [] }));
    expect(text.duckdb_error?.[0]).toBe('MM412');
    expect(text.duckdb_error).toEqual(text.python_error);
    const missing = await compare('k,t,y\na,2024-01-01,1\n', spec({ keys: ['k'], time: 't', target: 'y', features: ['weather'] }));
    expect(missing.duckdb_error?.[0]).toBe('MM411');
    expect(missing.duckdb_error).toEqual(missing.python_error);
    const empty = await compare('k,t,y\n', spec({ keys: ['k'], time: 't', target: 'y', features: [] }));
    expect(empty.duckdb_error?.[0]).toBe('MM413');
    expect(empty.duckdb_error).toEqual(empty.python_error);
  }, 60_000);

  it('refuses a quoted field that is never closed as MM410, naming the file', async () => {
    const r = await compare('k,t,y\na,2024-01-01,1\n"b,2024-01-02,2\n', spec({ keys: ['k'], time: 't', target: 'y', features: [] }));
    expect(r.duckdb_error?.[0]).toBe('MM410');
    expect(r.duckdb_error?.[1]).toMatch(/^cannot read data\/t\.csv as CSV: /);
  }, 60_000);

  it('reads typed Parquet (a view, no table) into the Table the runtime makes of the same rows as CSV', async () => {
    const project = kit.project({ files: { 'data/t.csv': LAKE_CSV } });
    await writeLakeParquet(project.path('data/t.csv'), project.path('data/t.parquet'));
    const features = { features: ['price', 'promo'] };
    const parquetSpec = spec(features, 'forecast', 'data/t.parquet');
    parquetSpec.data.format = 'parquet';
    const entry = (await prepareInput(parquetSpec, project.dir, project.path('.manymodels', 'cache'), 1))!.entry;
    const r = runtimeAgainst(project.dir, spec(features), entry);
    expect(r.python_error).toBeNull();
    expect(r.rows).toBe(5);
    expect(r.diffs).toEqual([]);
  }, 60_000);

  it('writes the same entry whether the read is taken whole or streamed a chunk at a time', async () => {
    // Past DuckDB's 2,048-row chunk, so the streamed read takes several chunks.
    const lines = ['store,item,date,sales,price,promo'];
    for (let i = 0; i < 5000; i++) lines.push(`s${i % 7},${i % 3},2024-01-${String((i % 28) + 1).padStart(2, '0')},${i % 11 === 0 ? 'NA' : (i * 0.37).toFixed(2)},${i % 5},${i % 2}`);
    const project = kit.project({ files: { 'data/t.csv': `${lines.join('\n')}\n` } });
    await writeLakeParquet(project.path('data/t.csv'), project.path('data/t.parquet'));
    const features = { features: ['price', 'promo'] };
    const parquetSpec = spec(features, 'forecast', 'data/t.parquet');
    parquetSpec.data.format = 'parquet';
    for (const s of [spec(features), parquetSpec]) {
      const whole = await prepareInput(s, project.dir, project.path('cache-whole'), 1);
      const streamed = await prepareInput(s, project.dir, project.path('cache-streamed'), 1, { materializeBytes: 0 });
      expect(whole!.rows).toBe(5000);
      expect(streamed!.rows).toBe(5000);
      const a = entryFiles(whole!.entry);
      const b = entryFiles(streamed!.entry);
      expect(Object.keys(a)).toEqual(Object.keys(b));
      for (const f of Object.keys(a)) expect(a[f]!.equals(b[f]!), `${s.data.format} ${f}`).toBe(true);
    }
  }, 60_000);

  it('names a Parquet file it cannot read (MM410): a broken footer, and broken data under a sound footer', async () => {
    const project = kit.project({ files: { 'data/t.parquet': 'PAR1 this is not a Parquet file PAR1', 'data/t.csv': LAKE_CSV } });
    const s = spec({ features: ['price'] }, 'forecast', 'data/t.parquet');
    s.data.format = 'parquet';
    const problem = async (): Promise<InputProblem> => {
      const err = await prepareInput(s, project.dir, project.path('.manymodels', 'cache'), 1).catch((e: unknown) => e);
      expect(err).toBeInstanceOf(InputProblem);
      return err as InputProblem;
    };
    const footer = await problem();
    expect(footer.code).toBe('MM410');
    expect(footer.message).toMatch(/^cannot read data\/t\.parquet as Parquet: /);
    // The footer (read to list the columns) intact, the column data overwritten: the first scan of the view fails.
    await writeLakeParquet(project.path('data/t.csv'), project.path('data/t.parquet'));
    const bytes = readFileSync(project.path('data/t.parquet'));
    bytes.fill(0xff, 4, 200);
    writeFileSync(project.path('data/t.parquet'), bytes);
    const data = await problem();
    expect(data.code).toBe('MM410');
    expect(data.message).toMatch(/^cannot read data\/t\.parquet as Parquet: /);
  }, 60_000);

  it('writes text features as categories, to the shared cache contract', async () => {
    const project = kit.project({ files: { 'data/t.csv': 'k,t,y,wd,on\na,2024-01-01,1,NE,TRUE\na,2024-01-02,2,,false\nb,2024-01-01,3,SW,True\nb,2024-01-02,4,NE,NA\n' } });
    const prepared = await prepareInput(spec({ keys: ['k'], time: 't', target: 'y', features: ['wd', 'on'] }), project.dir, project.path('.manymodels', 'cache'), 1);
    const meta = JSON.parse(readFileSync(path.join(prepared!.entry, 'meta.json'), 'utf8')) as Record<string, unknown>;
    expect(meta.format).toBe(2);
    expect(meta.features).toEqual(['wd', 'on']);
    expect(meta.feature_kinds).toEqual(['category', 'number']);
    expect(meta.feature_values).toEqual({ wd: ['NE', 'SW'] });
    const load = `import numpy as np, sys\nprint(np.load(sys.argv[1] + "/f0.npy").dtype, np.load(sys.argv[1] + "/f0.npy").tolist(), np.load(sys.argv[1] + "/f1.npy").tolist())`;
    const r = spawnSync(PYTHON, ['-c', load, prepared!.entry], { encoding: 'utf8' });
    expect(r.stdout.trim()).toBe('int32 [0, -1, 1, 0] [1.0, 0.0, 1.0, nan]');
  }, 60_000);
});
