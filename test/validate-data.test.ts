// `validate` on what users write and the data they point it at: YAML merge keys shared
// between pipelines, the MM306 horizon warning, and the data checks (MM430–MM434) against
// real files, each pinned to its code and file:line:col.
import { execFileSync } from 'node:child_process';
import path from 'node:path';
import { describe, expect, it } from 'vitest';
import { NA_STRINGS } from '../src/runs/check-data.js';
import { cli } from './helpers/cli.js';
import { projectKit, PYTHON, REPO } from './helpers/project.js';

const kit = projectKit('mm-validate-data-');

interface JsonOut {
  ok: boolean;
  diagnostics: Array<{ code: string; severity: string; message: string; path: string; file: string; line: number; column: number; hint?: string }>;
  data?: Array<Record<string, unknown>>;
}

const validateJson = async (dir: string, ...extra: string[]): Promise<{ code: number; out: JsonOut; stderr: string }> => {
  const r = await cli(['validate', '--json', ...extra], { cwd: dir });
  return { code: r.code, out: JSON.parse(r.stdout) as JsonOut, stderr: r.stderr };
};

const SHARED = `version: 1
project: shop
pipelines:
  - &base
    name: linear
    data: { format: csv, path: data/sales.csv }
    keys: [store_id, item_id]
    time: { column: date, frequency: D }
    target: sales
    task: forecast
    model: { type: linear, holdout: 14 }
  - <<: *base
    name: naive
    model: { type: seasonal_naive, holdout: 7 }
`;

describe('YAML merge keys', () => {
  it('shares a block between two pipelines, with an override after the merge', async () => {
    const p = kit.project({ yaml: SHARED, sampleData: { stores: 2, items: 2, days: 60 } });
    const r = await cli(['validate'], { cwd: p.dir });
    expect(r.stderr).toBe('');
    expect(r.stdout).toContain('pipelines.yaml is valid: 2 pipelines (linear, naive)');
    expect(r.code).toBe(0);
    const compiled = await cli(['compile', 'naive', '--stdout'], { cwd: p.dir });
    expect(compiled.code).toBe(0);
    const spec = JSON.parse(compiled.stdout) as { columns: { keys: string[] }; model: { type: string } };
    expect(spec.columns.keys).toEqual(['store_id', 'item_id']);
    expect(spec.model.type).toBe('seasonal_naive');
  });

  it('points a merged key\'s error at the shared block, and an override\'s at the override', async () => {
    const yaml = `version: 1
project: shop
pipelines:
  - &base
    name: a
    data: { format: csv, path: data/sales.csv }
    keys: [store_id]
    target: sales
    task: regression
    model: { type: linear, holdout: 0.2, depth: 3 }
  - <<: *base
    name: b
    task: regresion
`;
    const p = kit.project({ yaml });
    const { code, out } = await validateJson(p.dir, '--no-data');
    expect(code).toBe(2);
    const where = out.diagnostics.map((d) => `${d.code} ${d.path} ${d.line}:${d.column}`);
    // The unknown model key of pipelines[1] comes from the block it merged: line 10.
    expect(where).toContain('MM203 pipelines[1].model.depth 10:42');
    expect(where).toContain('MM203 pipelines[0].model.depth 10:42');
    // The task it overrides is its own: line 13.
    expect(where).toContain('MM201 pipelines[1].task 13:11');
    expect(out.diagnostics.some((d) => d.message.includes('"<<"'))).toBe(false);
  });
});

describe('MM306: scoring.horizon on a pipeline that is not a forecast', () => {
  const yaml = (task: string): string => `version: 1
pipelines:
  - name: a
    data: { format: csv, path: data/houses.csv }
    keys: [region]
    target: price
${task}    model: { type: linear }
    scoring: { horizon: 7 }
`;

  it('names the task', async () => {
    const p = kit.project({ yaml: yaml('    task: regression\n') });
    const { out } = await validateJson(p.dir, '--no-data');
    expect(out.diagnostics).toEqual([
      expect.objectContaining({ code: 'MM306', severity: 'warning', message: 'scoring.horizon applies to forecasts only; regression pipelines score each input row', line: 9, column: 25 }),
    ]);
  });

  it('says nothing about "undefined pipelines" when the task is missing', async () => {
    const p = kit.project({ yaml: yaml('') });
    const { out } = await validateJson(p.dir, '--no-data');
    expect(out.diagnostics.map((d) => d.code)).toEqual(['MM204']);
    expect(JSON.stringify(out)).not.toContain('undefined');
  });
});


