// Registered artifacts are read-only, and the production registry's are copies of their own:
// editing a run's artifact after promotion does not change the production model, and scoring
// still reads the model that was promoted.
import { createHash } from 'node:crypto';
import { appendFileSync, readdirSync, readFileSync, statSync } from 'node:fs';
import path from 'node:path';
import { DatabaseSync } from 'node:sqlite';
import { describe, expect, it } from 'vitest';
import { forecastProject, runBin } from './helpers/reliability-kit.js';
import { projectKit } from './helpers/project.js';

const scratch = projectKit('mm-rel-art-').tempDir;
const sha = (file: string): string => createHash('sha256').update(readFileSync(file)).digest('hex');

describe('registered artifacts', () => {
  it('are read-only, in production copies: a tampered run artifact leaves production and scoring untouched', async () => {
    const dir = forecastProject(scratch());
    for (const cmd of ['train', 'promote']) {
      const r = await runBin([cmd], { cwd: dir });
      expect(r.code, r.stderr).toBe(0);
    }
    const runs = path.join(dir, '.manymodels/runs');
    const train = readdirSync(runs).find((n) => n.includes('-train-'))!;
    const db = new DatabaseSync(path.join(dir, '.manymodels/production/registry.db'), { readOnly: true });
    const rows = db.prepare('SELECT name, artifact AS uri, sha256 FROM versions').all() as Array<{ name: string; uri: string; sha256: string }>;
    db.close();
    expect(rows.length).toBeGreaterThan(0);
    const training = readdirSync(path.join(dir, '.manymodels/registry/artifacts'), { recursive: true, withFileTypes: true }).filter((e) => e.isFile());
    expect(training.length).toBeGreaterThanOrEqual(rows.length);
    for (const e of training) expect(statSync(path.join(e.parentPath, e.name)).mode & 0o222).toBe(0);
    for (const row of rows) {
      const prod = path.isAbsolute(row.uri) ? row.uri : path.join(dir, '.manymodels/production', row.uri);
      const inRun = path.join(runs, train, 'artifacts', `${row.name}.pkl`);
      // Not the same file: another inode, and nobody may write it.
      expect(statSync(prod).ino).not.toBe(statSync(inRun).ino);
      expect(statSync(prod).mode & 0o222).toBe(0);
      appendFileSync(inRun, 'tampered');
      expect(sha(prod)).toBe(row.sha256);
    }
    const score = await runBin(['score'], { cwd: dir });
    expect(score.code, score.stderr).toBe(0);
    expect(score.stdout).toContain(`${rows.length} production models: ${rows.length} ok`);
  }, 180_000);
});
