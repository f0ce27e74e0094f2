// A remote target's engine section (`databricks:`, `synapse:`) turned into the typed settings the
// engine runs with (contracts/targets.ts): every default applied, every combination that cannot
// work reported here, with its file:line:col (MM406 Databricks, MM407 Synapse), so `validate`
// finds it and the engines never check again. Pure: no network, no environment.
import type { Diagnostic } from '../core/diagnostics.js';
import { engineCapabilities } from '../contracts/engine-capabilities.js';
import {
  databricksPathKind, normaliseDatabricksHost, serverlessDependency, type DatabricksCompute, type DatabricksLocationKind, type DatabricksTarget, type SynapseLake, type SynapseTarget,
} from '../contracts/targets.js';
import { formatPath, type PathSegment } from './locate.js';
import type { RawDatabricks, RawSynapse, RawTarget } from './types.js';

type At = (path: readonly PathSegment[], options?: { key?: boolean }) => { file: string; line: number; column: number };

export const DATABRICKS_SETTINGS_CODE = 'MM406';
export const SYNAPSE_SETTINGS_CODE = 'MM407';

interface Reporter {
  (rel: readonly PathSegment[], message: string, hint: string): void;
  readonly count: number;
}

function reporter(out: Diagnostic[], code: string, base: readonly PathSegment[], at: At): Reporter {
  let count = 0;
  const report = (rel: readonly PathSegment[], message: string, hint: string): void => {
    count++;
    const segs = [...base, ...rel];
    out.push({ code, severity: 'error', message, path: formatPath(segs), ...at(segs), hint });
  };
  Object.defineProperty(report, 'count', { get: () => count });
  return report as Reporter;
}

export interface EngineSettings {
  databricks?: DatabricksTarget;
  synapse?: SynapseTarget;
  diagnostics: Diagnostic[];
}

/** The selected target's engine section, resolved; other sections (of an engine not used) are ignored. */
export function resolveEngineSettings(raw: RawTarget, name: string, at: At): EngineSettings {
  const diagnostics: Diagnostic[] = [];
  const section = engineCapabilities(raw.engine).settingsSection;
  const out: EngineSettings = { diagnostics };
  if (section === 'databricks') {
    const resolved = databricksTarget(raw.databricks, reporter(diagnostics, DATABRICKS_SETTINGS_CODE, ['targets', name, 'databricks'], at));
    if (resolved) out.databricks = resolved;
  } else if (section === 'synapse') {
    const resolved = synapseTarget(raw.synapse, reporter(diagnostics, SYNAPSE_SETTINGS_CODE, ['targets', name, 'synapse'], at));
    if (resolved) out.synapse = resolved;
  }
  return out;
}

// ---- databricks ----

const DEFAULT_ARTIFACTS: Record<DatabricksLocationKind, string | undefined> = {
  dbfs: 'dbfs:/manymodels',
  workspace: '/Shared/manymodels',
  volume: undefined,
};

export { normaliseDatabricksHost };

/** Why a Databricks path of its kind cannot be used (not absolute, `..`, above a volume), or undefined. */
function badDatabricksPath(p: string, kind: DatabricksLocationKind): { why: string; hint: string } | undefined {
  if (kind === 'dbfs') {
    const api = p.startsWith('dbfs:') ? p.slice('dbfs:'.length) : p.slice('/dbfs'.length) || '/';
    if (!api.startsWith('/') || api.split('/').includes('..')) return { why: `"${p}" is not an absolute DBFS path`, hint: 'Use dbfs:/folder/….' };
    return undefined;
  }
  if (kind === 'volume') {
    if (!/^\/Volumes\/[^/]+\/[^/]+\/[^/]+(\/|$)/.test(p) || p.split('/').includes('..')) {
      return { why: `"${p}" is not inside a volume`, hint: 'Use /Volumes/<catalog>/<schema>/<volume>/….' };
    }
    return undefined;
  }
  if (!p.startsWith('/') || p.split('/').includes('..')) {
    return { why: `"${p}" is not an absolute workspace path`, hint: 'Use /Workspace/Users/<you>/manymodels or /Shared/manymodels.' };
  }
  return undefined;
}

