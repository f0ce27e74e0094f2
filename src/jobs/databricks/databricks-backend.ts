// The databricks engine: uploads what a run needs (content-addressed), submits it as a
// one-time run with a spark_python_task, follows it (pollRun over runs/get while tailing the
// events the job writes beside its outputs) and brings the run manifest and artifacts home. A
// run can be left running (--no-wait, Ctrl-C) and picked up again from its run folder.
import { existsSync, readFileSync, writeFileSync } from 'node:fs';
import path from 'node:path';
import { type AzureContext, AzureScopes, tokenProviderFor } from '../../clients/azure-context.js';
import { DatabricksClient, lookupWorkspaceUrl, type DatabricksClientOptions, type Run, type RunOutput } from '../../clients/databricks/index.js';
import type { TokenProvider } from '../../clients/http.js';
import { canonicalJson } from '../../core/canonical-json.js';
import { UsageError } from '../../core/errors.js';
import { redactSecrets } from '../../core/redact.js';
import type { DatabricksTarget, ResolvedTarget } from '../../contracts/targets.js';
import type { JobBackend, RunOptions, Submission } from '../backend.js';
import type { RunOutcome } from '../../contracts/runs.js';
import type { RunState } from '../../contracts/runs.js';
import { casName, itemFromBytes, itemFromFile, uploadContentAddressed, type UploadItem } from '../remote/content-addressed-upload.js';
import {
  detachedOutcome, followRemoteRun, remoteRunOutcome, submitAndFollow, tailLines, type FollowRemoteRunOptions, type RemoteOutcomeInput,
} from '../remote/follow-remote-run.js';
import { planJobFiles } from '../remote/job-files.js';
import { readRemoteRun, writeRemoteRun, type RemoteRunState } from '../remote/remote-run-state.js';
import type { RemoteLocation } from '../remote/remote-store.js';
import { EVENTS_FILE } from '../remote/run-outputs.js';
import { runtimeArgs } from '../runtime-args.js';
import { locationFor, type LocationKind } from './storage.js';
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


export class DatabricksBackend implements JobBackend {
  readonly engine = 'databricks';
  private clientPromise: Promise<DatabricksClient> | undefined;

  constructor(private readonly options: DatabricksBackendOptions) {}

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

  async run(sub: Submission, options: RunOptions): Promise<RunOutcome> {
    // The submit may have reached Databricks; `runs watch` resends it (idempotent) to find out.
    return submitAndFollow<RemoteRunState<DatabricksSubmissionState>>(
      {
        prepare: () => this.prepare(sub, options),
        submit: (state) => this.submit(state, sub.runDir, options),
        follow: (state) => this.follow(state, sub.runDir, options),
      },
      options,
    );
  }

  async attach(runDir: string, options: RunOptions): Promise<RunOutcome> {
    let state = this.stateOf(runDir);
    if (!state.external) {
      try {
        state = await this.submit(state, runDir, options);
      } catch (err) {
        if (options.signal?.aborted) return detachedOutcome();
        throw err;
      }
    } else {
      options.onUpdate({ kind: 'submitted', external: state.external });
    }
    return this.follow(state, runDir, options);
  }

  async cancel(runDir: string, signal?: AbortSignal): Promise<void> {
    let state = this.stateOf(runDir);
    // Never confirmed: resending the submission (idempotent) is the only way to learn its id.
    if (!state.external) state = await this.submit(state, runDir, { onUpdate: () => undefined, ...(signal ? { signal } : {}) });
    const client = await this.client();
    await client.cancelRun(Number(state.external!.id), signal);
  }

  private stateOf(runDir: string): RemoteRunState<DatabricksSubmissionState> {
    const state = readRemoteRun<DatabricksSubmissionState>(runDir);
    if (!state && existsSync(path.join(runDir, 'jobspec.json'))) {
      throw new UsageError(`run ${path.basename(runDir)} was never submitted to Databricks: it stopped before its uploads were done`, {
        code: 'MM503',
        nextSteps: ['Start it again (train or score); files already uploaded are not sent twice.'],
      });
    }
    if (!state || state.engine !== this.engine) {
      throw new UsageError(`run ${path.basename(runDir)} is not a Databricks run`, {
        code: 'MM503',
        nextSteps: ['Only runs of a databricks target can be watched or cancelled; list runs with: manymodels runs list'],
      });
    }
    return state;
  }

