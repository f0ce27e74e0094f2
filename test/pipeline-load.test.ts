// Bad input at the file level ends in a clear diagnostic, quickly, never a stack trace or a hang.
import { writeFileSync, openSync, ftruncateSync, closeSync } from 'node:fs';
import path from 'node:path';
import { describe, expect, it } from 'vitest';
import { cli } from './helpers/cli.js';
import { projectKit } from './helpers/project.js';

const scratch = projectKit('mm-load-').tempDir;


describe('loading pipelines.yaml', () => {
  it('refuses a 50 MB file by its size without reading it', async () => {
    // Given a 50 MB file
    const dir = scratch();
    const fd = openSync(path.join(dir, 'pipelines.yaml'), 'w');
    ftruncateSync(fd, 50 * 1024 * 1024);
    closeSync(fd);
    // When it is validated
    const started = Date.now();
    const result = await cli(['validate'], { cwd: dir });
    // Then it is refused at once with MM102
    expect(Date.now() - started).toBeLessThan(1000);
    expect(result.code).toBe(2);
    expect(result.stderr).toContain('Error MM102: "pipelines.yaml" is 50.0 MB');
  });

  it('stops a YAML alias bomb quickly', async () => {
    const dir = scratch();
    const levels = Array.from({ length: 12 }, (_, i) => `l${i + 1}: &l${i + 1} [${Array(10).fill(`*l${i}`).join(', ')}]`);
    writeFileSync(path.join(dir, 'pipelines.yaml'), ['l0: &l0 [lol, lol, lol, lol, lol, lol, lol, lol, lol, lol]', ...levels, 'pipelines: *l12', ''].join('\n'));
    const started = Date.now();
    const result = await cli(['validate'], { cwd: dir });
    expect(Date.now() - started).toBeLessThan(2000);
    expect(result.code).toBe(2);
    expect(result.stderr).toContain('Error MM106');
  });

  it('reports invalid UTF-8 as not text', async () => {
    const dir = scratch();
    writeFileSync(path.join(dir, 'pipelines.yaml'), Buffer.from([0x70, 0x69, 0x70, 0xff, 0xfe, 0x0a]));
    const result = await cli(['validate'], { cwd: dir });
    expect(result.code).toBe(2);
    expect(result.stderr).toContain('Error MM103: "pipelines.yaml" is not valid UTF-8 text');
  });

  it('prints diagnostics as data with --json, positions included', async () => {
    const dir = scratch();
    writeFileSync(path.join(dir, 'pipelines.yaml'), 'pipelines:\n  - name: a\n    data: { format: csv, path: x.csv }\n    keys: [k]\n    target: y\n    task: regression\n    model: { type: linear }\n    metrics: [rmse, roc_auc]\n');
    const result = await cli(['validate', '--json'], { cwd: dir });
    expect(result.code).toBe(2);
    const out = JSON.parse(result.stdout) as { ok: boolean; diagnostics: Array<Record<string, unknown>> };
    expect(out.ok).toBe(false);
    expect(out.diagnostics).toEqual([
      expect.objectContaining({ code: 'MM308', severity: 'error', path: 'pipelines[0].metrics[1]', file: 'pipelines.yaml', line: 8, column: 21 }),
    ]);
  });

  it('shows relative paths from the cwd and absolute ones outside it', async () => {
    const dir = scratch();
    const other = scratch();
    const result = await cli(['validate', path.join(other, 'missing.yaml')], { cwd: dir });
    expect(result.stderr).toContain(`file "${path.join(other, 'missing.yaml')}" does not exist`);
  });
});
