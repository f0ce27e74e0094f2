// Reading the run history of a project's target: runs newest first, and one run with what
// its job wrote (the run manifest), for `manymodels runs list|show`.
import type { RunManifest, RunRecord, RunStage, RunState } from '../contracts/runs.js';
import { readRunManifest } from '../jobs/run-manifest.js';
import { liveRecord, type UnreadableRun } from '../jobs/run-store.js';
import type { Project } from '../pipeline/project.js';
import { openRunStore } from './open.js';

export interface RunFilter {
  pipeline?: string;
  stage?: RunStage;
  state?: RunState;
  limit?: number;
}

export type { UnreadableRun } from '../jobs/run-store.js';

/** Runs newest first; runs whose record is unreadable are skipped and pushed to `unreadable`. */
export function listRuns(project: Project, filter: RunFilter = {}, unreadable?: UnreadableRun[]): RunRecord[] {
  // States are filtered after liveness: `--state running` must not show a dead run.
  const { state, limit, ...rest } = filter;
  const all = openRunStore(project).list(state ? rest : { ...rest, ...(limit ? { limit } : {}) }, unreadable).map(liveRecord);
  const wanted = state ? all.filter((r) => r.state === state) : all;
  return limit ? wanted.slice(0, limit) : wanted;
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

/** The run record alone (e.g. to find which target a run was on). */
export function getRun(project: Project, id: string): RunRecord {
  return openRunStore(project).get(id);
}
