// Every default of the pipelines.yaml language, in one object: what a pipeline or target gets
// for a field it leaves out. resolve.ts applies them, compile.ts and semantics.ts read them,
// schema.ts quotes them in descriptions, and docs/pipelines-yaml.md#defaults lists them (a
// test fails when the table and this object disagree). Defaults of one engine's own settings
// (poll intervals, cluster sizes) live with that engine in jobs/; model parameter defaults
// live with each model in the Python runtime (the catalog).
import type { Task, WriteMode } from '../contracts/engines.js';

export const DEFAULTS = {
  /** Folder of local state (runs, registries, caches), relative to pipelines.yaml. */
  stateDir: '.manymodels',
  target: {
    /** The target used when pipelines.yaml declares none. */
    name: 'local',
    engine: 'local',
    /** local engine: worker processes; 0 = one per core. */
    workers: 0,
  },
  registry: {
    /** Folder of the local training registry. */
    path: '.manymodels/registry',
    /** Folder of the local production registry. */
    productionPath: '.manymodels/production',
    granularity: 'per_group',
    /** azureml: parallel registry writes. */
    concurrency: 8,
  },
  sink: {
    type: 'sqlite',
    /** sqlite: the predictions database. */
    path: '.manymodels/predictions.db',
    /** synapse_sql: SQL schema. */
    schema: 'dbo',
    /** synapse_sql: how the connector reaches storage. */
    auth: 'managed_identity',
  },
  time: {
    /** pandas offset alias of a forecast's time column. */
    frequency: 'D',
    /** date: dates or times; period: integer period numbers. */
    kind: 'date' as 'date' | 'period',
  },
  model: {
    /** regression/classification: the fraction of each group's rows held out for evaluation. */
    holdoutFraction: 0.2,
    /** Groups with fewer training rows are skipped. */
    minTrainRows: 10,
    /** Refit on all rows after evaluation. */
    refit: true,
    /** forecast: what a series that ended before the holdout gets. */
    stale: 'skip' as 'skip' | 'forecast_from_origin',
  },
  /** Metrics computed when a pipeline lists none, by task. */
  metrics: {
    forecast: ['wape', 'mape', 'rmse'],
    regression: ['mae', 'rmse', 'wape'],
    classification: ['accuracy', 'f1', 'roc_auc'],
  } satisfies Record<Task, readonly string[]>,
  promotion: {
    /** compare rules: how much worse than production a candidate may be. */
    tolerance: 0,
    /** compare rules: the verdict for a group with no production version yet. */
    whenNoProduction: 'pass',
  },
  failureBudget: {
    /** The fraction of groups that may fail before the run fails (when no budget is given). */
    maxFailedFraction: 0.05,
  },
  scoring: {
    /** forecast: periods predicted after the data ends; also the forecast holdout. */
    horizon: 28,
    /** Sink table name. */
    table: 'predictions',
    writeMode: 'replace_run' satisfies WriteMode,
    /** The write mode where a sink cannot delete a run's earlier rows (Synapse's SQL connector). */
    writeModeWithoutDelete: 'append' satisfies WriteMode,
  },
  serving: {
    cacheMaxModels: 1000,
    cacheTtlSeconds: 3600,
  },
  spark: {
    /** auto: sized to the number of groups. */
    shufflePartitions: 'auto',
    /** Spark settings every Spark engine gets before the pipeline's own spark.conf: Arrow makes
     * applyInPandas cheap; adaptive execution would coalesce the shuffle partitions the
     * groups were spread over back onto a few executors. */
    conf: {
      'spark.sql.execution.arrow.pyspark.enabled': 'true',
      'spark.sql.adaptive.enabled': 'false',
    },
  },
} as const;

/** Every default as [dotted path, value] (arrays and the Spark conf map are one value each). */
export function defaultEntries(node: unknown = DEFAULTS, prefix = ''): Array<[string, unknown]> {
  if (node === null || typeof node !== 'object' || Array.isArray(node) || prefix === 'spark.conf') return [[prefix, node]];
  return Object.entries(node).flatMap(([k, v]) => defaultEntries(v, prefix ? `${prefix}.${k}` : k));
}
