// Reads what the runtime wrote (docs/contracts.md): the run manifest, one row per group.
// Checked on the way in — a remote job's file is input like any other.
import { existsSync, readFileSync } from 'node:fs';
import path from 'node:path';
import { RUN_MANIFEST_FILE, type RunManifest } from '../contracts/runs.js';

export function readRunManifest(runDir: string): RunManifest | undefined {
  const file = path.join(runDir, RUN_MANIFEST_FILE);
  if (!existsSync(file)) return undefined;
  const data = JSON.parse(readFileSync(file, 'utf8')) as RunManifest;
  if (data.specVersion !== 1 || !Array.isArray(data.groups) || typeof data.counts !== 'object') {
    throw new Error(`${file} is not a version-1 run manifest`);
  }
  for (const g of data.groups) {
    if (typeof g.groupId !== 'string' || typeof g.modelName !== 'string' || !['ok', 'failed', 'skipped'].includes(g.status)) {
      throw new Error(`${file} has a malformed group row: ${JSON.stringify(g).slice(0, 200)}`);
    }
    // Artifacts are opened by path: a manifest must not point outside its run folder.
    if (g.artifact !== null && g.artifact !== undefined && (path.isAbsolute(g.artifact) || path.normalize(g.artifact).startsWith('..'))) {
      throw new Error(`${file} names an artifact outside the run folder: ${g.artifact}`);
    }
  }
  return data;
}
