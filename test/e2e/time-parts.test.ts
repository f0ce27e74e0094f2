// Dates built from parts (time.parts: year, month, day, hour columns), end to end through the
// built CLI on PRSA-like air-quality data generated here: one CSV per station in a folder and
// the same rows as Parquet written by DuckDB (the embedded reader), one CSV file (the
// runtime's own reader), predictions carrying the composed hourly times; a part column that is
// also a feature (MM310), parts with kind: period (MM334), values that make no date (MM466,
// naming the station) or are not integers (MM465), and validate's look at the part columns.
// Needs `npm run build`.
import { mkdirSync, readFileSync } from 'node:fs';
import path from 'node:path';
import { DuckDBInstance } from '@duckdb/node-api';
import { beforeAll, describe, expect, it } from 'vitest';
import { cliEnv, projectKit, runIdOf, type TestProject } from '../helpers/project.js';

const kit = projectKit('mm-parts-');

const STATIONS = ['Aotizhongxin', 'Dongsi', 'Tiantan'];
const HOURS = 24 * 10;
const HEADER = 'No,year,month,day,hour,PM2.5,TEMP,wd,station';

/** One station's hourly rows from 2013-03-01 00:00, PRSA's columns (a small deterministic pattern). */
function stationRows(station: string, si: number): string[] {
  const rows: string[] = [];
  for (let h = 0; h < HOURS; h++) {
    const t = new Date(Date.UTC(2013, 2, 1, h));
    const temp = (5 + 6 * Math.sin((h * 2 * Math.PI) / 24) + ((h * 7 + si) % 5) / 5).toFixed(1);
    const pm = (80 + 10 * si + 30 * Math.sin((h * 2 * Math.PI) / 24 + 1) - 2 * Number(temp) + ((h * 13) % 7)).toFixed(1);
    rows.push([h + 1, t.getUTCFullYear(), t.getUTCMonth() + 1, t.getUTCDate(), t.getUTCHours(), pm, temp, h % 2 ? 'NE' : 'SW', station].join(','));
  }
  return rows;
}

const yaml = (data: string, time = '{ parts: { year: year, month: month, day: day, hour: hour }, frequency: h }', features = '[TEMP]'): string => `version: 1
project: air
pipelines:
  - name: pm
    data: ${data}
    keys: [station]
    time: ${time}
    target: PM2.5
    features: ${features}
    task: forecast
    model: { type: linear, holdout: 6 }
    metrics: [wape]
    scoring: { horizon: 6, table: predictions }
`;

interface Manifest {
  counts: { total: number; ok: number; failed: number };
  groups: Array<{ keys: Record<string, string>; trainRows: number; testRows: number }>;
}
const manifestOf = (p: TestProject, stdout: string): Manifest => JSON.parse(p.read(`.manymodels/runs/${runIdOf(stdout)}/run-manifest.json`)) as Manifest;
const rowsOf = (m: Manifest): Array<[string, number, number]> => m.groups.map((g) => [g.keys.station!, g.trainRows, g.testRows] as [string, number, number]).sort();

