// `manymodels plan`: know before you pay. The profile and the pilot are measured on this
// machine (jobs/local/plan-probe.ts: the runtime's own reader, checks and worker pool); this
// module turns them into estimates: a per-group cost by size fitted to the pilot, spread over
// the local workers (list scheduling, as the worker pool does) or over a Spark target's task
// slots (the LPT partition plan, src/pipeline/partition.ts), plus the fixed costs measured
// on the way (start-up, the input, the manifest, registration). Docs: docs/plan.md.
import { mkdirSync, rmSync } from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import type { JobSpec } from '../contracts/job-spec.js';
import type { ResolvedTarget, SynapseExecutorSize, TargetPrices } from '../contracts/targets.js';
import { canonicalJson } from '../core/canonical-json.js';
import { UsageError } from '../core/errors.js';
import { writeStateFile } from '../core/state-file.js';
import { runPlanProbe, type PilotGroup, type ProbeDocument, type ProbeResult } from '../jobs/local/plan-probe.js';
import { LocalRegistry } from '../registry/local-registry.js';
import type { NewModelVersion } from '../registry/model-registry.js';
import { compileJobSpec } from '../pipeline/compile.js';
import { listSchedule, lptPlan, partitionPlanPath } from '../pipeline/partition.js';
import { selectPipelines, type Project } from '../pipeline/project.js';
import { hasScheme } from '../pipeline/resolve.js';
import type { Pipeline } from '../pipeline/types.js';

/** Arrow's limit for one record batch, which one group of applyInPandas must fit in. */
export const ARROW_BATCH_LIMIT = 2 ** 31;
/** The plan saved for the compiled Spark job maps at most this many of the largest groups (the runtime sends no more). */
export const MAX_MAPPED = 20000;
export const DEFAULT_PILOT = 50;
/** From this share of the pilot's time spent waiting for a CPU, a note says so. */
const WAITED_NOTE = 0.1;
/** The most nodes --budget considers. */
export const MAX_NODES = 1000;
const DEFAULT_START_SECONDS = { databricks: 300, synapse: 180 } as const;
/** Azure Synapse's node sizes: vCPUs and memory (GB) of one executor node. */
export const SYNAPSE_NODES: Record<SynapseExecutorSize, { vcpus: number; memoryGb: number }> = {
  Small: { vcpus: 4, memoryGb: 32 },
  Medium: { vcpus: 8, memoryGb: 64 },
  Large: { vcpus: 16, memoryGb: 128 },
  XLarge: { vcpus: 32, memoryGb: 256 },
  XXLarge: { vcpus: 64, memoryGb: 432 },
};

/** `30m`, `2h`, `90s`, `1h30m` → seconds; anything else is MM801. */
export function parseBudget(text: string): number {
  const t = text.trim();
  const m = /^(?:(\d+(?:\.\d+)?)h)?(?:(\d+(?:\.\d+)?)m)?(?:(\d+(?:\.\d+)?)s)?$/.exec(t);
  const seconds = m && t ? Number(m[1] ?? 0) * 3600 + Number(m[2] ?? 0) * 60 + Number(m[3] ?? 0) : NaN;
  if (!Number.isFinite(seconds) || seconds <= 0) {
    throw new UsageError(`--budget must be a wall time such as 30m, 2h, 90s or 1h30m (more than zero), got "${text}"`, { code: 'MM801' });
  }
  return seconds;
}

/** A whole-number flag of plan (--pilot, --seed) within its range, or MM802. */
export function planCount(flag: string, value: unknown, fallback: number, max: number): number {
  if (value === undefined) return fallback;
  const n = Number(value);
  if (typeof value !== 'string' && typeof value !== 'number') throw new UsageError(`--${flag} must be a whole number`, { code: 'MM802' });
  if (!/^\d+$/.test(String(value).trim()) || !Number.isSafeInteger(n) || n > max) {
    throw new UsageError(`--${flag} must be a whole number from 0 to ${max}, got "${String(value)}"`, { code: 'MM802' });
  }
  return n;
}

