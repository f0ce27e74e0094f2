// The pipelines.yaml language as a JSON Schema (draft-07): validated by ajv at load time and
// printed by `manymodels schema` so editors complete and check the file.
import { ALL_METRICS, ALL_MODEL_TYPES, AUTO_MODEL, ENGINES, SELECTABLE_MODEL_TYPES, TASKS, WRITE_MODES } from './catalog.js';
import { DEFAULTS } from './defaults.js';

type Schema = Record<string, unknown>;

const NAME_PATTERN = '^[a-z0-9][a-z0-9_-]{0,62}$';
const COLUMN = { type: 'string', minLength: 1, maxLength: 128, description: 'A column name of the input data.' };
const POSITIVE_INT = { type: 'integer', minimum: 1 };

/** A model an auto selection may choose: a type name, or {type, params}. The type names are
 * checked by semantics.ts (MM324, MM326), which can say which types fit the task. */
const MODEL_CHOICE: Schema = {
  type: ['string', 'object'],
  examples: [...SELECTABLE_MODEL_TYPES],
  oneOf: [
    { type: 'string', minLength: 1 },
    {
      type: 'object',
      additionalProperties: false,
      required: ['type'],
      properties: {
        type: { type: 'string', minLength: 1, examples: [...SELECTABLE_MODEL_TYPES] },
        params: { type: 'object', description: 'This model\'s parameters; see docs/models.md for each type.' },
      },
    },
  ],
};

const registry: Schema = {
  description: 'Where models are registered: the local folder registry or Azure Machine Learning.',
  type: 'object',
  additionalProperties: false,
  required: ['type'],
  properties: {
    type: { enum: ['local', 'azureml'] },
    path: { type: 'string', minLength: 1, description: 'local: folder of the registry, relative to pipelines.yaml.' },
    subscription_id: { type: 'string', minLength: 1, description: 'azureml: Azure subscription id.' },
    resource_group: { type: 'string', minLength: 1, description: 'azureml: resource group.' },
    workspace: {
      type: 'string',
      pattern: '^[a-zA-Z0-9][a-zA-Z0-9_-]{2,32}$',
      description: 'azureml: workspace name (the training registry, or a production workspace).',
    },
    registry: {
      type: 'string',
      pattern: '^[a-zA-Z0-9][a-zA-Z0-9_-]{2,32}$',
      description: 'azureml, production only: an Azure ML registry shared across workspaces.',
    },
    granularity: {
      enum: ['per_group', 'model_set'],
      description:
        'azureml: per_group = one Azure ML model per group, a version per run; model_set = one model version per run holding every group.',
    },
    endpoint: { type: 'string', description: 'azureml: ARM endpoint (default https://management.azure.com).' },
    concurrency: { ...POSITIVE_INT, maximum: 64, description: `azureml: parallel registry writes (default ${DEFAULTS.registry.concurrency}).` },
    storage_account_url: {
      type: 'string',
      description: "azureml: blob endpoint of the workspace's default datastore, for artifact upload.",
    },
    storage_container: { type: 'string', description: 'azureml: container for artifacts (default azureml).' },
    storage_sas_env: {
      type: 'string',
      pattern: '^[A-Za-z_][A-Za-z0-9_]*$',
      description: 'azureml: name of an environment variable holding a SAS token for the artifact container (default: an Azure AD token for storage).',
    },
  },
};

