// Builds the runs/submit body for one stage of one pipeline: a spark_python_task running the
// runtime's entry script with --executor spark on the chosen compute, the pipeline's Spark
// settings, and an idempotency_token derived from our run id.
import type { SubmitRunRequest, SubmitTask } from '../../clients/databricks/index.js';
import { serverlessDependency, type DatabricksCompute, type DatabricksTarget } from '../../contracts/targets.js';

/** At most 64 characters (README §1.2); our run ids are 28, so this is stable and unique per run. */
export function idempotencyToken(runId: string): string {
  return `manymodels-${runId}`;
}

export const ENVIRONMENT_KEY = 'manymodels';

export interface SubmitInputs {
  runId: string;
  stage: 'train' | 'score';
  pipeline: string;
  /** URI of the uploaded entry script (dbfs:/…, /Volumes/…, /Workspace/…). */
  pythonFile: string;
  parameters: string[];
  /** The JobSpec's execution.sparkConf: Arrow on, adaptive execution off, the pipeline's spark.conf. */
  sparkConf: Record<string, string>;
  settings: Pick<DatabricksTarget, 'compute' | 'libraries' | 'timeoutSeconds'>;
}

/** Serverless tasks take no libraries: Python packages go into the environment's dependencies (checked when the target was resolved, MM406). */
function serverlessDependencies(libraries: ReadonlyArray<Record<string, unknown>>): string[] {
  return libraries.map((lib) => {
    const dependency = serverlessDependency(lib);
    if (dependency === undefined) throw new Error(`databricks.libraries: ${JSON.stringify(lib)} reached a serverless run unchecked`);
    return dependency;
  });
}

function computeFields(compute: DatabricksCompute, inputs: SubmitInputs): Partial<SubmitTask> {
  switch (compute.kind) {
    case 'existing_cluster':
      return { existing_cluster_id: compute.clusterId };
    case 'serverless':
      return { environment_key: ENVIRONMENT_KEY };
    case 'new_cluster': {
      const cluster = compute.cluster;
      const ownConf = (cluster.spark_conf as Record<string, string> | undefined) ?? {};
      const ownTags = (cluster.custom_tags as Record<string, string> | undefined) ?? {};
      return {
        new_cluster: {
          ...cluster,
          // The pipeline's settings reach a job cluster at start-up (static ones need it); what
          // the cluster spec itself says is the more specific choice and wins.
          spark_conf: { ...inputs.sparkConf, ...ownConf },
          // Tags land on the VMs: cost reports can then be split by pipeline.
          custom_tags: { manymodels_pipeline: inputs.pipeline, manymodels_stage: inputs.stage, ...ownTags },
        },
      };
    }
  }
}

export function buildSubmitRequest(inputs: SubmitInputs): SubmitRunRequest {
  const { settings } = inputs;
  const task: SubmitTask = {
    task_key: inputs.stage,
    spark_python_task: { python_file: inputs.pythonFile, parameters: inputs.parameters },
    ...computeFields(settings.compute, inputs),
  };
  if (settings.compute.kind !== 'serverless' && settings.libraries.length > 0) task.libraries = settings.libraries.map((l) => ({ ...l }));
  const request: SubmitRunRequest = {
    run_name: `manymodels ${inputs.stage} ${inputs.pipeline} ${inputs.runId}`,
    idempotency_token: idempotencyToken(inputs.runId),
    tasks: [task],
  };
  if (settings.timeoutSeconds) request.timeout_seconds = settings.timeoutSeconds;
  if (settings.compute.kind === 'serverless') {
    const dependencies = serverlessDependencies(settings.libraries);
    request.environments = [{ environment_key: ENVIRONMENT_KEY, spec: { client: '1', ...(dependencies.length ? { dependencies } : {}) } }];
  }
  return request;
}