export interface PlanRequest {
  project: Project;
  /**
   * A remote target's data is on the cluster: the profile and the pilot read the pipeline as a
   * local target of the same file sees it (its data path), loaded by the caller.
   */
  localProject?: Project;
  pipeline?: string;
  pilot: number;
  seed: number;
  budgetSeconds?: number;
  env: Record<string, string | undefined>;
  /** Seconds from the CLI process's start to the command (default: this process's, performance.now()). */
  cliStartSeconds?: number;
  signal?: AbortSignal;
}

/** Per-group seconds by size: intercept + perRow × rows for a group that is fitted, `screened` for one that ends at its checks. */
export interface CostModel {
  intercept: number;
  per_row: number;
  screened: number;
  /** Pilot groups the model was fitted to. */
  samples: number;
}

export interface TargetEstimate {
  engine: string;
  wall_seconds: number;
  vcpu_hours: number;
  /** Local: worker processes; remote: worker nodes (plus one driver in vcpu_hours and cost). */
  workers?: number;
  nodes?: number;
  vcpus_per_node?: number;
  slots?: number;
  cost: number | null;
  currency: string | null;
  /** Where the seconds go. */
  parts: Record<string, number>;
  budget?: BudgetAdvice;
}

export interface BudgetAdvice {
  budget_seconds: number;
  meets: boolean;
  /** Remote: the fewest nodes whose estimate is within the budget (null: none up to MAX_NODES). */
  recommended_nodes?: number | null;
  wall_seconds?: number | null;
  cost?: number | null;
  /** Why no node count meets it, when none does. */
  reason?: string;
}

export interface PlanProfile {
  pipeline: string;
  rows: number;
  groups: number;
  rows_per_group: { min: number; median: number; p90: number; max: number; histogram: Array<{ from: number; to: number; groups: number }> };
  /** What the training's checks before a fit find (model.minTrainRows, the run's holdout, model.stale). */
  groups_by_check: Record<string, number>;
  bytes_per_row: number;
  giants: { arrow_limit_bytes: number; memory_per_task_bytes: number | null; over_arrow_limit: GiantGroup[]; over_task_memory: GiantGroup[] };
  largest: Array<{ keys: Record<string, string>; rows: number }>;
  time_range: { start: string; end: string } | null;
}

export interface GiantGroup {
  keys: Record<string, string>;
  rows: number;
  bytes: number;
}

export interface PilotSummary {
  groups: number;
  seed: number;
  workers: number;
  fitted_ok: number;
  /** The groups' wall times in their workers. */
  seconds: { min: number; median: number; max: number; total: number };
  /** The share of those seconds the workers waited for a CPU other processes had (null: not measured, not Linux). */
  waited_share: number | null;
  /** A worker's one-off before its first fit (the largest seen), counted once in the estimate. */
  warm_up_seconds: number;
  artifact_bytes_mean: number | null;
  cost_model: CostModel;
  input: { reader: string; first_seconds: number; reuse_seconds: number; parsed: boolean };
  register_seconds_per_model: number;
}

export interface PlanResult {
  pipeline: Pipeline;
  profile: PlanProfile;
  pilot: PilotSummary;
  estimate: Record<string, TargetEstimate>;
  /** The saved partition plan (remote targets): its path and what it holds. */
  partition?: { file: string; buckets: number; mapped: number; giants: number; imbalance: number };
  notes: string[];
}


export async function planPipelines(request: PlanRequest, done: (result: PlanResult) => void): Promise<void> {
  // What a train pays before it does anything: Node's start and the CLI's modules.
  request.cliStartSeconds ??= performance.now() / 1000;
  for (const pipeline of selectPipelines(request.project, request.pipeline)) done(await planPipeline(request, pipeline));
}

function quantile(sorted: readonly number[], q: number): number {
  if (!sorted.length) return 0;
  return sorted[Math.min(sorted.length - 1, Math.floor(q * (sorted.length - 1) + 0.5))]!;
}

function round(x: number, digits = 3): number {
  const f = 10 ** digits;
  return Math.round(x * f) / f;
}

