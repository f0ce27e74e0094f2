// The Python runtime as a remote run ships it: the `manymodels_runtime` package zipped (the
// job puts the zip on sys.path before importing it, and Spark sends it to the executors), and
// the two entry scripts. Built once per process; deterministic, so its sha256 only changes
// when the runtime's code does and the content-addressed upload skips it otherwise.
import { readdirSync, readFileSync } from 'node:fs';
import path from 'node:path';
import { runtimeDir } from '../../core/package-root.js';
import { writeZip, type ZipEntry } from './zip-writer.js';

export const RUNTIME_PACKAGE = 'manymodels_runtime';
export const RUNTIME_ZIP_NAME = `${RUNTIME_PACKAGE}.zip`;

let cached: Buffer | undefined;

function pythonFiles(dir: string, prefix: string): ZipEntry[] {
  const out: ZipEntry[] = [];
  for (const entry of readdirSync(dir, { withFileTypes: true })) {
    if (entry.name === '__pycache__' || entry.name.startsWith('.')) continue;
    const full = path.join(dir, entry.name);
    if (entry.isDirectory()) out.push(...pythonFiles(full, `${prefix}/${entry.name}`));
    // .json: jobspec.schema.json, which spec.py reads with pkgutil.get_data (zip-safe).
    else if (entry.name.endsWith('.py') || entry.name.endsWith('.json')) out.push({ name: `${prefix}/${entry.name}`, data: readFileSync(full) });
  }
  return out;
}

/** The zip of the runtime package, with `manymodels_runtime/` at its root. */
export function runtimePackageZip(): Buffer {
  cached ??= writeZip(pythonFiles(path.join(runtimeDir(), RUNTIME_PACKAGE), RUNTIME_PACKAGE));
  return cached;
}

/** An entry script's bytes (`train_entry.py`, `score_entry.py`). */
export function entryScript(name: string): Buffer {
  if (!/^[a-z_]+_entry\.py$/.test(name)) throw new Error(`not an entry script: ${name}`);
  return readFileSync(path.join(runtimeDir(), name));
}
