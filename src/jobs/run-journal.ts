// Reads the group journal a local training run appends to as each group finishes
// (pyspark-templates/manymodels_runtime/journal.py, docs/contracts.md). A run stopped before
// its manifest was written (Ctrl-C, kill -9, OOM, power loss) keeps its fitted groups there:
// `train --resume` registers them and skips them. What cannot be trusted is dropped, never
// fatal, so those groups are simply trained again: a torn last line, anything after a line
// that does not parse, an ok row whose artifact is missing or fails its sha256.
import { createHash } from 'node:crypto';
import { existsSync, readFileSync } from 'node:fs';
import path from 'node:path';
import type { GroupResult, RunManifest } from '../contracts/runs.js';
import { checkGroupRows } from './run-manifest.js';

export const RUN_JOURNAL_FILE = 'groups.journal.ndjson';

/** What a stopped run left: its groups as a manifest would list them, counted. */
export interface JournaledRun extends Pick<RunManifest, 'runId' | 'stage' | 'pipeline' | 'modelType' | 'dataFingerprint' | 'counts' | 'groups'> {
  /** Ok rows dropped because their artifact was missing or did not match its sha256. */
  unverified: number;
}

interface JournalHeader {
  journal: 1;
  runId: string;
  stage: 'train';
  pipeline: string;
  modelType?: string;
  dataFingerprint?: string | null;
}

function artifactVerifies(runDir: string, g: GroupResult): boolean {
  if (!g.artifact || !g.sha256) return false;
  try {
    return createHash('sha256').update(readFileSync(path.join(runDir, g.artifact))).digest('hex') === g.sha256;
  } catch {
    return false;
  }
}

/** The journal of the run in `runDir`, or undefined when it has none (or not even a header). */
export function readRunJournal(runDir: string): JournaledRun | undefined {
  const file = path.join(runDir, RUN_JOURNAL_FILE);
  if (!existsSync(file)) return undefined;
  let lines: string[];
  try {
    lines = readFileSync(file, 'utf8').split('\n');
  } catch {
    return undefined;
  }
  const parsed: unknown[] = [];
  for (const line of lines) {
    let value: unknown;
    try {
      value = JSON.parse(line);
    } catch {
      break;
    }
    if (!value || typeof value !== 'object' || Array.isArray(value)) break;
    parsed.push(value);
  }
  const header = parsed.shift() as JournalHeader | undefined;
  if (!header || header.journal !== 1 || typeof header.runId !== 'string' || typeof header.pipeline !== 'string') return undefined;
  // A row that is not a group row ends the trusted part, like a line that does not parse.
  const rows: GroupResult[] = [];
  for (const row of parsed) {
    try {
      checkGroupRows([row], (problem) => new Error(problem));
    } catch {
      break;
    }
    rows.push(row as GroupResult);
  }
  let unverified = 0;
  const groups = rows.filter((g) => {
    if (g.status !== 'ok') return true;
    if (artifactVerifies(runDir, g)) return true;
    unverified += 1;
    return false;
  });
  const counts = { total: groups.length, ok: 0, failed: 0, skipped: 0 };
  for (const g of groups) counts[g.status] += 1;
  const run: JournaledRun = { runId: header.runId, stage: 'train', pipeline: header.pipeline, dataFingerprint: header.dataFingerprint ?? null, counts, groups, unverified };
  if (header.modelType) run.modelType = header.modelType;
  return run;
}
