// Golden cases under test/fixtures/<case>/: pipelines.yaml (+ any files it needs), case.json
// ({args, exit, env}), and the expected stdout / stderr. UPDATE_FIXTURES=1 rewrites the
// expectations from the current output — review the diff before committing it.
import { existsSync, readdirSync, readFileSync, writeFileSync } from 'node:fs';
import path from 'node:path';
import { describe, expect, it } from 'vitest';
import { cli } from './helpers/cli.js';

const root = path.join(import.meta.dirname, 'fixtures');
const update = process.env.UPDATE_FIXTURES === '1';

interface CaseSpec {
  args: string[];
  exit: number;
  env?: Record<string, string>;
  description?: string;
}

const cases = readdirSync(root, { withFileTypes: true })
  .filter((d) => d.isDirectory() && existsSync(path.join(root, d.name, 'case.json')))
  .map((d) => d.name)
  .sort();

describe('fixture cases', () => {
  it('has at least 25 invalid cases and some valid ones', () => {
    const specs = cases.map((c) => JSON.parse(readFileSync(path.join(root, c, 'case.json'), 'utf8')) as CaseSpec);
    expect(specs.filter((s) => s.exit === 2).length).toBeGreaterThanOrEqual(25);
    expect(specs.filter((s) => s.exit === 0).length).toBeGreaterThanOrEqual(3);
  });

  for (const name of cases) {
    it(name, async () => {
      const dir = path.join(root, name);
      const spec = JSON.parse(readFileSync(path.join(dir, 'case.json'), 'utf8')) as CaseSpec;
      const result = await cli(spec.args, { cwd: dir, env: { ...(spec.env ?? {}) } });
      for (const stream of ['stdout', 'stderr'] as const) {
        const file = path.join(dir, `expected-${stream}.txt`);
        if (update) {
          if (result[stream]) writeFileSync(file, result[stream]);
          continue;
        }
        const expected = existsSync(file) ? readFileSync(file, 'utf8') : '';
        expect(result[stream], `${stream} of ${name}`).toBe(expected);
      }
      expect(result.code, `exit code of ${name}: ${result.stderr}`).toBe(spec.exit);
    });
  }
});
