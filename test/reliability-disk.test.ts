// A full disk is a coded error (MM525, exit 1) naming the path, with the registry and run
// history left consistent and the run resumable. On a real full file system: a tmpfs mounted
// under the project's state folder when this process may mount one (root in a container),
// else skipped; a real ENOSPC from /dev/full is checked either way.
import { execFileSync } from 'node:child_process';
import { existsSync, mkdirSync, readdirSync, readFileSync, rmSync, symlinkSync, utimesSync, writeFileSync } from 'node:fs';
import path from 'node:path';
import { DatabaseSync } from 'node:sqlite';
import { afterAll, describe, expect, it } from 'vitest';
import { StorageError, storageErrorFrom } from '../src/core/errors.js';
import { RunStore } from '../src/jobs/run-store.js';
import { forecastProject, forecastYaml, repo, runBin } from './helpers/reliability-kit.js';
import { projectKit } from './helpers/project.js';

const scratch = projectKit('mm-rel-disk-').tempDir;
const mounted: string[] = [];

/** Mounts a tmpfs at `dir`; false when this process may not (not root, no CAP_SYS_ADMIN). */
function mountTmpfs(dir: string, options: string): boolean {
  mkdirSync(dir, { recursive: true });
  try {
    execFileSync('mount', ['-t', 'tmpfs', '-o', options, 'tmpfs', dir], { stdio: 'pipe' });
    mounted.push(dir);
    return true;
  } catch {
    return false;
  }
}

afterAll(() => {
  for (const dir of mounted.reverse()) {
    try {
      execFileSync('umount', [dir], { stdio: 'pipe' });
    } catch {
      // Left for the scratch cleanup to fail on loudly.
    }
  }
});

const canMount = (() => {
  const probe = path.join(scratch(), 'probe');
  const ok = mountTmpfs(probe, 'size=64k');
  return ok;
})();

function versions(dbFile: string): number {
  const db = new DatabaseSync(dbFile, { readOnly: true });
  try {
    return (db.prepare('SELECT COUNT(*) AS n FROM versions').get() as { n: number }).n;
  } finally {
    db.close();
  }
}

function states(dir: string): string[] {
  const runs = path.join(dir, '.manymodels/runs');
  return existsSync(runs) ? readdirSync(runs).map((id) => (JSON.parse(readFileSync(path.join(runs, id, 'run.json'), 'utf8')) as { state: string }).state) : [];
}

const noCrash = (stderr: string): void => expect(stderr).not.toMatch(/Internal error|Unhandled|    at /);

describe.skipIf(!canMount)('a registry on a file system that fills up (tmpfs)', () => {
  it('registration stops with MM525 naming the path, the registry keeps no half, and --resume finishes it', async () => {
    const dir = forecastProject(scratch());
    const registry = path.join(dir, '.manymodels/registry');
    // Room for the index and its WAL, not for one more artifact: out of inodes is ENOSPC too.
    expect(mountTmpfs(registry, 'size=4m,nr_inodes=8')).toBe(true);
    expect((await runBin(['models', 'list'], { cwd: dir })).code).toBe(0);

    const train = await runBin(['train'], { cwd: dir });
    noCrash(train.stderr);
    expect(train.code).toBe(1);
    expect(train.stderr).toMatch(new RegExp(`Error MM525: could not write ${registry.replace(/[.]/g, '\\.')}/artifacts/\\S+: no space left on the device \\(ENOSPC\\)`));
    const runId = /--resume (\d{8}-\d{6}-train-[0-9a-f]{6})/.exec(train.stderr)![1]!;
    expect(states(dir)).toEqual(['failed']);
    // Nothing registered: the transaction that met the full disk was rolled back whole.
    expect(versions(path.join(registry, 'registry.db'))).toBe(0);
    expect(existsSync(path.join(registry, '.lock'))).toBe(false);

    // Room again (a bigger file system in the same place): the resume registers the run's models.
    execFileSync('mount', ['-o', 'remount,nr_inodes=10000', registry], { stdio: 'pipe' });
    const resume = await runBin(['train', '--resume', runId], { cwd: dir });
    noCrash(resume.stderr);
    expect(resume.code, resume.stderr).toBe(0);
    expect(resume.stderr).toContain(`registered`);
    expect(versions(path.join(registry, 'registry.db'))).toBeGreaterThan(5);
  }, 120_000);

  it('a full state folder: train stops with MM525 before any work, no run left running', async () => {
    const dir = forecastProject(scratch());
    const state = path.join(dir, '.manymodels');
    expect(mountTmpfs(state, 'size=64k')).toBe(true);
    writeFileSync(path.join(state, 'filler'), Buffer.alloc(0));
    try {
      execFileSync('dd', ['if=/dev/zero', `of=${path.join(state, 'filler')}`, 'bs=4k'], { stdio: 'pipe' });
    } catch {
      // dd stops with ENOSPC: that is the point.
    }
    const train = await runBin(['train'], { cwd: dir });
    noCrash(train.stderr);
    expect(train.code).toBe(1);
    expect(train.stderr).toContain('Error MM525: could not write');
    expect(train.stderr).toContain(state);
    expect(states(dir).filter((s) => s === 'running')).toEqual([]);
  }, 60_000);
});

