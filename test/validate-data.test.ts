// `validate` on what users write: YAML merge keys shared between pipelines and the MM306
// horizon warning, each pinned to its code and file:line:col.
import { describe, expect, it } from 'vitest';
import { cli } from './helpers/cli.js';
import { projectKit } from './helpers/project.js';

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
    const { code, out } = await validateJson(p.dir);
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
    const { out } = await validateJson(p.dir);
    expect(out.diagnostics).toEqual([
      expect.objectContaining({ code: 'MM306', severity: 'warning', message: 'scoring.horizon applies to forecasts only; regression pipelines score each input row', line: 9, column: 25 }),
    ]);
  });

  it('says nothing about "undefined pipelines" when the task is missing', async () => {
    const p = kit.project({ yaml: yaml('') });
    const { out } = await validateJson(p.dir);
    expect(out.diagnostics.map((d) => d.code)).toEqual(['MM204']);
    expect(JSON.stringify(out)).not.toContain('undefined');
  });
});

