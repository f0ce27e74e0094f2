// The synapse engine: uploads what a run needs into the workspace's lake (content-addressed,
// through the Blob API), creates a Livy batch on the Spark pool running the runtime's entry
// script, follows it with the shared remote-run machinery while tailing the events the job
// writes beside its outputs, and brings the run manifest and artifacts home. A run can be left
// running (--no-wait, Ctrl-C) and picked up again from its run folder (attach, cancel).
//
// Livy has no idempotency key, so a create is never resent blindly: every batch carries our run
// id as a tag, and a create whose outcome is unknown (lost reply, 5xx, a CLI killed mid-request)
// is settled by listing the pool's batches and adopting the one with our tag.
import { type AzureContext, AzureScopes, tokenProviderFor } from '../../clients/azure-context.js';
import { RemoteHttpError, type TokenProvider } from '../../clients/http.js';
import { BigDataPoolClient, type SparkBatch, type SparkBatchRequest, SynapseSparkClient, type SynapseSparkClientOptions } from '../../clients/synapse/index.js';
import { UsageError } from '../../core/errors.js';
import type { ResolvedTarget, SynapseLake, SynapseTarget } from '../../contracts/targets.js';
import type { RunState } from '../../contracts/runs.js';
import { tailLines } from '../remote/follow-remote-run.js';
import type { SubmissionInputs, SubmissionLayout } from '../remote/job-files.js';
import { RemoteBackend } from '../remote/remote-backend.js';
import type { RemoteEnding, RemoteEngine, RemoteStatus } from '../remote/remote-engine.js';
import type { RemoteRunState } from '../remote/remote-run-state.js';
import { RUN_TAG, synapseBatchRequest, synapseLayout } from './batch-request.js';
import { lakeStore, type LakeStore } from './lake-storage.js';
import { REMOTE_SETTINGS_CODE } from '../databricks/remote-check.js';
import { checkSynapsePool } from './remote-check.js';

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

/** Synapse as a RemoteEngine: Livy batches on a Spark pool for runs, the workspace's lake for files. */
export class SynapseEngine implements RemoteEngine<SynapseSubmissionState, SparkBatch> {
  readonly engine = 'synapse';
  readonly label = 'Synapse';
  readonly pollIntervalMs: number;
  private synapseToken: Promise<TokenProvider> | undefined;
  private storageToken: Promise<TokenProvider> | undefined;
  private readonly clients = new Map<string, SynapseSparkClient>();

  constructor(private readonly options: SynapseBackendOptions) {
    this.pollIntervalMs = options.settings.pollIntervalMs;
  }

  /** The Livy client of a pool (the settings' one, or the one a run recorded). */
  /** The pre-submit check of the pool through ARM (MM408); only with workspace_resource_id, which says where the pool is. */
  async preflight(signal?: AbortSignal): Promise<void> {
    if (!this.options.settings.workspaceResourceId) return;
    const findings = await checkSynapsePool(await synapsePoolClient(this.options.context), this.options.settings, signal);
    for (const w of findings.filter((f) => f.severity === 'warning')) this.options.context.notice?.(`Warning ${REMOTE_SETTINGS_CODE}: synapse.${w.path.join('.')}: ${w.message}`);
    const errors = findings.filter((f) => f.severity === 'error');
    if (errors.length === 0) return;
    throw new UsageError(`the Spark pool cannot take the target's job: ${errors.map((e) => `synapse.${e.path.join('.')}: ${e.message}${e.hint ? ` (${e.hint})` : ''}`).join('; ')}`, {
      code: REMOTE_SETTINGS_CODE,
      nextSteps: ['Nothing was uploaded or submitted. Run `manymodels validate --remote` for each problem at its line in the file.'],
    });
  }

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

  private clientOf(state: State): Promise<SynapseSparkClient> {
    return this.client(state.submission.endpoint, state.submission.sparkPool);
  }

  private async store(lake: SynapseLake): Promise<LakeStore> {
    // An Azure AD token for storage: the identity needs a data role on the account (docs/synapse.md).
    this.storageToken ??= tokenProviderFor(this.options.context, AzureScopes.storage);
    return lakeStore(lake, { kind: 'token', tokenProvider: await this.storageToken });
  }

  async layout(runId: string): Promise<SubmissionLayout> {
    const lake = this.options.settings.lake;
    return synapseLayout(lake, runId, await this.store(lake));
  }

  async submission(inputs: SubmissionInputs, layout: SubmissionLayout): Promise<SynapseSubmissionState> {
    const { settings } = this.options;
    const client = await this.client(settings.endpoint, settings.sparkPool);
    return {
      endpoint: settings.endpoint,
      sparkPool: settings.sparkPool,
      livyApiVersion: client.livyApiVersion,
      request: synapseBatchRequest(inputs, settings),
      tag: { key: RUN_TAG, value: inputs.runId },
      lake: settings.lake,
      outputs: layout.outputs.apiPath(),
    };
  }

  requestBody(submission: SynapseSubmissionState): unknown {
    return submission.request;
  }

