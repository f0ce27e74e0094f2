// Livy batches of the emulated Synapse workspace: walks each one not_started -> starting -> running
// -> success | dead | killed (| error) and runs its Python `file` over a mirrored abfss mount.
import { spawn, type ChildProcess } from 'node:child_process';
import fs from 'node:fs';
import path from 'node:path';
import type { BlobServiceClient } from '@azure/storage-blob';
import { AbfssMount, parseAbfss, type AbfssLocation } from './abfss-mount.js';
import { MAX_LIST_SIZE } from './livy-contract.js';
import { batchNotFound } from './livy-error.js';

type Json = Record<string, unknown>;

/** The LivyStates a batch goes through; idle/busy/shutting_down are session-only, recovering is not emulated. */
export type LivyState = 'not_started' | 'starting' | 'running' | 'success' | 'dead' | 'killed' | 'error';
export type BatchResult = 'Uncertain' | 'Succeeded' | 'Failed' | 'Cancelled';
export type SchedulerState = 'Queued' | 'Scheduled' | 'Ended';
export type PluginState = 'Preparation' | 'ResourceAcquisition' | 'Queued' | 'Submission' | 'Monitoring' | 'Cleanup' | 'Ended';

/** Livy end states a test can force on the next batches instead of running their script. */
export type ForcedOutcome = 'dead' | 'killed' | 'error';

export interface SparkServiceError {
  readonly message: string;
  readonly errorCode: string;
  readonly source: 'System' | 'User' | 'Unknown' | 'Dependency';
}

export interface BatchTimings {
  /** Livy `not_started`, scheduler `Queued`, plugin `Preparation`. */
  readonly preparationMs: number;
  /** Still `not_started`; scheduler `Scheduled`, plugin `ResourceAcquisition` ("pool start"). */
  readonly resourceAcquisitionMs: number;
  /** Least time in Livy `starting` (plugin `Submission`); mirroring the mount happens here too. */
  readonly startingMs: number;
  /** After the end state: plugin `Cleanup`, then plugin and scheduler `Ended`. */
  readonly cleanupMs: number;
  /** DELETE answers at once; the kill takes effect this much later. */
  readonly cancelDelayMs: number;
  /** SIGTERM, then SIGKILL after this long. */
  readonly killGraceMs: number;
  /** How long a batch with a forced outcome stays `running`. */
  readonly forcedRunningMs: number;
  /** While `running`, new/changed mount files are synced back to blob storage this often. */
  readonly syncIntervalMs: number;
}

export const DEFAULT_TIMINGS: BatchTimings = {
  preparationMs: 30, resourceAcquisitionMs: 30, startingMs: 30, cleanupMs: 30,
  cancelDelayMs: 20, killGraceMs: 500, forcedRunningMs: 30, syncIntervalMs: 500,
};

export interface StateChange {
  readonly state: LivyState;
  readonly at: number;
}

export interface Batch {
  readonly id: number;
  readonly pool: string;
  readonly livyApiVersion: string;
  /** The SparkBatchJobOptions body as received. */
  readonly request: Json;
  readonly submitter: { readonly name: string; readonly id: string };
  readonly createdAt: number;
  state: LivyState;
  result: BatchResult;
  /** When each Livy state was first seen (livyInfo.*At). */
  readonly livyTimes: Partial<Record<LivyState, number>>;
  readonly scheduler: { state: SchedulerState; submittedAt: number; scheduledAt?: number; endedAt?: number; cancellationRequestedAt?: number };
  readonly plugin: {
    state: PluginState; preparationStartedAt?: number; resourceAcquisitionStartedAt?: number;
    submissionStartedAt?: number; monitoringStartedAt?: number; cleanupStartedAt?: number;
  };
  appId?: string;
  appInfo?: Record<string, string>;
  readonly stdout: string[];
  readonly stderr: string[];
  /** Lines Livy appends under "YARN Diagnostics:" (exit status, kill). */
  readonly diagnostics: string[];
  readonly errors: SparkServiceError[];
  /** Every Livy state entered, in order (for tests; not on the wire). */
  readonly history: StateChange[];
  /** The per-batch folder: `mount/` (abfss mapping) and `work/` (the process's cwd). */
  readonly folder: string;
  mount?: AbfssMount;
  /** argv the emulator ran, after the path mapping (for tests). */
  command?: readonly string[];
  exitCode?: number | null;
  process?: ChildProcess;
  forced?: ForcedOutcome;
  cancelRequested: boolean;
  /** abfss URIs uploaded back to blob storage so far, and how many sync passes ran. */
  readonly synced: string[];
  syncPasses: number;
  readonly syncErrors: string[];
}

