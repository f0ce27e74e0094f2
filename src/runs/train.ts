// `train` as one function: compile the spec, run it on the target's engine, read the run
// manifest, register every ok group's model with its tags, and record the run. Also the
// resume path: retrain only the groups of an earlier run that are not ok. finalizeTraining is
// the part after the run, on its own so `runs watch` can finish a remote run started earlier.
import { writeFileSync } from 'node:fs';
import path from 'node:path';
import { canonicalJson } from '../core/canonical-json.js';
import { ManyModelsError, storageErrorFrom, UsageError } from '../core/errors.js';
import type { JobBackend } from '../jobs/backend.js';
import type { RunOutcome, RunUpdate } from '../contracts/runs.js';
import { readRunJournal } from '../jobs/run-journal.js';
import { readRunManifest } from '../jobs/run-manifest.js';
import type { ModelSelection, RunManifest } from '../contracts/runs.js';
import type { RunStore } from '../jobs/run-store.js';
import type { RunRecord } from '../contracts/runs.js';
import { formatMetric, TAG, type ModelRegistry, type NewModelVersion } from '../registry/model-registry.js';
import type { AzureContext } from '../contracts/azure.js';
import { compileJobSpec, writeJobSpec } from '../pipeline/compile.js';
import { selectPipelines, type Project } from '../pipeline/project.js';
import { cliCommand } from './hints.js';
import { openRunStore, openTargetBackend, openTrainingRegistry, type PipelineHooks } from './open.js';
import type { Pipeline } from '../pipeline/types.js';

/** `register` progress; `of` names an earlier run whose registration is being completed (resume). */
export type TrainUpdate = RunUpdate | { kind: 'register'; done: number; total: number; of?: string } | { kind: 'run'; runId: string; runDir: string };

export interface TrainOptions {
  project: Project;
  pipeline: Pipeline;
  backend: JobBackend;
  registry: ModelRegistry;
  runs: RunStore;
  resume?: string;
  workers?: number;
  /** Remote engines: `false` returns once the run is submitted; `manymodels runs watch` finalizes it. */
  wait?: boolean;
  signal?: AbortSignal;
  onUpdate?: (update: TrainUpdate) => void;
}

export interface TrainResult {
  run: RunRecord;
  outcome: RunOutcome;
  manifest?: RunManifest;
  registered: number;
  /** Set when --resume found nothing to retrain. */
  nothingToDo?: boolean;
}

/** The groups a run left: its manifest, or the journal of a run that was stopped. */
type RunGroups = Pick<RunManifest, 'groups' | 'modelType' | 'dataFingerprint'>;

/** One run of a resume chain; `complete` when it has a manifest. */
interface ChainLink {
  run: RunRecord;
  left?: RunGroups;
  complete: boolean;
}

/** A run and the runs it resumed, newest first, each with the groups it left (if any). */
function resumeChain(runs: RunStore, from: RunRecord): ChainLink[] {
  const chain: ChainLink[] = [];
  const seen = new Set<string>();
  for (let run: RunRecord | undefined = from; run && !seen.has(run.id); run = run.resumeOf ? runs.get(run.resumeOf) : undefined) {
    seen.add(run.id);
    const dir = runs.runDir(run.id);
    const manifest = readRunManifest(dir);
    const left = manifest ?? readRunJournal(dir);
    chain.push(left ? { run, left, complete: manifest !== undefined } : { run, complete: false });
  }
  return chain;
}

/**
 * What `train --resume RUN` trains. A run that ended (it has a manifest): its groups that are
 * not ok. A run that was stopped (Ctrl-C, kill -9, a crash: at most a journal): every group
 * except those that are ok in it or in the runs it resumed, so a fitted group is kept
 * whenever and however the run stopped.
 */
function groupsToResume(runs: RunStore, runId: string, pipeline: string): GroupSelection & { chain: ChainLink[] } {
  const previous = runs.get(runId);
  if (previous.stage !== 'train' || previous.pipeline !== pipeline) {
    throw new UsageError(`run ${runId} is not a training run of pipeline "${pipeline}"`, { code: 'MM503' });
  }
  const chain = resumeChain(runs, previous);
  const [named] = chain;
  if (named!.complete) return { only: named!.left!.groups.filter((g) => g.status !== 'ok').map((g) => g.groupId), chain };
  const skip = new Set<string>();
  for (const link of chain) for (const g of link.left?.groups ?? []) if (g.status === 'ok') skip.add(g.groupId);
  return { skip: [...skip].sort(), chain };
}

