// The databricks engine: uploads what a run needs (content-addressed) to DBFS, a volume or
// workspace files, submits it as a one-time run with a spark_python_task (runs/submit, made
// idempotent by a token derived from our run id), follows it with the shared remote backend
// (runs/get while tailing the events the job writes beside its outputs) and brings the run
// manifest, artifacts and the task's log home. A run can be left running (--no-wait, Ctrl-C) and
// picked up again from its run folder.
import { type AzureContext, AzureScopes, tokenProviderFor } from '../../clients/azure-context.js';
import { DatabricksClient, lookupWorkspaceUrl, type DatabricksClientOptions, type Run } from '../../clients/databricks/index.js';
import type { TokenProvider } from '../../clients/http.js';
import { UsageError } from '../../core/errors.js';
import type { DatabricksTarget, ResolvedTarget } from '../../contracts/targets.js';
import type { RunState } from '../../contracts/runs.js';
import { tailLines } from '../remote/follow-remote-run.js';
import type { SubmissionInputs, SubmissionLayout } from '../remote/job-files.js';
import { RemoteBackend } from '../remote/remote-backend.js';
import type { RemoteEnding, RemoteEngine, RemoteStatus } from '../remote/remote-engine.js';
import type { RemoteRunState } from '../remote/remote-run-state.js';
import { databricksLayout } from './paths.js';
import { locationFor, storesOf, type LocationKind } from './storage.js';
import { buildSubmitRequest } from './submit-request.js';

/** What remote-run.json holds for a Databricks run (no secrets: no token, no host credentials). */
export interface DatabricksSubmissionState {
  host: string;
  taskKey: string;
  request: ReturnType<typeof buildSubmitRequest>;
  /** Where the job writes: the store kind and its API path. */
  outputs: { path: string; kind: LocationKind };
}

export interface DatabricksBackendOptions {
  settings: DatabricksTarget;
  context: AzureContext;
  /** Test seams and tuning of the HTTP layer. */
  http?: DatabricksClientOptions['http'];
  /** pollRun's clock and sleep (tests). */
  sleep?: (ms: number, signal?: AbortSignal) => Promise<void>;
  now?: () => number;
  /** ARM endpoint and an extra CA for the workspace lookup (sovereign clouds, tests). */
  armEndpoint?: string;
  armTlsCa?: string;
}

const TERMINAL = new Set(['TERMINATED', 'SKIPPED', 'INTERNAL_ERROR']);
const TAIL_LINES = 40;

function runState(run: Run): RunState {
  const life = run.state.life_cycle_state;
  if (life === 'QUEUED' || life === 'BLOCKED') return 'queued';
  if (!TERMINAL.has(life)) return 'running';
  const result = run.state.result_state;
  return result === 'SUCCESS' ? 'succeeded' : result === 'CANCELED' ? 'cancelled' : 'failed';
}

function describe(run: Run): string {
  const s = run.state;
  const parts = [`Databricks ${s.life_cycle_state}${s.result_state ? ` ${s.result_state}` : ''}`];
  const why = s.queue_reason ?? s.state_message;
  if (why) parts.push(why);
  return parts.join(': ');
}

type State = RemoteRunState<DatabricksSubmissionState>;

/** Databricks as a RemoteEngine: the Jobs API for runs, DBFS / volumes / workspace files for files. */
export class DatabricksEngine implements RemoteEngine<DatabricksSubmissionState, Run> {
  readonly engine = 'databricks';
  readonly label = 'Databricks';
  readonly pollIntervalMs: number;
  private clientPromise: Promise<DatabricksClient> | undefined;

  constructor(private readonly options: DatabricksBackendOptions) {
    this.pollIntervalMs = options.settings.pollIntervalMs;
  }

  /** The client, made on first use: the workspace URL may need an ARM lookup, the token a sign-in. */
  client(): Promise<DatabricksClient> {
    this.clientPromise ??= this.makeClient();
    return this.clientPromise;
  }

  private async makeClient(): Promise<DatabricksClient> {
    const { settings, context } = this.options;
    let tokenProvider: TokenProvider;
    if (databricksAuth(settings, context.env) === 'pat') {
      const token = context.env.DATABRICKS_TOKEN!;
      tokenProvider = { getToken: async () => token };
    } else {
      tokenProvider = await tokenProviderFor(context, AzureScopes.databricks);
    }
    let host = settings.host;
    if (!host) {
      const lookup: Parameters<typeof lookupWorkspaceUrl>[1] = { tokenProvider: await tokenProviderFor(context, AzureScopes.resourceManager) };
      if (this.options.armEndpoint) lookup.endpoint = this.options.armEndpoint;
      if (this.options.armTlsCa) lookup.tlsCa = this.options.armTlsCa;
      host = await lookupWorkspaceUrl(settings.resourceId!, lookup);
    }
    const options: DatabricksClientOptions = { host, tokenProvider };
    if (this.options.http) options.http = this.options.http;
    return new DatabricksClient(options);
  }

  async layout(runId: string): Promise<SubmissionLayout> {
    return databricksLayout(this.options.settings, runId, storesOf(await this.client()));
  }