export interface BatchEngineOptions {
  readonly workRoot: string;
  readonly python: string;
  readonly env: Readonly<Record<string, string>>;
  readonly pythonPath: readonly string[];
  readonly timings: BatchTimings;
  /** Lines of the Livy log returned in `log` (Apache Livy's batch view returns the last 10). */
  readonly logTailLines: number;
  readonly workspaceName: string;
  readonly blobService: BlobServiceClient | undefined;
  /** Containers mirrored for every batch, besides those its request names. */
  readonly extraContainers: readonly AbfssLocation[];
  readonly baseUrl: () => string;
  readonly takeForcedOutcome: () => ForcedOutcome | undefined;
}

const TERMINAL: ReadonlySet<LivyState> = new Set(['success', 'dead', 'killed', 'error']);
export const isTerminal = (state: LivyState): boolean => TERMINAL.has(state);

/** Lines kept per stream; the reply shows only the tail, this bounds memory for chatty scripts. */
const MAX_KEPT_LINES = 2_000;
/** stderr lines quoted in errorInfo.message for a failed script. */
const ERROR_TAIL_LINES = 20;
const EMULATOR_NOTE = '(emulator fault injection)';

/** Fields of SparkRequest, the echo of the create body in livyInfo.jobCreationRequest. */
const SPARK_REQUEST_FIELDS = [
  'name', 'file', 'className', 'args', 'jars', 'pyFiles', 'files', 'archives', 'conf',
  'driverMemory', 'driverCores', 'executorMemory', 'executorCores', 'numExecutors',
];

const iso = (ms: number | undefined): string | null => (ms === undefined ? null : new Date(ms).toISOString());
const strings = (v: unknown): string[] => (Array.isArray(v) ? v.map(String) : []);

export class BatchEngine {
  private readonly pools = new Map<string, Map<number, Batch>>();
  private readonly nextIds = new Map<string, number>();
  private readonly timers = new Set<NodeJS.Timeout>();
  private readonly flows = new Set<Promise<void>>();
  private readonly epoch = Date.now();
  private appSeq = 0;
  private started = 0;
  private stopped = false;

  constructor(private readonly opts: BatchEngineOptions) {}

  /** Python processes launched so far (a retried create without dedupe launches two). */
  processesStarted(): number {
    return this.started;
  }

  all(): Batch[] {
    return [...this.pools.values()].flatMap((m) => [...m.values()]);
  }

  find(pool: string, id: number): Batch | undefined {
    return this.pools.get(pool)?.get(id);
  }

  get(pool: string, id: number): Batch {
    const batch = this.find(pool, id);
    if (!batch) throw batchNotFound(pool, id);
    return batch;
  }

  /** The one place a Livy state changes, so history and livyInfo stay complete. */
  private enter(batch: Batch, state: LivyState): void {
    if (batch.state === state) return;
    batch.state = state;
    const now = Date.now();
    batch.livyTimes[state] ??= now;
    batch.history.push({ state, at: now });
  }

  private later(ms: number, fn: () => void): void {
    if (this.stopped) return;
    const t = setTimeout(() => {
      this.timers.delete(t);
      if (!this.stopped) fn();
    }, ms);
    this.timers.add(t);
  }

  private track(flow: Promise<void>): void {
    this.flows.add(flow);
    void flow.finally(() => this.flows.delete(flow));
  }

  // ---- create and the life cycle ----

