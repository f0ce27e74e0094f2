// The databricks engine: uploads what a run needs (content-addressed) to DBFS, a volume or
// workspace files, submits it as a one-time run with a spark_python_task (runs/submit, made
// idempotent by a token derived from our run id), follows it with the shared remote backend
// (runs/get while tailing the events the job writes beside its outputs) and brings the run
// manifest, artifacts and the task's log home. A run can be left running (--no-wait, Ctrl-C) and
// picked up again from its run folder.
import { type AzureContext, AzureScopes, tokenProviderFor } from '../../clients/azure-context.js';
import {
  DatabricksClient, OAuthM2MTokenProvider, lookupWorkspaceUrl, resolveDatabricksConfig,
  type DatabricksClientOptions, type ResolvedDatabricksConfig, type Run,
} from '../../clients/databricks/index.js';
import type { TokenProvider } from '../../clients/http.js';
import { UsageError } from '../../core/errors.js';
import { normaliseDatabricksHost, type DatabricksTarget, type ResolvedTarget } from '../../contracts/targets.js';
import type { RunState } from '../../contracts/runs.js';
import { tailLines } from '../remote/follow-remote-run.js';
import type { SubmissionInputs, SubmissionLayout } from '../remote/job-files.js';
import { RemoteBackend } from '../remote/remote-backend.js';
import type { RemoteEnding, RemoteEngine, RemoteStatus } from '../remote/remote-engine.js';
import type { RemoteRunState } from '../remote/remote-run-state.js';
import { databricksLayout } from './paths.js';
import { locationFor, storesOf, type LocationKind } from './storage.js';
import { REMOTE_SETTINGS_CODE, checkDatabricksWorkspace } from './remote-check.js';
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
  /** The workspace and credential, when already resolved (openDatabricksBackend); else resolved on first use. */
  config?: DatabricksConnection;
  /** ARM endpoint and an extra CA for the workspace lookup (sovereign clouds, tests). */
  armEndpoint?: string;
  armTlsCa?: string;
}

const TERMINAL = new Set(['TERMINATED', 'SKIPPED', 'INTERNAL_ERROR']);
const TAIL_LINES = 40;

/**
 * A run's life cycle read the Jobs 2.2 way: from `status` (state + termination_details), with the
 * deprecated `state` (life_cycle_state + result_state) only when a reply has no `status`.
 */
export interface RunPhase {
  /** QUEUED, PENDING, RUNNING, TERMINATING, TERMINATED, BLOCKED, WAITING (status.state), or a life_cycle_state. */
  phase: string;
  terminal: boolean;
  /** SUCCESS, CANCELED, FAILED, … once terminal: termination_details.code, or result_state. */
  outcome?: string;
  /** What a terminal run means for us. */
  result?: 'succeeded' | 'failed' | 'cancelled';
  message?: string;
}

export function runPhase(run: Pick<Run, 'state' | 'status'>): RunPhase {
  const status = run.status;
  if (status && typeof status.state === 'string') {
    const t = status.termination_details;
    const out: RunPhase = { phase: status.state, terminal: status.state === 'TERMINATED' };
    if (out.terminal) {
      if (t?.code) out.outcome = t.code;
      // CANCELED is the platform's (a timeout, for one); USER_CANCELED is someone's cancel.
      out.result = t?.code === 'SUCCESS' ? 'succeeded' : t?.code === 'USER_CANCELED' ? 'cancelled' : 'failed';
    }
    const message = status.queue_details?.message ?? t?.message;
    if (message) out.message = message;
    return out;
  }
  const s = run.state!;
  const out: RunPhase = { phase: s.life_cycle_state, terminal: TERMINAL.has(s.life_cycle_state) };
  if (s.result_state) out.outcome = s.result_state;
  // INTERNAL_ERROR and SKIPPED end a run without a result_state.
  else if (out.terminal && s.life_cycle_state !== 'TERMINATED') out.outcome = s.life_cycle_state;
  if (out.terminal) out.result = s.result_state === 'SUCCESS' ? 'succeeded' : s.result_state === 'CANCELED' ? 'cancelled' : 'failed';
  const why = s.queue_reason ?? s.state_message;
  if (why) out.message = why;
  return out;
}

function runState(run: Run): RunState {
  const p = runPhase(run);
  if (p.phase === 'QUEUED' || p.phase === 'BLOCKED') return 'queued';
  if (!p.terminal) return 'running';
  return p.result ?? 'failed';
}