describe('a real ENOSPC from /dev/full', () => {
  it('maps to MM525 naming the path', () => {
    let thrown: unknown;
    try {
      writeFileSync('/dev/full', 'x');
    } catch (err) {
      thrown = err;
    }
    expect((thrown as NodeJS.ErrnoException).code).toBe('ENOSPC');
    // write(2) errors carry no path: the caller names the file it was writing.
    expect(storageErrorFrom(thrown)!.message).toBe('could not write a local file: no space left on the device (ENOSPC)');
    const mapped = storageErrorFrom(thrown, '/dev/full');
    expect(mapped).toBeInstanceOf(StorageError);
    expect(mapped!.code).toBe('MM525');
    expect(mapped!.exitCode).toBe(1);
    expect(mapped!.message).toBe('could not write /dev/full: no space left on the device (ENOSPC)');
    expect(storageErrorFrom(new Error('other'))).toBeUndefined();
  });

  it('a run record that cannot be written leaves no half record behind', () => {
    const dir = scratch();
    const store = new RunStore(dir);
    const record = store.create({ id: store.newRunId('train'), stage: 'train', pipeline: 'p', project: 'x', target: 'local', engine: 'local', state: 'running', resumeOf: null, sourceRun: null });
    const file = path.join(store.runDir(record.id), 'run.json');
    // The next save writes run.json.<pid>.tmp first (core/state-file.ts): make that /dev/full.
    symlinkSync('/dev/full', `${file}.${process.pid}.tmp`);
    expect(() => store.update(record, { state: 'succeeded' })).toThrow(/MM525|no space left/);
    expect(store.get(record.id).state).toBe('running');
  });

  it('a run folder appears with its run.json or not at all, and what a killed create left is swept', () => {
    const dir = scratch();
    const store = new RunStore(dir);
    const base = { stage: 'train' as const, pipeline: 'p', project: 'x', target: 'local', engine: 'local', state: 'running' as const, resumeOf: null, sourceRun: null };
    // The record cannot be written (its temp file is /dev/full): no run folder, no folder aside.
    const id = store.newRunId('train');
    const aside = path.join(store.folder, `.creating-${id}`);
    mkdirSync(aside, { recursive: true });
    symlinkSync('/dev/full', path.join(aside, `run.json.${process.pid}.tmp`));
    expect(() => store.create({ id, ...base })).toThrow(/MM525|no space left/);
    expect(existsSync(store.runDir(id))).toBe(false);
    expect(existsSync(aside)).toBe(false);
    // Folders a kill -9 left aside: never listed; the next create removes those past a minute old.
    const stale = path.join(store.folder, '.creating-20260101-000000-train-aaaaaa');
    const fresh = path.join(store.folder, '.creating-20260101-000000-train-bbbbbb');
    mkdirSync(stale);
    mkdirSync(fresh);
    const old = new Date(Date.now() - 120_000);
    utimesSync(stale, old, old);
    const made = store.create({ id: store.newRunId('train'), ...base });
    expect(store.list().map((r) => r.id)).toEqual([made.id]);
    expect(JSON.parse(readFileSync(path.join(store.runDir(made.id), 'run.json'), 'utf8')).id).toBe(made.id);
    expect(existsSync(stale)).toBe(false);
    expect(existsSync(fresh)).toBe(true);
  });

  it('a registry.db on /dev/full is MM525 (exit 1), not an internal error', async () => {
    const dir = scratch();
    writeFileSync(path.join(dir, 'pipelines.yaml'), forecastYaml());
    mkdirSync(path.join(dir, 'data'));
    writeFileSync(path.join(dir, 'data/sales.csv'), 'store_id,item_id,date,sales,price,promo\n');
    mkdirSync(path.join(dir, '.manymodels/registry'), { recursive: true });
    symlinkSync('/dev/full', path.join(dir, '.manymodels/registry/registry.db'));
    const r = await runBin(['models', 'list'], { cwd: dir });
    noCrash(r.stderr);
    expect(r.code).toBe(1);
    expect(r.stderr).toContain(`Error MM525: could not write the registry database ${path.join(dir, '.manymodels/registry/registry.db')}: no space left on the device`);
  });

  it('stdout on /dev/full is MM524, exit 1', () => {
    const dir = scratch();
    writeFileSync(path.join(dir, 'pipelines.yaml'), forecastYaml());
    let code = 0;
    let stderr = '';
    try {
      execFileSync('sh', ['-c', `"${process.execPath}" "${path.join(repo, 'bin/manymodels.js')}" runs list > /dev/full`], { cwd: dir, stdio: 'pipe' });
    } catch (err) {
      code = (err as { status: number }).status;
      stderr = String((err as { stderr: Buffer }).stderr);
    }
    expect(code).toBe(1);
    expect(stderr).toContain('Error MM524: could not write to stdout: ENOSPC');
    rmSync(path.join(dir, 'pipelines.yaml'));
  });
});
