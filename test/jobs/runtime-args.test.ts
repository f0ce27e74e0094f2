// The runtime's command line, built once for every engine: its order, its optional flags, and
// (the part that matters) that the runtime's own argument parser accepts every form of it.
import { spawnSync } from 'node:child_process';
import path from 'node:path';
import { describe, expect, it } from 'vitest';
import { runtimeArgs } from '../../src/jobs/runtime-args.js';

const runtime = path.resolve(import.meta.dirname, '../../pyspark-templates');
const python = process.env.MANYMODELS_PYTHON ?? 'python3';

/** What the runtime's argparse makes of a command line, as JSON (or its error). */
function parse(stage: 'train' | 'score', args: string[]): { ok: boolean; parsed?: Record<string, unknown>; stderr: string } {
  const code = `import json, sys\nfrom manymodels_runtime.stages import _parser\nprint(json.dumps(vars(_parser(sys.argv[1]).parse_args(sys.argv[2:]))))`;
  const r = spawnSync(python, ['-c', code, stage, ...args], { cwd: runtime, encoding: 'utf8' });
  return r.status === 0 ? { ok: true, parsed: JSON.parse(r.stdout) as Record<string, unknown>, stderr: r.stderr } : { ok: false, stderr: r.stderr };
}

describe('runtimeArgs', () => {
  it('builds the local, Databricks and Synapse forms in one order', () => {
    expect(runtimeArgs({ spec: 's.json', runId: 'r1', out: 'o', events: '-', workers: 0, executor: 'local' })).toEqual([
      '--spec', 's.json', '--run-id', 'r1', '--out', 'o', '--events', '-', '--workers', '0', '--executor', 'local',
    ]);
    expect(runtimeArgs({ spec: '/dbfs/s', runId: 'r1', out: '/dbfs/o', events: '/dbfs/o/e', executor: 'spark', runtimeZip: '/dbfs/z.zip', noCache: true, bundleArtifacts: true, onlyGroups: '/dbfs/g.json' })).toEqual([
      '--spec', '/dbfs/s', '--run-id', 'r1', '--out', '/dbfs/o', '--events', '/dbfs/o/e', '--executor', 'spark', '--runtime-zip', '/dbfs/z.zip', '--no-cache', '--bundle-artifacts', '--only-groups', '/dbfs/g.json',
    ]);
    expect(runtimeArgs({ spec: 'abfss://s', runId: 'r2', out: 'abfss://o', events: 'abfss://o/e', executor: 'spark', noCache: true, models: 'abfss://m.json' })).toEqual([
      '--spec', 'abfss://s', '--run-id', 'r2', '--out', 'abfss://o', '--events', 'abfss://o/e', '--executor', 'spark', '--no-cache', '--models', 'abfss://m.json',
    ]);
  });

  it('is accepted by the runtime parser for train and score, every option on', () => {
    const train = parse('train', runtimeArgs({ spec: 's', runId: 'r', out: 'o', events: 'e', workers: 3, executor: 'spark', runtimeZip: 'z', noCache: true, bundleArtifacts: true, onlyGroups: 'g', skipGroups: 'k' }));
    expect(train.stderr).toBe('');
    expect(train.parsed).toMatchObject({ spec: 's', run_id: 'r', out: 'o', events: 'e', workers: 3, executor: 'spark', runtime_zip: 'z', no_cache: true, bundle_artifacts: true, only_groups: 'g', skip_groups: 'k' });
    const score = parse('score', runtimeArgs({ spec: 's', runId: 'r', out: 'o', events: '-', workers: 0, executor: 'local', models: 'm' }));
    expect(score.parsed).toMatchObject({ models: 'm', workers: 0, executor: 'local', no_cache: false });
    // The parser is strict: a flag it does not know is refused (so the check above means something).
    expect(parse('score', [...runtimeArgs({ spec: 's', runId: 'r', out: 'o', events: '-', executor: 'local', models: 'm' }), '--bundle-artifacts']).ok).toBe(false);
  });
});