const sink: Schema = {
  description: 'Where predictions go.',
  type: 'object',
  additionalProperties: false,
  required: ['type'],
  properties: {
    type: { enum: ['sqlite', 'csv', 'parquet', 'synapse_sql', 'delta'] },
    path: { type: 'string', description: 'sqlite: database file; csv, parquet: the predictions file, or a folder (ending in /) for <table>.csv / <table>.parquet; delta: table path (abfss://…).' },
    url: { type: 'string', description: 'synapse_sql on Databricks: the JDBC URL of the dedicated SQL pool (no password).' },
    database: { type: 'string', description: 'synapse_sql on Synapse: the dedicated SQL pool database.' },
    schema: { type: 'string', description: `synapse_sql: SQL schema (default ${DEFAULTS.sink.schema}).` },
    temp_dir: { type: 'string', description: 'synapse_sql: abfss:// staging folder for COPY.' },
    auth: {
      enum: ['managed_identity', 'forward_storage_credentials'],
      description: 'synapse_sql on Databricks: how the SQL pool reaches the staging folder.',
    },
    table_name: { type: 'string', description: 'delta: a metastore table name instead of a path.' },
  },
};

const databricksSection: Schema = {
  type: 'object',
  additionalProperties: false,
  properties: {
    host: { type: 'string', description: 'Workspace URL, e.g. https://adb-123.4.azuredatabricks.net (default: DATABRICKS_HOST, else the profile\'s host).' },
    workspace_resource_id: {
      type: 'string',
      pattern: '^/subscriptions/[^/]+/resourceGroups/[^/]+/providers/Microsoft\\.Databricks/workspaces/[^/]+$',
      description: 'ARM id of the workspace; its URL is looked up through Azure Resource Manager.',
    },
    auth: {
      enum: ['azure', 'pat', 'oauth-m2m'],
      description: "pat: a personal access token (DATABRICKS_TOKEN or the profile's token); oauth-m2m: a service principal's client id and secret (DATABRICKS_CLIENT_ID/DATABRICKS_CLIENT_SECRET or the profile's); azure: Azure AD tokens from @azure/identity's credential chain. Default: the first whose credential is there, in that order.",
    },
    profile: {
      type: 'string',
      minLength: 1,
      description: 'The ~/.databrickscfg profile to read host and credentials from (--profile wins; default DATABRICKS_CONFIG_PROFILE, else DEFAULT).',
    },
    artifacts: {
      type: 'object',
      additionalProperties: false,
      properties: {
        location: { enum: ['dbfs', 'workspace', 'volume'], description: 'Default volume (name it in path); dbfs and workspace only when written.' },
        path: { type: 'string', description: '/Volumes/<catalog>/<schema>/<volume>/…, dbfs:/… or /Workspace/…' },
        entry_path: { type: 'string', description: 'With a volume: the workspace folder the entry script is imported to (default /Shared/manymodels).' },
      },
    },
    compute: {
      type: 'object',
      additionalProperties: false,
      description: 'Exactly one of new_cluster, existing_cluster_id, serverless.',
      properties: {
        new_cluster: {
          type: 'object',
          additionalProperties: true,
          required: ['spark_version', 'node_type_id'],
          properties: {
            spark_version: { type: 'string' },
            node_type_id: { type: 'string' },
            num_workers: { type: 'integer', minimum: 0 },
            autoscale: {
              type: 'object',
              additionalProperties: false,
              required: ['min_workers', 'max_workers'],
              properties: { min_workers: { type: 'integer', minimum: 0 }, max_workers: POSITIVE_INT },
            },
          },
        },
        existing_cluster_id: { type: 'string' },
        serverless: { type: 'boolean' },
      },
    },
    timeout_seconds: { type: 'integer', minimum: 0 },
    libraries: { type: 'array', items: { type: 'object' } },
    runs_path: {
      type: 'string',
      description: 'Folder the jobs write their outputs to (dbfs:/… or /Volumes/…); default <artifacts.path>/runs, or dbfs:/manymodels/runs with workspace artifacts.',
    },
    poll_interval_seconds: {
      type: 'number',
      exclusiveMinimum: 0,
      maximum: 300,
      description: 'First wait between run status checks (default 2); it grows to 30 s while nothing changes.',
    },
  },
};