/** Groups by rows in powers of two: 1, 2–3, 4–7, … */
function histogram(sizes: readonly number[]): PlanProfile['rows_per_group']['histogram'] {
  const bins = new Map<number, number>();
  for (const s of sizes) {
    const b = s <= 0 ? 0 : Math.floor(Math.log2(s));
    bins.set(b, (bins.get(b) ?? 0) + 1);
  }
  return [...bins.entries()].sort((a, b) => a[0] - b[0]).map(([b, n]) => ({ from: b === 0 ? 0 : 2 ** b, to: 2 ** (b + 1) - 1, groups: n }));
}

/**
 * What a pilot group cost its worker: its wall time less the time it waited on the run queue
 * for a CPU that other processes had (a shared machine's load during the short pilot is not
 * the load during the train). Without a reading (not Linux), its wall time.
 */
export function pilotCost(g: PilotGroup): number {
  return Math.max(0, g.seconds - (g.waitSeconds ?? 0));
}

/**
 * Least squares of a pilot group's cost (pilotCost) on its rows, over the pilot groups that
 * reached a fit; both coefficients kept ≥ 0 (a negative slope is noise: the mean is used; a
 * negative intercept: a line through zero). Groups that end at their checks cost their pilot mean.
 */
export function fitCostModel(groups: readonly PilotGroup[]): CostModel {
  const fitted = groups.filter((g) => g.status === 'ok' || (g.status === 'failed' && g.fitSeconds !== null));
  const screened = groups.filter((g) => !fitted.includes(g));
  const mean = (xs: number[]): number => (xs.length ? xs.reduce((a, b) => a + b, 0) / xs.length : 0);
  const screenedCost = screened.length ? mean(screened.map(pilotCost)) : Math.min(...groups.map(pilotCost), Infinity);
  let intercept = 0;
  let perRow = 0;
  if (fitted.length) {
    const xs = fitted.map((g) => g.rows);
    const ys = fitted.map(pilotCost);
    const mx = mean(xs);
    const my = mean(ys);
    const sxx = xs.reduce((a, x) => a + (x - mx) ** 2, 0);
    const sxy = xs.reduce((a, x, i) => a + (x - mx) * (ys[i]! - my), 0);
    perRow = sxx > 0 ? sxy / sxx : 0;
    intercept = my - perRow * mx;
    if (perRow < 0) {
      perRow = 0;
      intercept = my;
    } else if (intercept < 0) {
      intercept = 0;
      perRow = xs.reduce((a, b) => a + b, 0) > 0 ? ys.reduce((a, b) => a + b, 0) / xs.reduce((a, b) => a + b, 0) : 0;
    }
  } else {
    intercept = Number.isFinite(screenedCost) ? screenedCost : 0;
  }
  return { intercept, per_row: perRow, screened: Number.isFinite(screenedCost) ? screenedCost : intercept, samples: fitted.length };
}

/**
 * The worker pool's part of a local train: `pool_start` (the pilot pool's own time: forking,
 * dispatch, joining), `warm_up` (a worker's one-off before its first fit, paid by every worker
 * side by side: the largest the pilot saw) and `fit` (every group's cost, list-scheduled over
 * the workers in group order as the pool hands them out; more workers than cores share them).
 */
export function localPoolParts(pilot: ProbeDocument['pilot'], costs: readonly number[]): { pool_start: number; warm_up: number; fit: number } {
  const workers = Math.max(1, pilot.workers);
  const shared = Math.max(1, workers / Math.max(1, pilot.cores));
  return {
    pool_start: pilot.groups.length ? Math.max(0, pilot.poolSeconds) : 0,
    warm_up: Math.max(0, ...pilot.groups.map((g) => g.warmUpSeconds ?? 0)),
    fit: listSchedule(costs, workers) * shared,
  };
}

/** Every group's estimated seconds, in group order. */
function groupCosts(model: CostModel, sizes: readonly number[], fitted: readonly number[]): number[] {
  return sizes.map((n, i) => (fitted[i] ? model.intercept + model.per_row * n : model.screened));
}