  // ---- prepare: upload, build the submission ----

  private async prepare(sub: Submission, options: RunOptions): Promise<RemoteRunState<DatabricksSubmissionState>> {
    const { settings } = this.options;
    const client = await this.client();
    const artifacts = locationFor(client, settings.artifactsPath, 'databricks.artifacts.path');
    const cas = artifacts.child('cas');
    const outputs = locationFor(client, settings.runsPath, 'databricks.runs_path').child(sub.runId);
    const { items, add, entry, runtimeZip, spec: specName } = await planJobFiles(sub, (name) => cas.clusterPath(name));
    const parameters = runtimeArgs({
      spec: cas.clusterPath(specName),
      runId: sub.runId,
      out: outputs.clusterPath(),
      events: outputs.clusterPath(EVENTS_FILE),
      executor: 'spark',
      runtimeZip: cas.clusterPath(runtimeZip),
      noCache: true,
      bundleArtifacts: sub.stage === 'train',
      ...(sub.modelManifestPath ? { models: cas.clusterPath(add(await this.remoteModelManifest(sub.modelManifestPath, cas, items))) } : {}),
      ...(sub.onlyGroupsPath ? { onlyGroups: cas.clusterPath(add(itemFromBytes('only-groups.json', readFileSync(sub.onlyGroupsPath)))) } : {}),
    });

    options.onUpdate({ kind: 'state', state: 'queued', message: `uploading to ${cas.uri()}` });
    const uploadOptions: Parameters<typeof uploadContentAddressed>[2] = {};
    if (options.signal) uploadOptions.signal = options.signal;
    const uploaded = await uploadContentAddressed(cas, items, uploadOptions);
    options.onUpdate({ kind: 'state', state: 'queued', message: `uploaded ${uploaded.uploaded} file${uploaded.uploaded === 1 ? '' : 's'} (${uploaded.skipped} already there)` });

    const request = buildSubmitRequest({
      runId: sub.runId,
      stage: sub.stage,
      pipeline: sub.spec.pipeline,
      pythonFile: cas.uri(entry),
      parameters,
      sparkConf: sub.spec.execution.sparkConf,
      settings,
    });
    const state: RemoteRunState<DatabricksSubmissionState> = {
      specVersion: 1,
      engine: this.engine,
      runId: sub.runId,
      stage: sub.stage,
      external: null,
      submission: { host: client.host, taskKey: sub.stage, request, outputs: { path: outputs.apiPath(), kind: settings.runsKind } },
      submittedAt: null,
      collectedAt: null,
    };
    // Before the submit: a CLI killed mid-request leaves what `runs watch` needs to resend it.
    writeRemoteRun(sub.runDir, state);
    return state;
  }

  /** The model manifest the job reads: the same models, their artifacts uploaded and named by URI. */
  private async remoteModelManifest(localManifest: string, cas: RemoteLocation, items: UploadItem[]): Promise<UploadItem> {
    const doc = JSON.parse(readFileSync(localManifest, 'utf8')) as { models: Array<{ artifactUri: string; sha256: string; modelName: string }> };
    for (const model of doc.models) {
      const local = model.artifactUri.startsWith('file://') ? new URL(model.artifactUri).pathname : model.artifactUri;
      // Remote URIs (https://) are read by the job itself; local files travel.
      if (!path.isAbsolute(local)) continue;
      // Named by the sha256 the registry recorded; the job checks it again before unpickling.
      const item = await itemFromFile(local, 'model.pkl', model.sha256);
      items.push(item);
      model.artifactUri = cas.uri(casName(model.sha256, 'model.pkl'));
    }
    return itemFromBytes('model-manifest.json', Buffer.from(canonicalJson(doc)));
  }

  // ---- submit ----