const synapseSection: Schema = {
  type: 'object',
  additionalProperties: false,
  required: ['endpoint', 'spark_pool'],
  properties: {
    endpoint: { type: 'string', description: 'https://<workspace>.dev.azuresynapse.net' },
    spark_pool: { type: 'string' },
    storage: {
      type: 'object',
      additionalProperties: false,
      required: ['account_url', 'container'],
      properties: {
        account_url: { type: 'string', description: 'https://<account>.dfs.core.windows.net or .blob.' },
        container: { type: 'string' },
        path: { type: 'string', description: 'Folder for artifacts and run outputs (default manymodels).' },
      },
    },
    executor_size: {
      enum: ['Small', 'Medium', 'Large', 'XLarge', 'XXLarge'],
      description: 'Node size of the driver and each executor (default Small: 4 vCores, 28 GB for Spark); at most the pool\'s node size.',
    },
    executors: { ...POSITIVE_INT, description: 'Number of executors (default 2).' },
    workspace_resource_id: {
      type: 'string',
      pattern: '^/subscriptions/[^/]+/resourceGroups/[^/]+/providers/Microsoft\\.Synapse/workspaces/[^/]+$',
      description: 'ARM id of the workspace: with it the run link printed is the Synapse Studio monitoring page.',
    },
    poll_interval_seconds: {
      type: 'number',
      exclusiveMinimum: 0,
      maximum: 300,
      description: 'First wait between batch status checks (default 5); it grows to 30 s while nothing changes.',
    },
  },
};

/** A target's price table for `manymodels plan` (no network: the figures are the user's). */
const prices: Schema = {
  type: 'object',
  additionalProperties: false,
  description: "manymodels plan: what this target's compute costs, for the cost figure and --budget (docs/plan.md).",
  properties: {
    currency: { type: 'string', pattern: '^[A-Z]{3}$', description: 'ISO 4217 code of the prices (default USD).' },
    node_hour: { type: 'number', minimum: 0, description: 'Price of one node for one hour (VM plus any DBU); local: of this machine.' },
    node_vcpus: { type: 'integer', minimum: 1, maximum: 1024, description: "vCPUs of one node (Databricks: the node type's; Synapse: known from executor_size)." },
    node_memory_gb: { type: 'number', exclusiveMinimum: 0, description: 'Memory of one executor node in GB, for the giant-group check.' },
    start_seconds: { type: 'number', minimum: 0, maximum: 7200, description: 'Cluster or session start-up before the job runs (default: Databricks 300, Synapse 180).' },
  },
};

const target: Schema = {
  type: 'object',
  additionalProperties: false,
  required: ['engine'],
  properties: {
    default: { type: 'boolean', description: 'Used when --target is not given.' },
    engine: { enum: [...ENGINES], description: 'Where jobs run.' },
    workers: { type: 'integer', minimum: 0, description: `local engine: worker processes (0 = every core; default ${DEFAULTS.target.workers}).` },
    variables: {
      type: 'object',
      description: 'Values for variables in this target (override their defaults).',
      additionalProperties: { type: ['string', 'number', 'boolean'] },
    },
    registry,
    production_registry: { ...registry, description: 'A separate registry that training never writes to.' },
    sink,
    databricks: databricksSection,
    synapse: synapseSection,
    prices,
  },
};

const variable: Schema = {
  description: 'A variable: a plain value (its default) or {default, description}.',
  oneOf: [
    { type: ['string', 'number', 'boolean'] },
    {
      type: 'object',
      additionalProperties: false,
      properties: {
        default: { type: ['string', 'number', 'boolean'] },
        description: { type: 'string' },
      },
    },
  ],
};

