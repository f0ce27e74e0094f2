// runs/submit rules the service enforces that JSON Schema does not express well: one compute
// choice and one task type per task, unique keys, resolvable references, no job clusters.
//
// Messages quote the real service where a public report shows it (databricks/cli#838 for the
// missing-compute case); the rest are the emulator's own wording and say so in the docs.
import type { ValidationIssue } from './openapi3-validator.js';

type Json = Record<string, unknown>;

const COMPUTE_FIELDS = ['existing_cluster_id', 'new_cluster', 'environment_key'] as const;

/** The kinds a `libraries[]` entry may be: exactly one per entry. */
const LIBRARY_KINDS = ['jar', 'egg', 'whl', 'pypi', 'maven', 'cran', 'requirements'] as const;

const TASK_TYPES = [
  'notebook_task', 'spark_jar_task', 'spark_python_task', 'spark_submit_task', 'pipeline_task',
  'python_wheel_task', 'sql_task', 'dbt_task', 'condition_task', 'for_each_task', 'run_job_task',
] as const;

/** Task types that run on a Spark driver and so need a cluster or a serverless environment. */
const NEEDS_COMPUTE = new Set(['spark_jar_task', 'spark_python_task', 'spark_submit_task', 'python_wheel_task']);

const isObject = (v: unknown): v is Json => typeof v === 'object' && v !== null && !Array.isArray(v);

function issue(pointer: string, message: string): ValidationIssue {
  return { where: 'body', pointer, message, code: 'INVALID_PARAMETER_VALUE' };
}

function findCycle(edges: ReadonlyMap<string, readonly string[]>): string[] | undefined {
  const state = new Map<string, 'visiting' | 'done'>();
  const stack: string[] = [];
  const visit = (node: string): string[] | undefined => {
    if (state.get(node) === 'done') return undefined;
    if (state.get(node) === 'visiting') return [...stack.slice(stack.indexOf(node)), node];
    state.set(node, 'visiting');
    stack.push(node);
    for (const next of edges.get(node) ?? []) {
      const cycle = visit(next);
      if (cycle) return cycle;
    }
    stack.pop();
    state.set(node, 'done');
    return undefined;
  };
  for (const node of edges.keys()) {
    const cycle = visit(node);
    if (cycle) return cycle;
  }
  return undefined;
}