/** The time of registering the pilot's ok models into a throwaway local registry: a fixed part and a part per model. */
async function timeRegistration(probe: ProbeResult, spec: JobSpec, pipeline: Pipeline, project: Project): Promise<{ fixed: number; perModel: number }> {
  const entries: NewModelVersion[] = probe.doc.pilot.groups
    .filter((g) => g.status === 'ok' && g.artifact && g.sha256)
    .map((g) => ({
      name: g.modelName,
      pipeline: pipeline.name,
      project: project.name,
      groupId: g.groupId,
      keys: g.keys,
      modelType: spec.model.type,
      runId: 'plan',
      dataFingerprint: probe.doc.fingerprint,
      metrics: Object.fromEntries(Object.entries(g.metrics).filter((e): e is [string, number] => typeof e[1] === 'number')),
      artifactPath: path.join(probe.folder, g.artifact!),
      sha256: g.sha256!,
    }));
  const folder = path.join(probe.folder, 'registry');
  const t0 = performance.now();
  const registry = new LocalRegistry(folder, { lockWaitSeconds: 0 });
  await registry.registerVersions([], undefined, { batchId: 'plan' });
  const t1 = performance.now();
  await registry.registerVersions(entries, undefined, { batchId: 'plan' });
  const t2 = performance.now();
  await registry.close();
  const t3 = performance.now();
  return { fixed: (t1 - t0 + (t3 - t2)) / 1000, perModel: entries.length ? (t2 - t1) / 1000 / entries.length : 0 };
}

/** The data of a pipeline must be on this machine (or a mount of it) for the profile. */
function checkLocalData(spec: JobSpec, target: ResolvedTarget): void {
  const p = spec.data.path;
  if (typeof p === 'string' && hasScheme(p)) {
    throw new UsageError(`the data of pipeline "${spec.pipeline}" is at ${p}, which this machine cannot read: the profile and the pilot read the data here`, {
      code: 'MM804',
      nextSteps: [
        `Point data.path at a local copy or mount of the data (or a representative part of it) for the plan, e.g. with --var when the path is a variable, and keep --target ${target.name} for the estimate.`,
      ],
    });
  }
}

interface RemoteShape {
  engine: 'databricks' | 'synapse';
  nodes: number;
  vcpus: number;
  memoryGb: number | null;
  startSeconds: number;
}

/** A Spark target's cluster as the file sizes it (MM805 when it does not). */
function remoteShape(target: ResolvedTarget): RemoteShape | undefined {
  const prices: TargetPrices | undefined = target.prices;
  if (target.engine === 'synapse' && target.synapse) {
    const node = SYNAPSE_NODES[target.synapse.executorSize];
    return {
      engine: 'synapse',
      nodes: target.synapse.executors,
      vcpus: prices?.nodeVcpus ?? node.vcpus,
      memoryGb: prices?.nodeMemoryGb ?? node.memoryGb,
      startSeconds: prices?.startSeconds ?? DEFAULT_START_SECONDS.synapse,
    };
  }
  if (target.engine === 'databricks' && target.databricks) {
    const compute = target.databricks.compute;
    if (compute.kind !== 'new_cluster') {
      throw new UsageError(`target "${target.name}" runs on ${compute.kind === 'serverless' ? 'serverless compute' : 'an existing cluster'}, whose size the file does not give: plan estimates a new_cluster (its node type and workers)`, {
        code: 'MM805',
        nextSteps: ['Plan against a target with compute.new_cluster (node_type_id, num_workers) and prices.node_vcpus.'],
      });
    }
    const cluster = compute.cluster as { num_workers?: number; autoscale?: { max_workers?: number } };
    const nodes = cluster.num_workers ?? cluster.autoscale?.max_workers ?? 0;
    if (prices?.nodeVcpus === undefined) {
      throw new UsageError(`target "${target.name}": plan needs the vCPUs of node type ${String(compute.cluster.node_type_id)} to estimate a Databricks run`, {
        code: 'MM805',
        nextSteps: [`Add them to the target: prices: { node_vcpus: 16, node_hour: 1.2 } (docs/plan.md).`],
      });
    }
    if (nodes < 1) {
      throw new UsageError(`target "${target.name}": the new_cluster has no workers (num_workers or autoscale.max_workers) for plan to spread the groups over`, { code: 'MM805' });
    }
    return { engine: 'databricks', nodes, vcpus: prices.nodeVcpus, memoryGb: prices.nodeMemoryGb ?? null, startSeconds: prices.startSeconds ?? DEFAULT_START_SECONDS.databricks };
  }
  return undefined;
}