  async submission(inputs: SubmissionInputs, layout: SubmissionLayout): Promise<DatabricksSubmissionState> {
    const client = await this.client();
    const request = buildSubmitRequest({
      runId: inputs.runId,
      stage: inputs.stage,
      pipeline: inputs.pipeline,
      pythonFile: inputs.entry,
      parameters: inputs.arguments,
      sparkConf: inputs.sparkConf,
      settings: this.options.settings,
    });
    return { host: client.host, taskKey: inputs.stage, request, outputs: { path: layout.outputs.apiPath(), kind: this.options.settings.runsKind } };
  }

  requestBody(submission: DatabricksSubmissionState): unknown {
    return submission.request;
  }

  async submit(state: State, options: { signal?: AbortSignal }): Promise<{ id: string }> {
    const client = await this.client();
    // Resending the same body with the same idempotency_token returns the same run_id.
    return { id: String(await client.submitRun(state.submission.request, options.signal)) };
  }

  async runPageUrl(_state: State, id: string, signal?: AbortSignal): Promise<string | undefined> {
    const client = await this.client();
    return (await client.getRun(Number(id), signal)).run_page_url;
  }

  async getState(state: State, signal?: AbortSignal): Promise<Run> {
    const client = await this.client();
    return client.getRun(Number(state.external!.id), signal);
  }

  status(run: Run): RemoteStatus {
    const life = run.state.life_cycle_state;
    return {
      state: runState(run),
      message: describe(run),
      key: `${life}/${run.state.result_state ?? ''}`,
      terminal: TERMINAL.has(life),
      // Nothing is written before the task starts; after that the events file grows until it ends.
      mayHaveOutputs: !['QUEUED', 'PENDING', 'BLOCKED'].includes(life),
    };
  }

  async cancel(state: State, signal?: AbortSignal): Promise<void> {
    const client = await this.client();
    await client.cancelRun(Number(state.external!.id), signal);
  }

  async outputs(state: State): Promise<{ store: SubmissionLayout['outputs']['store']; path: string }> {
    const client = await this.client();
    const where = state.submission.outputs;
    const outputs = locationFor(client, where.kind === 'volume' ? where.path : `dbfs:${where.path}`, 'outputs');
    return { store: outputs.store, path: outputs.apiPath() };
  }

  async fetchEnding(state: State, run: Run, signal?: AbortSignal): Promise<RemoteEnding> {
    const client = await this.client();
    const taskRunId = run.tasks?.find((t) => t.task_key === state.submission.taskKey)?.run_id;
    // The task's log (saved as runtime.log) and, for a failure, its error and trace.
    const output = taskRunId !== undefined ? await client.getRunOutput(taskRunId, signal) : {};
    const logs = output.logs ?? '';
    const ending: RemoteEnding = {
      logs,
      logTail: tailLines(output.error_trace ?? logs, TAIL_LINES),
      remote: () => {
        const s = run.state;
        const remote: NonNullable<ReturnType<RemoteEnding['remote']>> = {
          message: `Databricks run ${state.external!.id} ended ${s.life_cycle_state}${s.result_state ? ` ${s.result_state}` : ''}${s.state_message ? `: ${s.state_message}` : ''}`,
        };
        if (output.error) remote.error = output.error;
        if (output.error_trace) remote.trace = tailLines(output.error_trace, TAIL_LINES);
        return remote;
      },
    };
    if (run.start_time && run.end_time) ending.seconds = (run.end_time - run.start_time) / 1000;
    return ending;
  }
}

/** The databricks engine's JobBackend: the shared remote backend over a DatabricksEngine. */
export class DatabricksBackend extends RemoteBackend<DatabricksSubmissionState, Run> {
  constructor(private readonly options: DatabricksBackendOptions) {
    super(new DatabricksEngine(options));
  }

  /** The engine's client (tests, and what the engine is built on). */
  client(): Promise<DatabricksClient> {
    return (this.remote as DatabricksEngine).client();
  }

  protected override clock(): { sleep?: (ms: number, signal?: AbortSignal) => Promise<void>; now?: () => number } {
    return { ...(this.options.sleep ? { sleep: this.options.sleep } : {}), ...(this.options.now ? { now: this.options.now } : {}) };
  }
}

/**
 * How a run signs in: the target's `auth`, else `pat` when DATABRICKS_TOKEN is set, else `azure`.
 * The one environment check (MM404): the settings themselves were checked when the target was resolved.
 */
export function databricksAuth(settings: Pick<DatabricksTarget, 'auth'>, env: Record<string, string | undefined>): 'pat' | 'azure' {
  const auth = settings.auth ?? (env.DATABRICKS_TOKEN ? 'pat' : 'azure');
  if (auth === 'pat' && !env.DATABRICKS_TOKEN) {
    throw new UsageError('databricks: auth is pat but DATABRICKS_TOKEN is not set', {
      code: 'MM404',
      nextSteps: ['Export DATABRICKS_TOKEN with a personal access token, or use auth: azure (Azure AD).'],
    });
  }
  return auth;
}

/** Builds the backend for a target resolved by the language layer; the token checked now (MM404), the host looked up on first use. */
export async function openDatabricksBackend(target: ResolvedTarget, context: AzureContext): Promise<DatabricksBackend> {
  if (!target.databricks) throw new Error(`target "${target.name}" reached the databricks engine without resolved databricks settings`);
  databricksAuth(target.databricks, context.env);
  const options: DatabricksBackendOptions = { settings: target.databricks, context };
  if (context.env.MANYMODELS_ARM_ENDPOINT) options.armEndpoint = context.env.MANYMODELS_ARM_ENDPOINT;
  return new DatabricksBackend(options);
}
