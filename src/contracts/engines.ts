// The closed vocabularies every layer shares: tasks, engines, prediction write modes.
export const TASKS = ['forecast', 'regression', 'classification'] as const;
export type Task = (typeof TASKS)[number];

export const ENGINES = ['local', 'spark-local', 'databricks', 'synapse'] as const;
export type Engine = (typeof ENGINES)[number];

export const WRITE_MODES = ['replace_run', 'append', 'overwrite'] as const;
export type WriteMode = (typeof WRITE_MODES)[number];

export const DATA_FORMATS = ['csv', 'parquet', 'delta', 'jdbc', 'sql'] as const;
export type DataFormat = (typeof DATA_FORMATS)[number];