const data: Schema = {
  type: 'object',
  additionalProperties: false,
  required: ['format'],
  properties: {
    format: { enum: ['csv', 'parquet', 'delta', 'jdbc', 'sql'] },
    path: { type: 'string', minLength: 1, description: 'File or folder; relative to pipelines.yaml, or a URI.' },
    options: {
      type: 'object',
      additionalProperties: { type: ['string', 'number', 'boolean'] },
      description: 'Reader options, e.g. {delimiter: ";"} for csv.',
    },
    jdbc: {
      type: 'object',
      additionalProperties: false,
      required: ['url', 'table'],
      properties: {
        url: { type: 'string' },
        table: { type: 'string' },
        user_env: { type: 'string', description: 'Environment variable holding the user name.' },
        password_env: { type: 'string', description: 'Environment variable holding the password.' },
      },
    },
    sql: {
      type: 'object',
      additionalProperties: false,
      required: ['url'],
      description: 'format: sql — a PostgreSQL table or query; credentials from the environment or a Databricks secret scope, never here.',
      properties: {
        url: { type: 'string', minLength: 1, description: 'postgresql://host[:port]/database[?sslmode=…], without a user or password.' },
        table: { type: 'string', minLength: 1, description: 'Table to read: name or schema.name (give table or query).' },
        query: { type: 'string', minLength: 1, description: 'A SELECT whose rows are the input (give table or query).' },
        partition: {
          type: 'object',
          additionalProperties: false,
          required: ['column', 'count'],
          description: "Spark engines: read in count parallel slices of column's range lower..upper (Spark JDBC partitionColumn, lowerBound, upperBound, numPartitions); without lower and upper, the column's MIN and MAX.",
          properties: {
            column: { type: 'string', minLength: 1 },
            lower: { type: 'number' },
            upper: { type: 'number' },
            count: { type: 'integer', minimum: 1, maximum: 10000 },
          },
        },
        user_env: { type: 'string', minLength: 1, description: 'Environment variable holding the user name.' },
        password_env: { type: 'string', minLength: 1, description: 'Environment variable holding the password.' },
        secret_scope: { type: 'string', minLength: 1, description: 'Databricks: the secret scope holding user_key and password_key.' },
        user_key: { type: 'string', minLength: 1, description: 'Databricks: the secret holding the user name.' },
        password_key: { type: 'string', minLength: 1, description: 'Databricks: the secret holding the password.' },
      },
    },
  },
};

const rule: Schema = {
  type: 'object',
  additionalProperties: false,
  required: ['metric'],
  properties: {
    name: { type: 'string', description: 'Shown in decisions; defaults to a description of the rule.' },
    metric: { enum: [...ALL_METRICS] },
    min: { type: 'number', description: 'Absolute threshold: metric >= min.' },
    max: { type: 'number', description: 'Absolute threshold: metric <= max.' },
    compare: {
      const: 'production',
      description: "Compare with the same group's current production version.",
    },
    tolerance: {
      type: 'number',
      minimum: 0,
      description: `compare: how much worse than production the candidate may be (absolute, default ${DEFAULTS.promotion.tolerance}).`,
    },
    when_no_production: {
      enum: ['pass', 'fail'],
      description: `compare: the verdict when the group has no production version yet (default ${DEFAULTS.promotion.whenNoProduction}).`,
    },
  },
};

