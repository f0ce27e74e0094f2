// `manymodels compile --engine databricks|synapse`: the exact request body a run would send
// (runs/submit, a Livy batch), built by the same planning and builders as a real run, with no
// client, no upload and no network. What a run learns only when it starts is a placeholder:
// the run id (`RUN_ID_PLACEHOLDER`, in paths, names, tags and the idempotency token) and, for
// scoring, the model manifest made from the production registry. Content-addressed names are
// exact: the same files give the same names. Secrets are redacted.
import { UsageError } from '../../core/errors.js';
import { redactSecrets } from '../../core/redact.js';
import type { JobSpec } from '../../contracts/job-spec.js';
import type { ResolvedTarget } from '../../contracts/targets.js';
import type { Submission } from '../backend.js';
import { planSubmission, type SubmissionLayout } from './job-files.js';
import type { RemoteFileStore } from './remote-store.js';

export const RUN_ID_PLACEHOLDER = '<run-id>';
export const MODEL_MANIFEST_PLACEHOLDER = '<model-manifest: uploaded when the scoring run starts>';

/** A store for paths only: a preview never reads or writes. */
const NO_STORE: RemoteFileStore = {
  kind: 'none (preview)',
  maxRead: 0,
  list: () => Promise.reject(new Error('a preview has no store')),
  stat: () => Promise.reject(new Error('a preview has no store')),
  upload: () => Promise.reject(new Error('a preview has no store')),
  read: () => Promise.reject(new Error('a preview has no store')),
};

export interface PreviewInput {
  target: ResolvedTarget;
  spec: JobSpec;
  projectRoot: string;
}

/** The request body the target's engine would send for this spec, secrets redacted. */
export async function previewSubmitRequest({ target, spec, projectRoot }: PreviewInput): Promise<unknown> {
  const sub: Submission = { runId: RUN_ID_PLACEHOLDER, stage: spec.stage, spec, specPath: '', runDir: '', projectRoot };
  const placeholders = spec.stage === 'score' ? { models: MODEL_MANIFEST_PLACEHOLDER } : {};
  let layout: SubmissionLayout;
  let build: (inputs: Awaited<ReturnType<typeof planSubmission>>['inputs']) => unknown;
  // Only the builders load here: neither axios nor an Azure SDK.
  if (target.engine === 'databricks' && target.databricks) {
    const settings = target.databricks;
    const [{ databricksLayout }, { buildSubmitRequest }] = await Promise.all([import('../databricks/paths.js'), import('../databricks/submit-request.js')]);
    layout = databricksLayout(settings, RUN_ID_PLACEHOLDER, () => NO_STORE);
    build = (inputs) => buildSubmitRequest({
      runId: inputs.runId, stage: inputs.stage, pipeline: inputs.pipeline, pythonFile: inputs.entry, parameters: inputs.arguments, sparkConf: inputs.sparkConf, settings,
    });
  } else if (target.engine === 'synapse' && target.synapse) {
    const settings = target.synapse;
    const { synapseBatchRequest, synapseLayout } = await import('../synapse/batch-request.js');
    layout = synapseLayout(settings.lake, RUN_ID_PLACEHOLDER, NO_STORE);
    build = (inputs) => synapseBatchRequest(inputs, settings);
  } else {
    throw new UsageError(`target "${target.name}" runs on ${target.engine}, which sends no submit request`, {
      code: 'MM318',
      nextSteps: ['Use --engine with a target of a remote engine (pick it with --target).'],
    });
  }
  const { inputs } = await planSubmission(sub, layout, placeholders);
  return redactRequest(build(inputs));
}

/** Keys whose value is a secret wherever they appear (a cluster's spark_conf or env vars, say). */
const SECRET_KEY = /password|pwd|secret|sas|access_token|account\.key|(^|[._-])token$/i;
const NOT_SECRET = new Set(['idempotency_token', 'environment_key', 'task_key']);

/** Every string redacted (core/redact.ts), and the value of any key that names a secret replaced. */
export function redactRequest(value: unknown, key?: string): unknown {
  if (typeof value === 'string') return key !== undefined && !NOT_SECRET.has(key) && SECRET_KEY.test(key) ? '***' : redactSecrets(value);
  if (Array.isArray(value)) return value.map((v) => redactRequest(v));
  if (value && typeof value === 'object') return Object.fromEntries(Object.entries(value).map(([k, v]) => [k, redactRequest(v, k)]));
  return value;
}
