// The commands our messages suggest keep `-f FILE` when the project file is not the default,
// so copying one and running it works. Checked by running the copied hints with the real CLI.
import { mkdirSync } from 'node:fs';
import path from 'node:path';
import { describe, expect, it } from 'vitest';
import { cliCommand } from '../src/runs/hints.js';
import { forecastProject, runBin } from './helpers/reliability-kit.js';
import { projectKit } from './helpers/project.js';

const scratch = projectKit('mm-rel-hints-').tempDir;

/** The words of a suggested command, without the leading `manymodels`. */
function words(hint: string): string[] {
  const parts = hint.trim().split(/\s+/);
  expect(parts[0]).toBe('manymodels');
  return parts.slice(1);
}

describe('hints keep -f FILE', () => {
  it('promote → "Train first" → train → "details" → runs show, each copied and run from the cwd', async () => {
    const cwd = scratch();
    mkdirSync(path.join(cwd, 'shop'));
    forecastProject(path.join(cwd, 'shop'), { file: 'other.yaml' });
    const file = path.join('shop', 'other.yaml');

    const promote = await runBin(['promote', '-f', file], { cwd });
    expect(promote.code).toBe(2);
    const trainHint = /Train first: (manymodels .*)/.exec(promote.stderr)![1]!;
    expect(trainHint).toBe(`manymodels train daily -f ${file}`);

    const train = await runBin(words(trainHint), { cwd });
    expect(train.code, train.stderr).toBe(0);
    const showHint = /details: (manymodels .*)/.exec(train.stdout)![1]!;
    expect(showHint).toMatch(new RegExp(`^manymodels runs show \\d{8}-\\d{6}-train-[0-9a-f]{6} -f ${file.replace('.', '\\.')}$`));

    const show = await runBin(words(showHint), { cwd });
    expect(show.code, show.stderr).toBe(0);
    expect(show.stdout).toContain('succeeded');
  }, 120_000);

  it('the default file adds nothing; a path with a space is quoted', () => {
    const project = (displayPath: string) => ({ file: { displayPath } }) as Parameters<typeof cliCommand>[0];
    expect(cliCommand(project('pipelines.yaml'), 'runs show X')).toBe('manymodels runs show X');
    expect(cliCommand(project('my shop/p.yaml'), 'train d --resume X')).toBe("manymodels train d --resume X -f 'my shop/p.yaml'");
  });
});
