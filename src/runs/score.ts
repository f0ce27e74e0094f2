// `score` as one function: resolve every group's production model in one lookup, hand the
// runtime that model manifest (artifact paths and sha256s, checked before unpickling), run
// the score job and record what it wrote. finalizeScoring is the part after the run, on its
// own so `runs watch` can finish a remote run started earlier.
import path from 'node:path';
import { canonicalJson } from '../core/canonical-json.js';
import { UsageError } from '../core/errors.js';
import { writeStateFile } from '../core/state-file.js';
import { readFileSync } from 'node:fs';
import type { JobBackend } from '../jobs/backend.js';
import type { RunOutcome, RunUpdate } from '../contracts/runs.js';
import { readRunManifest } from '../jobs/run-manifest.js';
import type { RunManifest } from '../contracts/runs.js';
import type { RunStore } from '../jobs/run-store.js';
import type { RunRecord } from '../contracts/runs.js';
import type { ModelRegistry } from '../registry/model-registry.js';
import type { AzureContext } from '../contracts/azure.js';
import { compileJobSpec, writeJobSpec } from '../pipeline/compile.js';
import { selectPipelines, type Project } from '../pipeline/project.js';
import { cliCommand } from './hints.js';
import { openProductionRegistry, openRunStore, openTargetBackend, type PipelineHooks } from './open.js';
import type { Pipeline } from '../pipeline/types.js';

export interface ScoreOptions {
  project: Project;
  pipeline: Pipeline;
  backend: JobBackend;
  production: ModelRegistry;
  runs: RunStore;
  workers?: number;
  /** Remote engines: `false` returns once the run is submitted; `manymodels runs watch` finalizes it. */
  wait?: boolean;
  signal?: AbortSignal;
  onUpdate?: (update: RunUpdate | { kind: 'run'; runId: string; runDir: string }) => void;
}

export interface ScoreResult {
  run: RunRecord;
  outcome: RunOutcome;
  manifest?: RunManifest;
  models: number;
}

export const MODEL_MANIFEST_FILE = 'model-manifest.json';

export async function runScoring(options: ScoreOptions): Promise<ScoreResult> {
  const { project, pipeline, runs } = options;
  const onUpdate = options.onUpdate ?? (() => undefined);
  const latest = await options.production.latestByGroup(pipeline.name);
  if (latest.size === 0) {
    throw new UsageError(`pipeline "${pipeline.name}" has no models in production (${options.production.description})`, {
      code: 'MM504',
      nextSteps: [`Train and promote first: ${cliCommand(project, `train ${pipeline.name}`)} && ${cliCommand(project, `promote ${pipeline.name}`)}`],
    });
  }
  const spec = compileJobSpec({ pipeline, target: project.target, stage: 'score', projectRoot: project.file.projectRoot });
  const runId = runs.newRunId('score');
  let record = runs.create({
    id: runId,
    stage: 'score',
    pipeline: pipeline.name,
    project: project.name,
    target: project.target.name,
    engine: project.target.engine,
    state: 'running',
    resumeOf: null,
    sourceRun: null,
  });
  const runDir = runs.runDir(runId);
  onUpdate({ kind: 'run', runId, runDir });
  const specPath = path.join(runDir, 'jobspec.json');
  writeJobSpec(specPath, spec);
  const versions = [...latest.values()].sort((a, b) => a.name.localeCompare(b.name));
  // The job reads local files; a remote registry downloads them (checking each sha256) first.
  const files = await options.production.localArtifacts(versions, path.join(project.target.stateDir, 'cache', 'artifacts'));
  const models = versions.map((v) => ({ groupId: v.groupId, modelName: v.name, version: v.version, keys: v.keys, modelType: v.modelType, artifactUri: files.get(v.name) ?? v.artifactUri, sha256: v.sha256 }));
  const modelManifestPath = path.join(runDir, MODEL_MANIFEST_FILE);
  writeStateFile(modelManifestPath, canonicalJson({ specVersion: 1, pipeline: pipeline.name, models }));

  const submission: Parameters<JobBackend['run']>[0] = { runId, stage: 'score', spec, specPath, runDir, projectRoot: project.file.projectRoot, modelManifestPath };
  if (options.workers !== undefined) submission.workers = options.workers;
  const runOptions: Parameters<JobBackend['run']>[1] = {
    onUpdate: (u) => {
      // A remote run's id and page are kept as soon as they are known: re-attaching needs them.
      if (u.kind === 'submitted') record = runs.update(record, { external: u.external });
      onUpdate(u);
    },
  };
  if (options.signal) runOptions.signal = options.signal;
  if (options.wait === false) runOptions.wait = false;
  const started = Date.now();
  const outcome = await options.backend.run(submission, runOptions);
  // A remote run that goes on without us (--no-wait, Ctrl-C): `runs watch` finalizes it.
  if (outcome.state === 'running') return { run: record, outcome, models: models.length };
  return finalizeScoring({ runs }, record, outcome, outcome.seconds ?? (Date.now() - started) / 1000);
}