async function planPipeline(request: PlanRequest, pipeline: Pipeline): Promise<PlanResult> {
  const { project } = request;
  const target = project.target;
  if (target.engine === 'spark-local') {
    throw new UsageError(`target "${target.name}" runs on spark-local: plan estimates the local engine and the Databricks and Synapse targets`, {
      code: 'MM805',
      nextSteps: ['Plan with --target set to a local, databricks or synapse target.'],
    });
  }
  const shape = remoteShape(target); // its problems before the (long) pilot
  const notes: string[] = [];
  let local = { target, pipeline };
  if (shape) {
    const view = request.localProject;
    const localPipeline = view?.pipelines.find((p) => p.name === pipeline.name);
    if (!view || !localPipeline) {
      const remoteSpec = compileJobSpec({ pipeline, target, stage: 'train', projectRoot: project.file.projectRoot });
      throw new UsageError(`the data of pipeline "${pipeline.name}" on target "${target.name}" is at ${String(remoteSpec.data.path)}; the profile and the pilot read the data on this machine, through a local target of the file, and ${view ? `its pipelines have no "${pipeline.name}"` : 'the file has none'}`, {
        code: 'MM804',
        nextSteps: ['Add a local target (engine: local) whose data path (a variable set per target) is a local copy or mount of the data, or a representative part of it.'],
      });
    }
    local = { target: view.target, pipeline: localPipeline };
  }
  const spec = compileJobSpec({ pipeline: local.pipeline, target: local.target, stage: 'train', projectRoot: project.file.projectRoot });
  checkLocalData(spec, local.target);
  if (shape) notes.push(`profiled ${String(spec.data.path)}: the data as target "${local.target.name}" reads it`);
  const workers = local.target.workers;
  const probeOptions: Parameters<typeof runPlanProbe>[0] = { env: request.env, spec, projectRoot: project.file.projectRoot, workers, pilot: request.pilot, seed: request.seed };
  if (request.signal) probeOptions.signal = request.signal;
  const probe = await runPlanProbe(probeOptions);
  try {
    notes.push(...probe.notes);
    const doc = probe.doc;
    if (doc.groups.count === 0) {
      throw new UsageError(`pipeline "${pipeline.name}": the data at ${String(spec.data.path)} has no rows to group (${doc.rows} rows)`, {
        code: 'MM803',
        nextSteps: ['Check data.path (a folder or glob that matches no files?) and any filter on the data.'],
      });
    }
    const registration = await timeRegistration(probe, spec, pipeline, project);
    const model = fitCostModel(doc.pilot.groups);
    const sizes = doc.groups.sizes;
    const costs = groupCosts(model, sizes, doc.groups.fitted);
    const fittedCount = doc.groups.fitted.reduce((a, b) => a + b, 0);
    const pilotFitted = doc.pilot.groups.filter((g) => g.kind === 'ok' || (g.kind === 'stale' && g.status !== 'skipped'));
    const okRate = pilotFitted.length ? pilotFitted.filter((g) => g.status === 'ok').length / pilotFitted.length : 1;
    const expectedOk = Math.round(fittedCount * okRate);
    const W = doc.pilot.workers;
    const pool = localPoolParts(doc.pilot, costs);
    const perGroupManifest = doc.pilot.groups.length ? doc.pilot.manifestSeconds / doc.pilot.groups.length : 0;

    // Local: what a train on this machine does, part by part.
    const localParts: Record<string, number> = {
      cli_start: request.cliStartSeconds ?? 0,
      input: probe.input.reader === 'duckdb' ? probe.input.reuseSeconds : 0,
      runtime_start: probe.startSeconds,
      setup: doc.seconds.setup,
      read: doc.seconds.read,
      group: doc.seconds.group,
      pool_start: pool.pool_start,
      warm_up: pool.warm_up,
      fit: pool.fit,
      manifest: perGroupManifest * sizes.length,
      register: registration.fixed + registration.perModel * expectedOk,
    };
    const estimate: Record<string, TargetEstimate> = { local: localEstimate(localParts, W, project.raw.targets ? localPrices(project) : undefined) };
    if (request.budgetSeconds !== undefined) {
      const e = estimate.local!;
      e.budget = { budget_seconds: request.budgetSeconds, meets: e.wall_seconds <= request.budgetSeconds };
    }

    let partition: PlanResult['partition'];
    if (shape) {
      const remote = remoteEstimate(shape, target.prices, costs, probe, perGroupManifest * sizes.length);
      if (request.budgetSeconds !== undefined) remote.budget = budgetAdvice(shape, target.prices, costs, probe, perGroupManifest * sizes.length, request.budgetSeconds);
      estimate[target.name] = remote;
      partition = savePartitionPlan(project, pipeline, target, shape, costs, doc, model);
      if (probe.input.reader === 'duckdb' ? !probe.input.parsed : doc.fromCache) notes.push('the input came from the parsed-input cache: the remote read is estimated from a cache load, a cold parse takes longer');
    }
    const profile = buildProfile(pipeline, doc, shape, W);
    const okPilot = doc.pilot.groups.filter((g) => g.status === 'ok');
    const secs = doc.pilot.groups.map((g) => g.seconds).sort((a, b) => a - b);
    const measured = doc.pilot.groups.filter((g) => g.waitSeconds !== null && g.waitSeconds !== undefined);
    const measuredWall = measured.reduce((a, g) => a + g.seconds, 0);
    const waitedShare = measured.length && measuredWall > 0 ? measured.reduce((a, g) => a + (g.waitSeconds ?? 0), 0) / measuredWall : null;
    const pilot: PilotSummary = {
      groups: doc.pilot.groups.length,
      seed: request.seed,
      workers: W,
      fitted_ok: okPilot.length,
      seconds: { min: round(secs[0] ?? 0, 6), median: round(quantile(secs, 0.5), 6), max: round(secs[secs.length - 1] ?? 0, 6), total: round(secs.reduce((a, b) => a + b, 0), 6) },
      waited_share: waitedShare === null ? null : round(waitedShare, 3),
      warm_up_seconds: round(pool.warm_up, 6),
      artifact_bytes_mean: okPilot.length ? Math.round(okPilot.reduce((a, g) => a + (g.artifactBytes ?? 0), 0) / okPilot.length) : null,
      cost_model: { intercept: round(model.intercept, 6), per_row: round(model.per_row, 9), screened: round(model.screened, 6), samples: model.samples },
      input: { reader: probe.input.reader, first_seconds: round(probe.input.firstSeconds), reuse_seconds: round(probe.input.reuseSeconds), parsed: probe.input.parsed },
      register_seconds_per_model: round(registration.perModel, 6),
    };
    if (waitedShare !== null && waitedShare >= WAITED_NOTE) {
      notes.push(`the pilot's workers waited ${Math.round(waitedShare * 100)} % of their time for a CPU that other processes had: the estimate counts the time they ran, as on a machine the train has to itself`);
    }
    if (request.pilot > 0 && model.samples === 0) notes.push('no pilot group reached a fit: the estimate uses the time of the checks alone');
    const result: PlanResult = { pipeline, profile, pilot, estimate, notes };
    if (partition) result.partition = partition;
    return result;
  } finally {
    rmSync(probe.folder, { recursive: true, force: true });
  }
}

