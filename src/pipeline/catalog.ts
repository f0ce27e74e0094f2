// What the language knows about tasks, model types and metrics: the one table the schema,
// the semantic checks, promotion (metric direction) and the docs are built from.
export const TASKS = ['forecast', 'regression', 'classification'] as const;
export type Task = (typeof TASKS)[number];

export const MODEL_TYPES_BY_TASK: Record<Task, readonly string[]> = {
  forecast: ['seasonal_naive', 'linear', 'ets', 'gbm', 'custom'],
  regression: ['linear', 'random_forest', 'gbm', 'custom'],
  classification: ['logistic', 'random_forest', 'gbm', 'custom'],
};

export const ALL_MODEL_TYPES: readonly string[] = [...new Set(Object.values(MODEL_TYPES_BY_TASK).flat())].sort();

export const METRICS_BY_TASK: Record<Task, readonly string[]> = {
  forecast: ['mae', 'rmse', 'mape', 'smape', 'wape', 'accuracy'],
  regression: ['mae', 'rmse', 'mape', 'smape', 'wape', 'accuracy'],
  classification: ['accuracy', 'precision', 'recall', 'f1', 'roc_auc'],
};

export const ALL_METRICS: readonly string[] = [...new Set(Object.values(METRICS_BY_TASK).flat())].sort();

/** Metrics where a larger value is better; every other metric is an error, lower is better. */
const HIGHER_IS_BETTER = new Set(['accuracy', 'precision', 'recall', 'f1', 'roc_auc']);

export function higherIsBetter(metric: string): boolean {
  return HIGHER_IS_BETTER.has(metric);
}

export const DEFAULT_METRICS: Record<Task, readonly string[]> = {
  forecast: ['wape', 'mape', 'rmse'],
  regression: ['mae', 'rmse', 'wape'],
  classification: ['accuracy', 'f1', 'roc_auc'],
};

export const ENGINES = ['local', 'spark-local', 'databricks', 'synapse'] as const;
export type Engine = (typeof ENGINES)[number];

export const WRITE_MODES = ['replace_run', 'append', 'overwrite'] as const;
export type WriteMode = (typeof WRITE_MODES)[number];