/** The registry entries of a run: every ok group of its manifest, versioned by the run id. */
function entriesOf(manifest: RunGroups, runDir: string, runId: string, pipeline: Pipeline, projectName: string): NewModelVersion[] {
  return manifest.groups
    .filter((g) => g.status === 'ok' && g.artifact && g.sha256)
    .map((g) => ({
      name: g.modelName,
      pipeline: pipeline.name,
      project: projectName,
      groupId: g.groupId,
      keys: g.keys,
      // model.type auto: each group's own chosen type, never the run's "auto".
      modelType: g.modelType ?? manifest.modelType ?? pipeline.model.type,
      runId,
      dataFingerprint: manifest.dataFingerprint ?? '',
      metrics: g.metrics,
      artifactPath: path.join(runDir, g.artifact!),
      sha256: g.sha256!,
      ...(g.selection ? { extraTags: selectionTags(g.selection) } : {}),
    }));
}

/** An auto group's selection as tags: the fallback marker, the metric that chose, every candidate's metrics (or error). */
export function selectionTags(selection: ModelSelection): Record<string, string> {
  const tags: Record<string, string> = { [TAG.fallback]: String(selection.fallback), [TAG.selectBy]: selection.selectBy };
  for (const [type, result] of Object.entries(selection.candidates)) {
    if (result.status !== 'ok') tags[TAG.candidateError(type)] = result.errorClass ?? 'failed';
    for (const [metric, value] of Object.entries(result.metrics)) {
      if (typeof value === 'number') tags[TAG.candidateMetric(type, metric)] = formatMetric(value);
    }
  }
  return tags;
}

/**
 * Completes the registration of a resumed run and of the runs it resumed, from their
 * manifests or, for a run that was stopped, its journal. A run whose registration stopped
 * (crash, Ctrl-C, a remote error) has ok groups that promotion would otherwise never see;
 * registering is idempotent, so a completed one costs a lookup.
 */
async function completeEarlierRegistrations(options: TrainOptions, chain: ChainLink[], onUpdate: (u: TrainUpdate) => void): Promise<void> {
  for (const { run, left } of chain) {
    if (!left) continue;
    const entries = entriesOf(left, options.runs.runDir(run.id), run.id, options.pipeline, run.project);
    if (entries.length === 0) continue;
    const of = run.id;
    const register: Parameters<ModelRegistry['registerVersions']>[2] = { batchId: run.id };
    if (options.signal) register.signal = options.signal;
    await options.registry.registerVersions(entries, (p) => onUpdate({ kind: 'register', ...p, of }), register);
  }
}

export async function runTraining(options: TrainOptions): Promise<TrainResult> {
  const { project, pipeline, runs } = options;
  const onUpdate = options.onUpdate ?? (() => undefined);
  const spec = compileJobSpec({ pipeline, target: project.target, stage: 'train', projectRoot: project.file.projectRoot });

  let select: GroupSelection = {};
  if (options.resume) {
    const { chain, ...selection } = groupsToResume(runs, options.resume, pipeline.name);
    select = selection;
    await completeEarlierRegistrations(options, chain, onUpdate);
  }

  const runId = runs.newRunId('train');
  let record = runs.create({
    id: runId,
    stage: 'train',
    pipeline: pipeline.name,
    project: project.name,
    target: project.target.name,
    engine: project.target.engine,
    state: 'running',
    resumeOf: options.resume ?? null,
    sourceRun: null,
  });
  const runDir = runs.runDir(runId);
  onUpdate({ kind: 'run', runId, runDir });

  if (select.only !== undefined && select.only.length === 0) {
    record = runs.update(record, { state: 'succeeded', finishedAt: new Date().toISOString(), counts: { total: 0, ok: 0, failed: 0, skipped: 0 } });
    return { run: record, outcome: { state: 'succeeded', exitCode: 0, logTail: '' }, registered: 0, nothingToDo: true };
  }

  try {
    return await trainRecorded(options, record, spec, select, onUpdate);
  } catch (err) {
    // Whatever stopped it (a full disk, a registration refused), the run is not left running.
    markFailed(runs, runId, err);
    throw storageErrorFrom(err, runs.runDir(runId)) ?? err;
  }
}