function localPrices(project: Project): TargetPrices | undefined {
  // The local estimate is priced by the target planned when it is local, else by a local target that has prices.
  if (project.target.engine === 'local') return project.target.prices;
  for (const [, t] of Object.entries(project.raw.targets ?? {})) {
    if (t?.engine === 'local' && t.prices) return { currency: t.prices.currency ?? 'USD', ...(t.prices.node_hour !== undefined ? { nodeHour: t.prices.node_hour } : {}) };
  }
  return undefined;
}

function localEstimate(parts: Record<string, number>, workers: number, prices: TargetPrices | undefined): TargetEstimate {
  const wall = Object.values(parts).reduce((a, b) => a + b, 0);
  return {
    engine: 'local',
    wall_seconds: round(wall, 2),
    vcpu_hours: round((workers * wall) / 3600, 4),
    workers,
    cost: prices?.nodeHour !== undefined ? round((prices.nodeHour * wall) / 3600, 4) : null,
    currency: prices?.nodeHour !== undefined ? prices.currency : null,
    parts: Object.fromEntries(Object.entries(parts).map(([k, v]) => [k, round(v, 3)])),
  };
}

/** The seconds of a Spark run over `nodes` nodes, part by part. */
function remoteParts(shape: RemoteShape, nodes: number, costs: readonly number[], probe: ProbeResult, manifest: number): Record<string, number> {
  const slots = nodes * shape.vcpus;
  const loads = lptPlan(costs, slots).loads;
  // The cold parse of this machine's reader, spread over the nodes (Spark reads in parallel).
  const read = (probe.input.reader === 'duckdb' ? probe.input.firstSeconds : probe.doc.seconds.read) / nodes;
  return { cluster_start: shape.startSeconds, read, fit: Math.max(0, ...loads), manifest };
}

