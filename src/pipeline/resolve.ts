// Turns a checked RawPipelineFile into what the engines work from: the selected target
// (with its registries, sink and state folder) and each pipeline with every default applied.
import path from 'node:path';
import type { Diagnostic } from '../core/diagnostics.js';
import { expectedOneOf } from '../core/diagnostics.js';
import { DEFAULTS } from './defaults.js';
import { resolveEngineSettings } from './engine-settings.js';
import { formatPath, type PathSegment } from './locate.js';
import { engineCapabilities, enginesWhere } from '../contracts/engine-capabilities.js';
import type { RegistryConfig, ResolvedTarget, SinkConfig, TargetPrices } from '../contracts/targets.js';
import type { Pipeline, RawModelChoice, RawPipeline, RawPipelineFile, RawRegistry, RawTarget } from './types.js';
import type { ModelChoice } from '../contracts/job-spec.js';
import { AUTO_MODEL } from './catalog.js';

export const DEFAULT_HORIZON = DEFAULTS.scoring.horizon;
export const DEFAULT_FAILED_FRACTION = DEFAULTS.failureBudget.maxFailedFraction;
export const STATE_DIR = DEFAULTS.stateDir;

type At = (path: readonly PathSegment[], options?: { key?: boolean }) => { file: string; line: number; column: number };

const IMPLICIT_LOCAL: RawTarget = { engine: DEFAULTS.target.engine };

/** Which target a command runs against: --target, else the default one, else `local`. */
export function selectTargetName(raw: RawPipelineFile, requested: string | undefined, at: At): { name?: string; diagnostics: Diagnostic[] } {
  const targets = raw.targets && typeof raw.targets === 'object' ? raw.targets : undefined;
  const names = targets ? Object.keys(targets) : [];
  if (requested !== undefined) {
    if (names.includes(requested) || (!targets && requested === DEFAULTS.target.name)) return { name: requested, diagnostics: [] };
    return {
      diagnostics: [
        {
          code: 'MM304',
          severity: 'error',
          message: `unknown target "${requested}"`,
          path: 'targets',
          ...at(['targets'], { key: true }),
          hint: expectedOneOf(requested, names.length ? names : [DEFAULTS.target.name]),
        },
      ],
    };
  }
  if (!targets) return { name: DEFAULTS.target.name, diagnostics: [] };
  const marked = names.find((n) => (targets[n] as RawTarget | undefined)?.default === true);
  if (marked) return { name: marked, diagnostics: [] };
  if (names.includes(DEFAULTS.target.name)) return { name: DEFAULTS.target.name, diagnostics: [] };
  if (names.length === 1) return { name: names[0], diagnostics: [] };
  return {
    diagnostics: [
      {
        code: 'MM304',
        severity: 'error',
        message: 'no default target: mark one with default: true or pass --target',
        path: 'targets',
        ...at(['targets'], { key: true }),
        hint: `Targets: ${names.join(', ')}.`,
      },
    ],
  };
}

function registryConfig(raw: RawRegistry | undefined, fallbackFolder: string, projectRoot: string): RegistryConfig {
  const r = raw ?? { type: 'local' as const };
  const out: RegistryConfig = {
    type: r.type,
    granularity: r.granularity ?? DEFAULTS.registry.granularity,
    concurrency: r.concurrency ?? DEFAULTS.registry.concurrency,
  };
  if (r.type === 'local') out.path = path.resolve(projectRoot, r.path ?? fallbackFolder);
  if (r.subscription_id !== undefined) out.subscriptionId = r.subscription_id;
  if (r.resource_group !== undefined) out.resourceGroup = r.resource_group;
  if (r.workspace !== undefined) out.workspace = r.workspace;
  if (r.registry !== undefined) out.registry = r.registry;
  if (r.endpoint !== undefined) out.endpoint = r.endpoint;
  if (r.storage_account_url !== undefined) out.storageAccountUrl = r.storage_account_url;
  if (r.storage_container !== undefined) out.storageContainer = r.storage_container;
  if (r.storage_sas_env !== undefined) out.storageSasEnv = r.storage_sas_env;
  return out;
}

