// Inputs spread over many files, end to end through the built CLI on the local engine: a glob
// of CSV files (one per store), a folder of Parquet files in Hive-style partition folders (the
// partition column a key; read without pyarrow), and the coded errors for files whose columns
// differ and for paths that match nothing. Needs `npm run build`.
import { mkdirSync, readFileSync, readdirSync } from 'node:fs';
import path from 'node:path';
import { DuckDBInstance } from '@duckdb/node-api';
import { beforeAll, describe, expect, it } from 'vitest';
import { cliEnv, projectKit, runIdOf, type TestProject } from '../helpers/project.js';

const kit = projectKit('mm-files-');

const yaml = (data: string, keys = '[store_id, item_id]'): string => `version: 1
project: files
pipelines:
  - name: daily
    data: ${data}
    keys: ${keys}
    time: { column: date, frequency: D }
    target: sales
    features: [price, promo]
    task: forecast
    model: { type: linear, holdout: 7 }
    metrics: [wape]
    scoring: { horizon: 7, table: predictions }
`;

interface Manifest {
  counts: { total: number; ok: number; failed: number };
  groups: Array<{ keys: Record<string, string>; trainRows: number; testRows: number; metrics: Record<string, number> }>;
}

const manifestOf = (p: TestProject, stdout: string): Manifest => JSON.parse(p.read(`.manymodels/runs/${runIdOf(stdout)}/run-manifest.json`)) as Manifest;
const byKeys = (m: Manifest): Array<[string, number, number]> =>
  m.groups.map((g) => [`${g.keys.store_id}/${g.keys.item_id}`, g.trainRows, g.testRows] as [string, number, number]).sort((a, b) => a[0].localeCompare(b[0]));

/** The sample CSV split into one CSV per store (the header repeated), next to the whole file. */
function splitByStore(p: TestProject): string[] {
  const [header, ...lines] = p.read('data/sales.csv').trimEnd().split('\n');
  const stores = new Map<string, string[]>();
  for (const line of lines) {
    const store = line.split(',')[0]!;
    if (!stores.has(store)) stores.set(store, []);
    stores.get(store)!.push(line);
  }
  for (const [store, rows] of stores) p.write(`data/by-store/sales_${store}.csv`, `${header}\n${rows.join('\n')}\n`);
  return [...stores.keys()];
}

describe('many input files on the local engine', () => {
  let whole: Manifest;
  let proj: TestProject;

  beforeAll(async () => {
    proj = kit.project({ yaml: yaml('{ format: csv, path: data/sales.csv }'), sampleData: { stores: 3, items: 4, days: 60, seed: 3 } });
    splitByStore(proj);
    const train = await proj.run(['train']);
    expect(train.code, train.stderr).toBe(0);
    whole = manifestOf(proj, train.stdout);
  }, 120_000);

  it('reads a glob of CSV files as the one file they were cut from', async () => {
    proj.write('pipelines.yaml', yaml('{ format: csv, path: "data/by-store/sales_*.csv" }'));
    const train = await proj.run(['train']);
    expect(train.code, train.stderr).toBe(0);
    const m = manifestOf(proj, train.stdout);
    expect(m.counts.failed).toBe(0);
    expect(byKeys(m)).toEqual(byKeys(whole));
    // The report reads the run's data the same way (forecast vs actual of its groups).
    const report = await proj.run(['report', '--html', 'report.html']);
    expect(report.code, report.stderr).toBe(0);
    expect(report.stdout + report.stderr).not.toContain('could not read');
    // A folder of the same files reads the same.
    proj.write('pipelines.yaml', yaml('{ format: csv, path: data/by-store }'));
    const folder = await proj.run(['train']);
    expect(folder.code, folder.stderr).toBe(0);
    expect(byKeys(manifestOf(proj, folder.stdout))).toEqual(byKeys(whole));
  }, 120_000);

  it('reads Hive-style partition folders of Parquet without pyarrow, the partition a key', async () => {
    const db = await DuckDBInstance.create(':memory:');
    const con = await db.connect();
    const csv = proj.path('data/sales.csv').replace(/'/g, "''");
    for (const store of ['1', '2', '3']) {
      const dir = proj.path(`data/lake/store_id=${store}`);
      mkdirSync(dir, { recursive: true });
      await con.run(`COPY (SELECT item_id, date, sales, price, promo FROM read_csv('${csv}', all_varchar=true) WHERE store_id = '${store}') TO '${path.join(dir, 'part-0.parquet').replace(/'/g, "''")}' (FORMAT parquet)`);
    }
    con.closeSync();
    db.closeSync();
    proj.write('data/lake/_SUCCESS', '');
    proj.write('pipelines.yaml', yaml('{ format: parquet, path: data/lake }'));
    const train = await proj.run(['train']);
    expect(train.code, train.stderr).toBe(0);
    const m = manifestOf(proj, train.stdout);
    expect(byKeys(m)).toEqual(byKeys(whole));
    // Scoring reads the same folder (from the cache entry) and keys its predictions by the partition value.
    expect((await proj.run(['promote'])).code).toBe(0);
    const score = await proj.run(['score']);
    expect(score.code, score.stderr).toBe(0);
    const stores = proj.query<{ store_id: string }>('.manymodels/predictions.db', 'SELECT DISTINCT store_id FROM predictions ORDER BY store_id');
    expect(stores.map((r) => r.store_id)).toEqual(['1', '2', '3']);
  }, 180_000);

  it('names the file whose columns differ (MM417) and a glob that matches nothing (MM410)', async () => {
    const p = kit.project({ yaml: yaml('{ format: csv, path: "data/s_*.csv" }') });
    p.write('data/s_1.csv', 'store_id,item_id,date,sales,price,promo\n1,1,2024-01-01,3,1.5,0\n');
    p.write('data/s_2.csv', 'store_id,item_id,date,sales,price\n2,1,2024-01-01,3,1.5\n');
    const r = await p.run(['train']);
    expect(r.code).toBe(2);
    expect(r.stderr).toContain('Error MM417');
    expect(r.stderr).toContain('data/s_2.csv lacks promo');
    expect(r.stderr).not.toMatch(/Traceback|at .*\.js:/);
    p.write('pipelines.yaml', yaml('{ format: csv, path: "data/nothing_*.csv" }'));
    const none = await p.run(['train']);
    expect(none.code).toBe(2);
    expect(none.stderr).toContain('Error MM410: input not found: no file matches data/nothing_*.csv');
  }, 120_000);

  it('keeps the runtime reader on MANYMODELS_INPUT_READER=python', async () => {
    const p = kit.project({ yaml: yaml('{ format: csv, path: data/sales.csv }'), sampleData: { stores: 2, items: 2, days: 40, seed: 1 }, env: cliEnv({ MANYMODELS_INPUT_READER: 'python' }) });
    const r = await p.run(['train']);
    expect(r.code, r.stderr).toBe(0);
    expect(readdirSync(p.path('.manymodels/cache')).some((n) => n.startsWith('duckdb-'))).toBe(false);
    const log = readFileSync(p.path(`.manymodels/runs/${runIdOf(r.stdout)}/runtime.log`), 'utf8');
    expect(log).not.toContain('embedded reader');
  }, 120_000);
});