function remoteEstimate(shape: RemoteShape, prices: TargetPrices | undefined, costs: readonly number[], probe: ProbeResult, manifest: number, nodes = shape.nodes): TargetEstimate {
  const parts = remoteParts(shape, nodes, costs, probe, manifest);
  const wall = Object.values(parts).reduce((a, b) => a + b, 0);
  const machines = nodes + 1; // the driver
  return {
    engine: shape.engine,
    wall_seconds: round(wall, 2),
    vcpu_hours: round((machines * shape.vcpus * wall) / 3600, 4),
    nodes,
    vcpus_per_node: shape.vcpus,
    slots: nodes * shape.vcpus,
    cost: prices?.nodeHour !== undefined ? round((machines * prices.nodeHour * wall) / 3600, 4) : null,
    currency: prices?.nodeHour !== undefined ? prices.currency : null,
    parts: Object.fromEntries(Object.entries(parts).map(([k, v]) => [k, round(v, 3)])),
  };
}

/** The fewest nodes whose estimated wall time is within the budget (a binary search: more nodes never take longer). */
function budgetAdvice(shape: RemoteShape, prices: TargetPrices | undefined, costs: readonly number[], probe: ProbeResult, manifest: number, budget: number): BudgetAdvice {
  const wallAt = (n: number): number => remoteEstimate(shape, prices, costs, probe, manifest, n).wall_seconds;
  const current = wallAt(shape.nodes);
  if (wallAt(MAX_NODES) > budget) {
    const floor = shape.startSeconds + Math.max(0, ...costs) + manifest;
    return {
      budget_seconds: budget,
      meets: current <= budget,
      recommended_nodes: null,
      wall_seconds: null,
      cost: null,
      reason: floor > budget
        ? `no node count can: the cluster start (${round(shape.startSeconds, 0)} s) plus the largest group (${round(Math.max(0, ...costs), 1)} s) is already ${round(floor, 1)} s`
        : `not within ${MAX_NODES} nodes`,
    };
  }
  let lo = 1;
  let hi = MAX_NODES;
  while (lo < hi) {
    const mid = Math.floor((lo + hi) / 2);
    if (wallAt(mid) <= budget) hi = mid;
    else lo = mid + 1;
  }
  const best = remoteEstimate(shape, prices, costs, probe, manifest, lo);
  return { budget_seconds: budget, meets: current <= budget, recommended_nodes: lo, wall_seconds: best.wall_seconds, cost: best.cost };
}