describe('validate looks at the data (MM430–MM434)', () => {
  const yaml = (over: Record<string, string> = {}): string => `version: 1
pipelines:
  - name: sales
    data: { format: csv, path: ${over.path ?? 'data/sales.csv'} }
    keys: [${over.keys ?? 'store_id, item_id'}]
    time: { column: date, frequency: D }
    target: ${over.target ?? 'sales'}
    task: forecast
    model: { type: linear, holdout: 14 }
`;
  const codes = (out: JsonOut): string[] => out.diagnostics.map((d) => `${d.code} ${d.severity} ${d.path} ${d.line}:${d.column}`);

  it('passes the sample data with no warnings and says what it sampled', async () => {
    const p = kit.project({ yaml: yaml(), sampleData: { stores: 3, items: 2, days: 400 } });
    const r = await cli(['validate'], { cwd: p.dir });
    expect(r.stderr).toBe('');
    expect(r.stdout).toContain('Data of sales (data/sales.csv): sampled 1000 rows, 3 groups seen in the sample.');
    expect(r.code).toBe(0);
  });

  it('reports a wrong key column with a did-you-mean, at the key', async () => {
    const p = kit.project({ yaml: yaml({ keys: 'stor_id, item_id' }), sampleData: { stores: 2, items: 2, days: 30 } });
    const { code, out } = await validateJson(p.dir);
    expect(code).toBe(2);
    expect(codes(out)).toEqual(['MM431 error pipelines[0].keys[0] 5:12']);
    expect(out.diagnostics[0]!.hint).toContain('Did you mean "store_id"?');
  });

  it('reports a wrong target at the target', async () => {
    const p = kit.project({ yaml: yaml({ target: 'sale' }), sampleData: { stores: 2, items: 2, days: 30 } });
    const { out } = await validateJson(p.dir);
    expect(codes(out)).toEqual(['MM431 error pipelines[0].target 7:13']);
  });

  it('warns of a missing file, and refuses it with --data', async () => {
    const p = kit.project({ yaml: yaml({ path: 'data/nope.csv' }) });
    const plain = await validateJson(p.dir);
    expect(plain.code).toBe(0);
    expect(codes(plain.out)).toEqual(['MM430 warning pipelines[0].data.path 4:32']);
    const strict = await validateJson(p.dir, '--data');
    expect(strict.code).toBe(2);
    expect(codes(strict.out)).toEqual(['MM430 error pipelines[0].data.path 4:32']);
  });

  it('reports unparsable dates and a text target, with the data line', async () => {
    const csv = 'store_id,item_id,date,sales\n1,1,2024-01-01,3\n1,1,week 40,x\n1,1,41,4\n';
    const p = kit.project({ yaml: yaml(), files: { 'data/sales.csv': csv } });
    const { code, out } = await validateJson(p.dir);
    expect(code).toBe(2);
    expect(codes(out)).toEqual(['MM432 error pipelines[0].time.column 6:21', 'MM433 error pipelines[0].target 7:13']);
    expect(out.diagnostics[0]!.message).toBe('time column "date" has values that are not dates: "week 40" (data/sales.csv line 3; 2 of 3 rows)');
  });

  it('reads a quoted header and quoted fields per RFC 4180', async () => {
    const csv = '"store_id","item_id","da""te","sales"\r\n1,"a,b","2024-01-01",3\r\n2,"line\nbreak",2024-01-02,"4"\r\n';
    const p = kit.project({ yaml: yaml().replace('column: date', 'column: \'da"te\''), files: { 'data/sales.csv': csv } });
    const r = await cli(['validate'], { cwd: p.dir });
    expect(r.stderr).toBe('');
    expect(r.stdout).toContain('Data of sales (data/sales.csv): read 2 rows, 2 groups.');
    expect(r.code).toBe(0);
  });

  it('samples the first file of a glob or a folder, its partition folders as columns', async () => {
    const head = 'item_id,date,sales\n';
    const p = kit.project({
      yaml: yaml({ path: '"data/lake/*/*.csv"' }),
      files: { 'data/lake/store_id=1/a.csv': `${head}1,2024-01-01,3\n2,2024-01-01,4\n`, 'data/lake/store_id=2/a.csv': `${head}1,2024-01-01,5\n` },
    });
    const r = await cli(['validate'], { cwd: p.dir });
    expect(r.stderr).toBe('');
    expect(r.stdout).toContain('Data of sales (data/lake/*/*.csv): read 2 rows of data/lake/store_id=1/a.csv, the first of 2 files, 2 groups.');
    expect(r.code).toBe(0);
    p.write('pipelines.yaml', yaml({ path: 'data/lake', keys: 'store, item_id' }));
    const { out } = await validateJson(p.dir);
    expect(codes(out)).toEqual(['MM431 error pipelines[0].keys[0] 5:12']);
    expect(out.diagnostics[0]!.message).toBe('key column "store" is not in data/lake/store_id=1/a.csv (the first of 2 files of data/lake)');
    p.write('pipelines.yaml', yaml({ path: '"data/none_*.csv"' }));
    const none = await validateJson(p.dir, '--data');
    expect(codes(none.out)).toEqual(['MM430 error pipelines[0].data.path 4:32']);
  });
});

describe('the data check and the runtime', () => {
  it('read the same strings as missing values', () => {
    const code = 'import json; from manymodels_runtime.input_data.csv_reader import NA_STRINGS; print(json.dumps(NA_STRINGS))';
    const runtime = JSON.parse(execFileSync(PYTHON, ['-c', code], { cwd: path.join(REPO, 'pyspark-templates'), encoding: 'utf8' })) as string[];
    expect([...NA_STRINGS]).toEqual(runtime);
  });
});