/** Records a run as failed with what stopped it, if it is not recorded as ended already; best effort (the disk may be full). */
function markFailed(runs: RunStore, runId: string, err: unknown): void {
  const code = err instanceof ManyModelsError ? err.code : (storageErrorFrom(err)?.code ?? 'MM502');
  try {
    const record = runs.get(runId);
    if (record.state !== 'running' && record.state !== 'queued') return;
    runs.update(record, { state: 'failed', finishedAt: new Date().toISOString(), error: { code, message: err instanceof Error ? err.message : String(err) } });
  } catch {
    // Could not even record it: the run shows as interrupted once this process is gone.
  }
}

/** The groups a resumed run trains: only these, or all but these. */
interface GroupSelection {
  only?: string[];
  skip?: string[];
}

async function trainRecorded(options: TrainOptions, start: RunRecord, spec: ReturnType<typeof compileJobSpec>, select: GroupSelection, onUpdate: (u: TrainUpdate) => void): Promise<TrainResult> {
  const { project, pipeline, runs } = options;
  let record = start;
  const runId = record.id;
  const runDir = runs.runDir(runId);
  const specPath = path.join(runDir, 'jobspec.json');
  writeJobSpec(specPath, spec);
  const submission: Parameters<JobBackend['run']>[0] = { runId, stage: 'train', spec, specPath, runDir, projectRoot: project.file.projectRoot };
  if (select.only) {
    submission.onlyGroupsPath = path.join(runDir, 'only-groups.json');
    writeFileSync(submission.onlyGroupsPath, canonicalJson(select.only));
  }
  if (select.skip?.length) {
    submission.skipGroupsPath = path.join(runDir, 'skip-groups.json');
    writeFileSync(submission.skipGroupsPath, canonicalJson(select.skip));
  }
  if (options.workers !== undefined) submission.workers = options.workers;

  const started = Date.now();
  const runOptions: Parameters<JobBackend['run']>[1] = {
    onUpdate: (u) => {
      // A remote run's id and page are kept as soon as they are known: re-attaching needs them.
      if (u.kind === 'submitted') record = runs.update(record, { external: u.external });
      onUpdate(u);
    },
  };
  if (options.signal) runOptions.signal = options.signal;
  if (options.wait === false) runOptions.wait = false;
  const outcome = await options.backend.run(submission, runOptions);
  // A remote run that goes on without us (--no-wait, Ctrl-C): `runs watch` finalizes it.
  if (outcome.state === 'running') return { run: record, outcome, registered: 0 };
  const finalize: FinalizeTrainingOptions = { pipeline, registry: options.registry, runs, onUpdate, projectFile: project.file.displayPath };
  if (options.signal) finalize.signal = options.signal;
  return finalizeTraining(finalize, record, outcome, outcome.seconds ?? (Date.now() - started) / 1000);
}

export interface FinalizeTrainingOptions {
  pipeline: Pipeline;
  registry: ModelRegistry;
  runs: RunStore;
  signal?: AbortSignal;
  onUpdate?: (update: TrainUpdate) => void;
  /** The project file as shown, for the commands messages suggest. */
  projectFile?: string;
}

/**
 * The end of a training run, wherever it ran: read its manifest, register every ok group's
 * model and record the run. Safe to repeat (re-attaching to a remote run, say): registration
 * is keyed by (model name, run id), so a second finalize registers nothing twice.
 */