function buildProfile(pipeline: Pipeline, doc: ProbeResult['doc'], shape: RemoteShape | undefined, localWorkers: number): PlanProfile {
  const sizes = doc.groups.sizes;
  const sorted = [...sizes].sort((a, b) => a - b);
  const memoryGb = shape ? shape.memoryGb : os.totalmem() / 2 ** 30;
  const tasks = shape ? shape.vcpus : Math.max(1, localWorkers);
  const memoryPerTask = memoryGb !== null ? Math.floor((memoryGb * 2 ** 30) / tasks) : null;
  const keyCols = pipeline.keys;
  const giantsOver = (limit: number): GiantGroup[] =>
    doc.groups.mapped
      .filter(([g]) => sizes[g]! * doc.bytesPerRow > limit)
      .map(([g, keys]) => ({ keys: Object.fromEntries(keyCols.map((k, i) => [k, keys[i] ?? ''])), rows: sizes[g]!, bytes: Math.round(sizes[g]! * doc.bytesPerRow) }));
  const k = doc.groups.kinds;
  return {
    pipeline: pipeline.name,
    rows: doc.rows,
    groups: doc.groups.count,
    rows_per_group: { min: sorted[0] ?? 0, median: quantile(sorted, 0.5), p90: quantile(sorted, 0.9), max: sorted[sorted.length - 1] ?? 0, histogram: histogram(sizes) },
    groups_by_check: {
      ok: k.ok ?? 0,
      short: k.short ?? 0,
      constant: k.constant ?? 0,
      stale: k.stale ?? 0,
      empty: k.empty ?? 0,
      duplicate_timestamps: k.duplicates ?? 0,
      non_finite: k.non_finite ?? 0,
      error: k.error ?? 0,
    },
    bytes_per_row: doc.bytesPerRow,
    giants: {
      arrow_limit_bytes: ARROW_BATCH_LIMIT,
      // A group's pandas frame and the model's copies: about three times its batch must fit in one task's share.
      memory_per_task_bytes: memoryPerTask,
      over_arrow_limit: giantsOver(ARROW_BATCH_LIMIT),
      over_task_memory: memoryPerTask !== null ? giantsOver(memoryPerTask / 3) : [],
    },
    largest: doc.groups.largest.map((g) => ({ keys: g.keys, rows: g.rows })),
    time_range: doc.timeRange,
  };
}

/**
 * The partition plan the compiled Spark job uses (docs/plan.md): shuffle partitions = task
 * slots, the largest groups' keys mapped to LPT buckets (the rest are hashed by Spark), and
 * the giants — groups costing more than a bucket's mean load — named so the job can run them
 * apart.
 */
function savePartitionPlan(project: Project, pipeline: Pipeline, target: ResolvedTarget, shape: RemoteShape, costs: readonly number[], doc: ProbeResult['doc'], model: CostModel): PlanResult['partition'] {
  const slots = shape.nodes * shape.vcpus;
  const mapped = doc.groups.mapped.slice(0, MAX_MAPPED);
  const plan = lptPlan(mapped.map(([g]) => costs[g]!), slots);
  const total = costs.reduce((a, b) => a + b, 0);
  const mean = total / slots;
  // A giant costs more than a bucket's fair share alone: no plan can balance it away. With no
  // more groups than buckets every group has a bucket of its own, and none is a giant.
  const giants = costs.length > slots ? mapped.filter(([g]) => costs[g]! > mean).map(([, keys]) => keys) : [];
  const file = partitionPlanPath(target.stateDir, pipeline.name);
  const body = {
    planVersion: 1,
    pipeline: pipeline.name,
    target: target.name,
    dataFingerprint: doc.fingerprint,
    keys: pipeline.keys,
    buckets: slots,
    shufflePartitions: slots,
    costModel: model,
    mapping: mapped.map(([, keys], i) => ({ keys, bucket: plan.bucket[i]! })),
    giants,
  };
  mkdirSync(path.dirname(file), { recursive: true });
  writeStateFile(file, canonicalJson(body));
  const loads = [...plan.loads];
  // The unmapped (smaller) groups spread by hash: counted evenly.
  const rest = total - mapped.reduce((a, [g]) => a + costs[g]!, 0);
  for (let b = 0; b < loads.length; b++) loads[b]! += rest / slots;
  const max = Math.max(0, ...loads);
  return { file: path.relative(project.file.projectRoot, file) || file, buckets: slots, mapped: mapped.length, giants: giants.length, imbalance: round(mean > 0 ? max / mean : 1, 3) };
}
