// `validate --data` on Parquet and on many files, through the built CLI: the sources are read
// through the embedded reader's DuckDB (Parquet written by DuckDB here, in Hive partition
// folders and as a glob of files; a folder of CSV files), and each problem is reported at the
// YAML location that names it — a wrong key column, files whose columns differ (MM467), a time
// that is not dates, a text target — with the group count and sizes of what it read.
// Needs `npm run build`.
import { copyFileSync, mkdirSync } from 'node:fs';
import path from 'node:path';
import { DuckDBInstance } from '@duckdb/node-api';
import { beforeAll, describe, expect, it } from 'vitest';
import { projectKit, type TestProject } from '../helpers/project.js';

const kit = projectKit('mm-validate-files-');

const STATIONS = ['Aotizhongxin', 'Dongsi', 'Tiantan'];

const yaml = (o: { data: string; keys?: string; time?: string; target?: string }): string => `version: 1
project: air
pipelines:
  - name: pm
    data: ${o.data}
    keys: [${o.keys ?? 'station'}]
    time: ${o.time ?? '{ column: ts, frequency: h }'}
    target: ${o.target ?? 'pm25'}
    features: [temp]
    task: forecast
    model: { type: linear, holdout: 6 }
    scoring: { horizon: 6, table: predictions }
`;

interface Diag {
  code: string;
  severity: string;
  path: string;
  line: number;
  column: number;
  message: string;
  hint?: string;
}
interface Out {
  ok: boolean;
  diagnostics: Diag[];
  data: Array<{ note: string; groups?: number; rows?: number }>;
}

async function validate(p: TestProject): Promise<{ code: number | null; out: Out }> {
  const r = await p.run(['validate', '--data', '--json']);
  return { code: r.code, out: JSON.parse(r.stdout) as Out };
}
const where = (out: Out): string[] => out.diagnostics.map((d) => `${d.code} ${d.path} ${d.line}:${d.column}`);

