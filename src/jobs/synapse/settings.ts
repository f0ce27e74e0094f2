// A target's `synapse:` section turned into what the backend runs with: the workspace and pool,
// where in the lake the run's files go (as a Blob API endpoint and as abfss:// URIs), the node
// size mapped to Spark memory and cores; every default applied and anything that cannot work
// refused before any upload (MM405).
import { UsageError } from '../../core/errors.js';
import type { SynapseTarget } from '../../contracts/targets.js';

export type ExecutorSize = 'Small' | 'Medium' | 'Large' | 'XLarge' | 'XXLarge';

/**
 * What a Synapse node size gives one Spark driver or executor: its vCores, and the memory
 * Synapse Studio asks for on such a node (the rest of the node's RAM is the pool's overhead).
 */
export const NODE_SIZES: Record<ExecutorSize, { cores: number; memory: string; nodeGb: number }> = {
  Small: { cores: 4, memory: '28g', nodeGb: 32 },
  Medium: { cores: 8, memory: '56g', nodeGb: 64 },
  Large: { cores: 16, memory: '112g', nodeGb: 128 },
  XLarge: { cores: 32, memory: '224g', nodeGb: 256 },
  XXLarge: { cores: 64, memory: '400g', nodeGb: 432 },
};

export interface LakeSettings {
  /** Blob API endpoint of the account (https://<account>.blob.core.windows.net, or an emulator's path-style URL). */
  blobAccountUrl: string;
  account: string;
  /** Host of the account's dfs endpoint, for abfss:// URIs: <account>.dfs.core.windows.net. */
  dfsHost: string;
  container: string;
  /** Folder in the container for uploads (`cas/`) and run outputs (`runs/`); no leading or trailing slash. */
  path: string;
}

export interface SynapseSettings {
  endpoint: string;
  sparkPool: string;
  lake: LakeSettings;
  executorSize: ExecutorSize;
  executors: number;
  pollIntervalMs: number;
  workspaceResourceId?: string;
}

function settingsError(message: string, steps: string[]): UsageError {
  return new UsageError(`synapse: ${message}`, { code: 'MM405', nextSteps: steps });
}

function httpsUrl(value: string, field: string, example: string): URL {
  let url: URL;
  try {
    url = new URL(/^[a-z]+:\/\//i.test(value) ? value : `https://${value}`);
  } catch {
    throw settingsError(`${field} "${value}" is not a URL`, [`Give it as ${example}.`]);
  }
  // Bearer tokens go with every request, and the Azure SDKs refuse to send them over plain http.
  if (url.protocol !== 'https:') throw settingsError(`${field} "${value}" is not https`, [`Use ${example}: tokens are only sent over TLS.`]);
  if (url.search || url.hash) throw settingsError(`${field} "${value}" must not carry a query string`, [`Give it as ${example}.`]);
  return url;
}

const CONTAINER = /^(?=.{3,63}$)[a-z0-9]+(-[a-z0-9]+)*$/;
const IP_OR_LOCAL = /^(\d{1,3}(\.\d{1,3}){3}|localhost|\[[0-9a-f:]+\])$/i;

/**
 * The lake from `storage`: `https://<account>.dfs.core.windows.net` (or `.blob.`, or a sovereign
 * cloud's suffix) gives the account; an emulator's path-style URL (`https://127.0.0.1:10000/<account>`)
 * too. The Blob API is used on either endpoint (it serves ADLS Gen2 accounts as well).
 */
export function lakeSettings(storage: NonNullable<SynapseTarget['storage']>): LakeSettings {
  const url = httpsUrl(storage.account_url, 'storage.account_url', 'https://<account>.dfs.core.windows.net');
  let blobAccountUrl: string;
  let account: string;
  let dfsHost: string;
  const m = /^([a-z0-9]{3,24})\.(?:blob|dfs)\.(.+)$/.exec(url.hostname);
  if (m) {
    account = m[1]!;
    blobAccountUrl = `https://${account}.blob.${m[2]!}${url.port ? `:${url.port}` : ''}`;
    dfsHost = `${account}.dfs.${m[2]!}`;
  } else if (IP_OR_LOCAL.test(url.hostname)) {
    account = url.pathname.split('/').filter(Boolean)[0] ?? '';
    if (!account) throw settingsError(`storage.account_url "${storage.account_url}" names no account`, ['An emulator URL is path-style: https://127.0.0.1:10000/<account>.']);
    blobAccountUrl = `${url.origin}/${account}`;
    dfsHost = `${account}.dfs.core.windows.net`;
  } else {
    throw settingsError(`storage.account_url "${storage.account_url}" is not a storage account endpoint`, ['Use https://<account>.dfs.core.windows.net (or .blob.core.windows.net).']);
  }
  if (!CONTAINER.test(storage.container)) {
    throw settingsError(`storage.container "${storage.container}" is not a valid container name`, ['3 to 63 lower-case letters, digits and single hyphens, starting and ending with a letter or digit.']);
  }
  const folder = (storage.path ?? 'manymodels').replace(/^\/+|\/+$/g, '');
  const segments = folder.split('/');
  if (!folder || segments.some((s) => s === '' || s === '.' || s === '..')) {
    throw settingsError(`storage.path "${storage.path ?? ''}" is not a folder path`, ['Use a relative folder such as manymodels or teams/retail/manymodels.']);
  }
  return { blobAccountUrl, account, dfsHost, container: storage.container, path: folder };
}

export function synapseSettings(raw: SynapseTarget | undefined): SynapseSettings {
  if (!raw) throw settingsError('the target has no synapse section', ['Add synapse: {endpoint: https://<workspace>.dev.azuresynapse.net, spark_pool: <pool>, storage: {…}}.']);
  const endpoint = httpsUrl(raw.endpoint, 'endpoint', 'https://<workspace>.dev.azuresynapse.net');
  if (endpoint.pathname !== '/') throw settingsError(`endpoint "${raw.endpoint}" has a path`, ['Give the workspace development endpoint only: https://<workspace>.dev.azuresynapse.net.']);
  if (!raw.spark_pool || !/^[A-Za-z0-9][A-Za-z0-9_-]*$/.test(raw.spark_pool)) {
    throw settingsError(`spark_pool "${raw.spark_pool}" is not a Spark pool name`, ['Use the pool name as Synapse Studio shows it (letters and digits).']);
  }
  // The job's files travel through the lake: without it there is nothing to hand the pool.
  if (!raw.storage) {
    throw settingsError('storage is required to run on Synapse', ['Add storage: {account_url: https://<account>.dfs.core.windows.net, container: <container>} (the workspace\'s ADLS Gen2 account).']);
  }
  const out: SynapseSettings = {
    endpoint: endpoint.origin,
    sparkPool: raw.spark_pool,
    lake: lakeSettings(raw.storage),
    executorSize: raw.executor_size ?? 'Small',
    executors: raw.executors ?? 2,
    pollIntervalMs: Math.round((raw.poll_interval_seconds ?? 5) * 1000),
  };
  if (raw.workspace_resource_id) out.workspaceResourceId = raw.workspace_resource_id;
  return out;
}
