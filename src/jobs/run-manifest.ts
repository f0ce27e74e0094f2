// Reads what the runtime wrote (docs/contracts.md): the run manifest, one row per group.
// Checked on the way in — a remote job's file is input like any other.
import { existsSync, readFileSync } from 'node:fs';
import path from 'node:path';
import { RUN_MANIFEST_FILE, type GroupResult, type RunManifest } from '../contracts/runs.js';
import { UsageError } from '../core/errors.js';

/** A manifest that cannot be trusted: named, with what to do (the run's models are not lost). */
function malformed(file: string, problem: string): UsageError {
  return new UsageError(`the run manifest ${file} ${problem}`, {
    code: 'MM521',
    nextSteps: [
      'The runtime writes this file at the end of a run; it was cut short or changed since.',
      `Train again (or resume an earlier run); move ${path.dirname(file)} out of .manymodels/runs/ to forget this run`,
    ],
  });
}

export function readRunManifest(runDir: string): RunManifest | undefined {
  const file = path.join(runDir, RUN_MANIFEST_FILE);
  if (!existsSync(file)) return undefined;
  let data: RunManifest;
  try {
    data = JSON.parse(readFileSync(file, 'utf8')) as RunManifest;
  } catch (err) {
    throw malformed(file, err instanceof SyntaxError ? 'is not valid JSON (truncated?)' : `could not be read (${(err as NodeJS.ErrnoException).code ?? String(err)})`);
  }
  if (!data || typeof data !== 'object' || data.specVersion !== 1 || !Array.isArray(data.groups) || !data.counts || typeof data.counts !== 'object') {
    throw malformed(file, 'is not a version-1 run manifest');
  }
  checkGroupRows(data.groups, (problem) => malformed(file, problem));
  return data;
}

/**
 * Checks group rows as the runtime wrote them (a manifest's `groups`, a journal's lines):
 * `fail(problem)` gives the error to throw. Null metrics become `{}`; an artifact must lie
 * inside the run folder, since artifacts are opened by path.
 */
export function checkGroupRows(groups: unknown[], fail: (problem: string) => Error): asserts groups is GroupResult[] {
  for (const g of groups as GroupResult[]) {
    if (!g || typeof g !== 'object' || typeof g.groupId !== 'string' || typeof g.modelName !== 'string' || !['ok', 'failed', 'skipped'].includes(g.status)) {
      throw fail(`has a malformed group row: ${JSON.stringify(g).slice(0, 200)}`);
    }
    if (g.metrics === null || typeof g.metrics !== 'object') g.metrics = {};
    if (g.artifact !== null && g.artifact !== undefined && (typeof g.artifact !== 'string' || path.isAbsolute(g.artifact) || path.normalize(g.artifact).startsWith('..'))) {
      throw fail(`names an artifact outside the run folder: ${String(g.artifact)}`);
    }
  }
}
