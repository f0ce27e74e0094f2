// `score` and `promote` under real faults: a kill -9 or Ctrl-C of the CLI in the middle of a
// score, two scores at once, and a kill -9 of `promote` at several points from start-up to
// commit. Promised (docs/reliability.md): a stopped score leaves the previous predictions and
// nothing of its own, its runtime and workers are gone within 5 s, and the rerun writes each
// (pipeline, keys, time) once; a stopped promotion leaves a consistent production registry that
// the next `promote` completes, one version per group. Real CLI processes and real signals.
import { existsSync, readdirSync, readFileSync, rmSync, unlinkSync, writeFileSync } from 'node:fs';
import path from 'node:path';
import { beforeAll, describe, expect, it } from 'vitest';
import { binEnv, forecastProject, forecastYaml, runBin, startBin } from './helpers/reliability-kit.js';
import { projectKit, sqliteQuery } from './helpers/project.js';

const scratch = projectKit('mm-rel-score-').tempDir;
const WORKERS = 2;
const HORIZON = 14;

// Predicting is slow while the file `slow` exists, and every prediction is logged, so a test
// can stop a score in the middle of its groups and see whether anything still predicts.
const SLOW_MODEL = `import os, time

def train(pdf, params):
    return float(pdf["sales"].mean())

def predict(model, pdf):
    if os.path.exists("slow"):
        fd = os.open("predicts.log", os.O_WRONLY | os.O_APPEND | os.O_CREAT)
        os.write(fd, b"p\\n")
        os.close(fd)
        time.sleep(0.15)
    return [model] * len(pdf)
`;

async function until(what: string, check: () => boolean, ms = 60_000): Promise<void> {
  const end = Date.now() + ms;
  while (!check()) {
    if (Date.now() > end) throw new Error(`timed out waiting for ${what}`);
    await new Promise((r) => setTimeout(r, 30));
  }
}
const sleep = (ms: number): Promise<void> => new Promise((r) => setTimeout(r, ms));

/** Pids of every descendant of `pid` (read from /proc while they run). */
function descendantsOf(pid: number): number[] {
  const parent = new Map<number, number>();
  for (const name of readdirSync('/proc')) {
    if (!/^\d+$/.test(name)) continue;
    try {
      const stat = readFileSync(`/proc/${name}/stat`, 'utf8');
      parent.set(Number(name), Number(stat.slice(stat.lastIndexOf(')') + 2).split(' ')[1]));
    } catch {
      // Exited meanwhile.
    }
  }
  const out: number[] = [];
  const walk = (p: number): void => {
    for (const [child, pp] of parent) if (pp === p) (out.push(child), walk(child));
  };
  walk(pid);
  return out;
}

const alive = (pid: number): boolean => {
  try {
    return !readFileSync(`/proc/${pid}/stat`, 'utf8').includes(') Z ');
  } catch {
    return false;
  }
};

function runsOf(dir: string, stage: string): Array<{ id: string; state: string }> {
  const folder = path.join(dir, '.manymodels/runs');
  return readdirSync(folder)
    .filter((id) => id.includes(`-${stage}-`))
    .sort()
    .map((id) => ({ id, state: (JSON.parse(readFileSync(path.join(folder, id, 'run.json'), 'utf8')) as { state: string }).state }));
}

async function listedState(dir: string, id: string): Promise<string> {
  const r = await runBin(['runs', 'list', '--json'], { cwd: dir });
  expect(r.code, r.stderr).toBe(0);
  const doc = JSON.parse(r.stdout) as { runs?: Array<{ id: string; state: string }> } | Array<{ id: string; state: string }>;
  const list = Array.isArray(doc) ? doc : doc.runs ?? [];
  return list.find((x) => x.id === id)?.state ?? 'absent';
}

