// `manymodels sample-data`: the runtime's deterministic store×item sales generator.
import path from 'node:path';
import { UsageError } from '../../core/errors.js';
import { ExitCode } from '../../core/exit-codes.js';
import { generateSampleData } from '../../runs/sample-data.js';
import type { CliIo } from '../io.js';

function wholeNumber(name: string, value: unknown, min = 1): number {
  const n = Number(value);
  if (!Number.isInteger(n) || n < min) throw new UsageError(`--${name} must be a whole number ≥ ${min}, got "${String(value)}"`, { code: 'MM318' });
  return n;
}

export async function run(_args: unknown[], opts: Record<string, unknown>, io: CliIo): Promise<number> {
  const out = path.resolve(io.cwd, String(opts.out ?? 'data/sales.csv'));
  const start = String(opts.start ?? '2022-01-01');
  if (!/^\d{4}-\d{2}-\d{2}$/.test(start) || Number.isNaN(Date.parse(start))) throw new UsageError(`--start must be a date YYYY-MM-DD, got "${start}"`, { code: 'MM318' });
  const request: Parameters<typeof generateSampleData>[0] = {
    out,
    stores: wholeNumber('stores', opts.stores ?? 10),
    items: wholeNumber('items', opts.items ?? 20),
    days: wholeNumber('days', opts.days ?? 730),
    start,
    seed: wholeNumber('seed', opts.seed ?? 42, 0),
    cwd: io.cwd,
    env: io.env,
  };
  if (io.signal) request.signal = io.signal;
  if (!opts.json) io.stderr.write(`Generating ${request.stores * request.items} series × ${request.days} days into ${path.relative(io.cwd, out) || out} …\n`);
  const summary = await generateSampleData(request);
  if (!summary) return ExitCode.Interrupted;
  if (opts.json) io.stdout.write(`${JSON.stringify({ out, ...summary })}\n`);
  else io.stdout.write(`Wrote ${path.relative(io.cwd, out) || out}: ${(summary.rows ?? 0).toLocaleString('en-US')} rows, ${summary.series ?? 0} series, ${((summary.bytes ?? 0) / 1e6).toFixed(1)} MB in ${(summary.seconds ?? 0).toFixed(1)} s\n`);
  return ExitCode.Ok;
}
