// validate (semantics.ts sqlStatementCount) and the runtime (sql_source.py one_statement) agree
// on which sql.query is more than one statement: the same table of samples through both.
import { execFileSync } from 'node:child_process';
import path from 'node:path';
import { describe, expect, it } from 'vitest';
import { sqlStatementCount } from '../../src/pipeline/semantics.js';
import { PYTHON, REPO } from '../helpers/project.js';

const SAMPLES: Array<[string, boolean]> = [
  ['SELECT 1', false],
  ['SELECT 1;  \n ;', false],
  ["SELECT 'a;b', \"c;d\" FROM t", false],
  ["SELECT 'it''s;' FROM t", false],
  ['SELECT $$;$$, $tag$ ; $tag$ FROM t', false],
  ['SELECT 1 /* ; */ -- ;\nFROM t', false],
  ['SELECT 1 -- trailing comment;', false],
  ['SELECT 1; DROP TABLE t', true],
  ["SELECT ';' ; SELECT 2;", true],
  ['WITH a AS (SELECT 1) SELECT * FROM a', false],
];

describe('one statement or more', () => {
  it('is decided alike by validate and the runtime', () => {
    const code = [
      'import json, sys',
      'from manymodels_runtime.errors import InputError',
      'from manymodels_runtime.sql_source import one_statement',
      'def many(q):',
      '    try:',
      '        one_statement(q)',
      '        return False',
      '    except InputError:',
      '        return True',
      'print(json.dumps([many(q) for q in json.loads(sys.stdin.read())]))',
    ].join('\n');
    const py = JSON.parse(execFileSync(PYTHON, ['-c', code], { input: JSON.stringify(SAMPLES.map(([q]) => q)), env: { ...process.env, PYTHONPATH: path.join(REPO, 'pyspark-templates') }, encoding: 'utf8' })) as boolean[];
    expect(py).toEqual(SAMPLES.map(([, many]) => many));
    expect(SAMPLES.map(([q]) => sqlStatementCount(q) > 1)).toEqual(SAMPLES.map(([, many]) => many));
  });
});
