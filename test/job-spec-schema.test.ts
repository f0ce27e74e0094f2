// The JobSpec's JSON Schema (src/contracts/job-spec-schema.ts), which the Python runtime checks
// every spec against: it describes every JobSpec field, every golden JobSpec satisfies it, it
// refuses what the runtime must refuse, and its defaults are the language's.
import { readdirSync, readFileSync, existsSync } from 'node:fs';
import path from 'node:path';
import { Ajv } from 'ajv';
import { describe, expect, it } from 'vitest';
import type { JobSpec } from '../src/contracts/job-spec.js';
import { jobSpecSchema } from '../src/contracts/job-spec-schema.js';
import { DEFAULTS } from '../src/pipeline/defaults.js';

const fixtures = path.join(import.meta.dirname, 'fixtures');
const goldens = readdirSync(fixtures)
  .map((name) => path.join(fixtures, name, 'expected-stdout.txt'))
  .filter((file) => existsSync(file) && readFileSync(file, 'utf8').includes('"specVersion"'))
  .map((file) => ({ name: path.basename(path.dirname(file)), spec: JSON.parse(readFileSync(file, 'utf8')) as JobSpec }));

// Fails to compile when JobSpec gains or loses a field and this list does not follow.
const JOB_SPEC_FIELDS = {
  specVersion: true, stage: true, entryScript: true, project: true, pipeline: true, target: true, engine: true, task: true,
  frequency: true, timeKind: true, seasonLength: true, data: true, columns: true, model: true, metrics: true, failureBudget: true, scoring: true, execution: true,
} satisfies Record<keyof JobSpec, true>;

const validate = new Ajv({ allErrors: true, strict: true, strictRequired: false, strictTypes: false }).compile(jobSpecSchema);

describe('the JobSpec schema', () => {
  it('describes every JobSpec field', () => {
    expect(Object.keys(jobSpecSchema.properties).sort()).toEqual(Object.keys(JOB_SPEC_FIELDS).sort());
  });

  it('is satisfied by every golden JobSpec', () => {
    expect(goldens.map((g) => g.name)).toEqual(expect.arrayContaining(['valid-forecast-train', 'valid-forecast-score', 'valid-databricks-target']));
    for (const { name, spec } of goldens) {
      expect(validate(spec), `${name}: ${JSON.stringify(validate.errors)}`).toBe(true);
    }
  });

  it('refuses what the runtime must refuse', () => {
    const spec = goldens.find((g) => g.name === 'valid-forecast-score')!.spec;
    const bad = (over: (s: Record<string, any>) => void): boolean => {
      const copy = structuredClone(spec) as Record<string, any>;
      over(copy);
      return validate(copy);
    };
    expect(bad(() => {})).toBe(true);
    expect(bad((s) => (s.pipeline = 'bad name'))).toBe(false);
    expect(bad((s) => (s.columns.keys = []))).toBe(false);
    expect(bad((s) => (s.model.holdout.periods = 0))).toBe(false);
    expect(bad((s) => (s.execution.shufflePartitions = 0))).toBe(false);
    expect(bad((s) => (s.scoring.sink = null))).toBe(false);
    expect(bad((s) => delete s.scoring.sink.table)).toBe(false);
    expect(bad((s) => (s.scoring.sink = { type: 'synapse_sql', flavor: 'synapse', table: 'p' }))).toBe(false);
  });

  it('defaults what a JobSpec leaves out to the language defaults', () => {
    const p = jobSpecSchema.properties;
    expect(p.model.properties.minTrainRows.default).toBe(DEFAULTS.model.minTrainRows);
    expect(p.model.properties.refit.default).toBe(DEFAULTS.model.refit);
    expect(p.scoring.properties.writeMode.default).toBe(DEFAULTS.scoring.writeMode);
    expect(p.execution.properties.workers.default).toBe(DEFAULTS.target.workers);
    expect(p.execution.properties.shufflePartitions.default).toBe(DEFAULTS.spark.shufflePartitions);
  });
});