function describe(run: Run): string {
  const p = runPhase(run);
  const parts = [`Databricks ${p.phase}${p.outcome ? ` ${p.outcome}` : ''}`];
  if (p.message) parts.push(p.message);
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
    const config = this.options.config ?? resolveDatabricksSettings(settings, context);
    let host = config.host;
    if (!host) {
      const lookup: Parameters<typeof lookupWorkspaceUrl>[1] = { tokenProvider: await tokenProviderFor(context, AzureScopes.resourceManager) };
      if (this.options.armEndpoint) lookup.endpoint = this.options.armEndpoint;
      if (this.options.armTlsCa) lookup.tlsCa = this.options.armTlsCa;
      host = await lookupWorkspaceUrl(settings.resourceId!, lookup);
    }
    let tokenProvider: TokenProvider;
    const credential = config.credential;
    if (credential.type === 'pat') {
      const token = credential.token;
      tokenProvider = { getToken: async () => token };
    } else if (credential.type === 'oauth-m2m') {
      const oauth: ConstructorParameters<typeof OAuthM2MTokenProvider>[0] = { host, clientId: credential.clientId, clientSecret: credential.clientSecret };
      if (this.options.http) oauth.http = this.options.http;
      tokenProvider = new OAuthM2MTokenProvider(oauth);
    } else {
      tokenProvider = await tokenProviderFor(context, AzureScopes.databricks);
    }
    const options: DatabricksClientOptions = { host, tokenProvider };
    if (this.options.http) options.http = this.options.http;
    return new DatabricksClient(options);
  }

  /** The pre-submit check: what the workspace says about the compute (MM408), warnings as notices. */
  async preflight(signal?: AbortSignal): Promise<void> {
    const findings = await checkDatabricksWorkspace(await this.client(), this.options.settings, signal);
    for (const w of findings.filter((f) => f.severity === 'warning')) this.options.context.notice?.(`Warning ${REMOTE_SETTINGS_CODE}: databricks.${w.path.join('.')}: ${w.message}`);
    const errors = findings.filter((f) => f.severity === 'error');
    if (errors.length === 0) return;
    const lines = errors.map((e) => `databricks.${e.path.join('.')}: ${e.message}${e.hint ? ` (${e.hint})` : ''}`);
    throw new UsageError(`the workspace refuses the target's compute: ${lines.join('; ')}`, {
      code: REMOTE_SETTINGS_CODE,
      nextSteps: ['Nothing was uploaded or submitted. Run `manymodels validate --remote` for each problem at its line in the file.'],
    });
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
    const p = runPhase(run);
    return {
      state: runState(run),
      message: describe(run),
      key: `${p.phase}/${p.outcome ?? ''}`,
      terminal: p.terminal,
      // Nothing is written before the task starts; after that the events file grows until it ends.
      mayHaveOutputs: !['QUEUED', 'PENDING', 'BLOCKED'].includes(p.phase),
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
        const p = runPhase(run);
        const remote: NonNullable<ReturnType<RemoteEnding['remote']>> = {
          message: `Databricks run ${state.external!.id} ended ${p.phase}${p.outcome ? ` ${p.outcome}` : ''}${p.message ? `: ${p.message}` : ''}`,
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

/** The workspace URL (undefined: looked up from the ARM resource id) and the credential of a run. */
export interface DatabricksConnection {
  host?: string;
  credential: ResolvedDatabricksConfig['credential'];
}

/**
 * Where a run signs in and with what, in the order the Databricks CLI and SDKs use (explicit
 * settings, then the environment, then the ~/.databrickscfg profile: clients/databricks/unified-auth.ts).
 * The environment checks (MM404) happen here: the settings themselves were checked when the target was resolved.
 */
export function resolveDatabricksSettings(settings: Pick<DatabricksTarget, 'auth' | 'host' | 'resourceId' | 'profile'>, context: Pick<AzureContext, 'env' | 'databricksProfile'>): DatabricksConnection {
  const explicit: Parameters<typeof resolveDatabricksConfig>[0]['explicit'] = {};
  if (settings.host) explicit.host = settings.host;
  if (settings.auth) explicit.auth = settings.auth;
  const profile = context.databricksProfile ?? settings.profile;
  if (profile) explicit.profile = profile;
  const resolved = resolveDatabricksConfig({ explicit, env: context.env });
  const out: DatabricksConnection = { credential: resolved.credential };
  // An explicit ARM resource id wins over a host from the environment or a profile.
  if (settings.host) out.host = settings.host;
  else if (!settings.resourceId && resolved.host) {
    const h = normaliseDatabricksHost(resolved.host);
    const from = resolved.hostSource === 'environment' ? 'DATABRICKS_HOST' : `host of profile ${resolved.profile} in ${resolved.configFile}`;
    if ('error' in h) throw new UsageError(`databricks: ${from}: ${h.error}`, { code: 'MM404', nextSteps: [h.hint] });
    out.host = h.host;
  }
  if (!out.host && !settings.resourceId) {
    throw new UsageError('databricks: no workspace: the target has no host or workspace_resource_id, DATABRICKS_HOST is not set and no ~/.databrickscfg profile names a host', {
      code: 'MM404',
      nextSteps: ['Set host (or workspace_resource_id) in the target\'s databricks section, export DATABRICKS_HOST, or name a profile with a host (--profile, DATABRICKS_CONFIG_PROFILE).'],
    });
  }
  return out;
}

/** How a run signs in (pat, oauth-m2m or azure); throws MM404 when the chosen method lacks its credential. */
export function databricksAuth(settings: Pick<DatabricksTarget, 'auth'>, env: Record<string, string | undefined>): 'pat' | 'oauth-m2m' | 'azure' {
  const explicit: Parameters<typeof resolveDatabricksConfig>[0]['explicit'] = {};
  if (settings.auth) explicit.auth = settings.auth;
  return resolveDatabricksConfig({ explicit, env }).credential.type;
}

/** Builds the backend for a target resolved by the language layer; the token checked now (MM404), the host looked up on first use. */
export async function openDatabricksBackend(target: ResolvedTarget, context: AzureContext): Promise<DatabricksBackend> {
  if (!target.databricks) throw new Error(`target "${target.name}" reached the databricks engine without resolved databricks settings`);
  const config = resolveDatabricksSettings(target.databricks, context);
  const options: DatabricksBackendOptions = { settings: target.databricks, context, config };
  if (context.env.MANYMODELS_ARM_ENDPOINT) options.armEndpoint = context.env.MANYMODELS_ARM_ENDPOINT;
  return new DatabricksBackend(options);
}