/**
 * The end of a scoring run, wherever it ran: read its manifest and record what it wrote. The
 * sink and the models come from the run folder (jobspec.json, model-manifest.json).
 */
export async function finalizeScoring(options: { runs: RunStore }, start: RunRecord, outcome: RunOutcome, runSeconds: number): Promise<ScoreResult> {
  const { runs } = options;
  let record = start;
  const runDir = runs.runDir(record.id);
  const spec = JSON.parse(readFileSync(path.join(runDir, 'jobspec.json'), 'utf8')) as { scoring: { sink: Record<string, string | null> } };
  const models = (JSON.parse(readFileSync(path.join(runDir, MODEL_MANIFEST_FILE), 'utf8')) as { models: unknown[] }).models;
  let manifest: RunManifest | undefined;
  try {
    manifest = readRunManifest(runDir);
  } catch (err) {
    outcome.state = 'failed';
    outcome.error = { code: 'MM502', message: err instanceof Error ? err.message : String(err) };
  }
  const patch: Partial<RunRecord> = {
    state: outcome.state,
    finishedAt: new Date().toISOString(),
    counts: manifest ? { total: manifest.counts.total, ok: manifest.counts.ok, failed: manifest.counts.failed, skipped: manifest.counts.skipped } : null,
    timings: { ...(manifest?.timings ?? {}), runSeconds },
    summary: { models: models.length, predictionsWritten: manifest?.counts.predictionsWritten ?? 0, sink: spec.scoring.sink },
  };
  if (outcome.error) patch.error = outcome.error;
  record = runs.update(record, patch);
  const result: ScoreResult = { run: record, outcome, models: models.length };
  if (manifest) result.manifest = manifest;
  return result;
}

export interface ScoreRequest {
  project: Project;
  /** One pipeline by name; every pipeline of the file when absent. */
  pipeline?: string;
  workers?: number;
  /** Remote engines: `false` returns once each run is submitted. */
  wait?: boolean;
  signal?: AbortSignal;
  context: AzureContext;
}

export type ScoreUpdate = NonNullable<ScoreOptions['onUpdate']> extends (u: infer U) => void ? U : never;

/** `manymodels score`: opens the target's backend, production registry and run history, scores each pipeline in turn. */
export async function scorePipelines(request: ScoreRequest, hooks: PipelineHooks<ScoreUpdate, ScoreResult>): Promise<void> {
  const { project } = request;
  const pipelines = selectPipelines(project, request.pipeline);
  const runs = openRunStore(project);
  const backend = await openTargetBackend(project, request.context);
  if (request.wait === false && !backend.attach) {
    throw new UsageError(`--no-wait needs a remote engine; target "${project.target.name}" runs on ${project.target.engine}`, { code: 'MM318' });
  }
  const production = await openProductionRegistry(project, request.context);
  try {
    for (const pipeline of pipelines) {
      const onUpdate = hooks.start?.(pipeline);
      const options: ScoreOptions = { project, pipeline, backend, production, runs };
      if (onUpdate) options.onUpdate = onUpdate;
      if (request.workers !== undefined) options.workers = request.workers;
      if (request.wait === false) options.wait = false;
      if (request.signal) options.signal = request.signal;
      hooks.done(pipeline, await runScoring(options));
    }
  } finally {
    await production.close();
  }
}