const pipeline: Schema = {
  type: 'object',
  additionalProperties: false,
  required: ['name', 'data', 'keys', 'target', 'task', 'model'],
  properties: {
    name: { type: 'string', pattern: NAME_PATTERN, description: 'Lower-case letters, digits, - and _.' },
    description: { type: 'string' },
    data,
    keys: {
      type: 'array',
      minItems: 1,
      maxItems: 8,
      uniqueItems: true,
      items: COLUMN,
      description: 'Columns whose value combination makes a group: one model per combination.',
    },
    time: {
      type: 'object',
      additionalProperties: false,
      anyOf: [{ required: ['column'] }, { required: ['parts'] }],
      properties: {
        column: { ...COLUMN, description: 'The time column; with parts, the name the composed time carries (default "time").' },
        parts: {
          type: 'object',
          additionalProperties: false,
          required: ['year'],
          description: 'Dates built from integer columns (kind date): year required; month and day default to 1, hour and minute to 0.',
          properties: { year: COLUMN, month: COLUMN, day: COLUMN, hour: COLUMN, minute: COLUMN },
        },
        kind: {
          enum: ['date', 'period'],
          description: `date: dates or times; period: integer period numbers (week 40, 41, …), one period one step (default ${DEFAULTS.time.kind}).`,
        },
        frequency: {
          type: 'string',
          pattern: '^[0-9]*(D|W|W-[A-Z]{3}|MS|ME|M|QS|QE|Q|YS|YE|Y|H|h|min)$',
          description: `kind date: pandas offset alias: D, W, MS, ME, QE, YE, h, min… (pandas 2.2 and older spellings alike; default ${DEFAULTS.time.frequency}). Not for kind period: write kind: period rather than frequency: 1.`,
        },
        season_length: {
          ...POSITIVE_INT,
          maximum: 10000,
          description: 'kind period: periods per season (52 for weekly data), the default season of every forecast model (default: none, 1).',
        },
      },
    },
    target: COLUMN,
    features: { type: 'array', uniqueItems: true, items: COLUMN },
    task: { enum: [...TASKS] },
    model: {
      type: 'object',
      additionalProperties: false,
      required: ['type'],
      properties: {
        type: { enum: [...ALL_MODEL_TYPES, AUTO_MODEL], description: 'The model of every group, or auto: each group keeps the best of candidates.' },
        params: { type: 'object', description: 'Model parameters; see docs/models.md for each type.' },
        candidates: {
          type: 'array',
          minItems: 1,
          uniqueItems: true,
          items: MODEL_CHOICE,
          description: 'type auto: the models fitted and evaluated on every group\'s holdout; a type name or {type, params}.',
        },
        select_by: { enum: [...ALL_METRICS], description: 'type auto: the metric that picks each group\'s model (default: the first of metrics).' },
        fallback: { ...MODEL_CHOICE, description: 'type auto: the model a group gets when none of its candidates can be fitted (marked fallback).' },
        holdout: {
          oneOf: [
            {
              type: 'number',
              exclusiveMinimum: 0,
              description: `forecast: the last N periods of the data, one cutoff for the whole run (default scoring.horizon); regression/classification: a fraction in (0, 1) (default ${DEFAULTS.model.holdoutFraction}).`,
            },
            {
              type: 'object',
              additionalProperties: false,
              required: ['from'],
              properties: {
                from: {
                  type: ['string', 'integer'],
                  description: 'forecast: every period at or after this date (2024-01-01), or this period number with time.kind period.',
                },
              },
            },
          ],
        },
        stale: {
          enum: ['skip', 'forecast_from_origin'],
          description: `forecast: a series whose last observation is before the holdout: skip it (reason stale), or train it on what it has and forecast from the run's origin (default ${DEFAULTS.model.stale}).`,
        },
        min_train_rows: { ...POSITIVE_INT, description: `Groups with fewer training rows are skipped (default ${DEFAULTS.model.minTrainRows}).` },
        refit: { type: 'boolean', description: `Refit on all rows after evaluation (default ${DEFAULTS.model.refit}).` },
        path: { type: 'string', description: 'custom: a Python file defining train(pdf, params) and predict(model, pdf).' },
      },
    },
    metrics: {
      type: 'array',
      minItems: 1,
      uniqueItems: true,
      items: { enum: [...ALL_METRICS] },
      description: `Default: ${Object.entries(DEFAULTS.metrics).map(([task, m]) => `${task} ${m.join(', ')}`).join('; ')}.`,
    },
    promotion: {
      type: 'object',
      additionalProperties: false,
      properties: {
        rules: { type: 'array', items: rule },
        gate: {
          type: 'object',
          additionalProperties: false,
          properties: {
            min_promoted_fraction: { type: 'number', minimum: 0, maximum: 1 },
            min_promoted: { type: 'integer', minimum: 0 },
          },
        },
      },
    },
    failure_budget: {
      type: 'object',
      additionalProperties: false,
      properties: {
        max_failed: { type: 'integer', minimum: 0 },
        max_failed_fraction: { type: 'number', minimum: 0, maximum: 1, description: `Default ${DEFAULTS.failureBudget.maxFailedFraction} when no budget is given.` },
      },
    },
    scoring: {
      type: 'object',
      additionalProperties: false,
      properties: {
        horizon: { ...POSITIVE_INT, maximum: 10000, description: `forecast: periods to predict after the data ends (default ${DEFAULTS.scoring.horizon}).` },
        table: { type: 'string', pattern: '^[A-Za-z_][A-Za-z0-9_]{0,127}$', description: `Sink table name (default ${DEFAULTS.scoring.table}).` },
        write_mode: { enum: [...WRITE_MODES], description: `default ${DEFAULTS.scoring.writeMode} (${DEFAULTS.scoring.writeModeWithoutDelete} with Synapse's SQL connector).` },
        data: { ...data, description: 'Data to score, when it differs from the training data.' },
      },
    },
    serving: {
      type: 'object',
      additionalProperties: false,
      properties: {
        cache: {
          type: 'object',
          additionalProperties: false,
          properties: {
            max_models: POSITIVE_INT,
            ttl_seconds: POSITIVE_INT,
          },
        },
      },
    },
    spark: {
      type: 'object',
      additionalProperties: false,
      properties: {
        shuffle_partitions: {
          oneOf: [POSITIVE_INT, { const: 'auto' }],
          description: `auto: sized to the number of groups (default ${DEFAULTS.spark.shufflePartitions}).`,
        },
        conf: { type: 'object', additionalProperties: { type: ['string', 'number', 'boolean'] } },
      },
    },
  },
};