/** Parquet written by DuckDB: `station=<s>/part-0.parquet` (hourly rows, a TIMESTAMP time) and the same as flat files. */
async function writeLake(p: TestProject, hours = 48): Promise<void> {
  const db = await DuckDBInstance.create(':memory:');
  const con = await db.connect();
  const q = (s: string): string => s.replace(/'/g, "''");
  for (const [si, s] of STATIONS.entries()) {
    const rows = `SELECT TIMESTAMP '2013-03-01' + to_hours(h) AS ts, 50.0 + ${si} + h % 7 AS pm25, 5.0 + h % 3 AS temp, CASE WHEN h % 2 = 0 THEN 'NE' ELSE 'SW' END AS wd FROM range(${hours}) t(h)`;
    const dir = p.path(`data/lake/station=${s}`);
    mkdirSync(dir, { recursive: true });
    await con.run(`COPY (${rows}) TO '${q(path.join(dir, 'part-0.parquet'))}' (FORMAT parquet)`);
    mkdirSync(p.path('data/flat'), { recursive: true });
    await con.run(`COPY (SELECT '${s}' AS station, * FROM (${rows})) TO '${q(p.path(`data/flat/${s}.parquet`))}' (FORMAT parquet)`);
  }
  // A file whose columns differ (no wd), and one whose pm25 is text with a word in it.
  mkdirSync(p.path('data/odd'), { recursive: true });
  await con.run(`COPY (SELECT 'Dongsi' AS station, TIMESTAMP '2013-03-01' AS ts, 1.0 AS pm25, 2.0 AS temp) TO '${q(p.path('data/odd/b.parquet'))}' (FORMAT parquet)`);
  await con.run(`COPY (SELECT 'Dongsi' AS station, TIMESTAMP '2013-03-01' + to_hours(h) AS ts, CASE WHEN h = 3 THEN 'n/a?' ELSE CAST(h AS VARCHAR) END AS pm25, 2.0 AS temp, 'NE' AS wd, h AS hour FROM range(5) t(h)) TO '${q(p.path('data/text/a.parquet'))}' (FORMAT parquet)`);
  con.closeSync();
  db.closeSync();
}

describe('validate --data on Parquet and many files', () => {
  let p: TestProject;
  beforeAll(async () => {
    p = kit.project({ yaml: yaml({ data: '{ format: parquet, path: data/lake }' }) });
    mkdirSync(p.path('data/text'), { recursive: true });
    await writeLake(p);
    copyFileSync(p.path('data/flat/Dongsi.parquet'), p.path('data/odd/a.parquet'));
  }, 60_000);

  it('reads a Parquet folder of partitions: the groups over every row, their sizes', async () => {
    const r = await p.run(['validate', '--data']);
    expect(r.stderr).toBe('');
    expect(r.code).toBe(0);
    expect(r.stdout).toContain('Data of pm (data/lake): read 144 rows of 3 files, 3 groups (48 rows each).');
    const flat = kit.project({ yaml: yaml({ data: '{ format: parquet, path: "data/flat/*.parquet" }' }) });
    mkdirSync(flat.path('data/flat'), { recursive: true });
    for (const s of STATIONS) copyFileSync(p.path(`data/flat/${s}.parquet`), flat.path(`data/flat/${s}.parquet`));
    const f = await flat.run(['validate', '--data']);
    expect(f.code, f.stderr).toBe(0);
    expect(f.stdout).toContain('Data of pm (data/flat/*.parquet): read 144 rows of 3 files, 3 groups (48 rows each).');
  }, 60_000);

  it('reports a wrong key column of a Parquet folder at the key, with a did-you-mean', async () => {
    p.write('pipelines.yaml', yaml({ data: '{ format: parquet, path: data/lake }', keys: 'stationn' }));
    const { code, out } = await validate(p);
    expect(code).toBe(2);
    expect(where(out)).toEqual(['MM431 pipelines[0].keys[0] 6:12']);
    expect(out.diagnostics[0]!.message).toBe('key column "stationn" is not in data/lake (3 files)');
    expect(out.diagnostics[0]!.hint).toBe('Did you mean "station"? The files have: ts, pm25, temp, wd, station.');
  }, 60_000);

  it('names the file whose columns differ, at data.path (MM467)', async () => {
    p.write('pipelines.yaml', yaml({ data: '{ format: parquet, path: data/odd }' }));
    const { code, out } = await validate(p);
    expect(code).toBe(2);
    expect(where(out)).toEqual(['MM467 pipelines[0].data.path 5:36']);
    expect(out.diagnostics[0]!.message).toBe('the files of data source "data/odd" differ: data/odd/b.parquet lacks wd (compared with data/odd/a.parquet: station, ts, pm25, temp, wd)');
  }, 60_000);

  it('finds a text target and a time that is not dates in Parquet, naming the file and row', async () => {
    p.write('pipelines.yaml', yaml({ data: '{ format: parquet, path: data/text/a.parquet }' }));
    const { out } = await validate(p);
    expect(where(out)).toEqual(['MM433 pipelines[0].target 8:13']);
    expect(out.diagnostics[0]!.message).toBe('target "pm25" of a forecast pipeline has values that are not numbers: "n/a?" (data/text/a.parquet row 4; 1 of 5 rows)');
    p.write('pipelines.yaml', yaml({ data: '{ format: parquet, path: data/text/a.parquet }', time: '{ column: hour, frequency: h }', target: 'temp' }).replace('features: [temp]', 'features: []'));
    const t = await validate(p);
    expect(where(t.out)).toEqual(['MM432 pipelines[0].time.column 7:21']);
    expect(t.out.diagnostics[0]!.hint).toContain('add kind: period');
  }, 60_000);

  it('compares the CSV files of a folder through DuckDB: another column order is MM467', async () => {
    const c = kit.project({ yaml: yaml({ data: '{ format: csv, path: data/csv }' }) });
    c.write('data/csv/a.csv', 'station,ts,pm25,temp\nDongsi,2013-03-01 00:00:00,1,2\nDongsi,2013-03-01 01:00:00,2,2\n');
    c.write('data/csv/b.csv', 'station,ts,temp,pm25\nTiantan,2013-03-01 00:00:00,2,1\n');
    const { out } = await validate(c);
    expect(where(out)).toEqual(['MM467 pipelines[0].data.path 5:32']);
    expect(out.diagnostics[0]!.message).toBe('the files of data source "data/csv" differ: data/csv/b.csv has them in another order (compared with data/csv/a.csv: station, ts, pm25, temp)');
    c.write('data/csv/b.csv', 'station,ts,pm25,temp\nTiantan,2013-03-01 00:00:00,1,2\nTiantan,2013-03-01 01:00:00,x,2\n');
    const bad = await validate(c);
    expect(where(bad.out)).toEqual(['MM433 pipelines[0].target 8:13']);
    expect(bad.out.diagnostics[0]!.message).toContain('"x" (data/csv/b.csv row 2; 1 of 4 rows)');
    expect(bad.out.data[0]!.note).toBe('read 4 rows of 2 files, 2 groups (2 rows each)');
  }, 60_000);
});