/** The target with every default applied, its engine's settings resolved (their problems as diagnostics). */
export function resolveTarget(raw: RawPipelineFile, name: string, projectRoot: string, at: At): { target: ResolvedTarget; diagnostics: Diagnostic[] } {
  const t = raw.targets?.[name] ?? IMPLICIT_LOCAL;
  const stateDir = path.resolve(projectRoot, STATE_DIR);
  const resolved: ResolvedTarget = {
    name,
    engine: t.engine,
    workers: t.workers ?? DEFAULTS.target.workers,
    registry: registryConfig(t.registry, DEFAULTS.registry.path, projectRoot),
    productionRegistry: registryConfig(t.production_registry, DEFAULTS.registry.productionPath, projectRoot),
    sink: t.sink ?? { type: DEFAULTS.sink.type, path: DEFAULTS.sink.path },
    stateDir,
  };
  if (t.prices) {
    const pr = t.prices;
    const prices: TargetPrices = { currency: pr.currency ?? 'USD' };
    if (pr.node_hour !== undefined) prices.nodeHour = pr.node_hour;
    if (pr.node_vcpus !== undefined) prices.nodeVcpus = pr.node_vcpus;
    if (pr.node_memory_gb !== undefined) prices.nodeMemoryGb = pr.node_memory_gb;
    if (pr.start_seconds !== undefined) prices.startSeconds = pr.start_seconds;
    resolved.prices = prices;
  }
  const engine = resolveEngineSettings(t, name, at);
  if (engine.databricks) resolved.databricks = engine.databricks;
  if (engine.synapse) resolved.synapse = engine.synapse;
  return { target: resolved, diagnostics: engine.diagnostics };
}

/** A URI (abfss://…, dbfs:/…) or a cluster path (/dbfs/…, /Volumes/…): not on this machine. */
export const hasScheme = (p: string): boolean => /^[a-z][a-z0-9+.-]*:\//i.test(p) || p.startsWith('/dbfs/') || p.startsWith('/Volumes/');

/** Checks that only make sense once the target is known. */
export function checkAgainstTarget(raw: RawPipelineFile, target: ResolvedTarget, at: At): Diagnostic[] {
  const out: Diagnostic[] = [];
  const caps = engineCapabilities(target.engine);
  (raw.pipelines ?? []).forEach((p, i) => {
    if (p?.scoring?.write_mode === 'replace_run' && cannotReplaceRun(target)) {
      const segs: PathSegment[] = ['pipelines', i, 'scoring', 'write_mode'];
      out.push({
        code: 'MM313',
        severity: 'error',
        message: `target "${target.name}" writes predictions with Synapse's SQL connector, which cannot delete a run's earlier rows`,
        path: formatPath(segs),
        ...at(segs),
        hint: 'Use write_mode: append (the default there) or overwrite.',
      });
    }
    for (const [where, data] of [['data', p?.data], ['scoring.data', p?.scoring?.data]] as const) {
      if (!data) continue;
      const base: PathSegment[] = where === 'data' ? ['pipelines', i, 'data'] : ['pipelines', i, 'scoring', 'data'];
      if (data.format !== undefined && !caps.dataFormats.includes(data.format)) {
        out.push({
          code: 'MM320',
          severity: 'error',
          message: `the ${target.engine} engine cannot read ${data.format} sources`,
          path: formatPath([...base, 'format']),
          ...at([...base, 'format']),
          hint: `Use ${caps.dataFormats.slice(0, -1).join(', ')}${caps.dataFormats.length > 1 ? ' or ' : ''}${caps.dataFormats.at(-1)} locally, or a Spark engine (${enginesWhere((c) => c.dataFormats.includes(data.format!)).join(', ')}).`,
        });
      }
      const sql = data.format === 'sql' ? data.sql : undefined;
      if (sql?.secret_scope !== undefined && !caps.secretScopes && sql.password_env === undefined) {
        out.push({
          code: 'MM320',
          severity: 'error',
          message: `the ${target.engine} engine has no Databricks secret scopes to read sql.secret_scope "${sql.secret_scope}" from`,
          path: formatPath([...base, 'sql', 'secret_scope']),
          ...at([...base, 'sql', 'secret_scope']),
          hint: `Name environment variables with sql.user_env and password_env as well: ${enginesWhere((c) => c.secretScopes).join(', ')} reads the scope, ${target.engine} the variables.`,
        });
      }
      if (!caps.readsLocalPaths && typeof data.path === 'string' && !hasScheme(data.path)) {
        out.push({
          code: 'MM320',
          severity: 'error',
          message: `target "${target.name}" runs on ${target.engine}, which cannot read the local path "${data.path}"`,
          path: formatPath([...base, 'path']),
          ...at([...base, 'path']),
          hint: 'Use a path the cluster can read (abfss://…, dbfs:/…, /Volumes/…), e.g. through a variable set per target.',
        });
      }
    }
  });
  return out;
}

/** A sink the engine cannot delete rows from (Synapse's own SQL connector): a run cannot replace its earlier rows there. */
function cannotReplaceRun(target: ResolvedTarget): boolean {
  return engineCapabilities(target.engine).sinksWithoutDelete.includes(target.sink.type);
}

function resolveTime(t: NonNullable<RawPipeline['time']>): NonNullable<Pipeline['time']> {
  const kind = t.kind ?? DEFAULTS.time.kind;
  const parts = t.parts ? { year: t.parts.year, month: t.parts.month ?? null, day: t.parts.day ?? null, hour: t.parts.hour ?? null, minute: t.parts.minute ?? null } : null;
  const column = t.column ?? DEFAULTS.time.partsColumn;
  return kind === 'period'
    ? { column, parts, kind, frequency: null, seasonLength: t.season_length ?? null }
    : { column, parts, kind, frequency: t.frequency ?? DEFAULTS.time.frequency, seasonLength: null };
}