  /** Creates a batch; Livy has no idempotency key, so every call makes a new one. */
  create(pool: string, body: Json, livyApiVersion: string, submitter: { name: string; id: string }): Batch {
    // Ids count from 0 per pool, as Livy's session ids do (a client must not treat 0 as "none").
    const id = this.nextIds.get(pool) ?? 0;
    this.nextIds.set(pool, id + 1);
    const now = Date.now();
    const batch: Batch = {
      id,
      pool,
      livyApiVersion,
      request: body,
      submitter,
      createdAt: now,
      state: 'not_started',
      result: 'Uncertain',
      livyTimes: { not_started: now },
      scheduler: { state: 'Queued', submittedAt: now },
      plugin: { state: 'Preparation', preparationStartedAt: now },
      stdout: [],
      stderr: [],
      diagnostics: [],
      errors: [],
      history: [{ state: 'not_started', at: now }],
      folder: path.join(this.opts.workRoot, pool, String(id)),
      cancelRequested: false,
      synced: [],
      syncPasses: 0,
      syncErrors: [],
    };
    const forced = this.opts.takeForcedOutcome();
    if (forced) batch.forced = forced;
    let batches = this.pools.get(pool);
    if (!batches) this.pools.set(pool, (batches = new Map()));
    batches.set(id, batch);
    this.later(this.opts.timings.preparationMs, () => this.acquireResources(batch));
    return batch;
  }

  private acquireResources(batch: Batch): void {
    if (this.endIfCancelled(batch)) return;
    const now = Date.now();
    batch.scheduler.state = 'Scheduled';
    batch.scheduler.scheduledAt = now;
    batch.plugin.state = 'ResourceAcquisition';
    batch.plugin.resourceAcquisitionStartedAt = now;
    this.later(this.opts.timings.resourceAcquisitionMs, () => this.submit(batch));
  }

  private submit(batch: Batch): void {
    if (this.endIfCancelled(batch)) return;
    this.enter(batch, 'starting');
    batch.plugin.state = 'Submission';
    batch.plugin.submissionStartedAt = Date.now();
    // YARN hands out the application id while spark-submit starts.
    batch.appId = `application_${this.epoch}_${String(++this.appSeq).padStart(4, '0')}`;
    if (batch.forced) {
      const outcome = batch.forced;
      this.later(this.opts.timings.startingMs, () => {
        if (this.endIfCancelled(batch)) return;
        this.markRunning(batch);
        this.later(this.opts.timings.forcedRunningMs, () => this.applyForcedOutcome(batch, outcome));
      });
      return;
    }
    this.track(this.prepareAndRun(batch).catch((err: unknown) => {
      this.finish(batch, 'error', 'Failed', [{ errorCode: 'LIVY_JOB_STATE_ERROR', source: 'System', message: `Emulator bug: ${(err as Error).stack ?? String(err)}` }]);
    }));
  }

  private markRunning(batch: Batch): void {
    this.enter(batch, 'running');
    batch.plugin.state = 'Monitoring';
    batch.plugin.monitoringStartedAt = Date.now();
    // Real replies carry Spark UI / driver log links here; these point at the emulator and 404.
    batch.appInfo = {
      driverLogUrl: `${this.opts.baseUrl()}/emulator/apps/${batch.appId}/driver-log`,
      sparkUiUrl: `${this.opts.baseUrl()}/emulator/apps/${batch.appId}/spark-ui`,
    };
  }

  /** Ends a batch whose cancellation arrived before its process started; true when it did. */
  private endIfCancelled(batch: Batch): boolean {
    if (isTerminal(batch.state)) return true;
    if (!batch.cancelRequested) return false;
    this.finish(batch, 'killed', 'Cancelled', [], 'Application killed by user.');
    return true;
  }

  /** Moves a batch to its end state; plugin Cleanup, then plugin and scheduler Ended. */
  private finish(batch: Batch, state: 'success' | 'dead' | 'killed' | 'error', result: BatchResult, errors: SparkServiceError[], diagnostic?: string): void {
    if (isTerminal(batch.state)) return;
    batch.errors.push(...errors);
    if (diagnostic) batch.diagnostics.push(diagnostic);
    batch.result = result;
    this.enter(batch, state);
    batch.plugin.state = 'Cleanup';
    batch.plugin.cleanupStartedAt = Date.now();
    this.later(this.opts.timings.cleanupMs, () => {
      const now = Date.now();
      batch.plugin.state = 'Ended';
      batch.scheduler.state = 'Ended';
      batch.scheduler.endedAt = now;
    });
  }

