// Bad input or state never crashes the CLI: a reader closing the pipe, a null metric, a
// recursive YAML alias, truncated run records, a garbage registry.db or run manifest. Each
// case runs the real CLI as a child process against real files.
import { mkdirSync, writeFileSync } from 'node:fs';
import path from 'node:path';
import { describe, expect, it } from 'vitest';
import { LocalRegistry } from '../src/registry/local-registry.js';
import { fakeRunId, forecastYaml, runBin, startBin, writeRun } from './helpers/reliability-kit.js';
import { projectKit } from './helpers/project.js';

const scratch = projectKit('mm-rel-crash-').tempDir;

/** A project whose data file exists (commands that only read state never open it). */
function project(): string {
  const dir = scratch();
  writeFileSync(path.join(dir, 'pipelines.yaml'), forecastYaml());
  mkdirSync(path.join(dir, 'data'));
  writeFileSync(path.join(dir, 'data/sales.csv'), 'store_id,item_id,date,sales,price,promo\n1,1,2026-01-01,3,1.0,0\n');
  return dir;
}

const noCrash = (stderr: string): void => {
  expect(stderr).not.toMatch(/Internal error|EPIPE|    at |RangeError|TypeError/);
};

describe('a reader that goes away', () => {
  it('runs list into a closed pipe exits quietly with its own code', async () => {
    const dir = project();
    for (let i = 0; i < 200; i++) writeRun(dir, fakeRunId('train'));
    const { child, done } = startBin(['runs', 'list', '--limit', '200'], { cwd: dir });
    // The reader is gone before the CLI writes a byte: every write fails with EPIPE.
    child.stdout!.destroy();
    const r = await done;
    noCrash(r.stderr);
    expect(r.code).toBe(0);
  });
});

describe('a model with a null metric', () => {
  it('models list shows it instead of crashing on toPrecision', async () => {
    const dir = project();
    const registry = new LocalRegistry(path.join(dir, '.manymodels/registry'));
    const artifactPath = path.join(dir, 'model.pkl');
    writeFileSync(artifactPath, 'model');
    await registry.registerVersions([
      {
        name: 'daily__g1',
        pipeline: 'daily',
        project: 'rel',
        groupId: 'g1',
        keys: { store_id: '1', item_id: '1' },
        modelType: 'linear',
        runId: fakeRunId('train'),
        dataFingerprint: '',
        // JSON has no NaN: the runtime writes a metric it could not compute as null.
        metrics: { wape: null as unknown as number, rmse: 1.5 },
        artifactPath,
        sha256: 'a'.repeat(64),
      },
    ]);
    await registry.close();
    const r = await runBin(['models', 'list'], { cwd: dir });
    noCrash(r.stderr);
    expect(r.code).toBe(0);
    expect(r.stdout).toMatch(/daily__g1 .* wape=— rmse=1\.5/);
  });
});

describe('a recursive YAML alias', () => {
  it('is MM109 at the alias, in validate and in a command', async () => {
    const dir = scratch();
    writeFileSync(path.join(dir, 'pipelines.yaml'), 'version: 1\nproject: x\npipelines: &a\n  - name: *a\n');
    for (const args of [['validate'], ['train'], ['runs', 'list']]) {
      const r = await runBin(args, { cwd: dir });
      noCrash(r.stderr);
      expect(r.code, args.join(' ')).toBe(2);
      expect(r.stderr).toContain('Error MM109: recursive alias *a');
      expect(r.stderr).toContain('in pipelines.yaml:4:11');
    }
  });

  it('leaves a plain alias alone', async () => {
    const dir = project();
    writeFileSync(path.join(dir, 'pipelines.yaml'), forecastYaml().replace('metrics: [wape, rmse]', 'metrics: &m [wape, rmse]').replace('scoring:', 'x_unused: *m\n    scoring:'));
    const r = await runBin(['validate'], { cwd: dir });
    expect(r.stderr).not.toContain('MM109');
  });
});

describe('a truncated run.json', () => {
  it('is skipped with a warning by runs list, a coded error naming the file elsewhere', async () => {
    const dir = project();
    const good = fakeRunId('train');
    writeRun(dir, good);
    const bad = fakeRunId('train');
    const badFile = writeRun(dir, bad, {}, '{\n  "createdAt": "2026-12-01T10:0');
    const list = await runBin(['runs', 'list'], { cwd: dir });
    noCrash(list.stderr);
    expect(list.code).toBe(0);
    expect(list.stdout).toContain(good);
    expect(list.stdout).not.toContain(bad);
    expect(list.stderr).toContain(`Warning MM520: skipped run ${bad}: ${badFile} is not valid JSON`);

    const show = await runBin(['runs', 'show', bad], { cwd: dir });
    noCrash(show.stderr);
    expect(show.code).toBe(2);
    expect(show.stderr).toContain(`Error MM520: the record of run ${bad} is unreadable: ${badFile}`);
    expect(show.stderr).toContain('move the run');

    // The newest training run is the unreadable one: promote passes over it, and naming it is MM520.
    const promote = await runBin(['promote', '--run', bad], { cwd: dir });
    noCrash(promote.stderr);
    expect(promote.code).toBe(2);
    expect(promote.stderr).toContain('MM520');
    const latest = await runBin(['promote', '--dry-run'], { cwd: dir });
    noCrash(latest.stderr);
    expect(latest.stderr).not.toContain(bad);
  });

  it('an empty or foreign run.json is unreadable too', async () => {
    const dir = project();
    const empty = fakeRunId('score');
    writeRun(dir, empty, {}, '');
    const foreign = fakeRunId('score');
    writeRun(dir, foreign, {}, '[1, 2, 3]\n');
    const list = await runBin(['runs', 'list'], { cwd: dir });
    expect(list.code).toBe(0);
    expect(list.stderr).toContain(`skipped run ${empty}`);
    expect(list.stderr).toContain('is empty');
    expect(list.stderr).toContain(`skipped run ${foreign}`);
    expect(list.stderr).toContain('is not a run record');
  });
});

describe('garbage state files', () => {
  it('a registry.db that is not a database is MM522 naming the file', async () => {
    const dir = project();
    const file = path.join(dir, '.manymodels/registry/registry.db');
    mkdirSync(path.dirname(file), { recursive: true });
    writeFileSync(file, Buffer.from(Array.from({ length: 4096 }, (_, i) => (i * 7919) % 256)));
    for (const args of [['models', 'list'], ['promote', '--dry-run']]) {
      const r = await runBin(args, { cwd: dir });
      noCrash(r.stderr);
      expect(r.code, args.join(' ')).toBe(2);
      expect(r.stderr).toContain(`Error MM522: the registry database ${file} is unreadable`);
    }
  });

  it('a run manifest that is not JSON is MM521 naming the file', async () => {
    const dir = project();
    const id = fakeRunId('train');
    writeRun(dir, id);
    const manifest = path.join(dir, '.manymodels/runs', id, 'run-manifest.json');
    writeFileSync(manifest, '{"specVersion": 1, "groups": [{"groupId": "g1", "mod');
    const r = await runBin(['runs', 'show', id], { cwd: dir });
    noCrash(r.stderr);
    expect(r.code).toBe(2);
    expect(r.stderr).toContain(`Error MM521: the run manifest ${manifest} is not valid JSON`);
    writeFileSync(manifest, '{"specVersion": 1, "counts": {}, "groups": [null]}');
    const rows = await runBin(['runs', 'show', id], { cwd: dir });
    expect(rows.code).toBe(2);
    expect(rows.stderr).toContain('has a malformed group row');
  });
});
