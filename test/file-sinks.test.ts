// CSV and Parquet sinks on the local engine, through the built CLI: the same classification
// predictions (text labels, JSON probabilities) as the SQLite sink's, read back with DuckDB;
// write modes over a file that holds every run; an existing file with other columns refused
// before any group runs; and validate's checks (MM331–MM333).
import { readdirSync, readFileSync } from 'node:fs';
import { beforeAll, describe, expect, it } from 'vitest';
import { projectKit, runIdOf, type TestProject } from './helpers/project.js';

const kit = projectKit('mm-file-sinks-');

const q = (v: string): string => `"${v.replace(/"/g, '""')}"`;

function labelledCsv(): string {
  let seed = 11;
  const rand = (): number => ((seed = (seed * 1_103_515_245 + 12_345) % 2_147_483_648) / 2_147_483_648);
  const lines = ['store,x,level'];
  for (const s of ['north', 'süd, "quoted"']) {
    for (let i = 0; i < 80; i++) {
      const x = rand() * 4 - 2;
      const z = x + (rand() - 0.5) * 0.6;
      const label = z < -0.6 ? 'low' : z > 0.6 ? 'high "top"' : 'mid, middle';
      lines.push(`${q(s)},${x.toFixed(4)},${q(label)}`);
    }
  }
  return `${lines.join('\n')}\n`;
}

const yaml = (sink: string, engine = 'local'): string => `targets:
  t: { engine: ${engine}, default: true, sink: ${sink} }
pipelines:
  - name: levels
    data: { format: csv, path: data/levels.csv }
    keys: [store]
    target: level
    features: [x]
    task: classification
    model: { type: logistic, holdout: 0.25 }
    metrics: [accuracy]
    promotion:
      rules: [{ metric: accuracy, min: 0.3 }]
    scoring: { table: preds }
`;

type Row = Record<string, string | null>;
const COLUMNS = ['store', 'time', 'forecast_origin', 'row_index', 'prediction', 'label', 'probabilities', 'model_version', 'model_name', 'pipeline', 'run_id', 'scored_at'];

async function duck(sql: string): Promise<Row[]> {
  const { DuckDBInstance } = await import('@duckdb/node-api');
  const instance = await DuckDBInstance.create(':memory:');
  const con = await instance.connect();
  try {
    const rows = (await con.runAndReadAll(sql)).getRowObjectsJS() as Array<Record<string, unknown>>;
    return rows.map((r) => Object.fromEntries(Object.entries(r).map(([k, v]) => [k, v === null ? null : String(v)])));
  } finally {
    con.closeSync();
    instance.closeSync();
  }
}
const lit = (s: string): string => `'${s.replace(/'/g, "''")}'`;

/** A run's rows without what differs between runs, in row order. */
const comparable = (rows: Row[]): Row[] =>
  rows.map((r) => Object.fromEntries(COLUMNS.filter((c) => c !== 'run_id' && c !== 'scored_at').map((c) => [c, r[c] ?? null]))).sort((a, b) => Number(a.row_index) - Number(b.row_index));

describe('csv and parquet sinks', () => {
  let project: TestProject;
  let sqliteRows: Row[];
  beforeAll(async () => {
    project = kit.project({ yaml: yaml('{ type: sqlite, path: out/preds.db }'), files: { 'data/levels.csv': labelledCsv() } });
    for (const cmd of ['train', 'promote', 'score']) {
      const r = await project.run([cmd]);
      expect(r.code, r.stdout + r.stderr).toBe(0);
    }
    sqliteRows = project
      .query<Record<string, unknown>>('out/preds.db', 'SELECT * FROM preds')
      .map((r) => Object.fromEntries(Object.entries(r).map(([k, v]) => [k, v === null ? null : String(v)])));
    expect(sqliteRows).toHaveLength(160);
    expect(new Set(sqliteRows.map((r) => r.label))).toEqual(new Set(['low', 'mid, middle', 'high "top"']));
  }, 240_000);

  it('writes the rows the SQLite sink wrote to a CSV file, and a rerun replaces only its own rows', async () => {
    project.write('pipelines.yaml', yaml('{ type: csv, path: out/preds.csv }'));
    const first = await project.run(['score']);
    expect(first.code, first.stderr).toBe(0);
    const file = project.path('out/preds.csv');
    expect(readFileSync(file, 'utf8').split('\n')[0]).toBe(COLUMNS.join(','));
    const rows = await duck(`SELECT * FROM read_csv(${lit(file)}, header = true, all_varchar = true)`);
    expect(comparable(rows)).toEqual(comparable(sqliteRows));
    for (const r of rows) expect(Object.values(JSON.parse(r.probabilities!) as Record<string, number>).reduce((a, b) => a + b, 0)).toBeCloseTo(1, 12);
    // Another run adds its rows (replace_run keeps the other runs'); the same run again would replace them.
    const second = await project.run(['score']);
    expect(second.code, second.stderr).toBe(0);
    const runs = await duck(`SELECT run_id, count(*) AS n FROM read_csv(${lit(file)}, header = true, all_varchar = true) GROUP BY run_id ORDER BY run_id`);
    expect(runs).toEqual([{ run_id: runIdOf(first.stdout), n: '160' }, { run_id: runIdOf(second.stdout), n: '160' }]);
    // Nothing half-written is left beside it.
    expect(readdirSync(project.path('out')).sort()).toEqual(['preds.csv', 'preds.db']);
  }, 120_000);

  it('writes the same rows to a Parquet file in a folder, read back with DuckDB', async () => {
    project.write('pipelines.yaml', yaml('{ type: parquet, path: out/lake/ }'));
    const r = await project.run(['score']);
    expect(r.code, r.stderr).toBe(0);
    expect(r.stdout).toContain('160 predictions written to out/lake/ (parquet)');
    const file = project.path('out/lake/preds.parquet');
    const types = await duck(`SELECT column_name, column_type FROM (DESCRIBE SELECT * FROM read_parquet(${lit(file)}))`);
    expect(types.map((t) => t.column_name)).toEqual(COLUMNS);
    expect(Object.fromEntries(types.map((t) => [t.column_name, t.column_type]))).toMatchObject({ row_index: 'BIGINT', prediction: 'DOUBLE', label: 'VARCHAR', probabilities: 'VARCHAR' });
    const rows = await duck(`SELECT * FROM read_parquet(${lit(file)})`);
    expect(comparable(rows)).toEqual(comparable(sqliteRows));
    expect(readdirSync(project.path('out/lake'))).toEqual(['preds.parquet']);
    // overwrite: the file holds this run's rows only.
    project.write('pipelines.yaml', yaml('{ type: parquet, path: out/lake/ }').replace('scoring: { table: preds }', 'scoring: { table: preds, write_mode: overwrite }'));
    const again = await project.run(['score']);
    expect(again.code, again.stderr).toBe(0);
    expect(await duck(`SELECT DISTINCT run_id FROM read_parquet(${lit(file)})`)).toEqual([{ run_id: runIdOf(again.stdout) }]);
  }, 120_000);

  it('refuses an existing file with other columns before any group runs, and leaves it as it was', async () => {
    project.write('out/other.csv', 'a,b\n1,2\n');
    project.write('pipelines.yaml', yaml('{ type: csv, path: out/other.csv }'));
    const r = await project.run(['score']);
    expect(r.code).toBe(2);
    expect(r.stderr).toContain('MM460');
    expect(r.stderr).not.toMatch(/Traceback|    at /);
    expect(project.read('out/other.csv')).toBe('a,b\n1,2\n');
    project.write('out/other.parquet', '');
    await duck(`COPY (SELECT 1 AS a) TO ${lit(project.path('out/other.parquet'))} (FORMAT parquet)`);
    project.write('pipelines.yaml', yaml('{ type: parquet, path: out/other.parquet }'));
    const p = await project.run(['score']);
    expect(p.code).toBe(2);
    expect(p.stderr).toContain('MM460');
    expect(await duck(`SELECT * FROM read_parquet(${lit(project.path('out/other.parquet'))})`)).toEqual([{ a: '1' }]);
  }, 120_000);
});