export const pipelinesFileSchema: Schema = {
  $schema: 'http://json-schema.org/draft-07/schema#',
  $id: 'https://manymodels.dev/schema/pipelines.schema.json',
  title: 'manymodels pipelines.yaml',
  type: 'object',
  additionalProperties: false,
  required: ['pipelines'],
  properties: {
    version: { const: 1, description: 'Language version; 1.' },
    project: { type: 'string', pattern: NAME_PATTERN, description: 'Project name; tags every model.' },
    variables: { type: 'object', additionalProperties: variable, propertyNames: { pattern: '^[A-Za-z_][A-Za-z0-9_]*$' } },
    targets: { type: 'object', additionalProperties: target, propertyNames: { pattern: NAME_PATTERN } },
    pipelines: { type: 'array', minItems: 1, items: pipeline },
  },
};

const REFERENCE_STRING = { type: 'string', pattern: '\\$\\{(var|env)\\.[A-Za-z_][A-Za-z0-9_]*\\}' };

/**
 * The schema published for editors. Files may write `${var.x}` where a number or boolean
 * goes (interpolation runs before validation), so every such place also accepts a
 * reference string; the CLI itself validates the interpolated file with the strict schema.
 */
export function editorSchema(node: unknown = pipelinesFileSchema): unknown {
  if (Array.isArray(node)) return node.map((n) => editorSchema(n));
  if (node === null || typeof node !== 'object') return node;
  const out: Record<string, unknown> = {};
  for (const [k, v] of Object.entries(node)) {
    out[k] = k === 'properties' || k === 'definitions' ? Object.fromEntries(Object.entries(v as object).map(([pk, pv]) => [pk, editorSchema(pv)])) : editorSchema(v);
  }
  const types = Array.isArray(out.type) ? (out.type as string[]) : typeof out.type === 'string' ? [out.type] : [];
  if (types.some((t) => t === 'integer' || t === 'number' || t === 'boolean') && !types.includes('string')) {
    const { description, ...rest } = out;
    return description === undefined ? { anyOf: [rest, REFERENCE_STRING] } : { description, anyOf: [rest, REFERENCE_STRING] };
  }
  return out;
}
