// Reading the run history of a project's target: runs newest first, and one run with what
// its job wrote (the run manifest), for `manymodels runs list|show`.
import type { RunManifest, RunRecord, RunStage, RunState } from '../contracts/runs.js';
import { readRunManifest } from '../jobs/run-manifest.js';
import { liveRecord, type UnreadableRun } from '../jobs/run-store.js';
import type { Project } from '../pipeline/project.js';
import { UsageError } from '../core/errors.js';
import { openRunStore } from './open.js';
import { compareRuns, groupTable, type GroupQuery, type GroupTable, type RunComparison } from './results.js';

export interface RunFilter {
  pipeline?: string;
  stage?: RunStage;
  state?: RunState;
  limit?: number;
}

export type { UnreadableRun } from '../jobs/run-store.js';

/** Runs newest first; runs whose record is unreadable are skipped and pushed to `unreadable`. */
export function listRuns(project: Project, filter: RunFilter = {}, unreadable?: UnreadableRun[]): RunRecord[] {
  return listRunsPage(project, filter, unreadable).runs;
}

export interface RunPage {
  runs: RunRecord[];
  /** Runs that matched the filter but were left out by the limit. */
  more: number;
}

/**
 * Newest first by creation time, then by id, so runs created in the same second keep one
 * order. States are filtered after liveness: `--state running` must not show a dead run.
 */
export function listRunsPage(project: Project, filter: RunFilter = {}, unreadable?: UnreadableRun[]): RunPage {
  const { state, limit, ...rest } = filter;
  const all = openRunStore(project)
    .list(rest, unreadable)
    .map(liveRecord)
    .filter((r) => !state || r.state === state)
    .sort((a, b) => (a.createdAt < b.createdAt ? 1 : a.createdAt > b.createdAt ? -1 : a.id < b.id ? 1 : a.id > b.id ? -1 : 0));
  const runs = limit !== undefined ? all.slice(0, limit) : all;
  return { runs, more: all.length - runs.length };
}

export interface RunDetail {
  run: RunRecord;
  /** Train and score runs that got as far as writing one. */
  manifest?: RunManifest;
}

export function showRun(project: Project, id: string): RunDetail {
  const store = openRunStore(project);
  const run = liveRecord(store.get(id));
  const manifest = run.stage === 'promote' ? undefined : readRunManifest(store.runDir(run.id));
  return manifest ? { run, manifest } : { run };
}

/** The per-group results of a train or score run, filtered and sorted (`runs show --groups`). */
export function showRunGroups(project: Project, id: string, query: GroupQuery = {}): { run: RunRecord; table: GroupTable } {
  const { run, manifest } = showRun(project, id);
  return { run, table: groupTable(manifestOrThrow(run, manifest), query) };
}

/** Two train (or two score) runs side by side (`runs compare A B`). */
export function compareRunIds(project: Project, before: string, after: string): RunComparison {
  const a = showRun(project, before);
  const b = showRun(project, after);
  return compareRuns(manifestOrThrow(a.run, a.manifest), manifestOrThrow(b.run, b.manifest));
}

function manifestOrThrow(run: RunRecord, manifest: RunManifest | undefined): RunManifest {
  if (run.stage === 'promote') {
    throw new UsageError(`run ${run.id} is a promotion; it has decisions, not per-group results`, {
      code: 'MM318',
      nextSteps: [`Its decisions: .manymodels/runs/${run.id}/promotion-report.json`, run.sourceRun ? `The models it judged: manymodels runs show ${run.sourceRun} --groups` : 'List runs with: manymodels runs list'],
    });
  }
  if (!manifest) {
    throw new UsageError(`run ${run.id} (${run.state}) has no per-group results: its job did not write a run manifest`, {
      code: 'MM503',
      nextSteps: [`What happened: manymodels runs show ${run.id}`],
    });
  }
  return manifest;
}

/** The run record alone (e.g. to find which target a run was on). */
export function getRun(project: Project, id: string): RunRecord {
  return openRunStore(project).get(id);
}
