// The CLI shell: help, exit codes, commands that have not landed, and what validate loads.
import { execFileSync } from 'node:child_process';
import { readFileSync, writeFileSync } from 'node:fs';
import path from 'node:path';
import { Ajv } from 'ajv';
import { parse } from 'yaml';
import { describe, expect, it } from 'vitest';
import { cli } from './helpers/cli.js';
import { projectKit } from './helpers/project.js';

const scratch = projectKit('mm-compile-').tempDir;

const repo = path.resolve(import.meta.dirname, '..');

describe('the CLI', () => {
  it('prints help with every command and exits 0', async () => {
    const result = await cli(['--help'], { cwd: repo });
    expect(result.code).toBe(0);
    for (const command of ['validate', 'compile', 'schema', 'sample-data', 'train', 'score', 'promote', 'runs', 'models', 'serve', 'dashboard']) {
      expect(result.stdout).toContain(`  ${command}`);
    }
  });

  it('gives every command help text with an example', async () => {
    for (const command of ['validate', 'compile', 'train', 'promote', 'score', 'serve']) {
      const result = await cli([command, '--help'], { cwd: repo });
      expect(result.code).toBe(0);
      expect(result.stdout).toMatch(/Example:\n {2}manymodels /);
    }
  });

  it('exits 2 on an unknown command or option, without a stack trace', async () => {
    const unknown = await cli(['trian'], { cwd: repo });
    expect(unknown.code).toBe(2);
    expect(unknown.stderr).toContain("(Did you mean train?)");
    const badOption = await cli(['validate', '--frobnicate'], { cwd: repo });
    expect(badOption.code).toBe(2);
    expect(badOption.stderr).not.toContain('    at ');
  });

  it('refuses a bad serve flag before starting, and says the dashboard needs a terminal', async () => {
    const serve = await cli(['serve', '--port', 'http'], { cwd: repo });
    expect([serve.code, serve.stderr]).toEqual([2, expect.stringContaining('MM318: --port must be a whole number from 0 to 65535')]);
    const dashboard = await cli(['dashboard'], { cwd: repo });
    expect([dashboard.code, dashboard.stderr]).toEqual([2, expect.stringContaining('MM318: the dashboard needs an interactive terminal')]);
  });

  it('validates the example pipelines.yaml on every target', async () => {
    const env = { DATABRICKS_HOST: 'https://adb-1.1.azuredatabricks.net', AZURE_SUBSCRIPTION_ID: '00000000-0000-0000-0000-000000000000' };
    for (const target of ['local', 'databricks', 'synapse']) {
      const result = await cli(['validate', '--target', target, '--no-data'], { cwd: repo, env });
      expect(result.stderr).toBe('');
      expect(result.code).toBe(0);
    }
  });

  it('prints a JSON Schema the example file satisfies', async () => {
    const result = await cli(['schema'], { cwd: repo });
    const schema = JSON.parse(result.stdout) as object;
    const validate = new Ajv({ strict: false, allErrors: true }).compile(schema);
    const example = parse(readFileSync(path.join(repo, 'pipelines.yaml'), 'utf8')) as unknown;
    expect(validate(example), JSON.stringify(validate.errors)).toBe(true);
  });

  it('writes compiled specs under .manymodels/compiled, byte-stable across runs', async () => {
    const dir = scratch();
    writeFileSync(path.join(dir, 'pipelines.yaml'), readFileSync(path.join(repo, 'pipelines.yaml')));
    const first = await cli(['compile', '--stage', 'score'], { cwd: dir });
    expect(first.stdout).toBe('wrote .manymodels/compiled/local/store-item-daily.score.json\n');
    const file = path.join(dir, '.manymodels/compiled/local/store-item-daily.score.json');
    const before = readFileSync(file, 'utf8');
    await cli(['compile', '--stage', 'score'], { cwd: dir });
    expect(readFileSync(file, 'utf8')).toBe(before);
    expect(JSON.parse(before)).toMatchObject({ specVersion: 1, stage: 'score', entryScript: 'score_entry.py' });
  });

  it('does not load Ink or the Azure SDKs for validate and compile', () => {
    // A child process records every module specifier resolved while the command runs.
    const probe = `
      import { registerHooks } from 'node:module';
      const seen = [];
      registerHooks({ resolve(specifier, context, next) { seen.push(specifier); return next(specifier, context); } });
      const { runCli } = await import(${JSON.stringify(path.join(repo, 'dist/cli/main.js'))});
      const io = { stdout: { write() {} }, stderr: { write() {} }, cwd: ${JSON.stringify(repo)}, env: {} };
      await runCli(['validate'], io);
      await runCli(['compile', '--stdout'], io);
      process.stdout.write(JSON.stringify(seen));
    `;
    const seen = JSON.parse(execFileSync(process.execPath, ['--input-type=module', '-e', probe], { encoding: 'utf8' })) as string[];
    expect(seen.some((s) => s.includes('commands/validate'))).toBe(true);
    expect(seen.filter((s) => s === 'ink' || s === 'react' || s.startsWith('@azure/') || s === 'axios')).toEqual([]);
  });
});
