// A target as the engines and registries see it once the language has resolved it: the
// engine and its settings, both registries, the prediction sink and the state folder.
// Produced by pipeline/resolve.ts; never read from YAML by anyone else.
import type { Engine } from './engines.js';

export interface RegistryConfig {
  type: 'local' | 'azureml';
  /** local: absolute folder. */
  path?: string;
  subscriptionId?: string;
  resourceGroup?: string;
  workspace?: string;
  registry?: string;
  granularity: 'per_group' | 'model_set';
  endpoint?: string;
  concurrency: number;
  storageAccountUrl?: string;
  storageContainer?: string;
  /** Name of the environment variable holding a SAS for the container (never the SAS itself). */
  storageSasEnv?: string;
}

/** Where predictions go: one member per sink kind (docs/pipelines-yaml.md#sink). */
export type SinkConfig =
  | { type: 'sqlite'; path?: string }
  /** A predictions file (or a folder for `<table>.csv` / `<table>.parquet`) on this machine. */
  | { type: 'csv' | 'parquet'; path?: string }
  | {
      type: 'synapse_sql';
      url?: string;
      database?: string;
      schema?: string;
      temp_dir?: string;
      auth?: 'managed_identity' | 'forward_storage_credentials';
    }
  | { type: 'delta'; path?: string; table_name?: string };

export type SinkType = SinkConfig['type'];

/** Where a Databricks path lives: `dbfs:/…` (or `/dbfs/…`), `/Volumes/…`, or workspace files. */
export type DatabricksLocationKind = 'dbfs' | 'volume' | 'workspace';

export function databricksPathKind(p: string): DatabricksLocationKind {
  if (p.startsWith('dbfs:/') || p === '/dbfs' || p.startsWith('/dbfs/')) return 'dbfs';
  if (p.startsWith('/Volumes/')) return 'volume';
  return 'workspace';
}

const LOOPBACK = ['127.0.0.1', 'localhost', '[::1]'];

/**
 * `https://adb-….azuredatabricks.net` from what a user may write (with or without the scheme, a
 * trailing slash). Plain http is refused except to this machine: the token travels in every request.
 */
export function normaliseDatabricksHost(host: string): { host: string } | { error: string; hint: string } {
  const withScheme = /^[a-z]+:\/\//i.test(host) ? host : `https://${host}`;
  let url: URL;
  try {
    url = new URL(withScheme);
  } catch {
    return { error: `host "${host}" is not a URL`, hint: 'Give the workspace URL, e.g. https://adb-1234567890123456.7.azuredatabricks.net.' };
  }
  if (url.protocol !== 'https:' && !(url.protocol === 'http:' && LOOPBACK.includes(url.hostname))) {
    return { error: `host "${host}" is not https`, hint: 'Use the https:// workspace URL: tokens are never sent over plain http.' };
  }
  return { host: url.origin };
}

export type DatabricksCompute =
  | { kind: 'new_cluster'; cluster: Record<string, unknown> & { spark_version: string; node_type_id: string; num_workers?: number } }
  | { kind: 'existing_cluster'; clusterId: string }
  | { kind: 'serverless' };

/** What a library becomes on serverless compute (an environment dependency), or undefined: it cannot go there. */
export function serverlessDependency(lib: Record<string, unknown>): string | undefined {
  const pypi = lib.pypi as { package?: unknown } | undefined;
  if (pypi && typeof pypi.package === 'string') return pypi.package;
  if (typeof lib.whl === 'string') return lib.whl;
  if (typeof lib.requirements === 'string') return `-r ${lib.requirements}`;
  return undefined;
}

/**
 * A target's `databricks:` section as the engine runs with it: every default applied, every
 * setting checked (MM406, with its file:line:col) by pipeline/engine-settings.ts.
 */
export interface DatabricksTarget {
  /**
   * As written; absent: the environment's or the profile's auth type, else the first method whose
   * credential is there when the run starts — a token (pat), a client id and secret (oauth-m2m), else azure.
   */
  auth?: 'pat' | 'oauth-m2m' | 'azure';
  /** The ~/.databrickscfg profile the target names (`--profile` wins over it). */
  profile?: string;
  /**
   * The workspace URL (https://…, or http:// to this machine only) when the YAML gives it; else
   * `resourceId` is looked up through ARM; with neither, DATABRICKS_HOST or the profile's host when the run starts.
   */
  host?: string;
  resourceId?: string;
  /** Where uploads go (the YAML's or the default) and the kind of store it is. */
  artifactsPath: string;
  artifactsKind: DatabricksLocationKind;
  /** With volume artifacts: the workspace folder the entry script is imported to (its `cas/`). */
  entryPath?: string;
  /** Where jobs write their outputs: dbfs or a volume (executors write there). */
  runsPath: string;
  runsKind: 'dbfs' | 'volume';
  compute: DatabricksCompute;
  timeoutSeconds?: number;
  libraries: Array<Record<string, unknown>>;
  pollIntervalMs: number;
}

export type SynapseExecutorSize = 'Small' | 'Medium' | 'Large' | 'XLarge' | 'XXLarge';

/** The workspace's ADLS Gen2 account as a Synapse run uses it. */
export interface SynapseLake {
  /** Blob API endpoint of the account (https://<account>.blob.core.windows.net, or an emulator's path-style URL). */
  blobAccountUrl: string;
  account: string;
  /** Host of the account's dfs endpoint, for abfss:// URIs: <account>.dfs.core.windows.net. */
  dfsHost: string;
  container: string;
  /** Folder in the container for uploads (`cas/`) and run outputs (`runs/`); no leading or trailing slash. */
  path: string;
}

/**
 * A target's `synapse:` section as the engine runs with it: every default applied, every
 * setting checked (MM407, with its file:line:col) by pipeline/engine-settings.ts.
 */
export interface SynapseTarget {
  /** https://<workspace>.dev.azuresynapse.net (origin only). */
  endpoint: string;
  sparkPool: string;
  lake: SynapseLake;
  executorSize: SynapseExecutorSize;
  executors: number;
  pollIntervalMs: number;
  workspaceResourceId?: string;
}

/** A target's price table as `manymodels plan` uses it (docs/plan.md). */
export interface TargetPrices {
  currency: string;
  nodeHour?: number;
  nodeVcpus?: number;
  nodeMemoryGb?: number;
  startSeconds?: number;
}

export interface ResolvedTarget {
  name: string;
  engine: Engine;
  workers: number;
  registry: RegistryConfig;
  productionRegistry: RegistryConfig;
  sink: SinkConfig;
  /** Resolved only for a target whose engine is databricks. */
  databricks?: DatabricksTarget;
  /** Resolved only for a target whose engine is synapse. */
  synapse?: SynapseTarget;
  /** Where local state lives: runs, compiled specs, caches (absolute). */
  stateDir: string;
  /** The target's `prices:` section (manymodels plan), when it has one. */
  prices?: TargetPrices;
}
