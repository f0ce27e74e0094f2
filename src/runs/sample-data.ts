// `manymodels sample-data` as one function: runs the runtime's deterministic store×item sales
// generator with the local Python and returns its summary.
import { spawn } from 'node:child_process';
import { mkdirSync } from 'node:fs';
import path from 'node:path';
import { WorkFailedError } from '../core/errors.js';
import { runtimeDir } from '../core/package-root.js';
import { findPython } from '../jobs/local/python.js';

export interface SampleDataRequest {
  /** Absolute path of the CSV to write. */
  out: string;
  stores: number;
  items: number;
  days: number;
  /** YYYY-MM-DD */
  start: string;
  seed: number;
  cwd: string;
  env: Record<string, string | undefined>;
  signal?: AbortSignal;
}

export interface SampleDataSummary {
  rows?: number;
  series?: number;
  bytes?: number;
  seconds?: number;
}

/** Undefined when interrupted through `signal`. */
export async function generateSampleData(request: SampleDataRequest): Promise<SampleDataSummary | undefined> {
  const args = [
    path.join(runtimeDir(), 'sample_data_entry.py'),
    '--out', request.out,
    '--stores', String(request.stores),
    '--items', String(request.items),
    '--days', String(request.days),
    '--start', request.start,
    '--seed', String(request.seed),
  ];
  mkdirSync(path.dirname(request.out), { recursive: true });
  const python = findPython(request.env);
  const env = { PATH: request.env.PATH ?? '', HOME: request.env.HOME ?? '', PYTHONDONTWRITEBYTECODE: '1' };
  const child = spawn(python, args, { cwd: request.cwd, env, stdio: ['ignore', 'pipe', 'pipe'] });
  let stdout = '';
  let stderr = '';
  child.stdout.on('data', (c: Buffer) => (stdout += c.toString()));
  child.stderr.on('data', (c: Buffer) => (stderr += c.toString()));
  const onAbort = (): boolean => child.kill('SIGTERM');
  request.signal?.addEventListener('abort', onAbort, { once: true });
  const code = await new Promise<number | null>((resolve) => child.on('close', resolve));
  request.signal?.removeEventListener('abort', onAbort);
  if (request.signal?.aborted) return undefined;
  if (code !== 0) {
    throw new WorkFailedError(`sample data generation failed (exit ${code})`, { code: 'MM502', nextSteps: stderr.trim().split('\n').slice(-8) });
  }
  return JSON.parse(stdout.trim().split('\n').pop() ?? '{}') as SampleDataSummary;
}