  private async submit(state: RemoteRunState<DatabricksSubmissionState>, runDir: string, options: RunOptions): Promise<RemoteRunState<DatabricksSubmissionState>> {
    const client = await this.client();
    state.submittedAt ??= new Date().toISOString();
    writeRemoteRun(runDir, state);
    // Resending the same body with the same idempotency_token returns the same run_id.
    const runId = await client.submitRun(state.submission.request, options.signal);
    const external: { id: string; url?: string } = { id: String(runId) };
    state.external = external;
    writeRemoteRun(runDir, state);
    try {
      const run = await client.getRun(runId, options.signal);
      if (run.run_page_url) external.url = run.run_page_url;
      writeRemoteRun(runDir, state);
    } catch (err) {
      if (options.signal?.aborted) throw err;
      // The URL is a convenience; the watch reads the run again anyway.
    }
    options.onUpdate({ kind: 'submitted', external });
    return state;
  }

  // ---- follow: poll, tail events, collect ----

  private async follow(state: RemoteRunState<DatabricksSubmissionState>, runDir: string, options: RunOptions): Promise<RunOutcome> {
    const client = await this.client();
    const { signal } = options;
    const runId = Number(state.external!.id);
    const { outputs: where } = state.submission;
    const outputs = locationFor(client, where.kind === 'volume' ? where.path : `dbfs:${where.path}`, 'outputs');
    const follow: FollowRemoteRunOptions<Run> = {
      runDir,
      stage: state.stage,
      store: outputs.store,
      outputsPath: outputs.apiPath(),
      read: (s) => client.getRun(runId, s),
      key: (r) => `${r.state.life_cycle_state}/${r.state.result_state ?? ''}`,
      isTerminal: (r) => TERMINAL.has(r.state.life_cycle_state),
      // Nothing is written before the task starts; after that the events file grows until it ends.
      mayHaveOutputs: (r) => !['QUEUED', 'PENDING', 'BLOCKED'].includes(r.state.life_cycle_state),
      describe: (r) => ({ state: runState(r), message: describe(r) }),
      intervalMs: this.options.settings.pollIntervalMs,
      onUpdate: options.onUpdate,
    };
    if (signal) follow.signal = signal;
    if (this.options.sleep) follow.sleep = this.options.sleep;
    if (this.options.now) follow.now = this.options.now;
    const followed = await followRemoteRun<Run>(follow);
    if (followed.detached) return detachedOutcome();

    const run = followed.last;
    const taskRunId = run.tasks?.find((t) => t.task_key === state.submission.taskKey)?.run_id;
    let output: RunOutput = {};
    try {
      // The task's log (saved as runtime.log) and, for a failure, its error and trace.
      if (taskRunId !== undefined) output = await client.getRunOutput(taskRunId, signal);
    } catch (err) {
      if (signal?.aborted) return detachedOutcome();
      throw err;
    }
    const logs = redactSecrets(output.logs ?? '');
    if (logs) writeFileSync(path.join(runDir, 'runtime.log'), logs);
    state.collectedAt = new Date().toISOString();
    writeRemoteRun(runDir, state);

    const result = runState(run);
    const outcome: RemoteOutcomeInput = {
      result: result === 'succeeded' ? 'succeeded' : result === 'cancelled' ? 'cancelled' : 'failed',
      logTail: tailLines(output.error_trace ?? logs, TAIL_LINES),
      remote: () => {
        const s = run.state;
        const remote: NonNullable<RunOutcome['remote']> = {
          message: `Databricks run ${runId} ended ${s.life_cycle_state}${s.result_state ? ` ${s.result_state}` : ''}${s.state_message ? `: ${s.state_message}` : ''}`,
        };
        if (output.error) remote.error = output.error;
        if (output.error_trace) remote.trace = tailLines(output.error_trace, TAIL_LINES);
        if (state.external!.url) remote.url = state.external!.url;
        return remote;
      },
    };
    if (followed.manifest) outcome.manifest = followed.manifest;
    if (followed.error) outcome.error = followed.error;
    if (run.start_time && run.end_time) outcome.seconds = (run.end_time - run.start_time) / 1000;
    return remoteRunOutcome(outcome);
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