/** Returns every rule the body breaks; the caller has already type-checked it against the schema. */
export function checkSubmitRules(body: unknown): ValidationIssue[] {
  if (!isObject(body)) return [];
  const issues: ValidationIssue[] = [];

  if ('job_clusters' in body) {
    issues.push(issue('/job_clusters', 'job_clusters is not a field of runs/submit (it belongs to jobs/create); give each task its own new_cluster'));
  }
  if (typeof body.timeout_seconds === 'number' && body.timeout_seconds < 0) {
    issues.push(issue('/timeout_seconds', 'timeout_seconds must be 0 (no timeout) or positive'));
  }

  const environmentKeys = new Set<string>();
  if (Array.isArray(body.environments)) {
    body.environments.forEach((env, i) => {
      if (!isObject(env) || typeof env.environment_key !== 'string') return;
      if (environmentKeys.has(env.environment_key)) {
        issues.push(issue(`/environments/${i}/environment_key`, `environment_key "${env.environment_key}" is not unique`));
      }
      environmentKeys.add(env.environment_key);
    });
  }

  const tasks = body.tasks;
  if (!Array.isArray(tasks) || tasks.length === 0) {
    issues.push(issue('/tasks', 'a one-time run needs at least one task in tasks[]'));
    return issues;
  }

  const keys = new Set<string>();
  const edges = new Map<string, string[]>();
  const hasGitSource = isObject(body.git_source);
  tasks.forEach((task, i) => {
    if (!isObject(task)) return;
    const at = `/tasks/${i}`;
    const key = typeof task.task_key === 'string' ? task.task_key : undefined;
    const name = key ?? `#${i}`;
    if (key !== undefined) {
      if (keys.has(key)) issues.push(issue(`${at}/task_key`, `task_key "${key}" is not unique within the run`));
      keys.add(key);
    }

    if ('job_cluster_key' in task) {
      issues.push(issue(`${at}/job_cluster_key`, 'job_cluster_key is not supported by runs/submit (there are no job clusters in a one-time run); use new_cluster on the task'));
    }

    const computes = COMPUTE_FIELDS.filter((f) => f in task);
    const types = TASK_TYPES.filter((t) => t in task);
    if (computes.length > 1) {
      issues.push(issue(at, `task "${name}" sets ${computes.join(' and ')}; exactly one of existing_cluster_id, new_cluster or environment_key may be given`));
    }
    if (types.length === 0) {
      issues.push(issue(at, `task "${name}" has no task type (for example spark_python_task)`));
    } else if (types.length > 1) {
      issues.push(issue(at, `task "${name}" sets ${types.join(' and ')}; a task has exactly one task type`));
    }
    if (computes.length === 0 && !('job_cluster_key' in task) && types.some((t) => NEEDS_COMPUTE.has(t))) {
      issues.push(issue(at, 'One of job_cluster_key, new_cluster, or existing_cluster_id must be specified.'));
    }
    if (typeof task.environment_key === 'string' && !environmentKeys.has(task.environment_key)) {
      issues.push(issue(`${at}/environment_key`, `environment_key "${task.environment_key}" is not defined in environments[]`));
    }

    const cluster = task.new_cluster;
    if (isObject(cluster) && !('node_type_id' in cluster) && !('instance_pool_id' in cluster) && !('policy_id' in cluster)) {
      // A pool or a policy can supply the node type; nothing else can.
      issues.push(issue(`${at}/new_cluster`, 'Missing required field: node_type_id (or an instance_pool_id, or a policy_id whose policy sets it)'));
    }
    if (Array.isArray(task.libraries)) {
      task.libraries.forEach((lib, j) => {
        if (!isObject(lib)) return;
        const kinds = LIBRARY_KINDS.filter((k) => k in lib);
        if (kinds.length !== 1) {
          issues.push(issue(`${at}/libraries/${j}`, kinds.length === 0
            ? `library ${j} names no kind; give exactly one of ${LIBRARY_KINDS.join(', ')}`
            : `library ${j} names ${kinds.join(' and ')}; a library entry is exactly one of ${LIBRARY_KINDS.join(', ')}`));
        }
      });
    }

    const python = task.spark_python_task;
    if (isObject(python) && typeof python.python_file === 'string') {
      const fromGit = python.source === 'GIT' || (python.source === undefined && hasGitSource);
      const file = python.python_file;
      const absoluteOrUri = file.startsWith('/') || /^[a-z][a-z0-9+.-]*:\//i.test(file);
      if (fromGit && absoluteOrUri) {
        issues.push(issue(`${at}/spark_python_task/python_file`, 'python_file must be a relative path when the file comes from git_source'));
      } else if (!fromGit && !absoluteOrUri) {
        issues.push(issue(`${at}/spark_python_task/python_file`, 'python_file must be an absolute workspace path (starting with "/") or a URI such as dbfs:/...'));
      }
    }

    if (key !== undefined) {
      const deps = Array.isArray(task.depends_on)
        ? task.depends_on.filter(isObject).map((d) => d.task_key).filter((k): k is string => typeof k === 'string')
        : [];
      edges.set(key, deps);
    }
  });

  for (const [key, deps] of edges) {
    for (const dep of deps) {
      if (!keys.has(dep)) issues.push(issue('/tasks', `task "${key}" depends on "${dep}", which is not a task of this run`));
    }
  }
  const cycle = findCycle(edges);
  if (cycle) issues.push(issue('/tasks', `depends_on forms a cycle: ${cycle.join(' -> ')}`));
  return issues;
}
