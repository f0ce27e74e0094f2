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

/** The `databricks:` settings of a target. */
export interface DatabricksTarget {
  host?: string;
  workspace_resource_id?: string;
  auth?: 'azure' | 'pat';
  artifacts?: { location?: 'dbfs' | 'workspace' | 'volume'; path?: string };
  compute?: {
    new_cluster?: Record<string, unknown> & { spark_version: string; node_type_id: string; num_workers?: number };
    existing_cluster_id?: string;
    serverless?: boolean;
  };
  timeout_seconds?: number;
  libraries?: Array<Record<string, unknown>>;
  runs_path?: string;
  poll_interval_seconds?: number;
}

/** The `synapse:` settings of a target. */
export interface SynapseTarget {
  endpoint: string;
  spark_pool: string;
  storage?: { account_url: string; container: string; path?: string };
  executor_size?: 'Small' | 'Medium' | 'Large' | 'XLarge' | 'XXLarge';
  executors?: number;
  workspace_resource_id?: string;
  poll_interval_seconds?: number;
}

export interface ResolvedTarget {
  name: string;
  engine: Engine;
  workers: number;
  registry: RegistryConfig;
  productionRegistry: RegistryConfig;
  sink: SinkConfig;
  databricks?: DatabricksTarget;
  synapse?: SynapseTarget;
  /** Where local state lives: runs, compiled specs, caches (absolute). */
  stateDir: string;
}
