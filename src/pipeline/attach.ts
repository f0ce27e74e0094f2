// Re-attaching to a remote run started earlier (`manymodels runs watch|cancel RUN`): follow it
// to its end through the backend, then finalize it exactly as `train`/`score` would have.
import { UsageError } from '../core/errors.js';
import type { JobBackend, RunOptions } from '../jobs/backend.js';
import type { RunRecord, RunStore } from '../jobs/run-store.js';
import type { ModelRegistry } from '../registry/model-registry.js';
import type { Project } from './project.js';
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
      nextSteps: [`See it with: manymodels runs show ${record.id}`],
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
  const finalize: FinalizeTrainingOptions = { pipeline, registry: options.registry, runs, onUpdate };
  if (options.signal) finalize.signal = options.signal;
  return { stage: 'train', result: await finalizeTraining(finalize, record, outcome, seconds) };
}
