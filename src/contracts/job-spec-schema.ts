// The JobSpec (job-spec.ts) as a JSON Schema, written once here. `npm run generate` writes it
// to pyspark-templates/manymodels_runtime/jobspec.schema.json, which the Python runtime checks
// every JobSpec against (spec.py, with a validator of just this subset of JSON Schema);
// test/job-spec-schema.test.ts checks every golden JobSpec against it and that it names every
// JobSpec field.
//
// The subset: type, enum, const, minimum, maximum, exclusiveMinimum, exclusiveMaximum,
// minLength, pattern, items, minItems, uniqueItems, properties, required,
// additionalProperties, anyOf, allOf, if/then, default. A `description` on a field with a
// pattern or an anyOf is what a failure says the value must be. Checks across fields that
// need words of their own (a forecast needs a time column, a sink that cannot delete rows)
// stay in spec.py. `default` is what the runtime assumes for a field a JobSpec leaves out
// (the CLI always writes them; test/job-spec-schema.test.ts checks they are the language's).
//
// The runtime is more lenient than the type: fields the runtime does not need (entryScript,
// target, engine) are optional, unknown fields are allowed, so an older runtime reads a newer
// CLI's spec of the same specVersion.
import { DATA_FORMATS, ENGINES, TASKS, WRITE_MODES } from './engines.js';

const NULLABLE_STRING = { type: ['string', 'null'] } as const;
const COLUMN = { type: 'string', minLength: 1 } as const;
const SQL_NAME = '^[A-Za-z_][A-Za-z0-9_]*$';

const sink = {
  type: 'object',
  required: ['type'],
  properties: {
    type: { enum: ['sqlite', 'csv', 'parquet', 'synapse_sql', 'delta'] },
    path: NULLABLE_STRING,
    table: NULLABLE_STRING,
    tableName: {
      type: ['string', 'null'],
      pattern: '^[A-Za-z_][A-Za-z0-9_]*(\\.[A-Za-z_][A-Za-z0-9_]*){0,2}$',
      description: "[catalog.][schema.]table of letters, digits and '_'",
    },
    flavor: { enum: ['databricks', 'synapse'] },
    url: NULLABLE_STRING,
    database: NULLABLE_STRING,
    schema: { type: ['string', 'null'], pattern: SQL_NAME, description: "a schema name of letters, digits and '_'" },
    tempDir: NULLABLE_STRING,
    auth: { enum: ['managed_identity', 'forward_storage_credentials', null] },
    userEnv: NULLABLE_STRING,
    passwordEnv: NULLABLE_STRING,
    server: NULLABLE_STRING,
  },
  allOf: [
    {
      if: { required: ['type'], properties: { type: { const: 'sqlite' } } },
      then: { required: ['path', 'table'], properties: { path: { type: 'string' }, table: { type: 'string' } } },
    },
    {
      if: { required: ['type'], properties: { type: { enum: ['csv', 'parquet'] } } },
      then: { required: ['path', 'table'], properties: { path: { type: 'string', minLength: 1 }, table: { type: 'string' } } },
    },
    {
      if: { required: ['type'], properties: { type: { const: 'synapse_sql' } } },
      then: {
        required: ['flavor', 'table'],
        properties: { table: { type: 'string', pattern: SQL_NAME, description: "a table name of letters, digits and '_'" } },
      },
    },
    {
      if: { required: ['type', 'flavor'], properties: { type: { const: 'synapse_sql' }, flavor: { const: 'databricks' } } },
      then: { required: ['url'], properties: { url: { type: 'string' } } },
    },
    {
      if: { required: ['type', 'flavor'], properties: { type: { const: 'synapse_sql' }, flavor: { const: 'synapse' } } },
      then: {
        required: ['database'],
        properties: { database: { type: 'string', pattern: '^[A-Za-z0-9_][A-Za-z0-9_-]*$', description: "a database name of letters, digits, '_' and '-'" } },
      },
    },
  ],
} as const;

/** One model of an auto selection: a built-in type and its params. */
const candidate = {
  type: 'object',
  required: ['type'],
  properties: { type: COLUMN, params: { type: ['object', 'null'] } },
} as const;

