// What each engine can do, in one table: every layer asks it instead of naming engines
// (`engine === 'databricks' || engine === 'synapse'`). Adding an engine starts with a row here.
import type { DataFormat, Engine } from './engines.js';
import type { SinkType } from './targets.js';

export interface EngineCapabilities {
  /** Runs on a service: files are uploaded, the run is submitted and followed, `runs watch`/`cancel` work. */
  remote: boolean;
  /** Which executor of the runtime it runs (`--executor`). */
  executor: 'local' | 'spark';
  /** Data formats it reads. */
  dataFormats: readonly DataFormat[];
  /** Whether it can read a path of this machine (a remote cluster cannot). */
  readsLocalPaths: boolean;
  /** Prediction sinks it can write. */
  sinks: readonly SinkType[];
  /** Sinks it writes but cannot delete earlier rows from: `write_mode: replace_run` is refused there. */
  sinksWithoutDelete: readonly SinkType[];
  /** The Synapse SQL connector the job uses for a `synapse_sql` sink (set where that sink is supported). */
  synapseSqlFlavor?: 'synapse' | 'databricks';
  /** The registry's model artifacts travel with a scoring run (the job cannot read this machine's files). */
  uploadsModelArtifacts: boolean;
  /** Training bundles every artifact beside the manifest, so one file comes home (`--bundle-artifacts`). */
  bundlesArtifacts: boolean;
  /** It reads Databricks secret scopes (a `sql` source's `secret_scope`, with dbutils). */
  secretScopes: boolean;
  /** The target section holding its settings, if it has one. */
  settingsSection?: 'databricks' | 'synapse';
}

// sql: PostgreSQL, through Spark's JDBC reader on the Spark engines, psycopg2 on the local one.
const SPARK_FORMATS: readonly DataFormat[] = ['csv', 'parquet', 'delta', 'jdbc', 'sql'];

export const ENGINE_CAPABILITIES: Readonly<Record<Engine, EngineCapabilities>> = {
  local: {
    remote: false,
    executor: 'local',
    dataFormats: ['csv', 'parquet', 'sql'],
    readsLocalPaths: true,
    sinks: ['sqlite', 'csv', 'parquet'],
    sinksWithoutDelete: [],
    uploadsModelArtifacts: false,
    bundlesArtifacts: false,
    secretScopes: false,
  },
  'spark-local': {
    remote: false,
    executor: 'spark',
    dataFormats: SPARK_FORMATS,
    readsLocalPaths: true,
    sinks: ['sqlite', 'delta'],
    sinksWithoutDelete: [],
    uploadsModelArtifacts: false,
    bundlesArtifacts: false,
    secretScopes: false,
  },
  databricks: {
    remote: true,
    executor: 'spark',
    dataFormats: SPARK_FORMATS,
    readsLocalPaths: false,
    sinks: ['synapse_sql', 'delta'],
    sinksWithoutDelete: [],
    synapseSqlFlavor: 'databricks',
    uploadsModelArtifacts: true,
    bundlesArtifacts: true,
    secretScopes: true,
    settingsSection: 'databricks',
  },
  synapse: {
    remote: true,
    executor: 'spark',
    dataFormats: SPARK_FORMATS,
    readsLocalPaths: false,
    sinks: ['synapse_sql', 'delta'],
    // Synapse's own SQL connector cannot delete rows, so a run cannot replace its earlier rows.
    sinksWithoutDelete: ['synapse_sql'],
    synapseSqlFlavor: 'synapse',
    uploadsModelArtifacts: true,
    bundlesArtifacts: true,
    secretScopes: false,
    settingsSection: 'synapse',
  },
};

export function engineCapabilities(engine: Engine): EngineCapabilities {
  return ENGINE_CAPABILITIES[engine];
}

export const isRemoteEngine = (engine: Engine): boolean => ENGINE_CAPABILITIES[engine].remote;

/** Engines with a capability, for messages ("use it with engine databricks, synapse or spark-local"). */
export function enginesWhere(test: (c: EngineCapabilities) => boolean): Engine[] {
  return (Object.keys(ENGINE_CAPABILITIES) as Engine[]).filter((e) => test(ENGINE_CAPABILITIES[e]));
}
