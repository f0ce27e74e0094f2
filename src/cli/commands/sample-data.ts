// `manymodels sample-data`: the runtime's deterministic store×item sales generator.
import { spawn } from 'node:child_process';
import { mkdirSync } from 'node:fs';
import path from 'node:path';
import { UsageError, WorkFailedError } from '../../core/errors.js';
import { ExitCode } from '../../core/exit-codes.js';
import { runtimeDir } from '../../core/package-root.js';
import { findPython } from '../../jobs/local/python.js';
import type { CliIo } from '../io.js';

function positiveInt(name: string, value: unknown, min = 1): string {
  const n = Number(value);
  if (!Number.isInteger(n) || n < min) throw new UsageError(`--${name} must be a whole number ≥ ${min}, got "${String(value)}"`, { code: 'MM318' });
  return String(n);
}

export async function run(_args: unknown[], opts: Record<string, unknown>, io: CliIo): Promise<number> {
  const out = path.resolve(io.cwd, String(opts.out ?? 'data/sales.csv'));
  const start = String(opts.start ?? '2022-01-01');
  if (!/^\d{4}-\d{2}-\d{2}$/.test(start) || Number.isNaN(Date.parse(start))) throw new UsageError(`--start must be a date YYYY-MM-DD, got "${start}"`, { code: 'MM318' });
  const args = [
    path.join(runtimeDir(), 'sample_data_entry.py'),
    '--out', out,
    '--stores', positiveInt('stores', opts.stores ?? 10),
    '--items', positiveInt('items', opts.items ?? 20),
    '--days', positiveInt('days', opts.days ?? 730),
    '--start', start,
    '--seed', positiveInt('seed', opts.seed ?? 42, 0),
  ];
  mkdirSync(path.dirname(out), { recursive: true });
  const python = findPython(io.env);
  if (!opts.json) io.stderr.write(`Generating ${Number(opts.stores ?? 10) * Number(opts.items ?? 20)} series × ${opts.days ?? 730} days into ${path.relative(io.cwd, out) || out} …\n`);
  const child = spawn(python, args, { cwd: io.cwd, env: { PATH: io.env.PATH ?? '', HOME: io.env.HOME ?? '', PYTHONDONTWRITEBYTECODE: '1' }, stdio: ['ignore', 'pipe', 'pipe'] });
  let stdout = '';
  let stderr = '';
  child.stdout.on('data', (c: Buffer) => (stdout += c.toString()));
  child.stderr.on('data', (c: Buffer) => (stderr += c.toString()));
  const onAbort = (): boolean => child.kill('SIGTERM');
  io.signal?.addEventListener('abort', onAbort, { once: true });
  const code = await new Promise<number | null>((resolve) => child.on('close', resolve));
  io.signal?.removeEventListener('abort', onAbort);
  if (io.signal?.aborted) return ExitCode.Interrupted;
  if (code !== 0) {
    throw new WorkFailedError(`sample data generation failed (exit ${code})`, { code: 'MM502', nextSteps: stderr.trim().split('\n').slice(-8) });
  }
  const summary = JSON.parse(stdout.trim().split('\n').pop() ?? '{}') as { rows?: number; series?: number; bytes?: number; seconds?: number };
  if (opts.json) io.stdout.write(`${JSON.stringify({ out, ...summary })}\n`);
  else io.stdout.write(`Wrote ${path.relative(io.cwd, out) || out}: ${(summary.rows ?? 0).toLocaleString('en-US')} rows, ${summary.series ?? 0} series, ${((summary.bytes ?? 0) / 1e6).toFixed(1)} MB in ${(summary.seconds ?? 0).toFixed(1)} s\n`);
  return ExitCode.Ok;
}
