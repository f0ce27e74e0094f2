// The patch laid over the saved Jobs 2.1 OpenAPI document before validation: fixes for its
// few non-JSON-Schema constructs, the Jobs 2.2 additions it predates, and the emulator's strictness.
//
// Every change is listed in `JOBS_OVERLAY_NOTES` with its source so a reader can check it.
// Sources: api-specs README §1.1-1.4 and §1.9, which summarise databricks-sdk-go v0.175.0
// `service/jobs/model.go` (generated from Databricks' internal spec).

type Json = Record<string, unknown>;

export interface OverlayNote {
  readonly target: string;
  readonly change: string;
  readonly source: string;
}

export const JOBS_OVERLAY_NOTES: readonly OverlayNote[] = [
  { target: 'NewCluster.required', change: 'string "spark_version" -> ["spark_version"]', source: 'defect: `required` must be an array in JSON Schema 2020-12' },
  { target: 'GitSource.properties.{git_url,git_provider}.required', change: 'boolean `required: true` removed (the object-level oneOf already requires both)', source: 'defect: Swagger-1.x style flag' },
  { target: 'AccessControlRequestFor{User,Group,ServicePrincipal}', change: 'require the principal name', source: 'defect: without it every object matches all three oneOf branches, so oneOf always fails' },
  { target: 'Error', change: 'error_code and message required; optional details[]', source: 'README §1.9' },
  { target: 'RunLifeCycleState', change: '+QUEUED', source: 'README §1.1, §1.4' },
  { target: 'RunResultState', change: '+MAXIMUM_CONCURRENT_RUNS_REACHED, EXCLUDED, SUCCESS_WITH_FAILURES, UPSTREAM_FAILED, UPSTREAM_CANCELED, DISABLED', source: 'README §1.4' },
  { target: 'RunState', change: '+queue_reason', source: 'README §1.3' },
  { target: 'RunStatus, QueueDetails, TerminationDetails (new)', change: 'the v2 `status` object and its enums', source: 'README §1.3, §1.4' },
  { target: 'Run, RunTask', change: '+status, queue_duration; Run +has_more, next_page_token; RunTask +environment_key, run_if, run_duration', source: 'README §1.3' },
  { target: 'QueueSettings, JobEnvironment, PerformanceTarget (new)', change: 'queue{enabled}, environments[], performance_target', source: 'README §1.2' },
  { target: 'RunSubmitSettings', change: '+queue, environments, budget_policy_id, usage_policy_id, performance_target, email_notifications, notification_settings, health, run_as; idempotency_token maxLength 64', source: 'README §1.2 ("<=64 chars")' },
  { target: 'RunSubmitTaskSettings', change: '+environment_key, run_if, max_retries, min_retry_interval_millis, retry_on_timeout, disabled, description, email_notifications, notification_settings, webhook_notifications, health, condition_task, for_each_task, run_job_task', source: 'README §1.2; SDK SubmitTask' },
  { target: 'SparkPythonTask', change: '+source (WORKSPACE|GIT)', source: 'README §1.2' },
  { target: 'GET runs/get', change: '+include_resolved_values, page_token query parameters', source: 'README §1.3' },
  { target: 'GET runs/list', change: '+page_token query parameter; response +next_page_token, prev_page_token', source: 'README §1.7' },
  { target: 'POST runs/submit body, RunSubmitTaskSettings, QueueSettings', change: 'closed (unevaluatedProperties / additionalProperties false); nested 2.1 objects such as new_cluster stay open', source: 'emulator choice: a misspelt or unsupported field (e.g. job_cluster_key, job_clusters, README §1.2) is rejected instead of silently ignored' },
];

const ref = (name: string): Json => ({ $ref: `#/components/schemas/${name}` });
const int32 = { type: 'integer', format: 'int32' } as const;
const int64 = { type: 'integer', format: 'int64' } as const;
const looseObject = { type: 'object' } as const;

const TERMINATION_CODES = [
  'SUCCESS', 'SUCCESS_WITH_FAILURES', 'USER_CANCELED', 'CANCELED', 'SKIPPED', 'INTERNAL_ERROR',
  'DRIVER_ERROR', 'CLUSTER_ERROR', 'REPOSITORY_CHECKOUT_FAILED', 'INVALID_CLUSTER_REQUEST',
  'WORKSPACE_RUN_LIMIT_EXCEEDED', 'FEATURE_DISABLED', 'CLUSTER_REQUEST_LIMIT_EXCEEDED',
  'STORAGE_ACCESS_ERROR', 'RUN_EXECUTION_ERROR', 'UNAUTHORIZED_ERROR', 'LIBRARY_INSTALLATION_ERROR',
  'MAX_CONCURRENT_RUNS_EXCEEDED', 'MAX_SPARK_CONTEXTS_EXCEEDED', 'RESOURCE_NOT_FOUND',
  'INVALID_RUN_CONFIGURATION', 'CLOUD_FAILURE', 'MAX_JOB_QUEUE_SIZE_EXCEEDED', 'DISABLED',
  'BREAKING_CHANGE', 'BUDGET_POLICY_LIMIT_EXCEEDED',
];