function databricksTarget(raw: RawDatabricks | undefined, report: Reporter): DatabricksTarget | undefined {
  if (!raw) {
    report([], 'the target has no databricks section', 'Add databricks: {host: …, compute: …} to the target.');
    return undefined;
  }
  // A Unity Catalog volume unless DBFS or workspace files are asked for: Unity Catalog workspaces
  // often have the DBFS root disabled.
  const location = raw.artifacts?.location ?? (raw.artifacts?.path ? databricksPathKind(raw.artifacts.path) : 'volume');
  const artifactsPath = raw.artifacts?.path ?? DEFAULT_ARTIFACTS[location];
  if (!artifactsPath) {
    if (raw.artifacts?.location === 'volume') {
      report(['artifacts', 'location'], 'artifacts.location volume needs artifacts.path', 'Set artifacts.path: /Volumes/<catalog>/<schema>/<volume>/manymodels.');
    } else {
      report(raw.artifacts ? ['artifacts'] : [], 'name the Unity Catalog volume for uploads and run outputs: artifacts.path /Volumes/<catalog>/<schema>/<volume>/…',
        'Add artifacts: {path: /Volumes/<catalog>/<schema>/<volume>/manymodels}. To keep the DBFS root (the default before), write artifacts: {location: dbfs}. See docs/databricks.md#storage.');
    }
  } else if (databricksPathKind(artifactsPath) !== location) {
    report(['artifacts', 'path'], `artifacts.path "${artifactsPath}" is not a ${location} path`,
      location === 'dbfs' ? 'Use dbfs:/…' : location === 'volume' ? 'Use /Volumes/<catalog>/<schema>/<volume>/…' : 'Use /Workspace/Users/<you>/… or /Shared/…');
  } else {
    const bad = badDatabricksPath(artifactsPath, location);
    if (bad) report(['artifacts', 'path'], `artifacts.path ${bad.why}`, bad.hint);
  }

  // Executors write artifacts into the run folder: workspace files cannot take that.
  const runsPath = raw.runs_path ?? (location === 'workspace' || !artifactsPath ? 'dbfs:/manymodels/runs' : `${artifactsPath.replace(/\/+$/, '')}/runs`);
  const runsKind = databricksPathKind(runsPath);
  if (runsKind === 'workspace') {
    report(['runs_path'], `runs_path "${runsPath}" must be a dbfs:/ or /Volumes/ folder`, 'Executors write the run outputs there; workspace files cannot take that.');
  } else if (raw.runs_path !== undefined) {
    const bad = badDatabricksPath(runsPath, runsKind);
    if (bad) report(['runs_path'], `runs_path ${bad.why}`, bad.hint);
  }

  const c = raw.compute ?? {};
  const chosen = [c.new_cluster !== undefined, c.existing_cluster_id !== undefined, c.serverless === true].filter(Boolean).length;
  let compute: DatabricksCompute | undefined;
  if (chosen !== 1) {
    report(raw.compute ? ['compute'] : [], 'compute must name exactly one of new_cluster, existing_cluster_id, serverless: true',
      'For example compute: {new_cluster: {spark_version: 15.4.x-scala2.12, node_type_id: Standard_D4ds_v5, num_workers: 2}}.');
  } else {
    compute = c.new_cluster ? { kind: 'new_cluster', cluster: { ...c.new_cluster } }
      : c.existing_cluster_id ? { kind: 'existing_cluster', clusterId: c.existing_cluster_id }
      : { kind: 'serverless' };
  }
  // With a volume, the entry script goes to workspace files (what spark_python_task reads on every runtime).
  let entryPath: string | undefined;
  if (raw.artifacts?.entry_path !== undefined || location === 'volume') {
    entryPath = raw.artifacts?.entry_path ?? DEFAULT_ARTIFACTS.workspace!;
    if (raw.artifacts?.entry_path !== undefined && location !== 'volume') {
      report(['artifacts', 'entry_path'], 'artifacts.entry_path is used only with a volume', `With ${location} artifacts the entry script goes with the other uploads; remove entry_path.`);
    } else if (databricksPathKind(entryPath) !== 'workspace') {
      report(['artifacts', 'entry_path'], `artifacts.entry_path "${entryPath}" is not a workspace folder`, 'Use /Workspace/Users/<you>/manymodels or /Shared/manymodels.');
    } else {
      const bad = badDatabricksPath(entryPath, 'workspace');
      if (bad) report(['artifacts', 'entry_path'], `artifacts.entry_path ${bad.why}`, bad.hint);
    }
  }
  const libraries = (raw.libraries ?? []).map((l) => ({ ...l }));
  if (compute?.kind === 'serverless') {
    libraries.forEach((lib, i) => {
      if (serverlessDependency(lib) === undefined) {
        report(['libraries', i], `${JSON.stringify(lib)} cannot be installed on serverless compute`,
          'Serverless environments take PyPI packages, wheels and requirements files only; use a new_cluster for JARs and Maven.');
      }
    });
  }

  let host: string | undefined;
  if (raw.host !== undefined) {
    const h = normaliseDatabricksHost(raw.host);
    if ('error' in h) report(['host'], h.error, h.hint);
    else host = h.host;
  }
  // Neither host nor workspace_resource_id: DATABRICKS_HOST or the profile's host, when the run starts (MM404).

  if (report.count > 0 || !compute || !artifactsPath || runsKind === 'workspace') return undefined;
  const out: DatabricksTarget = {
    artifactsPath,
    artifactsKind: location,
    runsPath,
    runsKind,
    compute,
    libraries,
    pollIntervalMs: Math.round((raw.poll_interval_seconds ?? 2) * 1000),
  };
  if (entryPath && location === 'volume') out.entryPath = entryPath;
  if (raw.auth) out.auth = raw.auth;
  if (raw.profile) out.profile = raw.profile;
  if (host) out.host = host;
  else if (raw.workspace_resource_id) out.resourceId = raw.workspace_resource_id;
  if (raw.timeout_seconds !== undefined && raw.timeout_seconds > 0) out.timeoutSeconds = raw.timeout_seconds;
  return out;
}