  private applyForcedOutcome(batch: Batch, outcome: ForcedOutcome): void {
    if (this.endIfCancelled(batch)) return;
    switch (outcome) {
      case 'dead':
        // Shape of a platform-side death as seen on the service (feathr-ai/feathr#654).
        this.finish(batch, 'dead', 'Failed', [{
          errorCode: 'LIVY_JOB_STATE_DEAD', source: 'Unknown',
          message: `[Monitoring] Livy Id=[${batch.id}] Job failed during run time with state=[dead]. ${EMULATOR_NOTE}`,
        }], `Application failed ${EMULATOR_NOTE}`);
        break;
      case 'error':
        this.finish(batch, 'error', 'Failed', [{
          errorCode: 'LIVY_JOB_STATE_ERROR', source: 'System',
          message: `[Monitoring] Livy Id=[${batch.id}] Job failed with state=[error]. ${EMULATOR_NOTE}`,
        }], `Application error ${EMULATOR_NOTE}`);
        break;
      case 'killed':
        this.finish(batch, 'killed', 'Cancelled', [], `Application killed ${EMULATOR_NOTE}`);
        break;
    }
  }

  // ---- execution ----

  /** Containers a request names: file, pyFiles, files, archives, jars and abfss arguments. */
  private referencedContainers(batch: Batch): AbfssLocation[] {
    const r = batch.request;
    const uris = [String(r.file), ...strings(r.pyFiles), ...strings(r.files), ...strings(r.archives), ...strings(r.jars)];
    for (const arg of strings(r.args)) uris.push(arg, arg.replace(/^--?[^=\s]+=/, ''));
    const found = uris.map((u) => parseAbfss(u.replace(/#[^/]*$/, ''))).filter((l): l is AbfssLocation => l !== undefined);
    return [...found, ...this.opts.extraContainers];
  }

  /**
   * Emulator-only mapping: a whole argument, or the value of a `--name=value` argument, that is
   * an abfss:// URI becomes its path under the mount. Nothing inside files is rewritten.
   */
  rewriteArgument(mount: AbfssMount, arg: string): string {
    const eq = /^(--?[^=\s]+=)(.*)$/.exec(arg);
    const local = mount.localPathFor(eq ? (eq[2] as string) : arg);
    if (!local) return arg;
    // ADLS Gen2 needs no mkdir before a write: give output paths their parent folders.
    fs.mkdirSync(path.dirname(local), { recursive: true });
    return eq ? `${eq[1]}${local}` : local;
  }

  private userError(batch: Batch, message: string): void {
    batch.stderr.push(message);
    this.finish(batch, 'dead', 'Failed', [{ errorCode: 'LIVY_JOB_STATE_DEAD', source: 'User', message }], 'User application failed to start.');
  }

  private async prepareAndRun(batch: Batch): Promise<void> {
    const begun = Date.now();
    const { blobService } = this.opts;
    if (!blobService) {
      this.finish(batch, 'dead', 'Failed', [{ errorCode: 'LIVY_JOB_STATE_DEAD', source: 'System', message: 'The Synapse emulator has no blobStorage configured, so it cannot read abfss:// files.' }]);
      return;
    }
    const file = String(batch.request.file);
    if (!parseAbfss(file)) {
      this.userError(batch, `java.io.IOException: the emulator reads only abfss://<container>@<account>.dfs.core.windows.net/<path> files, not ${file}`);
      return;
    }
    if (!/\.py$/i.test(file)) {
      this.userError(batch, `The emulator runs only Python files; ${file} (className ${String(batch.request.className ?? 'none')}) is not one.`);
      return;
    }
    const mount = new AbfssMount(path.join(batch.folder, 'mount'), blobService);
    batch.mount = mount;
    try {
      await mount.mirror(this.referencedContainers(batch));
    } catch (err) {
      if (this.stopped) return;
      this.finish(batch, 'dead', 'Failed', [{ errorCode: 'LIVY_JOB_STATE_DEAD', source: 'Dependency', message: `Could not read from storage: ${(err as Error).message}` }]);
      return;
    }
    const wait = this.opts.timings.startingMs - (Date.now() - begun);
    if (wait > 0) await new Promise((resolve) => setTimeout(resolve, wait));
    if (this.stopped || this.endIfCancelled(batch)) return;

    const missing = [file, ...strings(batch.request.pyFiles), ...strings(batch.request.files).map((f) => f.replace(/#[^/]*$/, ''))]
      .find((uri) => {
        const local = mount.localPathFor(uri);
        return !local || !fs.existsSync(local) || !fs.statSync(local).isFile();
      });
    if (missing !== undefined) {
      this.userError(batch, `java.io.FileNotFoundException: ${missing} does not exist`);
      return;
    }
    this.launch(batch, mount);
  }

  private launch(batch: Batch, mount: AbfssMount): void {
    const r = batch.request;
    const cwd = path.join(batch.folder, 'work');
    const pyDir = path.join(batch.folder, 'pyfiles');
    fs.mkdirSync(cwd, { recursive: true });
    // --py-files: .zip/.egg/.whl go on sys.path as they are; .py files are put in a folder that is.
    const pythonPath: string[] = [];
    for (const uri of strings(r.pyFiles)) {
      const local = mount.localPathFor(uri) as string;
      if (/\.py$/i.test(local)) {
        fs.mkdirSync(pyDir, { recursive: true });
        fs.copyFileSync(local, path.join(pyDir, path.basename(local)));
        if (!pythonPath.includes(pyDir)) pythonPath.push(pyDir);
      } else {
        pythonPath.push(local);
      }
    }
    // --files land in the driver's working directory, under their name or their #alias.
    for (const spec of strings(r.files)) {
      const [uri = '', alias] = spec.split('#');
      const local = mount.localPathFor(uri) as string;
      // basename: an alias like `../x` must not write outside the working folder.
      fs.copyFileSync(local, path.join(cwd, path.basename(alias || local)));
    }
    // Driver environment variables are set through spark.yarn.appMasterEnv.* on Synapse.
    const confEnv: Record<string, string> = {};
    for (const [key, value] of Object.entries((r.conf as Record<string, string> | undefined) ?? {})) {
      const m = /^spark\.yarn\.appMasterEnv\.(.+)$/.exec(key);
      if (m) confEnv[m[1] as string] = String(value);
    }
    const inherited = this.opts.env.PYTHONPATH ?? process.env.PYTHONPATH;
    const env: NodeJS.ProcessEnv = {
      ...process.env,
      ...this.opts.env,
      ...confEnv,
      PYTHONUNBUFFERED: '1',
      MANYMODELS_ABFSS_MOUNT: mount.root,
      PYTHONPATH: [...pythonPath, ...this.opts.pythonPath, ...(inherited ? [inherited] : [])].join(path.delimiter),
    };
    const args = [mount.localPathFor(String(r.file)) as string, ...strings(r.args).map((a) => this.rewriteArgument(mount, a))];
    batch.command = [this.opts.python, ...args];
    this.markRunning(batch);

    let child: ChildProcess;
    try {
      // Own process group, so a cancel also stops the script's children.
      child = spawn(this.opts.python, args, { cwd, env, detached: true, stdio: ['ignore', 'pipe', 'pipe'] });
    } catch (err) {
      this.interpreterFailed(batch, err as Error);
      return;
    }
    // A missing interpreter fails asynchronously ('error' below) and has no pid: not a launch.
    if (child.pid !== undefined) this.started++;
    batch.process = child;
    const collect = (target: string[]): ((chunk: string) => void) => {
      let partial = '';
      const push = (line: string): void => {
        target.push(line);
        if (target.length > MAX_KEPT_LINES) target.splice(0, target.length - MAX_KEPT_LINES);
      };
      const onData = (chunk: string): void => {
        const lines = (partial + chunk).split(/\r?\n/);
        partial = lines.pop() ?? '';
        lines.forEach(push);
      };
      child.once('close', () => {
        if (partial) push(partial);
      });
      return onData;
    };
    child.stdout?.setEncoding('utf8').on('data', collect(batch.stdout));
    child.stderr?.setEncoding('utf8').on('data', collect(batch.stderr));

    // Progress files (events NDJSON) must reach storage while the batch runs, not only at the end.
    const interval = setInterval(() => {
      void this.sync(batch);
    }, this.opts.timings.syncIntervalMs);
    const exited = new Promise<void>((resolve) => {
      child.once('error', (err) => {
        clearInterval(interval);
        this.interpreterFailed(batch, err);
        resolve();
      });
      child.once('close', (code, signal) => {
        clearInterval(interval);
        batch.exitCode = code;
        delete batch.process;
        this.onExit(batch, code, signal).then(resolve, resolve);
      });
    });
    this.track(exited);
  }

  private interpreterFailed(batch: Batch, err: Error): void {
    delete batch.process;
    this.finish(batch, 'error', 'Failed', [{ errorCode: 'LIVY_JOB_STATE_ERROR', source: 'System', message: `Could not start ${this.opts.python}: ${err.message}` }]);
  }

  private async sync(batch: Batch): Promise<boolean> {
    if (!batch.mount || this.stopped) return true;
    try {
      const uploaded = await batch.mount.syncBack();
      batch.syncPasses++;
      for (const uri of uploaded) if (!batch.synced.includes(uri)) batch.synced.push(uri);
      return true;
    } catch (err) {
      batch.syncErrors.push((err as Error).message);
      return false;
    }
  }

  private async onExit(batch: Batch, code: number | null, signal: NodeJS.Signals | null): Promise<void> {
    if (isTerminal(batch.state) || this.stopped) return;
    // Outputs reach storage before the state turns final: a client that sees `success` can read them.
    const synced = await this.sync(batch);
    if (this.stopped) return;
    if (batch.cancelRequested) {
      this.finish(batch, 'killed', 'Cancelled', [], 'Application killed by user.');
      return;
    }
    if (!synced) {
      this.finish(batch, 'dead', 'Failed', [{ errorCode: 'LIVY_JOB_STATE_DEAD', source: 'Dependency', message: `The emulator could not write the job's outputs back to storage: ${batch.syncErrors.at(-1) ?? ''}` }]);
      return;
    }
    if (code === 0) {
      this.finish(batch, 'success', 'Succeeded', []);
      return;
    }
    const tail = batch.stderr.slice(-ERROR_TAIL_LINES).join('\n');
    const status = signal ? `killed by ${signal}` : `exited with status ${code}`;
    this.finish(batch, 'dead', 'Failed', [{ errorCode: 'LIVY_JOB_STATE_DEAD', source: 'User', message: tail || `User application ${status}` }], `User application ${status}.`);
  }

  // ---- cancel ----

  /** DELETE: answers at once; the batch ends `killed` after cancelDelayMs. Finished batches stay as they are. */
  cancel(pool: string, id: number): Batch {
    const batch = this.get(pool, id);
    if (isTerminal(batch.state) || batch.cancelRequested) return batch;
    batch.cancelRequested = true;
    batch.scheduler.cancellationRequestedAt = Date.now();
    this.later(this.opts.timings.cancelDelayMs, () => {
      const child = batch.process;
      if (!child?.pid) {
        // No process: before submission, or a forced outcome, ends here. While `starting`
        // (mirroring) or just after an exit (final sync) the step in flight sees the flag.
        if (batch.state === 'not_started' || batch.forced) this.endIfCancelled(batch);
        return;
      }
      const pid = child.pid;
      try {
        process.kill(-pid, 'SIGTERM');
      } catch {
        return;
      }
      this.later(this.opts.timings.killGraceMs, () => {
        if (batch.process !== child) return;
        try {
          process.kill(-pid, 'SIGKILL');
        } catch {
          // already gone
        }
      });
    });
    return batch;
  }

  // ---- JSON views ----

  /** Livy's log layout (stdout, stderr, YARN diagnostics sections), its last `logTailLines` lines. */
  logLines(batch: Batch): string[] {
    if (batch.state === 'not_started') return [];
    const all = ['stdout: ', ...batch.stdout, '\nstderr: ', ...batch.stderr, '\nYARN Diagnostics: ', ...batch.diagnostics];
    return all.slice(-this.opts.logTailLines);
  }

  /**
   * A SparkBatchJob. Without `detailed` only plain Livy's fields (id, name, state, appId, appInfo,
   * log); with it the Synapse additions (result, livyInfo, schedulerInfo, pluginInfo, errorInfo, ...).
   */
  toJson(batch: Batch, detailed: boolean): Json {
    const r = batch.request;
    const plain: Json = {
      id: batch.id,
      ...(typeof r.name === 'string' ? { name: r.name } : {}),
      state: batch.state,
      appId: batch.appId ?? null,
      appInfo: batch.appInfo ?? null,
      log: this.logLines(batch),
    };
    if (!detailed) return plain;
    const t = batch.livyTimes;
    return {
      livyInfo: {
        notStartedAt: iso(t.not_started),
        startingAt: iso(t.starting),
        runningAt: iso(t.running),
        deadAt: iso(t.dead ?? t.error),
        successAt: iso(t.success),
        killedAt: iso(t.killed),
        recoveringAt: null,
        currentState: batch.state,
        jobCreationRequest: Object.fromEntries(Object.entries(r).filter(([k]) => SPARK_REQUEST_FIELDS.includes(k))),
      },
      ...plain,
      workspaceName: this.opts.workspaceName,
      sparkPoolName: batch.pool,
      submitterName: batch.submitter.name,
      submitterId: batch.submitter.id,
      ...(typeof r.artifactId === 'string' ? { artifactId: r.artifactId } : {}),
      jobType: 'SparkBatch',
      result: batch.result,
      schedulerInfo: {
        submittedAt: iso(batch.scheduler.submittedAt),
        scheduledAt: iso(batch.scheduler.scheduledAt),
        endedAt: iso(batch.scheduler.endedAt),
        cancellationRequestedAt: iso(batch.scheduler.cancellationRequestedAt),
        currentState: batch.scheduler.state,
      },
      pluginInfo: {
        preparationStartedAt: iso(batch.plugin.preparationStartedAt),
        resourceAcquisitionStartedAt: iso(batch.plugin.resourceAcquisitionStartedAt),
        submissionStartedAt: iso(batch.plugin.submissionStartedAt),
        monitoringStartedAt: iso(batch.plugin.monitoringStartedAt),
        cleanupStartedAt: iso(batch.plugin.cleanupStartedAt),
        currentState: batch.plugin.state,
      },
      errorInfo: batch.errors.map((e) => ({ ...e })),
      tags: (r.tags as Record<string, string> | undefined) ?? null,
    };
  }

  /**
   * SparkBatchJobCollection, oldest first. `size` defaults to and is capped at 20 (sparkJob.json);
   * `total` counts every batch of the pool, as Livy's `sessionManager.size()` does.
   */
  listJson(pool: string, from: number, size: number | undefined, detailed: boolean): Json {
    const batches = [...(this.pools.get(pool)?.values() ?? [])].sort((a, b) => a.id - b.id);
    const take = Math.min(size ?? MAX_LIST_SIZE, MAX_LIST_SIZE);
    return { from, total: batches.length, sessions: batches.slice(from, from + take).map((b) => this.toJson(b, detailed)) };
  }

  /** Kills every process the engine started and waits for in-flight work to settle. */
  async stop(): Promise<void> {
    this.stopped = true;
    for (const t of this.timers) clearTimeout(t);
    this.timers.clear();
    for (const batch of this.all()) {
      const pid = batch.process?.pid;
      if (!pid) continue;
      try {
        process.kill(-pid, 'SIGKILL');
      } catch {
        // already gone
      }
    }
    await Promise.allSettled([...this.flows]);
  }
}
