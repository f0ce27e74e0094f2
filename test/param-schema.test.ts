// validate's MM322 check and the runtime's own parameter checks read the same param_schema;
// this asks both about the same values and expects the same verdict for every model param.
import { execFileSync } from 'node:child_process';
import path from 'node:path';
import { describe, expect, it } from 'vitest';
import { describeParam, MODEL_CATALOG, paramMatches } from '../src/pipeline/catalog.js';

const python = process.env.MANYMODELS_PYTHON ?? '/usr/bin/python3';
const runtime = path.join(import.meta.dirname, '..', 'pyspark-templates');
const VALUES: unknown[] = [-1, 0, 0.5, 1, 2, 2.5, 20, 21, 255, 256, 4096, 5000, 5001, 1e9, 2 ** 32, true, 'add', 'mul', 'sqrt', 'balanced', 'x', null, [], [0], [1, 7], ['price'], {}];

const RUNTIME_VERDICTS = `
import json, sys
sys.path.insert(0, ${JSON.stringify(runtime)})
from manymodels_runtime.models import get_model
cases = json.load(sys.stdin)
out = []
for name, key, value in cases:
    params = {key: value}
    if name == "gbm" and key == "lags":
        params["horizon"] = 1  # lags >= horizon is a rule across params, not the schema's
    try:
        get_model(name)._params(params)
        out.append(True)
    except ValueError:
        out.append(False)
print(json.dumps(out))
`;

describe('param_schema', () => {
  const cases: Array<[string, string, unknown]> = [];
  for (const [name, entry] of Object.entries(MODEL_CATALOG)) {
    for (const key of Object.keys(entry.param_schema)) for (const v of VALUES) cases.push([name, key, v]);
  }

  it('gives validate the verdict the runtime gives', () => {
    expect(cases.length).toBeGreaterThan(500);
    const runtimeSays = JSON.parse(execFileSync(python, ['-c', RUNTIME_VERDICTS], { input: JSON.stringify(cases), encoding: 'utf8' })) as boolean[];
    const disagree = cases
      .map(([name, key, v], i) => ({ name, key, v, cli: paramMatches(MODEL_CATALOG[name]!.param_schema[key]!, v), runtime: runtimeSays[i] }))
      .filter((c) => c.cli !== c.runtime)
      .map((c) => `${c.name}.${c.key} = ${JSON.stringify(c.v)}: validate ${c.cli ? 'accepts' : 'refuses'}, the runtime ${c.runtime ? 'accepts' : 'refuses'}`);
    expect(disagree).toEqual([]);
  });

  it('accepts every default and says what it wants in words', () => {
    for (const [name, entry] of Object.entries(MODEL_CATALOG)) {
      for (const [key, schema] of Object.entries(entry.param_schema)) expect(paramMatches(schema, entry.defaults[key]), `${name}.${key}`).toBe(true);
    }
    const gbm = MODEL_CATALOG.gbm!.param_schema;
    expect(describeParam(gbm.learning_rate!)).toBe('a number in (0, 10]');
    expect(describeParam(gbm.lags!)).toBe('a non-empty list of integers >= 1 or null');
    expect(describeParam(MODEL_CATALOG.ets!.param_schema.seasonal!)).toBe('one of add, mul, null');
  });
});