/** A model of an auto selection as written → its type and params. */
function resolveChoice(c: RawModelChoice): ModelChoice {
  return typeof c === 'string' ? { type: c, params: {} } : { type: c.type, params: { ...(c.params ?? {}) } };
}

function resolveSelection(m: RawPipeline['model'], metrics: string[]): NonNullable<Pipeline['model']['selection']> {
  return {
    candidates: (m.candidates ?? []).map(resolveChoice),
    selectBy: m.select_by ?? metrics[0]!,
    fallback: m.fallback === undefined ? null : resolveChoice(m.fallback),
  };
}

export function resolvePipeline(p: RawPipeline, project: string, target?: ResolvedTarget): Pipeline {
  const forecast = p.task === 'forecast';
  const metrics = [...(p.metrics ?? DEFAULTS.metrics[p.task])];
  // Only forecasts look ahead; other tasks score the rows they are given.
  const horizon = forecast ? (p.scoring?.horizon ?? DEFAULT_HORIZON) : null;
  const holdoutFrom = typeof p.model.holdout === 'object' && p.model.holdout !== null ? String(p.model.holdout.from) : null;
  const holdout = typeof p.model.holdout === 'number' ? p.model.holdout : forecast ? horizon! : DEFAULTS.model.holdoutFraction;
  const rules = (p.promotion?.rules ?? []).map((r) => {
    const label =
      r.compare === 'production'
        ? `${r.metric} no worse than production${r.tolerance ? ` by more than ${r.tolerance}` : ''}`
        : [r.min !== undefined ? `${r.metric} >= ${r.min}` : '', r.max !== undefined ? `${r.metric} <= ${r.max}` : ''].filter(Boolean).join(' and ');
    const rule: Pipeline['promotion']['rules'][number] = {
      name: r.name ?? label,
      metric: r.metric,
      tolerance: r.tolerance ?? DEFAULTS.promotion.tolerance,
      whenNoProduction: r.when_no_production ?? DEFAULTS.promotion.whenNoProduction,
    };
    if (r.min !== undefined) rule.min = r.min;
    if (r.max !== undefined) rule.max = r.max;
    if (r.compare !== undefined) rule.compare = r.compare;
    return rule;
  });
  const budget = p.failure_budget ?? {};
  const resolved: Pipeline = {
    name: p.name,
    project,
    data: p.data,
    keys: [...p.keys],
    time: p.time ? resolveTime(p.time) : null,
    target: p.target,
    features: [...(p.features ?? [])],
    task: p.task,
    model: {
      type: p.model.type,
      params: { ...(p.model.params ?? {}) },
      holdout: forecast
        ? { periods: holdoutFrom === null ? holdout : null, fraction: null, from: holdoutFrom }
        : { periods: null, fraction: holdout, from: null },
      stale: p.model.stale ?? DEFAULTS.model.stale,
      minTrainRows: p.model.min_train_rows ?? DEFAULTS.model.minTrainRows,
      refit: p.model.refit ?? DEFAULTS.model.refit,
      customPath: p.model.type === 'custom' ? (p.model.path ?? null) : null,
      selection: p.model.type === AUTO_MODEL ? resolveSelection(p.model, metrics) : null,
    },
    metrics,
    promotion: {
      rules,
      gate: {
        minPromotedFraction: p.promotion?.gate?.min_promoted_fraction ?? null,
        minPromoted: p.promotion?.gate?.min_promoted ?? null,
      },
    },
    failureBudget:
      budget.max_failed === undefined && budget.max_failed_fraction === undefined
        ? { maxFailed: null, maxFailedFraction: DEFAULT_FAILED_FRACTION }
        : { maxFailed: budget.max_failed ?? null, maxFailedFraction: budget.max_failed_fraction ?? null },
    scoring: {
      horizon,
      table: p.scoring?.table ?? DEFAULTS.scoring.table,
      writeMode: p.scoring?.write_mode ?? (target && cannotReplaceRun(target) ? DEFAULTS.scoring.writeModeWithoutDelete : DEFAULTS.scoring.writeMode),
      data: p.scoring?.data ?? null,
    },
    serving: { cache: { maxModels: p.serving?.cache?.max_models ?? DEFAULTS.serving.cacheMaxModels, ttlSeconds: p.serving?.cache?.ttl_seconds ?? DEFAULTS.serving.cacheTtlSeconds } },
    spark: {
      shufflePartitions: p.spark?.shuffle_partitions ?? DEFAULTS.spark.shufflePartitions,
      conf: Object.fromEntries(Object.entries(p.spark?.conf ?? {}).map(([k, v]) => [k, String(v)])),
    },
  };
  if (p.description !== undefined) resolved.description = p.description;
  return resolved;
}