const db = (dir: string): string => path.join(dir, '.manymodels/predictions.db');
const predicts = (dir: string): number => (existsSync(path.join(dir, 'predicts.log')) ? readFileSync(path.join(dir, 'predicts.log'), 'utf8').length / 2 : 0);

/** Each (pipeline, keys, time) once in the current table, a full horizon for every group. */
function expectOneCurrentForecast(dir: string, groups: number): void {
  const doubled = sqliteQuery<{ n: number }>(db(dir), 'SELECT COUNT(*) AS n FROM predictions GROUP BY pipeline, store_id, item_id, time HAVING COUNT(*) > 1');
  expect(doubled).toEqual([]);
  const n = sqliteQuery<{ n: number }>(db(dir), 'SELECT COUNT(*) AS n FROM predictions')[0]!.n;
  expect(n).toBe(groups * HORIZON);
}

const scoredRuns = (dir: string): string[] =>
  existsSync(db(dir)) ? sqliteQuery<{ run_id: string }>(db(dir), 'SELECT DISTINCT run_id FROM predictions_all ORDER BY run_id').map((r) => r.run_id) : [];

/** Starts `score` with slow predictions and `stop`s the CLI once `after` groups predicted. */
async function scoreAndStop(dir: string, after: number, signal: NodeJS.Signals): Promise<{ id: string; code: number | null; descendants: number[] }> {
  writeFileSync(path.join(dir, 'slow'), '');
  rmSync(path.join(dir, 'predicts.log'), { force: true });
  const before = new Set(runsOf(dir, 'score').map((r) => r.id));
  const { child, done } = startBin(['score', '--workers', String(WORKERS)], { cwd: dir, env: binEnv() });
  await until(`${after} predictions`, () => predicts(dir) >= after);
  const descendants = descendantsOf(child.pid!);
  expect(descendants.length).toBeGreaterThan(0);
  child.kill(signal);
  const result = await done;
  unlinkSync(path.join(dir, 'slow'));
  const id = runsOf(dir, 'score').find((r) => !before.has(r.id))!.id;
  return { id, code: result.code, descendants };
}