describe('validate: csv and parquet sinks', () => {
  const validate = async (sink: string, engine = 'local'): Promise<{ code: number | null; out: string }> => {
    const p = kit.project({ yaml: yaml(sink, engine), files: { 'data/levels.csv': labelledCsv() } });
    const r = await p.run(['validate']);
    return { code: r.code, out: r.stdout + r.stderr };
  };

  it('accepts a csv file and a parquet folder on the local engine', async () => {
    expect((await validate('{ type: csv, path: out/p.csv }')).code).toBe(0);
    expect((await validate('{ type: parquet, path: out/lake/ }')).code).toBe(0);
  }, 60_000);

  it('refuses them elsewhere (MM331), without a path (MM332), and a path of another format (MM333)', async () => {
    const spark = await validate('{ type: parquet, path: out/p.parquet }', 'spark-local');
    expect(spark.code).toBe(2);
    expect(spark.out).toContain('MM331');
    expect(spark.out).toMatch(/targets\.t\.sink\.type/);
    const none = await validate('{ type: csv }');
    expect(none.code).toBe(2);
    expect(none.out).toContain('MM332');
    const other = await validate('{ type: parquet, path: out/p.csv }');
    expect(other.code).toBe(2);
    expect(other.out).toContain('MM333');
    expect(other.out).toMatch(/targets\.t\.sink\.path/);
  }, 60_000);
});

describe('report over a parquet sink', () => {
  it('plots the forecasts the score run wrote to the Parquet file', async () => {
    const project = kit.project({
      sampleData: { stores: 2, items: 2, days: 120, seed: 3 },
      yaml: `targets:
  t: { engine: local, default: true, sink: { type: parquet, path: out/forecasts.parquet } }
pipelines:
  - name: daily
    data: { format: csv, path: data/sales.csv }
    keys: [store_id, item_id]
    time: { column: date, frequency: D }
    target: sales
    task: forecast
    model: { type: linear, holdout: 7 }
    promotion:
      rules: [{ metric: wape, max: 5 }]
    scoring: { horizon: 7, table: predictions }
`,
    });
    let train = '';
    for (const cmd of ['train', 'promote', 'score']) {
      const r = await project.run([cmd]);
      expect(r.code, r.stdout + r.stderr).toBe(0);
      if (cmd === 'train') train = runIdOf(r.stdout);
    }
    const r = await project.run(['report', train, '--json']);
    expect(r.code, r.stderr).toBe(0);
    const data = JSON.parse(r.stdout) as { seriesNote: string | null; score: { sink: string }; series: Array<{ keys: Record<string, string>; forecast: Array<{ value: number }> }> };
    expect(data.seriesNote).toBeNull();
    expect(data.score.sink).toBe('out/forecasts.parquet (parquet)');
    expect(data.series.length).toBeGreaterThan(0);
    const file = project.path('out/forecasts.parquet');
    for (const s of data.series) {
      const rows = await duck(`SELECT prediction FROM read_parquet(${lit(file)}) WHERE store_id = ${lit(s.keys.store_id!)} AND item_id = ${lit(s.keys.item_id!)} ORDER BY time`);
      expect(s.forecast.map((p) => p.value)).toEqual(rows.map((x) => Number(x.prediction)));
      expect(s.forecast).toHaveLength(7);
    }
  }, 240_000);
});
