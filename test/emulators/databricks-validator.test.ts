// The Jobs OpenAPI 3.1 validator on its own: the saved 2.1 document plus the 2.2 overlay accept
// what the service accepts and reject what it rejects, with the service's error codes.
import { describe, expect, it } from 'vitest';
import { JOBS_OVERLAY_NOTES } from './databricks/jobs-api-overlay.js';
import { getJobsApiValidator } from './databricks/openapi3-validator.js';

const validator = getJobsApiValidator();

const task = (extra: Record<string, unknown> = {}): Record<string, unknown> => ({
  task_key: 'train',
  new_cluster: { spark_version: '15.4.x-scala2.12', node_type_id: 'Standard_DS3_v2', num_workers: 2 },
  spark_python_task: { python_file: 'dbfs:/manymodels/run-1/train_entry.py', parameters: ['--spec', 'dbfs:/manymodels/run-1/jobspec.json'] },
  ...extra,
});

const submit = (body: Record<string, unknown>, version = '2.2') =>
  validator.validateRequest({ method: 'POST', path: `/api/${version}/jobs/runs/submit`, query: {}, body });

describe('Jobs API validator: runs/submit', () => {
  it('accepts a 2.1 body and the documented 2.2 additions', () => {
    // Given a submit that uses fields the 2023 document predates (queue, environments, ...)
    const body = {
      run_name: 'train store-item',
      timeout_seconds: 3600,
      idempotency_token: 'a'.repeat(64),
      queue: { enabled: true },
      performance_target: 'STANDARD',
      budget_policy_id: 'bp-1',
      environments: [{ environment_key: 'default', spec: { client: '1', dependencies: ['pandas==2.2.2'] } }],
      access_control_list: [{ user_name: 'someone@example.com', permission_level: 'CAN_MANAGE' }],
      tasks: [
        task({ libraries: [{ pypi: { package: 'scikit-learn==1.5.0' } }], max_retries: 1, run_if: 'ALL_SUCCESS' }),
        { task_key: 'serverless', environment_key: 'default', depends_on: [{ task_key: 'train' }], spark_python_task: { python_file: '/Workspace/Shared/score.py' } },
      ],
    };
    // Then it is valid under both prefixes
    expect(submit(body, '2.2')).toEqual([]);
    expect(submit(body, '2.1')).toEqual([]);
  });

  it.each([
    ['job_cluster_key on a task', { tasks: [task({ new_cluster: undefined, job_cluster_key: 'shared' })] }, '/tasks/0/job_cluster_key', 'INVALID_PARAMETER_VALUE'],
    ['job_clusters on the run', { job_clusters: [{ job_cluster_key: 'shared', new_cluster: { spark_version: '15.4.x-scala2.12' } }], tasks: [task()] }, '/job_clusters', 'INVALID_PARAMETER_VALUE'],
    ['a task without task_key', { tasks: [task({ task_key: undefined })] }, '/tasks/0/task_key', 'INVALID_PARAMETER_VALUE'],
    ['two compute choices', { tasks: [task({ existing_cluster_id: '0923-164208-meows279' })] }, '/tasks/0', 'INVALID_PARAMETER_VALUE'],
    ['no compute for a Python task', { tasks: [task({ new_cluster: undefined })] }, '/tasks/0', 'INVALID_PARAMETER_VALUE'],
    ['an idempotency_token of 65 characters', { idempotency_token: 'x'.repeat(65), tasks: [task()] }, '/idempotency_token', 'INVALID_PARAMETER_VALUE'],
    ['a misspelt field', { tasks: [task({ timeout_second: 60 })] }, '/tasks/0/timeout_second', 'INVALID_PARAMETER_VALUE'],
    ['a wrongly typed field', { tasks: [task({ timeout_seconds: '60' })] }, '/tasks/0/timeout_seconds', 'MALFORMED_REQUEST'],
    ['an int32 overflow', { timeout_seconds: 2 ** 31, tasks: [task()] }, '/timeout_seconds', 'INVALID_PARAMETER_VALUE'],
    ['a relative python_file without git_source', { tasks: [task({ spark_python_task: { python_file: 'train.py' } })] }, '/tasks/0/spark_python_task/python_file', 'INVALID_PARAMETER_VALUE'],
    ['a dependency on an unknown task', { tasks: [task({ depends_on: [{ task_key: 'prepare' }] })] }, '/tasks', 'INVALID_PARAMETER_VALUE'],
    ['duplicate task keys', { tasks: [task(), task()] }, '/tasks/1/task_key', 'INVALID_PARAMETER_VALUE'],
    ['an unknown queue field', { queue: { enabled: true, size: 3 }, tasks: [task()] }, '/queue', 'INVALID_PARAMETER_VALUE'],
    ['an environment_key that is not defined', { tasks: [task({ new_cluster: undefined, environment_key: 'missing' })] }, '/tasks/0/environment_key', 'INVALID_PARAMETER_VALUE'],
    ['no tasks', { run_name: 'empty' }, '/tasks', 'INVALID_PARAMETER_VALUE'],
  ])('rejects %s', (_name, raw, pointer, code) => {
    // Given a body with one known defect (undefined fields are dropped as JSON would)
    const body = JSON.parse(JSON.stringify(raw)) as Record<string, unknown>;
    // When it is validated
    const issues = submit(body);
    // Then the defect is reported where it is, with the service's error code
    expect(issues.length).toBeGreaterThan(0);
    expect(issues.some((i) => i.pointer === pointer || (pointer === '/queue' && i.pointer.startsWith('/queue')))).toBe(true);
    expect(issues[0]?.code).toBe(code);
  });

  it('quotes the service for a task without compute', () => {
    const issues = submit(JSON.parse(JSON.stringify({ tasks: [task({ new_cluster: undefined })] })) as Record<string, unknown>);
    expect(issues.map((i) => i.message)).toContain('One of job_cluster_key, new_cluster, or existing_cluster_id must be specified.');
  });
});

