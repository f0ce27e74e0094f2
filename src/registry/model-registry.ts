// The ModelRegistry interface every registry (local folder, Azure ML) implements, and the
// tags every registered model carries (DESIGN.md: pipeline, each key, model type, version,
// run id, data fingerprint, metrics).

export interface NewModelVersion {
  name: string;
  pipeline: string;
  project: string;
  groupId: string;
  keys: Record<string, string>;
  modelType: string;
  runId: string;
  dataFingerprint: string;
  metrics: Record<string, number>;
  /** Absolute path of the artifact to take into the registry. */
  artifactPath: string;
  sha256: string;
  /** Extra tags, e.g. lineage on promotion. */
  extraTags?: Record<string, string>;
}

export interface ModelVersion {
  name: string;
  version: string;
  pipeline: string;
  project: string;
  groupId: string;
  keys: Record<string, string>;
  modelType: string;
  runId: string;
  metrics: Record<string, number>;
  tags: Record<string, string>;
  /** Where the registry keeps the artifact: an absolute path (local) or a URI. */
  artifactUri: string;
  sha256: string;
  createdAt: string;
}

export interface VersionFilter {
  pipeline?: string;
  runIds?: string[];
  tags?: Record<string, string>;
  name?: string;
  limit?: number;
}

export interface RegisterProgress {
  done: number;
  total: number;
}

export interface RegisterOptions {
  /**
   * Names this registration. A remote registry writes one index (or model-set) version per
   * registration under this name, and resumes a registration of the same name where it
   * stopped. `train` passes its run id; when absent the registry derives a name from the
   * entries and the registry's current state, so an identical retry gets the same name.
   */
  batchId?: string;
  signal?: AbortSignal;
}

export interface ModelRegistry {
  readonly description: string;
  /**
   * Registers versions, idempotently: a (name, runId) already registered is returned as it
   * is, never duplicated, so a retried or resumed registration is safe.
   */
  registerVersions(entries: NewModelVersion[], onProgress?: (p: RegisterProgress) => void, options?: RegisterOptions): Promise<ModelVersion[]>;
  /** Every group's newest version for a pipeline, in one lookup. Keyed by groupId. */
  latestByGroup(pipeline: string): Promise<Map<string, ModelVersion>>;
  listVersions(filter: VersionFilter): Promise<ModelVersion[]>;
  getVersion(name: string, version?: string): Promise<ModelVersion | undefined>;
  /**
   * Local files holding these versions' artifacts, keyed by model name: the registry's own
   * files for a local registry, downloads into `cacheDir` (sha256 checked) for a remote one.
   */
  localArtifacts(versions: ModelVersion[], cacheDir: string, onProgress?: (p: RegisterProgress) => void): Promise<Map<string, string>>;
  /**
   * Runs `work` as this registry's only writer across processes (local registries: a lock
   * file in the folder), e.g. a promotion's read-decide-copy. Absent: no cross-process lock.
   */
  exclusive?<T>(owner: { runId: string | null; purpose: string }, work: () => Promise<T>, signal?: AbortSignal): Promise<T>;
  close(): Promise<void>;
}

/** Tag names. Key columns are tagged `key.<column>` so they cannot collide with ours. */
export const TAG = {
  project: 'project',
  pipeline: 'pipeline',
  modelType: 'model_type',
  runId: 'run_id',
  dataFingerprint: 'data_fingerprint',
  groupId: 'group_id',
  key: (column: string) => `key.${column}`,
  metric: (metric: string) => `metric.${metric}`,
  /** model.type auto: whether the group's model is the fallback ("true" / "false"), and the metric that chose it. */
  fallback: 'selection.fallback',
  selectBy: 'selection.select_by',
  /** model.type auto: every candidate's holdout metrics, or the error class of one that failed. */
  candidateMetric: (type: string, metric: string) => `candidate.${type}.${metric}`,
  candidateError: (type: string) => `candidate.${type}.error`,
} as const;

/** Tags that describe how a group's model was chosen: carried from training to production. */
export const SELECTION_TAG = /^(selection|candidate)\./;

export function tagsFor(entry: NewModelVersion): Record<string, string> {
  const tags: Record<string, string> = {
    [TAG.project]: entry.project,
    [TAG.pipeline]: entry.pipeline,
    [TAG.modelType]: entry.modelType,
    [TAG.runId]: entry.runId,
    // Unknown when the job could not stat its input (Spark reading abfss://, a table): no tag then.
    ...(entry.dataFingerprint ? { [TAG.dataFingerprint]: entry.dataFingerprint } : {}),
    [TAG.groupId]: entry.groupId,
  };
  for (const [column, value] of Object.entries(entry.keys)) tags[TAG.key(column)] = value;
  for (const [metric, value] of Object.entries(entry.metrics)) tags[TAG.metric(metric)] = formatMetric(value);
  return { ...tags, ...(entry.extraTags ?? {}) };
}

/** Metrics as tag strings: enough digits to compare, no float noise. */
export function formatMetric(value: number): string {
  return Number.isFinite(value) ? String(Number(value.toPrecision(8))) : String(value);
}