describe('time built from parts', () => {
  let proj: TestProject;

  beforeAll(async () => {
    proj = kit.project({ yaml: yaml('{ format: csv, path: data/PRSA }') });
    const all: string[] = [];
    STATIONS.forEach((s, si) => {
      const rows = stationRows(s, si);
      all.push(...rows);
      proj.write(`data/PRSA/PRSA_Data_${s}_20130301-20130310.csv`, `${HEADER}\n${rows.join('\n')}\n`);
    });
    proj.write('data/all.csv', `${HEADER}\n${all.join('\n')}\n`);
    const db = await DuckDBInstance.create(':memory:');
    const con = await db.connect();
    mkdirSync(proj.path('data/parquet'), { recursive: true });
    for (const s of STATIONS) {
      const src = proj.path(`data/PRSA/PRSA_Data_${s}_20130301-20130310.csv`).replace(/'/g, "''");
      // Integer part columns, as a data lake holds them.
      await con.run(`COPY (SELECT * FROM read_csv('${src}', header=true, types={'year': 'SMALLINT', 'month': 'TINYINT', 'day': 'TINYINT', 'hour': 'TINYINT'})) TO '${path.join(proj.path('data/parquet'), `${s}.parquet`).replace(/'/g, "''")}' (FORMAT parquet)`);
    }
    con.closeSync();
    db.closeSync();
  }, 60_000);

  it('trains a folder of CSV files per station and scores hourly times after the data', async () => {
    const v = await proj.run(['validate', '--data']);
    expect(v.code, v.stderr).toBe(0);
    expect(v.stdout).toContain('read 720 rows of 3 files, 3 groups (240 rows each)');
    const train = await proj.run(['train']);
    expect(train.code, train.stderr).toBe(0);
    const m = manifestOf(proj, train.stdout);
    expect(m.counts).toMatchObject({ total: 3, ok: 3, failed: 0 });
    expect(rowsOf(m)).toEqual(STATIONS.map((s) => [s, 234, 6]));
    expect((await proj.run(['promote'])).code).toBe(0);
    const score = await proj.run(['score']);
    expect(score.code, score.stderr).toBe(0);
    const preds = proj.query<{ time: string; forecast_origin: string }>('.manymodels/predictions.db', "SELECT time, forecast_origin FROM predictions WHERE station = 'Dongsi' ORDER BY time");
    // The data ends 2013-03-10 23:00: six hours of 11 March follow.
    expect(preds.map((r) => r.time.slice(0, 16))).toEqual([0, 1, 2, 3, 4, 5].map((h) => `2013-03-11T0${h}:00`));
    expect(preds[0]!.forecast_origin.slice(0, 16)).toBe('2013-03-10T23:00');
  }, 180_000);

  it('reads the same rows from Parquet (integer parts) and from one CSV file (the runtime reader)', async () => {
    proj.write('pipelines.yaml', yaml('{ format: parquet, path: "data/parquet/*.parquet" }'));
    const pq = await proj.run(['train']);
    expect(pq.code, pq.stderr).toBe(0);
    expect(rowsOf(manifestOf(proj, pq.stdout))).toEqual(STATIONS.map((s) => [s, 234, 6]));
    proj.write('pipelines.yaml', yaml('{ format: csv, path: data/all.csv }'));
    const one = await proj.run(['train'], { env: cliEnv({ MANYMODELS_INPUT_READER: 'python' }) });
    expect(one.code, one.stderr).toBe(0);
    expect(rowsOf(manifestOf(proj, one.stdout))).toEqual(STATIONS.map((s) => [s, 234, 6]));
  }, 180_000);

  it('refuses a part that is also a feature (MM310) and parts with kind: period (MM334)', async () => {
    const p = kit.project({ yaml: yaml('{ format: csv, path: data/all.csv }', undefined, '[TEMP, hour]'), files: { 'data/all.csv': proj.read('data/all.csv') } });
    const r = await p.run(['validate']);
    expect(r.code).toBe(2);
    expect(r.stderr).toContain('Error MM310: time part hour "hour" is also a feature');
    expect(r.stderr).toContain('at pipelines[0].features[1]');
    p.write('pipelines.yaml', yaml('{ format: csv, path: data/all.csv }', '{ parts: { year: year, month: month }, kind: period }'));
    const k = await p.run(['validate']);
    expect(k.code).toBe(2);
    expect(k.stderr).toContain('Error MM334: time.parts build dates; kind: period is for a column of period numbers');
    expect(k.stderr).toContain('at pipelines[0].time.kind');
    p.write('pipelines.yaml', yaml('{ format: csv, path: data/all.csv }', '{ parts: { year: year, day: day, hour: year }, frequency: h }'));
    const g = await p.run(['validate']);
    expect(g.code).toBe(2);
    expect(g.stderr).toContain('Error MM334: time.parts names column "year" for both year and hour');
    expect(g.stderr).toContain('Error MM334: time.parts has day but no month');
    expect(g.stderr).toContain('at pipelines[0].time.parts.day');
    // Neither a column nor parts: one error, naming both.
    p.write('pipelines.yaml', yaml('{ format: csv, path: data/all.csv }', '{ frequency: h }'));
    const n = await p.run(['validate']);
    expect(n.code).toBe(2);
    expect(n.stderr).toContain('Error MM204: missing required key "column" or "parts" in pipelines[0].time');
    expect(n.stderr).toContain('Found 1 error.');
  }, 60_000);

  it('compiles the parts into the JobSpec every engine runs (columns.timeParts)', async () => {
    const p = kit.project({ yaml: yaml('{ format: csv, path: data/all.csv }', '{ parts: { year: year, month: month }, column: month_start, frequency: MS }') });
    const r = await p.run(['compile', 'pm', '--stdout']);
    expect(r.code, r.stderr).toBe(0);
    const spec = JSON.parse(r.stdout) as { columns: Record<string, unknown>; frequency: string };
    expect(spec.columns.time).toBe('month_start');
    expect(spec.columns.timeParts).toEqual({ year: 'year', month: 'month', day: null, hour: null, minute: null });
    expect(spec.frequency).toBe('MS');
  }, 60_000);

  it('names the station and the values of a date that does not exist (MM466), and non-integers (MM465)', async () => {
    for (const reader of ['duckdb', 'python']) {
      const p = kit.project({ yaml: yaml('{ format: csv, path: data/all.csv }'), env: cliEnv({ MANYMODELS_INPUT_READER: reader }) });
      p.write('data/all.csv', proj.read('data/all.csv').replace(/\n(\d+),2013,3,2,5,(.*),Dongsi\n/, '\n$1,2013,2,30,5,$2,Dongsi\n'));
      const v = await p.run(['validate', '--data', '--json']);
      expect(v.code).toBe(2);
      const d = (JSON.parse(v.stdout) as { diagnostics: Array<{ code: string; path: string; message: string }> }).diagnostics;
      expect(d.map((x) => `${x.code} ${x.path}`)).toEqual(['MM466 pipelines[0].time.parts']);
      expect(d[0]!.message).toBe('time.parts make no date: year 2013, month 2, day 30, hour 5 (data/all.csv line 271; 1 of 720 rows)');
      const bad = await p.run(['train']);
      expect(bad.code, reader).toBe(2);
      expect(bad.stderr).toContain("Error MM466: time.parts make no valid date in 1 row(s), e.g. year 2013, month 2, day 30, hour 5 (station 'Dongsi')");
      expect(bad.stderr).not.toMatch(/Traceback|at .*\.js:/);
      p.write('data/all.csv', proj.read('data/all.csv').replace(/\n(\d+),2013,3,2,5,(.*),Dongsi\n/, '\n$1,2013,3,2,5.5,$2,Dongsi\n'));
      const frac = await p.run(['train']);
      expect(frac.code, reader).toBe(2);
      expect(frac.stderr).toContain("Error MM465: time part hour (column 'hour') has 1 value(s) that are not whole numbers, e.g. 5.5 (station 'Dongsi')");
      const vf = await p.run(['validate', '--data']);
      expect(vf.stderr).toContain('Error MM465: time part hour "hour" has values that are not whole numbers: "5.5" (data/all.csv line 271; 1 of 720 rows)');
      expect(vf.stderr).toContain('at pipelines[0].time.parts.hour');
    }
  }, 240_000);

  it('validate --data names a missing part column at its part', async () => {
    const p = kit.project({ yaml: yaml('{ format: parquet, path: data/parquet }', '{ parts: { year: year, month: month, day: day, hour: hours }, frequency: h }') });
    for (const s of STATIONS) p.write(`data/parquet/${s}.parquet`, readFileSync(proj.path(`data/parquet/${s}.parquet`)));
    const v = await p.run(['validate', '--data']);
    expect(v.code).toBe(2);
    expect(v.stderr).toContain('Error MM431: time part hour column "hours" is not in data/parquet (3 files)');
    expect(v.stderr).toContain('at pipelines[0].time.parts.hour');
    expect(v.stderr).toContain('Did you mean "hour"?');
  }, 60_000);
});