  /** Creates the batch exactly once: one that may exist already is looked for by its tag first. */
  async submit(state: State, options: { maybeSent: boolean; signal?: AbortSignal }): Promise<{ id: string }> {
    const s = state.submission;
    const client = await this.clientOf(state);
    const { signal } = options;
    let batch = options.maybeSent ? await client.findBatchByTag(s.tag.key, s.tag.value, signal) : undefined;
    for (let attempt = 1; !batch; attempt++) {
      try {
        batch = await client.createBatch(s.request, signal);
      } catch (err) {
        // Only a create that may have been processed is settled here; anything else is the error.
        if (!(err instanceof RemoteHttpError && err.maybeProcessed) || attempt >= CREATE_ATTEMPTS || signal?.aborted) throw err;
        batch = await client.findBatchByTag(s.tag.key, s.tag.value, signal);
      }
    }
    return { id: String(batch.id) };
  }

  /** Synapse Studio's monitoring view with the workspace's ARM id, else the batch's Livy URL. */
  async runPageUrl(state: State, id: string): Promise<string> {
    const { settings } = this.options;
    const s = state.submission;
    if (settings.workspaceResourceId && settings.endpoint === s.endpoint) {
      const q = new URLSearchParams({ workspace: settings.workspaceResourceId, livyId: id, sparkPoolName: s.sparkPool });
      return `https://web.azuresynapse.net/en/monitoring/sparkapplication/${encodeURIComponent(s.request.name)}?${q.toString()}`;
    }
    return `${s.endpoint}/livyApi/versions/${encodeURIComponent(s.livyApiVersion)}/sparkPools/${encodeURIComponent(s.sparkPool)}/batches/${id}`;
  }

  async getState(state: State, signal?: AbortSignal): Promise<SparkBatch> {
    return (await this.clientOf(state)).getBatch(Number(state.external!.id), signal);
  }

  status(batch: SparkBatch): RemoteStatus {
    return {
      state: runState(batch),
      message: describe(batch),
      key: `${batch.state}/${batch.pluginState ?? ''}`,
      terminal: TERMINAL.has(batch.state),
      mayHaveOutputs: !NOT_RUNNING.has(batch.state),
    };
  }

  async cancel(state: State, signal?: AbortSignal): Promise<void> {
    await (await this.clientOf(state)).cancelBatch(Number(state.external!.id), signal);
  }

  async findUnconfirmed(state: State, signal?: AbortSignal): Promise<{ id: string } | undefined> {
    const s = state.submission;
    const found = await (await this.clientOf(state)).findBatchByTag(s.tag.key, s.tag.value, signal);
    return found ? { id: String(found.id) } : undefined;
  }

  async outputs(state: State): Promise<{ store: LakeStore; path: string }> {
    return { store: await this.store(state.submission.lake), path: state.submission.outputs };
  }

  async fetchEnding(state: State, batch: SparkBatch): Promise<RemoteEnding> {
    // Livy keeps the last lines of the driver's output; the whole log is in Synapse Studio.
    const logs = logText(batch);
    const id = state.external!.id;
    const ending: RemoteEnding = {
      logs,
      logTail: tailLines(logs, TAIL_LINES),
      remote: () => {
        const errors = batch.errors.map((e) => `${e.errorCode ?? 'error'}${e.source ? ` (${e.source})` : ''}: ${e.message.split('\n')[0]}`);
        const remote: ReturnType<RemoteEnding['remote']> = {
          message: `Synapse batch ${id} ended ${batch.state}${batch.result ? ` (${batch.result})` : ''}${batch.errors[0]?.message ? `: ${batch.errors[0].message.split('\n')[0]}` : ''}`,
        };
        if (errors.length) remote.error = errors.join('; ');
        if (logs.trim()) remote.trace = tailLines(logs, TAIL_LINES);
        return remote;
      },
    };
    if (batch.runningAt && batch.endedAt) ending.seconds = (batch.endedAt.getTime() - batch.runningAt.getTime()) / 1000;
    return ending;
  }
}

/** The synapse engine's JobBackend: the shared remote backend over a SynapseEngine. */
export class SynapseBackend extends RemoteBackend<SynapseSubmissionState, SparkBatch> {
  constructor(private readonly options: SynapseBackendOptions) {
    super(new SynapseEngine(options));
  }

  protected override clock(): { sleep?: (ms: number, signal?: AbortSignal) => Promise<void>; now?: () => number } {
    return { ...(this.options.sleep ? { sleep: this.options.sleep } : {}), ...(this.options.now ? { now: this.options.now } : {}) };
  }
}

/** Builds the backend for a target resolved by the language layer (settings checked there, MM407); credentials on first use. */
/** ARM's view of Spark pools, with an ARM token from the same chain (MANYMODELS_ARM_ENDPOINT for sovereign clouds). */
export async function synapsePoolClient(context: AzureContext): Promise<BigDataPoolClient> {
  return new BigDataPoolClient({ endpoint: context.env.MANYMODELS_ARM_ENDPOINT ?? 'https://management.azure.com', tokenProvider: await tokenProviderFor(context, AzureScopes.resourceManager) });
}

export async function openSynapseBackend(target: ResolvedTarget, context: AzureContext): Promise<SynapseBackend> {
  if (!target.synapse) throw new Error(`target "${target.name}" reached the synapse engine without resolved synapse settings`);
  return new SynapseBackend({ settings: target.synapse, context });
}
