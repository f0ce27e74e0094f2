// The synapse engine: uploads what a run needs into the workspace's lake (content-addressed,
// through the Blob API), creates a Livy batch on the Spark pool running the runtime's entry
// script, follows it with the shared remote-run machinery while tailing the events the job
// writes beside its outputs, and brings the run manifest and artifacts home. A run can be left
// running (--no-wait, Ctrl-C) and picked up again from its run folder (attach, cancel).
//
// Livy has no idempotency key, so a create is never resent blindly: every batch carries our run
// id as a tag, and a create whose outcome is unknown (lost reply, 5xx, a CLI killed mid-request)
// is settled by listing the pool's batches and adopting the one with our tag.
import { readFileSync, writeFileSync } from 'node:fs';
import path from 'node:path';
import { type AzureContext, AzureScopes, tokenProviderFor } from '../../clients/azure-context.js';
import { RemoteHttpError, type TokenProvider } from '../../clients/http.js';
import { type SparkBatch, type SparkBatchRequest, SynapseSparkClient, type SynapseSparkClientOptions } from '../../clients/synapse/index.js';
import { canonicalJson } from '../../core/canonical-json.js';
import { UsageError } from '../../core/errors.js';
import { redactSecrets } from '../../core/redact.js';
import type { ResolvedTarget, SynapseLake, SynapseTarget } from '../../contracts/targets.js';
import type { JobBackend, RunOptions, Submission } from '../backend.js';
import type { RunOutcome } from '../../contracts/runs.js';
import type { RunState } from '../../contracts/runs.js';
import { casName, itemFromBytes, itemFromFile, uploadContentAddressed, type UploadItem } from '../remote/content-addressed-upload.js';
import { detachedOutcome, followRemoteRun, remoteRunOutcome, submitAndFollow, tailLines } from '../remote/follow-remote-run.js';
import { planJobFiles } from '../remote/job-files.js';
import { readRemoteRun, writeRemoteRun, type RemoteRunState } from '../remote/remote-run-state.js';
import type { RemoteLocation } from '../remote/remote-store.js';
import { EVENTS_FILE } from '../remote/run-outputs.js';
import { runtimeArgs } from '../runtime-args.js';
import { buildBatchRequest, RUN_TAG } from './batch-request.js';
import { lakeLocation, lakeStore, type LakeStore } from './lake-storage.js';

/** What remote-run.json holds for a Synapse run: where the batch is and where its outputs go; no credential. */
export interface SynapseSubmissionState {
  endpoint: string;
  sparkPool: string;
  livyApiVersion: string;
  request: SparkBatchRequest;
  /** The tag that finds the batch again: `manymodels_run=<run id>`. */
  tag: { key: string; value: string };
  /** The lake and the blob folder the job writes its outputs to. */
  lake: SynapseLake;
  outputs: string;
  /** Cancelled before Synapse confirmed a batch: never create it afterwards. */
  abandoned?: boolean;
}

type State = RemoteRunState<SynapseSubmissionState>;

export interface SynapseBackendOptions {
  settings: SynapseTarget;
  context: AzureContext;
  /** Test seams and tuning of the Livy client (sleep, retry). */
  client?: Partial<Omit<SynapseSparkClientOptions, 'endpoint' | 'sparkPool' | 'tokenProvider'>>;
  /** pollRun's clock and sleep (tests). */
  sleep?: (ms: number, signal?: AbortSignal) => Promise<void>;
  now?: () => number;
}

const TERMINAL = new Set(['success', 'dead', 'killed', 'error']);
/** States before the script runs: it has written nothing yet. */
const NOT_RUNNING = new Set(['not_started', 'starting']);
const TAIL_LINES = 40;
/** A create whose outcome stayed unknown is settled and tried again at most this often. */
const CREATE_ATTEMPTS = 3;

function runState(batch: SparkBatch): RunState {
  switch (batch.state) {
    case 'not_started':
      return 'queued';
    case 'success':
      return 'succeeded';
    case 'killed':
      return 'cancelled';
    case 'dead':
    case 'error':
      return 'failed';
    default:
      // starting, running, recovering (and the session states, which a batch does not use)
      return 'running';
  }
}

