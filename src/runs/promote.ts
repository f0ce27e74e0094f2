// `promote` as one function: take a successful training run's models, decide each against
// the rules and the group's production version, check the gate, and copy the winners into
// the separate production registry with lineage tags. All or nothing: when the gate is not
// met, production is left exactly as it was.

import path from 'node:path';
import { ManyModelsError, UsageError } from '../core/errors.js';
import { writeStateFile } from '../core/state-file.js';
import type { RunStore } from '../jobs/run-store.js';
import type { RunRecord } from '../contracts/runs.js';
import { SELECTION_TAG, type ModelRegistry, type ModelVersion, type NewModelVersion } from '../registry/model-registry.js';
import type { AzureContext } from '../contracts/azure.js';
import { selectPipelines, type Project } from '../pipeline/project.js';
import { cliCommand } from './hints.js';
import { openProductionRegistry, openRunStore, openTrainingRegistry, type PipelineHooks } from './open.js';
import { evaluatePromotion, type PromotionDecision, type PromotionSummary, type ProductionModel } from '../pipeline/promotion-rules.js';
import type { Pipeline } from '../pipeline/types.js';

export const LINEAGE = {
  sourceRegistry: 'lineage.source_registry',
  sourceName: 'lineage.source_name',
  sourceVersion: 'lineage.source_version',
  sourceRunId: 'lineage.source_run_id',
  rulesPassed: 'lineage.rules_passed',
  promotionRun: 'lineage.promotion_run',
  promotedAt: 'lineage.promoted_at',
} as const;

export interface PromoteOptions {
  project: Project;
  pipeline: Pipeline;
  training: ModelRegistry;
  production: ModelRegistry;
  runs: RunStore;
  run?: string;
  dryRun: boolean;
  onProgress?: (done: number, total: number) => void;
}

export interface PromotionReport {
  pipeline: string;
  sourceRun: string;
  promotionRun: string;
  dryRun: boolean;
  rules: string[];
  summary: PromotionSummary;
  decisions: PromotionDecision[];
}

export interface PromoteResult {
  run: RunRecord;
  report: PromotionReport;
  reportPath: string;
  copied: number;
}

/** The training run to promote from, and every run it resumed: a resumed run's ok groups stay candidates. */
function lineageOf(runs: RunStore, pipeline: string, requested: string | undefined, file: string): RunRecord[] {
  let head: RunRecord | undefined;
  if (requested) {
    head = runs.get(requested);
    if (head.stage !== 'train' || head.pipeline !== pipeline) {
      throw new UsageError(`run ${requested} is not a training run of pipeline "${pipeline}"`, { code: 'MM503' });
    }
    if (head.state !== 'succeeded') {
      throw new UsageError(`run ${requested} did not succeed (${head.state}); only successful runs are promoted`, {
        code: 'MM505',
        nextSteps: [`Retrain what failed: ${cliCommand(file, `train ${pipeline} --resume ${requested}`)}`],
      });
    }
  } else {
    head = runs.list({ pipeline, stage: 'train', state: 'succeeded', limit: 1 })[0];
    if (!head) {
      throw new UsageError(`pipeline "${pipeline}" has no successful training run to promote`, {
        code: 'MM505',
        nextSteps: [`Train first: ${cliCommand(file, `train ${pipeline}`)}`],
      });
    }
  }
  const chain = [head];
  const seen = new Set([head.id]);
  while (chain[chain.length - 1]!.resumeOf) {
    const previous = chain[chain.length - 1]!.resumeOf!;
    if (seen.has(previous)) break;
    seen.add(previous);
    chain.push(runs.get(previous));
  }
  return chain;
}

export async function runPromotion(options: PromoteOptions): Promise<PromoteResult> {
  const { pipeline, runs } = options;
  const chain = lineageOf(runs, pipeline.name, options.run, options.project.file.displayPath);
  const promotionRun = runs.newRunId('promote');
  // Deciding against production and copying the winners is one step: a second promotion at
  // the same time waits (or is refused) rather than deciding against what is about to change.
  const work = (): Promise<PromoteResult> => promoteLineage(options, chain, promotionRun);
  const owner = { runId: promotionRun, purpose: `promote ${pipeline.name}` };
  return options.dryRun || !options.production.exclusive ? work() : options.production.exclusive(owner, work);
}

async function promoteLineage(options: PromoteOptions, chain: RunRecord[], promotionRun: string): Promise<PromoteResult> {
  const { pipeline, runs } = options;
  const order = new Map(chain.map((r, i) => [r.id, i]));

  // The newest candidate per group across the lineage: the head run wins over what it resumed.
  const versions = await options.training.listVersions({ pipeline: pipeline.name, runIds: chain.map((r) => r.id) });
  const byGroup = new Map<string, ModelVersion>();
  for (const v of versions) {
    const current = byGroup.get(v.groupId);
    if (!current || order.get(v.runId)! < order.get(current.runId)!) byGroup.set(v.groupId, v);
  }
  const candidates = [...byGroup.values()].sort((a, b) => a.name.localeCompare(b.name));

  const productionVersions = await options.production.latestByGroup(pipeline.name);
  const production = new Map<string, ProductionModel>();
  for (const [groupId, v] of productionVersions) {
    const p: ProductionModel = { version: v.version, metrics: v.metrics };
    const source = v.tags[LINEAGE.sourceRunId];
    if (source) p.sourceRunId = source;
    production.set(groupId, p);
  }

  const { decisions, summary } = evaluatePromotion({
    candidates: candidates.map((c) => ({ groupId: c.groupId, name: c.name, version: c.version, runId: c.runId, keys: c.keys, metrics: c.metrics })),
    production,
    rules: pipeline.promotion.rules,
    gate: pipeline.promotion.gate,
  });

  const record = runs.create({
    id: promotionRun,
    stage: 'promote',
    pipeline: pipeline.name,
    project: options.project.name,
    target: options.project.target.name,
    engine: options.project.target.engine,
    state: 'running',
    resumeOf: null,
    sourceRun: chain[0]!.id,
  });

  try {
    return await copyAndReport(options, chain, record, decisions, summary, candidates);
  } catch (err) {
    // Never leave a promotion `running`: what stopped it is in its record.
    const code = err instanceof ManyModelsError ? err.code : 'MM502';
    runs.update(record, { state: 'failed', finishedAt: new Date().toISOString(), error: { code, message: err instanceof Error ? err.message : String(err) } });
    throw err;
  }
}