export async function finalizeTraining(options: FinalizeTrainingOptions, start: RunRecord, outcome: RunOutcome, runSeconds: number): Promise<TrainResult> {
  const { pipeline, runs } = options;
  const onUpdate = options.onUpdate ?? (() => undefined);
  let record = start;
  const runId = record.id;
  const runDir = runs.runDir(runId);
  let manifest: RunManifest | undefined;
  try {
    manifest = readRunManifest(runDir);
  } catch (err) {
    outcome.state = 'failed';
    outcome.error = { code: err instanceof ManyModelsError ? err.code : 'MM502', message: err instanceof Error ? err.message : String(err) };
  }

  // Ok groups are registered even when the run as a whole failed its budget: they are sound
  // models, and `train --resume` then only needs to redo the rest. Promotion only ever
  // takes candidates from runs that succeeded.
  let registered = 0;
  const registerStarted = Date.now();
  if (manifest) {
    const entries = entriesOf(manifest, runDir, runId, pipeline, record.project);
    // Named by the run, so `train --resume` can complete a registration that stopped.
    const register: Parameters<ModelRegistry['registerVersions']>[2] = { batchId: runId };
    if (options.signal) register.signal = options.signal;
    try {
      registered = (await options.registry.registerVersions(entries, (p) => onUpdate({ kind: 'register', ...p }), register)).length;
    } catch (err) {
      // The run's models are trained; only their registration stopped. Record that, and say
      // how to finish it: a resume registers what is missing, then retrains what was not ok.
      const message = err instanceof Error ? err.message : String(err);
      const code = err instanceof ManyModelsError ? err.code : 'MM502';
      runs.update(record, { state: 'failed', finishedAt: new Date().toISOString(), error: { code, message: `registration stopped: ${message}` } });
      if (err instanceof ManyModelsError) err.nextSteps.push(`Finish the registration (already registered models are skipped): ${cliCommand(options.projectFile, `train ${pipeline.name} --resume ${runId}`)}`);
      throw err;
    }
  }
  const registerSeconds = (Date.now() - registerStarted) / 1000;

  // A run stopped before its manifest shows what its journal kept (`train --resume` keeps it).
  const counts = manifest?.counts ?? readRunJournal(runDir)?.counts;
  const patch: Partial<RunRecord> = {
    state: outcome.state,
    finishedAt: new Date().toISOString(),
    counts: counts ? { total: counts.total, ok: counts.ok, failed: counts.failed, skipped: counts.skipped } : null,
    timings: { ...(manifest?.timings ?? {}), runSeconds, registerSeconds },
    summary: { registered, registry: options.registry.description, failureBudgetExceeded: manifest?.failureBudget?.exceeded ?? false },
  };
  if (outcome.error) patch.error = outcome.error;
  record = runs.update(record, patch);
  const result: TrainResult = { run: record, outcome, registered };
  if (manifest) result.manifest = manifest;
  return result;
}

export interface TrainRequest {
  project: Project;
  /** One pipeline by name; every pipeline of the file when absent (the resumed run's with `resume`). */
  pipeline?: string;
  resume?: string;
  workers?: number;
  /** Remote engines: `false` returns once each run is submitted. */
  wait?: boolean;
  signal?: AbortSignal;
  context: AzureContext;
}

/** `manymodels train`: opens the target's backend, registry and run history, trains each pipeline in turn. */
export async function trainPipelines(request: TrainRequest, hooks: PipelineHooks<TrainUpdate, TrainResult>): Promise<void> {
  const { project } = request;
  const runs = openRunStore(project);
  const name = request.pipeline ?? (request.resume ? runs.get(request.resume).pipeline : undefined);
  const pipelines = selectPipelines(project, name);
  const backend = await openTargetBackend(project, request.context);
  if (request.wait === false && !backend.attach) {
    throw new UsageError(`--no-wait needs a remote engine; target "${project.target.name}" runs on ${project.target.engine}`, { code: 'MM318' });
  }
  const registry = await openTrainingRegistry(project, request.context);
  try {
    for (const pipeline of pipelines) {
      const onUpdate = hooks.start?.(pipeline);
      const options: TrainOptions = { project, pipeline, backend, registry, runs };
      if (onUpdate) options.onUpdate = onUpdate;
      if (request.resume) options.resume = request.resume;
      if (request.workers !== undefined) options.workers = request.workers;
      if (request.wait === false) options.wait = false;
      if (request.signal) options.signal = request.signal;
      hooks.done(pipeline, await runTraining(options));
    }
  } finally {
    await registry.close();
  }
}