export const jobSpecSchema = {
  $schema: 'http://json-schema.org/draft-07/schema#',
  $id: 'https://manymodels.dev/schema/jobspec.schema.json',
  title: 'manymodels JobSpec',
  description: 'The job description the Python runtime reads (docs/contracts.md). Generated from src/contracts/job-spec-schema.ts by npm run generate.',
  type: 'object',
  required: ['specVersion', 'stage', 'pipeline', 'task', 'columns', 'data', 'model'],
  properties: {
    specVersion: { const: 1 },
    stage: { enum: ['train', 'score'] },
    entryScript: { enum: ['train_entry.py', 'score_entry.py'] },
    project: NULLABLE_STRING,
    // Pipeline names end up in model names (^[a-zA-Z0-9][a-zA-Z0-9_-]{0,254}$); 150 leaves
    // room for the 80-character slug and the hash.
    pipeline: {
      type: 'string',
      pattern: '^[A-Za-z0-9][A-Za-z0-9_-]{0,149}$',
      description: "a name that starts with a letter or digit and holds only letters, digits, '_' and '-' (at most 150 characters)",
    },
    target: { type: 'string' },
    engine: { enum: [...ENGINES] },
    task: { enum: [...TASKS] },
    frequency: NULLABLE_STRING,
    timeKind: {
      enum: ['date', 'period', null],
      default: 'date',
      description: "'date', or 'period' (the time column holds integer period numbers; frequency is then null)",
    },
    seasonLength: { type: ['integer', 'null'], minimum: 1 },
    data: {
      type: 'object',
      required: ['format'],
      properties: {
        format: { enum: [...DATA_FORMATS] },
        path: NULLABLE_STRING,
        options: { type: ['object', 'null'] },
        table: NULLABLE_STRING,
        jdbc: {
          type: ['object', 'null'],
          required: ['url', 'table'],
          properties: { url: { type: 'string' }, table: { type: 'string' }, userEnv: NULLABLE_STRING, passwordEnv: NULLABLE_STRING },
        },
        sql: {
          type: ['object', 'null'],
          required: ['url', 'table', 'query', 'partition', 'userEnv', 'passwordEnv', 'secretScope', 'userKey', 'passwordKey'],
          properties: {
            url: { type: 'string' },
            table: NULLABLE_STRING,
            query: NULLABLE_STRING,
            partition: {
              type: ['object', 'null'],
              required: ['column', 'lower', 'upper', 'count'],
              properties: { column: { type: 'string' }, lower: { type: ['number', 'null'] }, upper: { type: ['number', 'null'] }, count: { type: 'integer', minimum: 1 } },
            },
            userEnv: NULLABLE_STRING,
            passwordEnv: NULLABLE_STRING,
            secretScope: NULLABLE_STRING,
            userKey: NULLABLE_STRING,
            passwordKey: NULLABLE_STRING,
          },
        },
      },
    },
    columns: {
      type: 'object',
      required: ['keys', 'target'],
      properties: {
        keys: { type: 'array', items: COLUMN, minItems: 1, uniqueItems: true },
        time: NULLABLE_STRING,
        timeParts: {
          type: ['object', 'null'],
          required: ['year'],
          description: 'The integer columns the time is composed from (month and day default 1, hour and minute 0); null when the data has a time column.',
          properties: { year: COLUMN, month: NULLABLE_STRING, day: NULLABLE_STRING, hour: NULLABLE_STRING, minute: NULLABLE_STRING },
        },
        target: COLUMN,
        features: { type: 'array', items: COLUMN, uniqueItems: true },
      },
    },
    model: {
      type: 'object',
      required: ['type'],
      properties: {
        type: { type: 'string' },
        params: { type: ['object', 'null'] },
        holdout: {
          type: ['object', 'null'],
          properties: {
            periods: { type: ['integer', 'null'], minimum: 1 },
            fraction: { type: ['number', 'null'], exclusiveMinimum: 0, exclusiveMaximum: 1 },
            from: { type: ['string', 'null'], minLength: 1 },
          },
        },
        minTrainRows: { type: ['integer', 'null'], minimum: 1, default: 10 },
        refit: { type: ['boolean', 'null'], default: true },
        stale: { enum: ['skip', 'forecast_from_origin', null], default: 'skip' },
        custom: {
          type: ['object', 'null'],
          required: ['path', 'sha256'],
          properties: { path: { type: 'string' }, sha256: { type: 'string' } },
        },
        // type auto: the candidates fitted and compared per group (docs/models.md#auto).
        selection: {
          type: ['object', 'null'],
          required: ['candidates', 'selectBy'],
          properties: {
            candidates: { type: 'array', minItems: 1, items: candidate },
            selectBy: COLUMN,
            fallback: { ...candidate, type: ['object', 'null'] },
          },
        },
      },
    },
    metrics: { type: 'array', items: COLUMN, uniqueItems: true },
    failureBudget: {
      type: ['object', 'null'],
      properties: {
        maxFailed: { type: ['integer', 'null'], minimum: 0 },
        maxFailedFraction: { type: ['number', 'null'], minimum: 0, maximum: 1 },
      },
    },
    scoring: {
      type: ['object', 'null'],
      properties: {
        horizon: { type: ['integer', 'null'], minimum: 1 },
        sink: { ...sink, type: ['object', 'null'] },
        writeMode: { enum: [...WRITE_MODES, null], default: 'replace_run' },
      },
    },
    execution: {
      type: ['object', 'null'],
      properties: {
        workers: { type: ['integer', 'null'], minimum: 0, default: 0 },
        shufflePartitions: {
          anyOf: [{ const: 'auto' }, { type: 'integer', minimum: 1 }, { type: 'null' }],
          default: 'auto',
          description: "'auto' or a positive integer",
        },
        sparkConf: { type: ['object', 'null'] },
        partition: {
          type: ['object', 'null'],
          description: "manymodels plan's partition plan for a Spark training job (docs/plan.md)",
          required: ['buckets', 'mapping'],
          properties: {
            buckets: { type: 'integer', minimum: 1 },
            mapping: {
              type: 'array',
              items: { type: 'object', required: ['keys', 'bucket'], properties: { keys: { type: 'array', items: { type: 'string' } }, bucket: { type: 'integer', minimum: 0 } } },
            },
          },
        },
      },
    },
  },
  allOf: [
    {
      // Scoring writes predictions: the sink must be there.
      if: { required: ['stage'], properties: { stage: { const: 'score' } } },
      then: { required: ['scoring'], properties: { scoring: { type: 'object', required: ['sink'], properties: { sink } } } },
    },
  ],
} as const;