async function copyAndReport(
  options: PromoteOptions,
  chain: RunRecord[],
  record: RunRecord,
  decisions: PromotionDecision[],
  summary: PromotionSummary,
  candidates: ModelVersion[],
): Promise<PromoteResult> {
  const { pipeline, runs } = options;
  let copied = 0;
  if (!options.dryRun && summary.gate.met) {
    const now = new Date().toISOString();
    const winners = new Map(decisions.filter((d) => d.outcome === 'promote').map((d) => [d.groupId, d]));
    const promoted = candidates.filter((c) => winners.has(c.groupId));
    // The production registry takes files: a remote training registry downloads them first
    // (sha256 checked), a local one hands over its own.
    const files = await options.training.localArtifacts(promoted, path.join(options.project.target.stateDir, 'cache', 'artifacts'));
    const entries: NewModelVersion[] = promoted
      .map((c) => {
        const decision = winners.get(c.groupId)!;
        return {
          name: c.name,
          pipeline: c.pipeline,
          project: c.project,
          groupId: c.groupId,
          keys: c.keys,
          modelType: c.modelType,
          // Keyed by the training run: promoting the same candidate twice is a no-op.
          runId: c.runId,
          dataFingerprint: c.tags.data_fingerprint ?? '',
          metrics: c.metrics,
          artifactPath: files.get(c.name) ?? c.artifactUri,
          sha256: c.sha256,
          extraTags: {
            // How an auto group's model was chosen travels with it (fallback marker, candidates' metrics).
            ...Object.fromEntries(Object.entries(c.tags).filter(([k]) => SELECTION_TAG.test(k))),
            [LINEAGE.sourceRegistry]: options.training.description,
            [LINEAGE.sourceName]: c.name,
            [LINEAGE.sourceVersion]: c.version,
            [LINEAGE.sourceRunId]: c.runId,
            [LINEAGE.rulesPassed]: decision.passed.join('; '),
            [LINEAGE.promotionRun]: record.id,
            [LINEAGE.promotedAt]: now,
          },
        };
      });
    copied = (await options.production.registerVersions(entries, (p) => options.onProgress?.(p.done, p.total))).length;
  }

  const report: PromotionReport = {
    pipeline: pipeline.name,
    sourceRun: chain[0]!.id,
    promotionRun: record.id,
    dryRun: options.dryRun,
    rules: pipeline.promotion.rules.map((r) => r.name),
    summary,
    decisions,
  };
  const reportPath = path.join(runs.runDir(record.id), 'promotion-report.json');
  writeStateFile(reportPath, `${JSON.stringify(report, null, 2)}\n`);
  const finished = runs.update(record, {
    state: summary.gate.met ? 'succeeded' : 'failed',
    finishedAt: new Date().toISOString(),
    counts: { total: summary.candidates, ok: summary.promoted + summary.unchanged, failed: summary.rejected, skipped: 0 },
    summary: { ...summary, dryRun: options.dryRun, copied },
    error: summary.gate.met ? null : { code: 'MM506', message: `promotion gate not met: ${summary.gate.required}` },
  });
  return { run: finished, report, reportPath, copied };
}

export interface PromoteRequest {
  project: Project;
  /** One pipeline by name; every pipeline of the file when absent. */
  pipeline?: string;
  /** The training run to promote from; the pipeline's newest successful one when absent. */
  run?: string;
  dryRun: boolean;
  context: AzureContext;
}

/** A pipeline's promotion, with the production registry it went to (for messages). */
export interface PipelinePromotion extends PromoteResult {
  productionRegistry: string;
}

/** `manymodels promote`: opens both registries and the run history, promotes each pipeline in turn. */
export async function promotePipelines(request: PromoteRequest, hooks: PipelineHooks<{ done: number; total: number }, PipelinePromotion>): Promise<void> {
  const { project } = request;
  const pipelines = selectPipelines(project, request.pipeline);
  const runs = openRunStore(project);
  const training = await openTrainingRegistry(project, request.context);
  try {
    const production = await openProductionRegistry(project, request.context);
    try {
      for (const pipeline of pipelines) {
        const options: PromoteOptions = { project, pipeline, training, production, runs, dryRun: request.dryRun };
        if (request.run !== undefined) options.run = request.run;
        const update = hooks.start?.(pipeline);
        if (update) options.onProgress = (done, total) => update({ done, total });
        hooks.done(pipeline, { ...(await runPromotion(options)), productionRegistry: production.description });
      }
    } finally {
      await production.close();
    }
  } finally {
    await training.close();
  }
}
