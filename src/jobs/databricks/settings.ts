// A target's `databricks:` section turned into what the backend runs with, every default
// applied and every combination that cannot work refused up front (MM404), before any upload.
import { UsageError } from '../../core/errors.js';
import type { DatabricksTarget } from '../../contracts/targets.js';
import { kindOfPath, type LocationKind } from './storage.js';

export type Compute =
  | { kind: 'new_cluster'; cluster: Record<string, unknown> }
  | { kind: 'existing_cluster'; clusterId: string }
  | { kind: 'serverless' };

export interface DatabricksSettings {
  auth: 'pat' | 'azure';
  /** The workspace URL when the YAML gives it; else `resourceId` is looked up through ARM. */
  host?: string;
  resourceId?: string;
  /** Where uploads go, as written in the YAML (or its default) and the kind of store it is. */
  artifactsPath: string;
  artifactsKind: LocationKind;
  /** Where jobs write their outputs (dbfs or volume: executors must write there). */
  runsPath: string;
  compute: Compute;
  timeoutSeconds?: number;
  libraries: Array<Record<string, unknown>>;
  pollIntervalMs: number;
}

const DEFAULT_ARTIFACTS: Record<LocationKind, string | undefined> = {
  dbfs: 'dbfs:/manymodels',
  workspace: '/Shared/manymodels',
  volume: undefined,
};

function settingsError(message: string, steps: string[]): UsageError {
  return new UsageError(`databricks: ${message}`, { code: 'MM404', nextSteps: steps });
}

/**
 * `https://adb-….azuredatabricks.net` from what a user may write (with or without the
 * scheme, a trailing slash). Plain http is refused except to this machine: the token travels
 * in every request.
 */
export function normaliseHost(host: string): string {
  const withScheme = /^[a-z]+:\/\//i.test(host) ? host : `https://${host}`;
  let url: URL;
  try {
    url = new URL(withScheme);
  } catch {
    throw settingsError(`host "${host}" is not a URL`, ['Give the workspace URL, e.g. https://adb-1234567890123456.7.azuredatabricks.net.']);
  }
  const loopback = ['127.0.0.1', 'localhost', '[::1]'].includes(url.hostname);
  if (url.protocol !== 'https:' && !(url.protocol === 'http:' && loopback)) {
    throw settingsError(`host "${host}" is not https`, ['Use the https:// workspace URL: tokens are never sent over plain http.']);
  }
  return url.origin;
}

export function databricksSettings(raw: DatabricksTarget | undefined, env: Record<string, string | undefined>): DatabricksSettings {
  if (!raw) throw settingsError('the target has no databricks section', ['Add databricks: {host: …, compute: …} to the target.']);
  const auth = raw.auth ?? (env.DATABRICKS_TOKEN ? 'pat' : 'azure');
  if (auth === 'pat' && !env.DATABRICKS_TOKEN) {
    throw settingsError('auth is pat but DATABRICKS_TOKEN is not set', ['Export DATABRICKS_TOKEN with a personal access token, or use auth: azure (Azure AD).']);
  }

  const location = raw.artifacts?.location ?? (raw.artifacts?.path ? kindOfPath(raw.artifacts.path) : 'dbfs');
  const artifactsPath = raw.artifacts?.path ?? DEFAULT_ARTIFACTS[location];
  if (!artifactsPath) {
    throw settingsError('artifacts.location volume needs artifacts.path', ['Set artifacts.path: /Volumes/<catalog>/<schema>/<volume>/manymodels.']);
  }
  if (kindOfPath(artifactsPath) !== location) {
    throw settingsError(`artifacts.path "${artifactsPath}" is not a ${location} path`, [
      location === 'dbfs' ? 'Use dbfs:/…' : location === 'volume' ? 'Use /Volumes/<catalog>/<schema>/<volume>/…' : 'Use /Workspace/Users/<you>/… or /Shared/…',
    ]);
  }
  // Executors write artifacts into the run folder: workspace files cannot take that.
  const runsPath = raw.runs_path ?? (location === 'workspace' ? 'dbfs:/manymodels/runs' : `${artifactsPath.replace(/\/+$/, '')}/runs`);
  if (kindOfPath(runsPath) === 'workspace') {
    throw settingsError(`runs_path "${runsPath}" must be a dbfs:/ or /Volumes/ folder`, ['Executors write the run outputs there; workspace files cannot take that.']);
  }

  const c = raw.compute ?? {};
  const chosen = [c.new_cluster !== undefined, c.existing_cluster_id !== undefined, c.serverless === true].filter(Boolean).length;
  if (chosen !== 1) {
    throw settingsError('compute must name exactly one of new_cluster, existing_cluster_id, serverless: true', [
      'For example compute: {new_cluster: {spark_version: 15.4.x-scala2.12, node_type_id: Standard_D4ds_v5, num_workers: 2}}.',
    ]);
  }
  const compute: Compute = c.new_cluster ? { kind: 'new_cluster', cluster: { ...c.new_cluster } }
    : c.existing_cluster_id ? { kind: 'existing_cluster', clusterId: c.existing_cluster_id }
    : { kind: 'serverless' };

  const out: DatabricksSettings = {
    auth,
    artifactsPath,
    artifactsKind: location,
    runsPath,
    compute,
    libraries: [...(raw.libraries ?? [])],
    pollIntervalMs: Math.round((raw.poll_interval_seconds ?? 2) * 1000),
  };
  if (raw.host) out.host = normaliseHost(raw.host);
  else if (raw.workspace_resource_id) out.resourceId = raw.workspace_resource_id;
  else throw settingsError('host or workspace_resource_id is required', ['Give the workspace URL as host, or its ARM id as workspace_resource_id.']);
  if (raw.timeout_seconds !== undefined && raw.timeout_seconds > 0) out.timeoutSeconds = raw.timeout_seconds;
  return out;
}
