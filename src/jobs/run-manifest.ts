// Reads what the runtime wrote (docs/contracts.md): the run manifest, one row per group.
// Checked on the way in — a remote job's file is input like any other.
import { existsSync, readFileSync } from 'node:fs';
import path from 'node:path';

export type GroupStatus = 'ok' | 'failed' | 'skipped';

export interface GroupResult {
  groupId: string;
  modelName: string;
  keys: Record<string, string>;
  status: GroupStatus;
  reason: string | null;
  errorClass: string | null;
  errorMessage: string | null;
  trainRows?: number;
  testRows?: number;
  rowsScored?: number;
  metrics: Record<string, number>;
  artifact: string | null;
  sha256: string | null;
  fitSeconds?: number;
}

export interface RunManifest {
  specVersion: 1;
  runId: string;
  stage: 'train' | 'score';
  pipeline: string;
  modelType?: string;
  task?: string;
  startedAt: string;
  finishedAt: string;
  /** `null` when the job could not stat its input (a Spark run reading abfss://, a table, jdbc). */
  dataFingerprint: string | null;
  counts: { total: number; ok: number; failed: number; skipped: number; predictionsWritten?: number };
  failureBudget?: { maxFailed: number | null; maxFailedFraction: number | null; exceeded: boolean };
  timings?: Record<string, number>;
  groups: GroupResult[];
}

export const RUN_MANIFEST_FILE = 'run-manifest.json';

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