// ---- synapse ----

function httpsUrl(value: string, field: readonly PathSegment[], example: string, report: Reporter): URL | undefined {
  const name = formatPath(field);
  let url: URL;
  try {
    url = new URL(/^[a-z]+:\/\//i.test(value) ? value : `https://${value}`);
  } catch {
    report(field, `${name} "${value}" is not a URL`, `Give it as ${example}.`);
    return undefined;
  }
  // Bearer tokens go with every request, and the Azure SDKs refuse to send them over plain http.
  if (url.protocol !== 'https:') {
    report(field, `${name} "${value}" is not https`, `Use ${example}: tokens are only sent over TLS.`);
    return undefined;
  }
  if (url.search || url.hash) {
    report(field, `${name} "${value}" must not carry a query string`, `Give it as ${example}.`);
    return undefined;
  }
  return url;
}

const CONTAINER = /^(?=.{3,63}$)[a-z0-9]+(-[a-z0-9]+)*$/;
const IP_OR_LOCAL = /^(\d{1,3}(\.\d{1,3}){3}|localhost|\[[0-9a-f:]+\])$/i;

/**
 * The lake from `storage`: `https://<account>.dfs.core.windows.net` (or `.blob.`, or a sovereign
 * cloud's suffix) gives the account; an emulator's path-style URL (`https://127.0.0.1:10000/<account>`)
 * too. The Blob API is used on either endpoint (it serves ADLS Gen2 accounts as well).
 */
function synapseLake(storage: NonNullable<RawSynapse['storage']>, report: Reporter): SynapseLake | undefined {
  const before = report.count;
  let account = '';
  let blobAccountUrl = '';
  let dfsHost = '';
  const url = httpsUrl(storage.account_url, ['storage', 'account_url'], 'https://<account>.dfs.core.windows.net', report);
  if (url) {
    const m = /^([a-z0-9]{3,24})\.(?:blob|dfs)\.(.+)$/.exec(url.hostname);
    if (m) {
      account = m[1]!;
      blobAccountUrl = `https://${account}.blob.${m[2]!}${url.port ? `:${url.port}` : ''}`;
      dfsHost = `${account}.dfs.${m[2]!}`;
    } else if (IP_OR_LOCAL.test(url.hostname)) {
      account = url.pathname.split('/').filter(Boolean)[0] ?? '';
      if (!account) report(['storage', 'account_url'], `storage.account_url "${storage.account_url}" names no account`, 'An emulator URL is path-style: https://127.0.0.1:10000/<account>.');
      blobAccountUrl = `${url.origin}/${account}`;
      dfsHost = `${account}.dfs.core.windows.net`;
    } else {
      report(['storage', 'account_url'], `storage.account_url "${storage.account_url}" is not a storage account endpoint`, 'Use https://<account>.dfs.core.windows.net (or .blob.core.windows.net).');
    }
  }
  if (!CONTAINER.test(storage.container)) {
    report(['storage', 'container'], `storage.container "${storage.container}" is not a valid container name`, '3 to 63 lower-case letters, digits and single hyphens, starting and ending with a letter or digit.');
  }
  const folder = (storage.path ?? 'manymodels').replace(/^\/+|\/+$/g, '');
  if (!folder || folder.split('/').some((s) => s === '' || s === '.' || s === '..')) {
    report(['storage', 'path'], `storage.path "${storage.path ?? ''}" is not a folder path`, 'Use a relative folder such as manymodels or teams/retail/manymodels.');
  }
  if (report.count > before) return undefined;
  return { blobAccountUrl, account, dfsHost, container: storage.container, path: folder };
}

function synapseTarget(raw: RawSynapse | undefined, report: Reporter): SynapseTarget | undefined {
  if (!raw) {
    report([], 'the target has no synapse section', 'Add synapse: {endpoint: https://<workspace>.dev.azuresynapse.net, spark_pool: <pool>, storage: {…}}.');
    return undefined;
  }
  const endpoint = httpsUrl(raw.endpoint, ['endpoint'], 'https://<workspace>.dev.azuresynapse.net', report);
  if (endpoint && endpoint.pathname !== '/') {
    report(['endpoint'], `endpoint "${raw.endpoint}" has a path`, 'Give the workspace development endpoint only: https://<workspace>.dev.azuresynapse.net.');
  }
  if (!raw.spark_pool || !/^[A-Za-z0-9][A-Za-z0-9_-]*$/.test(raw.spark_pool)) {
    report(['spark_pool'], `spark_pool "${raw.spark_pool}" is not a Spark pool name`, 'Use the pool name as Synapse Studio shows it (letters and digits).');
  }
  // The job's files travel through the lake: without it there is nothing to hand the pool.
  let lake: SynapseLake | undefined;
  if (!raw.storage) {
    report([], 'storage is required to run on Synapse', 'Add storage: {account_url: https://<account>.dfs.core.windows.net, container: <container>} (the workspace\'s ADLS Gen2 account).');
  } else {
    lake = synapseLake(raw.storage, report);
  }
  if (report.count > 0 || !endpoint || !lake) return undefined;
  const out: SynapseTarget = {
    endpoint: endpoint.origin,
    sparkPool: raw.spark_pool,
    lake,
    executorSize: raw.executor_size ?? 'Small',
    executors: raw.executors ?? 2,
    pollIntervalMs: Math.round((raw.poll_interval_seconds ?? 5) * 1000),
  };
  if (raw.workspace_resource_id) out.workspaceResourceId = raw.workspace_resource_id;
  return out;
}