/** Schemas the 2023 document does not have at all. */
const NEW_SCHEMAS: Record<string, Json> = {
  // Closed: the whole documented object is one field.
  QueueSettings: {
    type: 'object',
    required: ['enabled'],
    properties: { enabled: { type: 'boolean' } },
    additionalProperties: false,
  },
  Environment: {
    type: 'object',
    properties: {
      client: { type: 'string' },
      environment_version: { type: 'string' },
      dependencies: { type: 'array', items: { type: 'string' } },
      jar_dependencies: { type: 'array', items: { type: 'string' } },
    },
  },
  JobEnvironment: {
    type: 'object',
    required: ['environment_key'],
    properties: { environment_key: { type: 'string', minLength: 1 }, spec: ref('Environment') },
  },
  PerformanceTarget: { type: 'string', enum: ['PERFORMANCE_OPTIMIZED', 'STANDARD'] },
  RunIf: {
    type: 'string',
    enum: ['ALL_SUCCESS', 'ALL_DONE', 'NONE_FAILED', 'AT_LEAST_ONE_SUCCESS', 'ALL_FAILED', 'AT_LEAST_ONE_FAILED'],
  },
  QueueDetails: {
    type: 'object',
    properties: {
      code: { type: 'string', enum: ['ACTIVE_RUNS_LIMIT_REACHED', 'MAX_CONCURRENT_RUNS_REACHED', 'ACTIVE_RUN_JOB_TASKS_LIMIT_REACHED'] },
      message: { type: 'string' },
    },
  },
  TerminationDetails: {
    type: 'object',
    properties: {
      code: { type: 'string', enum: TERMINATION_CODES },
      type: { type: 'string', enum: ['SUCCESS', 'INTERNAL_ERROR', 'CLIENT_ERROR', 'CLOUD_FAILURE'] },
      message: { type: 'string' },
    },
  },
  RunStatus: {
    type: 'object',
    properties: {
      state: { type: 'string', enum: ['QUEUED', 'PENDING', 'RUNNING', 'TERMINATING', 'TERMINATED', 'BLOCKED', 'WAITING'] },
      queue_details: ref('QueueDetails'),
      termination_details: ref('TerminationDetails'),
    },
  },
};

function schemaAt(doc: Json, name: string): Json {
  const schemas = (doc.components as Json).schemas as Json;
  const found = schemas[name];
  if (!found || typeof found !== 'object') throw new Error(`Jobs OpenAPI overlay: no components.schemas.${name}`);
  return found as Json;
}

function propertiesOf(schema: Json): Json {
  schema.properties ??= {};
  return schema.properties as Json;
}

function addEnum(schema: Json, values: readonly string[]): void {
  const current = schema.enum as string[];
  for (const v of values) if (!current.includes(v)) current.push(v);
}

/**
 * Rewrites `required` values that are not arrays. The 2023 document has two such shapes;
 * fixing them generically means a newer copy with the same habit still loads.
 */
function normaliseRequired(node: unknown, parentKey = ''): void {
  if (Array.isArray(node)) {
    for (const item of node) normaliseRequired(item, parentKey);
    return;
  }
  if (!node || typeof node !== 'object') return;
  const obj = node as Json;
  // Parameter and requestBody objects legitimately carry a boolean `required`, and inside a
  // `properties` map "required" would be a property name.
  const isParameterLike = 'in' in obj || 'content' in obj;
  if (parentKey !== 'properties' && 'required' in obj && !Array.isArray(obj.required) && !isParameterLike) {
    if (typeof obj.required === 'string') obj.required = [obj.required];
    else delete obj.required;
  }
  for (const [key, value] of Object.entries(obj)) {
    if (key === 'example' || key === 'examples') continue;
    normaliseRequired(value, key);
  }
}

function addQueryParameter(doc: Json, apiPath: string, parameter: Json): void {
  const op = ((doc.paths as Json)[apiPath] as Json).get as Json;
  const params = (op.parameters ??= []) as Json[];
  if (!params.some((p) => p.name === parameter.name)) params.push(parameter);
}