describe('score and promote stopped part-way', () => {
  let dir: string;
  let groups: number;
  beforeAll(async () => {
    dir = forecastProject(scratch(), { stores: 4, items: 6, days: 90, yaml: forecastYaml('daily', '{ type: custom, path: slow.py, holdout: 14 }') });
    writeFileSync(path.join(dir, 'slow.py'), SLOW_MODEL);
    const train = await runBin(['train', '--workers', String(WORKERS)], { cwd: dir });
    expect(train.code, train.stderr).toBe(0);
    const promote = await runBin(['promote'], { cwd: dir });
    expect(promote.code, promote.stderr).toBe(0);
    groups = sqliteQuery<{ n: number }>(path.join(dir, '.manymodels/production/registry.db'), 'SELECT COUNT(DISTINCT name) AS n FROM versions')[0]!.n;
    expect(groups).toBeGreaterThan(10);
  }, 180_000);

  it('kill -9 of score mid-run: no orphan after 5 s, nothing written, interrupted, the rerun writes once', async () => {
    const { id, descendants } = await scoreAndStop(dir, 5, 'SIGKILL');
    const end = Date.now() + 5_000;
    await until('the runtime and its workers to go', () => descendants.every((p) => !alive(p)), 5_000);
    expect(Date.now()).toBeLessThanOrEqual(end);
    // Nothing predicts any more, and the killed run wrote no row.
    const seen = predicts(dir);
    await sleep(1_000);
    expect(predicts(dir)).toBe(seen);
    expect(seen).toBeLessThan(groups);
    expect(scoredRuns(dir)).toEqual([]);
    expect(await listedState(dir, id)).toBe('interrupted');

    const again = await runBin(['score', '--workers', String(WORKERS)], { cwd: dir });
    expect(again.code, again.stderr).toBe(0);
    expectOneCurrentForecast(dir, groups);
    expect(scoredRuns(dir)).toHaveLength(1);
  }, 120_000);

  it('Ctrl-C of score mid-run: exit 130, the previous forecast stays whole, the rerun replaces it once', async () => {
    const previous = scoredRuns(dir);
    const { id, code, descendants } = await scoreAndStop(dir, 5, 'SIGINT');
    expect(code).toBe(130);
    await until('the runtime and its workers to go', () => descendants.every((p) => !alive(p)), 5_000);
    expect(scoredRuns(dir)).toEqual(previous);
    expectOneCurrentForecast(dir, groups);
    expect(['interrupted', 'cancelled', 'failed']).toContain(await listedState(dir, id));

    const again = await runBin(['score'], { cwd: dir });
    expect(again.code, again.stderr).toBe(0);
    expectOneCurrentForecast(dir, groups);
    const history = sqliteQuery<{ n: number }>(db(dir), 'SELECT COUNT(*) AS n FROM predictions_history')[0]!.n;
    expect(history).toBe(groups * HORIZON);
  }, 120_000);

  it('score × 2 at once: both succeed, one current forecast, both runs kept', async () => {
    const before = scoredRuns(dir).length;
    const [a, b] = await Promise.all([runBin(['score'], { cwd: dir }), runBin(['score'], { cwd: dir })]);
    for (const r of [a, b]) {
      expect(r.stderr).not.toMatch(/UNIQUE|locked|Internal error|    at /);
      expect(r.code, r.stderr).toBe(0);
    }
    expectOneCurrentForecast(dir, groups);
    expect(scoredRuns(dir)).toHaveLength(before + 2);
    for (const r of runsOf(dir, 'score').slice(-2)) expect(r.state).toBe('succeeded');
  }, 120_000);

  it('kill -9 of promote at several points: the next promote completes it, one version per group', async () => {
    const prod = path.join(dir, '.manymodels/production');
    for (const delay of [150, 300, 450, 600, 750, 900, 1_100]) {
      rmSync(prod, { recursive: true, force: true });
      const { child, done } = startBin(['promote'], { cwd: dir, env: binEnv() });
      await sleep(delay);
      child.kill('SIGKILL');
      await done;
      if (existsSync(path.join(prod, 'registry.db'))) {
        expect(sqliteQuery<{ integrity_check: string }>(path.join(prod, 'registry.db'), 'PRAGMA integrity_check')).toEqual([{ integrity_check: 'ok' }]);
        // Killed while the registry was being created, it may hold no table yet.
        const tables = sqliteQuery<{ name: string }>(path.join(prod, 'registry.db'), "SELECT name FROM sqlite_master WHERE name = 'versions'");
        const partial = tables.length === 0 ? [] : sqliteQuery<{ n: number }>(path.join(prod, 'registry.db'), 'SELECT COUNT(*) AS n FROM versions GROUP BY name HAVING COUNT(*) > 1');
        expect(partial, `after ${delay} ms`).toEqual([]);
      }
      const again = await runBin(['promote'], { cwd: dir, env: binEnv({ MANYMODELS_LOCK_WAIT: '10' }) });
      expect(again.code, `after a kill at ${delay} ms: ${again.stderr}`).toBe(0);
      const versions = sqliteQuery<{ n: number }>(path.join(prod, 'registry.db'), 'SELECT COUNT(*) AS n FROM versions GROUP BY name');
      expect(versions).toHaveLength(groups);
      expect(versions.every((v) => v.n === 1)).toBe(true);
      expect(existsSync(path.join(prod, '.lock'))).toBe(false);
    }
    for (const r of runsOf(dir, 'promote')) expect(await listedState(dir, r.id)).not.toBe('running');
    // Every production artifact still matches its sha256: the score loads each one.
    const score = await runBin(['score'], { cwd: dir });
    expect(score.code, score.stderr).toBe(0);
    expect(score.stdout).toContain(`${groups} production models: ${groups} ok`);
  }, 240_000);
});