function describe(batch: SparkBatch): string {
  const stage = batch.pluginState ?? batch.schedulerState;
  return `Synapse batch ${batch.state}${stage ? ` (${stage})` : ''}`;
}

/** Livy's log is `["stdout: ", …lines, "\nstderr: ", …lines, "\nYARN Diagnostics: ", …]`: one text of lines. */
function logText(batch: SparkBatch): string {
  return batch.log.map((l) => l.replace(/^\n/, '')).join('\n');
}

export class SynapseBackend implements JobBackend {
  readonly engine = 'synapse';
  private synapseToken: Promise<TokenProvider> | undefined;
  private storageToken: Promise<TokenProvider> | undefined;
  private readonly clients = new Map<string, SynapseSparkClient>();

  constructor(private readonly options: SynapseBackendOptions) {}

  /** The Livy client of a pool (the settings' one, or the one a run recorded). */
  private async client(endpoint: string, sparkPool: string): Promise<SynapseSparkClient> {
    const key = `${endpoint} ${sparkPool}`;
    let client = this.clients.get(key);
    if (!client) {
      this.synapseToken ??= tokenProviderFor(this.options.context, AzureScopes.synapse);
      client = new SynapseSparkClient({ ...this.options.client, endpoint, sparkPool, tokenProvider: await this.synapseToken });
      this.clients.set(key, client);
    }
    return client;
  }

  private async store(lake: SynapseLake): Promise<LakeStore> {
    // An Azure AD token for storage: the identity needs a data role on the account (docs/synapse.md).
    this.storageToken ??= tokenProviderFor(this.options.context, AzureScopes.storage);
    return lakeStore(lake, { kind: 'token', tokenProvider: await this.storageToken });
  }