/** Applies the overlay in place. The document must be a fresh parse (it is mutated). */
export function applyJobsOverlay(doc: Json): readonly OverlayNote[] {
  const components = doc.components as Json;
  normaliseRequired(components.schemas);
  normaliseRequired(doc.paths);

  for (const [variant, principal] of [
    ['AccessControlRequestForUser', 'user_name'],
    ['AccessControlRequestForGroup', 'group_name'],
    ['AccessControlRequestForServicePrincipal', 'service_principal_name'],
  ] as const) {
    schemaAt(doc, variant).required = [principal];
  }

  const error = schemaAt(doc, 'Error');
  error.type = 'object';
  error.required = ['error_code', 'message'];
  propertiesOf(error).details = { type: 'array', items: looseObject };

  const schemas = components.schemas as Json;
  for (const [name, schema] of Object.entries(NEW_SCHEMAS)) schemas[name] = schema;

  addEnum(schemaAt(doc, 'RunLifeCycleState'), ['QUEUED']);
  addEnum(schemaAt(doc, 'RunResultState'), [
    'MAXIMUM_CONCURRENT_RUNS_REACHED', 'EXCLUDED', 'SUCCESS_WITH_FAILURES', 'UPSTREAM_FAILED',
    'UPSTREAM_CANCELED', 'DISABLED',
  ]);
  propertiesOf(schemaAt(doc, 'RunState')).queue_reason = { type: 'string' };

  Object.assign(propertiesOf(schemaAt(doc, 'Run')), {
    status: ref('RunStatus'),
    queue_duration: int64,
    has_more: { type: 'boolean' },
    next_page_token: { type: 'string' },
    description: { type: 'string' },
  });
  Object.assign(propertiesOf(schemaAt(doc, 'RunTask')), {
    status: ref('RunStatus'),
    queue_duration: int64,
    run_duration: int64,
    environment_key: { type: 'string' },
    run_if: ref('RunIf'),
    timeout_seconds: int32,
  });

  const submit = schemaAt(doc, 'RunSubmitSettings');
  const submitProps = propertiesOf(submit);
  Object.assign(submitProps, {
    queue: ref('QueueSettings'),
    environments: { type: 'array', items: ref('JobEnvironment') },
    budget_policy_id: { type: 'string' },
    usage_policy_id: { type: 'string' },
    performance_target: ref('PerformanceTarget'),
    email_notifications: ref('JobEmailNotifications'),
    notification_settings: looseObject,
    health: looseObject,
    run_as: {
      type: 'object',
      properties: { user_name: { type: 'string' }, service_principal_name: { type: 'string' } },
    },
  });
  (submitProps.idempotency_token as Json).maxLength = 64;

  const task = schemaAt(doc, 'RunSubmitTaskSettings');
  task.type = 'object';
  Object.assign(propertiesOf(task), {
    environment_key: { type: 'string', minLength: 1 },
    run_if: ref('RunIf'),
    max_retries: int32,
    min_retry_interval_millis: int32,
    retry_on_timeout: { type: 'boolean' },
    disabled: { type: 'boolean' },
    description: ref('TaskDescription'),
    email_notifications: looseObject,
    notification_settings: looseObject,
    webhook_notifications: ref('WebhookNotifications'),
    health: looseObject,
    condition_task: looseObject,
    for_each_task: looseObject,
    run_job_task: looseObject,
  });
  task.unevaluatedProperties = false;

  propertiesOf(schemaAt(doc, 'SparkPythonTask')).source = { type: 'string', enum: ['WORKSPACE', 'GIT'] };

  const submitOp = ((doc.paths as Json)['/2.1/jobs/runs/submit'] as Json).post as Json;
  const submitBody = (((submitOp.requestBody as Json).content as Json)['application/json'] as Json).schema as Json;
  submitBody.type = 'object';
  submitBody.unevaluatedProperties = false;

  addQueryParameter(doc, '/2.1/jobs/runs/get', { name: 'include_resolved_values', in: 'query', required: false, schema: { type: 'boolean' } });
  addQueryParameter(doc, '/2.1/jobs/runs/get', { name: 'page_token', in: 'query', required: false, schema: { type: 'string' } });
  addQueryParameter(doc, '/2.1/jobs/runs/list', { name: 'page_token', in: 'query', required: false, schema: { type: 'string' } });

  const listOk = ((((((doc.paths as Json)['/2.1/jobs/runs/list'] as Json).get as Json).responses as Json)['200'] as Json)
    .content as Json)['application/json'] as Json;
  Object.assign(propertiesOf(listOk.schema as Json), {
    next_page_token: { type: 'string' },
    prev_page_token: { type: 'string' },
  });

  return JOBS_OVERLAY_NOTES;
}