describe('Jobs API validator: query parameters and replies', () => {
  it('coerces and checks query parameters, including the 2.2 page_token', () => {
    const get = (query: Record<string, string>) => validator.validateRequest({ method: 'GET', path: '/api/2.2/jobs/runs/get', query, body: undefined });
    expect(get({ run_id: '455644833', page_token: 'abc', include_history: 'true' })).toEqual([]);
    expect(get({ run_id: 'abc' })[0]).toMatchObject({ where: 'query', pointer: 'run_id', code: 'MALFORMED_REQUEST' });
    expect(get({})[0]).toMatchObject({ where: 'query', pointer: 'run_id' });
    const list = validator.validateRequest({ method: 'GET', path: '/api/2.1/jobs/runs/list', query: { limit: '26' }, body: undefined });
    expect(list[0]).toMatchObject({ pointer: 'limit', code: 'INVALID_PARAMETER_VALUE' });
  });

  it('accepts the 2.2 QUEUED state and status object in replies and rejects unknown states', () => {
    const run = {
      run_id: 1, state: { life_cycle_state: 'QUEUED', state_message: '', user_cancelled_or_timedout: false },
      status: { state: 'QUEUED', queue_details: { code: 'ACTIVE_RUNS_LIMIT_REACHED', message: 'busy' } },
      tasks: [{ run_id: 2, task_key: 'train', state: { life_cycle_state: 'QUEUED' }, status: { state: 'QUEUED' } }],
    };
    expect(validator.validateResponse('/api/2.2/jobs/runs/get', 'GET', 200, run)).toEqual([]);
    const bad = { ...run, tasks: [{ run_id: 2, task_key: 'train', state: { life_cycle_state: 'WAITING' } }] };
    expect(validator.validateResponse('/api/2.2/jobs/runs/get', 'GET', 200, bad)[0]?.pointer).toBe('/tasks/0/state/life_cycle_state');
  });

  it('holds every error reply to the {error_code, message} shape, declared or not', () => {
    expect(validator.validateResponse('/api/2.1/jobs/runs/get', 'GET', 400, { error_code: 'INVALID_PARAMETER_VALUE', message: 'Run 1 does not exist' })).toEqual([]);
    expect(validator.validateResponse('/api/2.1/jobs/runs/get', 'GET', 429, { error_code: 'REQUEST_LIMIT_EXCEEDED' })).not.toEqual([]);
    expect(validator.validateResponse('/api/2.1/jobs/runs/get', 'GET', 503, { error: 'legacy shape' })).not.toEqual([]);
  });

  it('documents every overlay change with its source', () => {
    expect(validator.overlay).toBe(JOBS_OVERLAY_NOTES);
    for (const note of JOBS_OVERLAY_NOTES) expect(note.source.length).toBeGreaterThan(5);
  });
});
