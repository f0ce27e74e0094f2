// Re-attaching to a remote run started earlier (`manymodels runs watch|cancel RUN`): follow it
// to its end through the backend, then finalize it exactly as `train`/`score` would have.
import { UsageError } from '../core/errors.js';
import type { JobBackend, RunOptions } from '../jobs/backend.js';
import type { RunStore } from '../jobs/run-store.js';
import type { RunRecord } from '../contracts/runs.js';
import type { ModelRegistry } from '../registry/model-registry.js';
import type { AzureContext } from '../contracts/azure.js';
import type { Project } from '../pipeline/project.js';
import { cliCommand } from './hints.js';
import { openRunStore, openTargetBackend, openTrainingRegistry } from './open.js';
import { finalizeScoring, type ScoreResult } from './score.js';
import { finalizeTraining, type FinalizeTrainingOptions, type TrainResult, type TrainUpdate } from './train.js';

export interface AttachOptions {
  project: Project;
  backend: JobBackend;
  runs: RunStore;
  record: RunRecord;
  /** The training registry: needed to finalize a training run. */
  registry?: ModelRegistry;
  /** Ask the service to cancel the run first, then follow it until it has stopped. */
  cancel?: boolean;
  signal?: AbortSignal;
  onUpdate?: (update: TrainUpdate) => void;
}

export type AttachResult = { stage: 'train'; result: TrainResult } | { stage: 'score'; result: ScoreResult };

export async function attachRun(options: AttachOptions): Promise<AttachResult> {
  const { backend, runs, project } = options;
  let record = options.record;
  const onUpdate = options.onUpdate ?? (() => undefined);
  if (record.stage === 'promote') throw new UsageError(`run ${record.id} is a promotion; only train and score runs can be watched`, { code: 'MM503' });
  if (!backend.attach || record.engine !== backend.engine) {
    throw new UsageError(`run ${record.id} ran on the ${record.engine} engine; only remote runs can be watched or cancelled`, {
      code: 'MM503',
      nextSteps: [`See it with: ${cliCommand(project, `runs show ${record.id}`)}`],
    });
  }
  const pipeline = project.pipelines.find((p) => p.name === record.pipeline);
  if (!pipeline) {
    throw new UsageError(`run ${record.id} is of pipeline "${record.pipeline}", which ${project.file.displayPath} no longer has`, { code: 'MM315' });
  }
  const runDir = runs.runDir(record.id);
  if (options.cancel) {
    if (!backend.cancel) throw new UsageError(`the ${backend.engine} engine cannot cancel runs`, { code: 'MM503' });
    await backend.cancel(runDir, options.signal);
  }
  const runOptions: RunOptions = {
    onUpdate: (u) => {
      if (u.kind === 'submitted' && (record.external?.id !== u.external.id || record.external?.url !== u.external.url)) {
        record = runs.update(record, { external: u.external });
      }
      onUpdate(u);
    },
  };
  if (options.signal) runOptions.signal = options.signal;
  const outcome = await backend.attach(runDir, runOptions);
  if (outcome.state === 'running') {
    return record.stage === 'train'
      ? { stage: 'train', result: { run: record, outcome, registered: 0 } }
      : { stage: 'score', result: { run: record, outcome, models: 0 } };
  }
  const seconds = outcome.seconds ?? (Date.now() - Date.parse(record.createdAt)) / 1000;
  if (record.stage === 'score') return { stage: 'score', result: await finalizeScoring({ runs }, record, outcome, seconds) };
  if (!options.registry) throw new Error('attachRun: a training run needs the registry to finalize');
  const finalize: FinalizeTrainingOptions = { pipeline, registry: options.registry, runs, onUpdate, projectFile: project.file.displayPath };
  if (options.signal) finalize.signal = options.signal;
  return { stage: 'train', result: await finalizeTraining(finalize, record, outcome, seconds) };
}

export interface WatchRequest {
  /** The project as loaded for the command; the run's own target is loaded through `projectFor` when it differs. */
  project: Project;
  id: string;
  cancel: boolean;
  /** Loads the project for another target (the run's), with the command's file and variables. */
  projectFor?: (target: string) => Project;
  signal?: AbortSignal;
  context: AzureContext;
  onUpdate?: (update: TrainUpdate, run: RunRecord) => void;
  /** Called once the run is known, before following it. */
  onRun?: (run: RunRecord) => void;
}

export type WatchResult = AttachResult & { registry?: string };

/**
 * `runs watch RUN` / `runs cancel RUN`: follow a remote run to its end (cancelling it first),
 * then finish it as `train`/`score` would have — a training run's models are registered here
 * if nobody registered them yet (registration is idempotent, so watching twice is harmless).
 */
export async function watchRun(request: WatchRequest): Promise<WatchResult> {
  const record = openRunStore(request.project).get(request.id);
  // The run's own target: its settings say where the run is.
  const project = record.target !== request.project.target.name && request.projectFor ? request.projectFor(record.target) : request.project;
  const runs = openRunStore(project);
  request.onRun?.(record);
  const backend = await openTargetBackend(project, request.context);
  const registry = record.stage === 'train' ? await openTrainingRegistry(project, request.context) : undefined;
  try {
    const attach: AttachOptions = { project, backend, runs, record, cancel: request.cancel };
    const onUpdate = request.onUpdate;
    if (onUpdate) attach.onUpdate = (u) => onUpdate(u, record);
    if (registry) attach.registry = registry;
    if (request.signal) attach.signal = request.signal;
    const result: WatchResult = await attachRun(attach);
    if (registry) result.registry = registry.description;
    return result;
  } finally {
    await registry?.close();
  }
}