  async run(sub: Submission, options: RunOptions): Promise<RunOutcome> {
    // The create may have reached Livy; `runs watch` finds it by its tag (or creates it).
    return submitAndFollow<State>(
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
      if (state.submission.abandoned) return { state: 'cancelled', exitCode: null, logTail: '' };
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
    const state = this.stateOf(runDir);
    const client = await this.client(state.submission.endpoint, state.submission.sparkPool);
    if (!state.external) {
      // Never confirmed: look for it by its tag. Creating it only to cancel it would be waste.
      const found = state.submittedAt ? await client.findBatchByTag(state.submission.tag.key, state.submission.tag.value, signal) : undefined;
      if (!found) {
        state.submission.abandoned = true;
        writeRemoteRun(runDir, state);
        return;
      }
      state.external = this.external(state, found);
      writeRemoteRun(runDir, state);
    }
    await client.cancelBatch(Number(state.external.id), signal);
  }

  private stateOf(runDir: string): State {
    const state = readRemoteRun<SynapseSubmissionState>(runDir);
    if (!state || state.engine !== this.engine) {
      throw new UsageError(`run ${path.basename(runDir)} is not a Synapse run`, {
        code: 'MM503',
        nextSteps: ['Only runs of a synapse target can be watched or cancelled here; list runs with: manymodels runs list'],
      });
    }
    return state;
  }

  /** The run's page: Synapse Studio's monitoring view with the workspace's ARM id, else the batch's Livy URL. */
  private external(state: State, batch: SparkBatch): { id: string; url: string } {
    const { settings } = this.options;
    const s = state.submission;
    let url = `${s.endpoint}/livyApi/versions/${encodeURIComponent(s.livyApiVersion)}/sparkPools/${encodeURIComponent(s.sparkPool)}/batches/${batch.id}`;
    if (settings.workspaceResourceId && settings.endpoint === s.endpoint) {
      const q = new URLSearchParams({ workspace: settings.workspaceResourceId, livyId: String(batch.id), sparkPoolName: s.sparkPool });
      url = `https://web.azuresynapse.net/en/monitoring/sparkapplication/${encodeURIComponent(s.request.name)}?${q.toString()}`;
    }
    return { id: String(batch.id), url };
  }

  // ---- prepare: upload, build the batch ----

  private async prepare(sub: Submission, options: RunOptions): Promise<State> {
    const { settings } = this.options;
    const lake = settings.lake;
    const store = await this.store(lake);
    const root = lakeLocation(store, lake, lake.path);
    const cas = root.child('cas');
    const outputs = root.child(`runs/${sub.runId}`);
    const { items, add, entry, runtimeZip, spec: specName } = await planJobFiles(sub, (name) => cas.uri(name));
    // The runtime zip goes as py-files, so Livy puts it on the driver's and the executors' Python
    // path; --runtime-zip is not passed (the entry script would look for it as a local file).
    const args = runtimeArgs({
      spec: cas.uri(specName),
      runId: sub.runId,
      out: outputs.uri(),
      events: outputs.uri(EVENTS_FILE),
      executor: 'spark',
      noCache: true,
      bundleArtifacts: sub.stage === 'train',
      ...(sub.modelManifestPath ? { models: cas.uri(add(await this.remoteModelManifest(sub.modelManifestPath, cas, items))) } : {}),
      ...(sub.onlyGroupsPath ? { onlyGroups: cas.uri(add(itemFromBytes('only-groups.json', readFileSync(sub.onlyGroupsPath)))) } : {}),
    });

    options.onUpdate({ kind: 'state', state: 'queued', message: `uploading to ${cas.uri()}` });
    const uploaded = await uploadContentAddressed(cas, items, options.signal ? { signal: options.signal } : {});
    options.onUpdate({ kind: 'state', state: 'queued', message: `uploaded ${uploaded.uploaded} file${uploaded.uploaded === 1 ? '' : 's'} (${uploaded.skipped} already there)` });

    const request = buildBatchRequest({
      runId: sub.runId,
      stage: sub.stage,
      pipeline: sub.spec.pipeline,
      file: cas.uri(entry),
      pythonFiles: [cas.uri(runtimeZip)],
      arguments: args,
      sparkConf: sub.spec.execution.sparkConf,
      settings,
    });
    const client = await this.client(settings.endpoint, settings.sparkPool);
    const state: State = {
      specVersion: 1,
      engine: this.engine,
      runId: sub.runId,
      stage: sub.stage,
      external: null,
      submission: {
        endpoint: settings.endpoint,
        sparkPool: settings.sparkPool,
        livyApiVersion: client.livyApiVersion,
        request,
        tag: { key: RUN_TAG, value: sub.runId },
        lake,
        outputs: outputs.apiPath(),
      },
      submittedAt: null,
      collectedAt: null,
    };
    // Before the create: a CLI killed mid-request leaves what `runs watch` needs to find or send it.
    writeRemoteRun(sub.runDir, state);
    return state;
  }

  /** The model manifest the job reads: the same models, their artifacts uploaded and named by abfss:// URI. */
  private async remoteModelManifest(localManifest: string, cas: RemoteLocation, items: UploadItem[]): Promise<UploadItem> {
    const doc = JSON.parse(readFileSync(localManifest, 'utf8')) as { models: Array<{ artifactUri: string; sha256: string }> };
    for (const model of doc.models) {
      const local = model.artifactUri.startsWith('file://') ? new URL(model.artifactUri).pathname : model.artifactUri;
      // Remote URIs (https://) are read by the job itself; local files travel.
      if (!path.isAbsolute(local)) continue;
      // Named by the sha256 the registry recorded; the job checks it again before unpickling.
      items.push(await itemFromFile(local, 'model.pkl', model.sha256));
      model.artifactUri = cas.uri(casName(model.sha256, 'model.pkl'));
    }
    return itemFromBytes('model-manifest.json', Buffer.from(canonicalJson(doc)));
  }

  // ---- submit: create the batch exactly once ----

  private async submit(state: State, runDir: string, options: RunOptions): Promise<State> {
    const s = state.submission;
    const client = await this.client(s.endpoint, s.sparkPool);
    const { signal } = options;
    // Sent before (by this process or one that was stopped): it may exist already.
    const maybeSent = state.submittedAt !== null;
    state.submittedAt ??= new Date().toISOString();
    writeRemoteRun(runDir, state);
    let batch = maybeSent ? await client.findBatchByTag(s.tag.key, s.tag.value, signal) : undefined;
    for (let attempt = 1; !batch; attempt++) {
      try {
        batch = await client.createBatch(s.request, signal);
      } catch (err) {
        // Only a create that may have been processed is settled here; anything else is the error.
        if (!(err instanceof RemoteHttpError && err.maybeProcessed) || attempt >= CREATE_ATTEMPTS || signal?.aborted) throw err;
        batch = await client.findBatchByTag(s.tag.key, s.tag.value, signal);
      }
    }
    state.external = this.external(state, batch);
    writeRemoteRun(runDir, state);
    options.onUpdate({ kind: 'submitted', external: state.external });
    return state;
  }

  // ---- follow: poll, tail events, collect ----

  private async follow(state: State, runDir: string, options: RunOptions): Promise<RunOutcome> {
    const s = state.submission;
    const client = await this.client(s.endpoint, s.sparkPool);
    const store = await this.store(s.lake);
    const batchId = Number(state.external!.id);
    const followed = await followRemoteRun<SparkBatch>({
      runDir,
      stage: state.stage,
      store,
      outputsPath: s.outputs,
      read: (signal) => client.getBatch(batchId, signal),
      key: (b) => `${b.state}/${b.pluginState ?? ''}`,
      isTerminal: (b) => TERMINAL.has(b.state),
      mayHaveOutputs: (b) => !NOT_RUNNING.has(b.state),
      describe: (b) => ({ state: runState(b), message: describe(b) }),
      intervalMs: this.options.settings.pollIntervalMs,
      onUpdate: options.onUpdate,
      ...(options.signal ? { signal: options.signal } : {}),
      ...(this.options.sleep ? { sleep: this.options.sleep } : {}),
      ...(this.options.now ? { now: this.options.now } : {}),
    });
    if (followed.detached) return detachedOutcome();
    const batch = followed.last;
    const logs = redactSecrets(logText(batch));
    // Livy keeps the last lines of the driver's output; the whole log is in Synapse Studio.
    if (logs.trim()) writeFileSync(path.join(runDir, 'runtime.log'), `${logs}\n`);
    state.collectedAt = new Date().toISOString();
    writeRemoteRun(runDir, state);
    const result = runState(batch);
    const external = state.external!;
    return remoteRunOutcome({
      result: result === 'succeeded' ? 'succeeded' : result === 'cancelled' ? 'cancelled' : 'failed',
      ...(followed.manifest ? { manifest: followed.manifest } : {}),
      ...(followed.error ? { error: followed.error } : {}),
      logTail: tailLines(logs, TAIL_LINES),
      ...(batch.runningAt && batch.endedAt ? { seconds: (batch.endedAt.getTime() - batch.runningAt.getTime()) / 1000 } : {}),
      remote: () => {
        const errors = batch.errors.map((e) => `${e.errorCode ?? 'error'}${e.source ? ` (${e.source})` : ''}: ${e.message.split('\n')[0]}`);
        const remote: NonNullable<RunOutcome['remote']> = {
          message: `Synapse batch ${external.id} ended ${batch.state}${batch.result ? ` (${batch.result})` : ''}${batch.errors[0]?.message ? `: ${batch.errors[0].message.split('\n')[0]}` : ''}`,
        };
        if (errors.length) remote.error = errors.join('; ');
        if (logs.trim()) remote.trace = tailLines(logs, TAIL_LINES);
        if (external.url) remote.url = external.url;
        return remote;
      },
    });
  }
}

/** Builds the backend for a target resolved by the language layer (settings checked there, MM407); credentials on first use. */
export async function openSynapseBackend(target: ResolvedTarget, context: AzureContext): Promise<SynapseBackend> {
  if (!target.synapse) throw new Error(`target "${target.name}" reached the synapse engine without resolved synapse settings`);
  return new SynapseBackend({ settings: target.synapse, context });
}
