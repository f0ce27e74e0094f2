// DEFAULTS (src/pipeline/defaults.ts) is the one place the language's defaults live: the
// loader applies exactly those values and docs/pipelines-yaml.md#defaults lists each of them.
import { readFileSync } from 'node:fs';
import path from 'node:path';
import { describe, expect, it } from 'vitest';
import { DEFAULTS, defaultEntries } from '../src/pipeline/defaults.js';
import { resolvePipeline, resolveTarget } from '../src/pipeline/resolve.js';
import { compileJobSpec } from '../src/pipeline/compile.js';
import type { RawPipeline } from '../src/pipeline/types.js';

const repo = path.join(import.meta.dirname, '..');

function docTable(): Map<string, string> {
  const doc = readFileSync(path.join(repo, 'docs/pipelines-yaml.md'), 'utf8');
  const section = doc.slice(doc.indexOf('\n## Defaults\n'), doc.indexOf('\n## Editor support\n'));
  const rows = new Map<string, string>();
  for (const m of section.matchAll(/^\| `([A-Za-z.]+)` \| `([^`]+)` \|/gm)) rows.set(m[1]!, m[2]!);
  return rows;
}

describe('DEFAULTS', () => {
  it('is listed in docs/pipelines-yaml.md, every value and nothing else', () => {
    const rows = docTable();
    const entries = defaultEntries();
    expect(entries.length).toBeGreaterThan(20);
    for (const [key, value] of entries) expect(rows.get(key), `docs row for DEFAULTS.${key}`).toBe(JSON.stringify(value));
    expect([...rows.keys()].sort()).toEqual(entries.map(([k]) => k).sort());
  });

  it('is what a pipeline that sets nothing optional gets', () => {
    const root = path.join(repo, 'test', 'fixtures', 'valid-minimal-regression');
    const { target } = resolveTarget({ pipelines: [] } as never, DEFAULTS.target.name, root, () => ({ file: 'pipelines.yaml', line: 1, column: 1 }));
    expect(target.engine).toBe(DEFAULTS.target.engine);
    expect(target.workers).toBe(DEFAULTS.target.workers);
    expect(target.registry.path).toBe(path.join(root, DEFAULTS.registry.path));
    expect(target.productionRegistry.path).toBe(path.join(root, DEFAULTS.registry.productionPath));
    expect(target.registry).toMatchObject({ granularity: DEFAULTS.registry.granularity, concurrency: DEFAULTS.registry.concurrency });
    const base = { name: 'p', data: { format: 'csv', path: 'd.csv' }, keys: ['k'], target: 'y', model: { type: 'linear' } };
    const forecast = resolvePipeline({ ...base, task: 'forecast', time: { column: 't' } } as RawPipeline, 'proj', target);
    expect(forecast.scoring.horizon).toBe(DEFAULTS.scoring.horizon);
    expect(forecast.model.holdout).toEqual({ periods: DEFAULTS.scoring.horizon, fraction: null, from: null });
    expect(forecast.time?.frequency).toBe(DEFAULTS.time.frequency);
    expect(forecast.metrics).toEqual(DEFAULTS.metrics.forecast);
    const regression = resolvePipeline({ ...base, task: 'regression', model: { type: 'linear', params: {} }, promotion: { rules: [{ metric: 'mae', compare: 'production' }] } } as RawPipeline, 'proj', target);
    expect(regression.model).toMatchObject({ holdout: { periods: null, fraction: DEFAULTS.model.holdoutFraction }, minTrainRows: DEFAULTS.model.minTrainRows, refit: DEFAULTS.model.refit });
    expect(regression.metrics).toEqual(DEFAULTS.metrics.regression);
    expect(regression.promotion.rules[0]).toMatchObject({ tolerance: DEFAULTS.promotion.tolerance, whenNoProduction: DEFAULTS.promotion.whenNoProduction });
    expect(regression.failureBudget).toEqual({ maxFailed: null, maxFailedFraction: DEFAULTS.failureBudget.maxFailedFraction });
    expect(regression.scoring).toMatchObject({ table: DEFAULTS.scoring.table, writeMode: DEFAULTS.scoring.writeMode });
    expect(regression.serving.cache).toEqual({ maxModels: DEFAULTS.serving.cacheMaxModels, ttlSeconds: DEFAULTS.serving.cacheTtlSeconds });
    expect(regression.spark.shufflePartitions).toBe(DEFAULTS.spark.shufflePartitions);
    const spec = compileJobSpec({ pipeline: regression, target: { ...target, engine: 'spark-local' }, stage: 'train', projectRoot: root });
    expect(spec.scoring.sink).toEqual({ type: DEFAULTS.sink.type, path: DEFAULTS.sink.path, table: DEFAULTS.scoring.table });
    expect(spec.execution.sparkConf).toEqual(DEFAULTS.spark.conf);
  });
});
