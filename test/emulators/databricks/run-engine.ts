// One-time runs: walks each submitted run and its task runs through the Jobs life cycle
// (QUEUED -> PENDING -> RUNNING -> TERMINATING -> TERMINATED) and runs each spark_python_task locally.
import { spawn, type ChildProcess } from 'node:child_process';
import fs from 'node:fs';
import path from 'node:path';
import { invalidParameter } from './api-error.js';
import type { EmulatorStorage } from './emulator-storage.js';

type Json = Record<string, unknown>;

export type LifeCycleState = 'QUEUED' | 'PENDING' | 'RUNNING' | 'TERMINATING' | 'TERMINATED' | 'SKIPPED' | 'INTERNAL_ERROR' | 'BLOCKED';
export type ResultState =
  | 'SUCCESS' | 'FAILED' | 'TIMEDOUT' | 'CANCELED' | 'UPSTREAM_FAILED' | 'UPSTREAM_CANCELED' | 'EXCLUDED'
  | 'MAXIMUM_CONCURRENT_RUNS_REACHED';
/** Outcomes a test can force on the next runs instead of executing their script. */
export type ForcedOutcome = 'FAILED' | 'INTERNAL_ERROR' | 'TIMEDOUT' | 'CANCELED';

export interface RunTimings {
  /** Time a run spends QUEUED when queueing is on and nothing holds it back. */
  readonly queuedMs: number;
  /** "Cluster start": time in PENDING before the script starts. */
  readonly pendingMs: number;
  /** Clean-up time in TERMINATING. */
  readonly terminatingMs: number;
  /** runs/cancel is asynchronous: delay before the cancellation takes effect. */
  readonly cancelDelayMs: number;
  /** SIGTERM, then SIGKILL after this long. */
  readonly killGraceMs: number;
  /** How long a run with a forced outcome stays RUNNING. */
  readonly forcedRunningMs: number;
}

export const DEFAULT_TIMINGS: RunTimings = {
  queuedMs: 40, pendingMs: 60, terminatingMs: 40, cancelDelayMs: 30, killGraceMs: 500, forcedRunningMs: 30,
};

interface Termination {
  code: string;
  type: 'SUCCESS' | 'INTERNAL_ERROR' | 'CLIENT_ERROR' | 'CLOUD_FAILURE';
  message: string;
}

/** A task run: the unit that has its own run_id, process and output. */
export interface TaskRun {
  readonly runId: number;
  readonly taskKey: string;
  readonly spec: Json;
  readonly parent: ParentRun;
  lifeCycle: LifeCycleState;
  result?: ResultState;
  stateMessage: string;
  userCancelledOrTimedout: boolean;
  termination?: Termination;
  startTime: number;
  runningAt: number;
  terminatingAt: number;
  endTime: number;
  clusterId: string;
  process?: ChildProcess;
  /** argv the emulator ran, after the path mapping (for tests). */
  command?: readonly string[];
  exitCode?: number | null;
  logs: string;
  logsTruncated: boolean;
  stderrTail: string;
  error?: string;
  errorTrace?: string;
  /** Set when the emulator is stopping the task's process; the exit then ends it this way. */
  stopReason?: 'cancel' | 'timeout';
  /** Every life_cycle_state the task run entered, in order (for tests; not on the wire). */
  readonly history: StateChange[];
}

export interface StateChange {
  readonly state: LifeCycleState;
  readonly at: number;
}

/** The run runs/submit returns; its tasks[] are the task runs. */
export interface ParentRun {
  readonly runId: number;
  readonly jobId: number;
  readonly runName: string;
  readonly submitted: Json;
  readonly apiVersion: '2.1' | '2.2';
  readonly queueEnabled: boolean;
  readonly timeoutSeconds: number;
  readonly idempotencyToken?: string;
  readonly submittedAt: number;
  readonly tasks: TaskRun[];
  lifeCycle: LifeCycleState;
  result?: ResultState;
  stateMessage: string;
  userCancelledOrTimedout: boolean;
  termination?: Termination;
  queueReason?: { code: string; message: string };
  pendingAt: number;
  endTime: number;
  forcedOutcome?: ForcedOutcome;
  cancelRequested: boolean;
  timedOut: boolean;
  /** Every life_cycle_state the run entered, in order (for tests; not on the wire). */
  readonly history: StateChange[];
}

export interface RunEngineOptions {
  readonly storage: EmulatorStorage;
  readonly python: string;
  readonly env: Readonly<Record<string, string>>;
  readonly timings: RunTimings;
  readonly maxLogBytes: number;
  /** Active (PENDING..TERMINATING) runs allowed at once; more wait in QUEUED. */
  readonly maxConcurrentRuns: number;
  readonly workspaceId: string;
  readonly baseUrl: () => string;
  readonly takeForcedOutcome: () => ForcedOutcome | undefined;
  /** Leave out the deprecated `state` object (a Jobs 2.2 service that has dropped it): `status` only. */
  readonly omitDeprecatedState?: boolean;
}

const TERMINAL: ReadonlySet<LifeCycleState> = new Set(['TERMINATED', 'SKIPPED', 'INTERNAL_ERROR']);
const ACTIVE: ReadonlySet<LifeCycleState> = new Set(['PENDING', 'RUNNING', 'TERMINATING']);

export const isTerminal = (state: LifeCycleState): boolean => TERMINAL.has(state);

const MULTI_TASK_OUTPUT =
  'Retrieving the output of runs with multiple tasks is not supported. Please retrieve the output of each individual task run instead.';

/** Path prefixes a cluster resolves through DBFS FUSE, UC volumes or workspace files. */
const MAPPED_PREFIX = /^(dbfs:\/|\/dbfs\/|\/Volumes\/|\/Workspace\/)/;

function v2State(state: LifeCycleState): string {
  return state === 'SKIPPED' || state === 'INTERNAL_ERROR' ? 'TERMINATED' : state;
}

export class RunEngine {
  private readonly parents = new Map<number, ParentRun>();
  private readonly taskIndex = new Map<number, TaskRun>();
  private readonly byToken = new Map<string, number>();
  private readonly timers = new Set<NodeJS.Timeout>();
  private readonly exits = new Set<Promise<void>>();
  private nextId = 700_000_000_000 + Math.floor(Math.random() * 1e9);
  private started = 0;
  private stopped = false;

  constructor(private readonly opts: RunEngineOptions) {}

  /** Number of Python processes the emulator has launched: idempotency tests count these. */
  processesStarted(): number {
    return this.started;
  }

  list(): readonly ParentRun[] {
    return [...this.parents.values()];
  }

  get(runId: number): ParentRun | TaskRun | undefined {
    return this.parents.get(runId) ?? this.taskIndex.get(runId);
  }

  /** The one place a life-cycle state changes, so the history stays complete. */
  private enter(unit: ParentRun | TaskRun, state: LifeCycleState): void {
    if (unit.lifeCycle === state) return;
    unit.lifeCycle = state;
    unit.history.push({ state, at: Date.now() });
  }

  private later(ms: number, fn: () => void): void {
    if (this.stopped) return;
    const t = setTimeout(() => {
      this.timers.delete(t);
      if (!this.stopped) fn();
    }, ms);
    this.timers.add(t);
  }

  // ---- submit ----

  /** Creates the run, or returns the existing one for a known idempotency_token (README §1.2). */
  submit(body: Json, apiVersion: '2.1' | '2.2'): { runId: number; created: boolean } {
    const token = typeof body.idempotency_token === 'string' ? body.idempotency_token : undefined;
    const known = token !== undefined ? this.byToken.get(token) : undefined;
    if (known !== undefined) return { runId: known, created: false };

    const queue = body.queue as { enabled?: boolean } | undefined;
    // Jobs 2.2 queues by default, 2.1 does not (README §1.1).
    const queueEnabled = queue?.enabled ?? apiVersion === '2.2';
    const initial: LifeCycleState = queueEnabled ? 'QUEUED' : 'PENDING';
    const parent: ParentRun = {
      runId: this.nextId++,
      jobId: this.nextId++,
      runName: typeof body.run_name === 'string' ? body.run_name : 'Untitled',
      submitted: body,
      apiVersion,
      queueEnabled,
      timeoutSeconds: typeof body.timeout_seconds === 'number' ? body.timeout_seconds : 0,
      ...(token !== undefined ? { idempotencyToken: token } : {}),
      submittedAt: Date.now(),
      tasks: [],
      lifeCycle: initial,
      stateMessage: '',
      userCancelledOrTimedout: false,
      pendingAt: 0,
      endTime: 0,
      cancelRequested: false,
      timedOut: false,
      history: [{ state: initial, at: Date.now() }],
    };
    const forced = this.opts.takeForcedOutcome();
    if (forced) parent.forcedOutcome = forced;
    for (const spec of body.tasks as Json[]) {
      const task: TaskRun = {
        runId: this.nextId++,
        taskKey: String(spec.task_key),
        spec,
        parent,
        lifeCycle: initial,
        stateMessage: '',
        userCancelledOrTimedout: false,
        startTime: 0,
        runningAt: 0,
        terminatingAt: 0,
        endTime: 0,
        clusterId: `0101-000000-emu${String(this.nextId % 100_000).padStart(5, '0')}`,
        logs: '',
        logsTruncated: false,
        stderrTail: '',
        history: [{ state: initial, at: Date.now() }],
      };
      parent.tasks.push(task);
      this.taskIndex.set(task.runId, task);
    }
    this.parents.set(parent.runId, parent);
    if (token !== undefined) this.byToken.set(token, parent.runId);

    if (parent.queueEnabled) {
      parent.stateMessage = 'Waiting in the queue';
      this.later(this.opts.timings.queuedMs, () => this.leaveQueue(parent));
    } else {
      this.leaveQueue(parent);
    }
    return { runId: parent.runId, created: true };
  }

  private activeRunsBesides(run: ParentRun): number {
    return [...this.parents.values()].filter((p) => p !== run && ACTIVE.has(p.lifeCycle)).length;
  }

  private leaveQueue(parent: ParentRun): void {
    if (parent.cancelRequested || isTerminal(parent.lifeCycle)) return;
    if (this.activeRunsBesides(parent) >= this.opts.maxConcurrentRuns) {
      if (!parent.queueEnabled) {
        // Without queueing a run over the limit is skipped rather than held.
        for (const task of parent.tasks) {
          this.finishTask(task, 'SKIPPED', 'MAXIMUM_CONCURRENT_RUNS_REACHED', 'Skipped: the workspace run limit is reached',
            { code: 'WORKSPACE_RUN_LIMIT_EXCEEDED', type: 'CLIENT_ERROR', message: 'The workspace has reached the maximum number of concurrent active runs.' });
        }
        return;
      }
      parent.queueReason = { code: 'ACTIVE_RUNS_LIMIT_REACHED', message: 'The workspace has reached the maximum number of concurrent active runs.' };
      parent.stateMessage = 'Queued: the active runs limit is reached';
      this.later(this.opts.timings.queuedMs, () => this.leaveQueue(parent));
      return;
    }
    delete parent.queueReason;
    this.enter(parent, 'PENDING');
    parent.pendingAt = Date.now();
    parent.stateMessage = 'Waiting for cluster';
    if (parent.timeoutSeconds > 0) this.later(parent.timeoutSeconds * 1000, () => this.timeOutRun(parent));
    for (const task of parent.tasks) if (this.dependenciesOf(task).length > 0) this.enter(task, 'BLOCKED');
    this.schedule(parent);
  }

  private dependenciesOf(task: TaskRun): string[] {
    const deps = task.spec.depends_on;
    return Array.isArray(deps) ? deps.map((d) => String((d as Json).task_key)) : [];
  }

  /** Starts every task whose dependencies are settled; settles the run once all tasks are. */
  private schedule(parent: ParentRun): void {
    // Tasks start only once the run has left the queue.
    if (parent.pendingAt === 0) {
      this.settleParent(parent);
      return;
    }
    for (const task of parent.tasks) {
      if (task.startTime !== 0 || isTerminal(task.lifeCycle)) continue;
      const upstream = this.dependenciesOf(task).map((k) => parent.tasks.find((t) => t.taskKey === k));
      if (!upstream.every((t) => t && isTerminal(t.lifeCycle))) continue;
      if (parent.cancelRequested || parent.timedOut) {
        this.endStopped(task, parent.cancelRequested ? 'cancel' : 'timeout');
        continue;
      }
      const skip = this.runIfBlocks(task, upstream as TaskRun[]);
      if (skip) {
        const why = skip === 'EXCLUDED' ? `The run_if condition ${String(task.spec.run_if)} was not met.` : 'An upstream task failed.';
        this.finishTask(task, 'SKIPPED', skip, why, { code: 'SKIPPED', type: 'SUCCESS', message: why });
        continue;
      }
      this.startTask(task);
    }
    this.settleParent(parent);
  }

  private runIfBlocks(task: TaskRun, upstream: readonly TaskRun[]): ResultState | undefined {
    if (upstream.length === 0) return undefined;
    const ok = upstream.filter((t) => t.result === 'SUCCESS').length;
    const failed = upstream.length - ok;
    const canceled = upstream.some((t) => t.result === 'CANCELED' || t.result === 'UPSTREAM_CANCELED');
    const runIf = typeof task.spec.run_if === 'string' ? task.spec.run_if : 'ALL_SUCCESS';
    const pass = {
      ALL_SUCCESS: failed === 0,
      ALL_DONE: true,
      NONE_FAILED: failed === 0,
      AT_LEAST_ONE_SUCCESS: ok > 0,
      ALL_FAILED: ok === 0,
      AT_LEAST_ONE_FAILED: failed > 0,
    }[runIf] ?? failed === 0;
    if (pass) return undefined;
    if (runIf !== 'ALL_SUCCESS') return 'EXCLUDED';
    return canceled ? 'UPSTREAM_CANCELED' : 'UPSTREAM_FAILED';
  }

  private startTask(task: TaskRun): void {
    const parent = task.parent;
    this.enter(task, 'PENDING');
    task.startTime = Date.now();
    task.stateMessage = 'Waiting for cluster';
    const taskTimeout = typeof task.spec.timeout_seconds === 'number' ? task.spec.timeout_seconds : 0;
    if (taskTimeout > 0) this.later(taskTimeout * 1000, () => this.timeOutTask(task));
    this.later(this.opts.timings.pendingMs, () => {
      if (task.lifeCycle !== 'PENDING') return;
      this.enter(task, 'RUNNING');
      task.runningAt = Date.now();
      task.stateMessage = 'In run';
      this.enter(parent, 'RUNNING');
      parent.stateMessage = 'In run';
      if (parent.forcedOutcome) {
        this.later(this.opts.timings.forcedRunningMs, () => this.applyForcedOutcome(task, parent.forcedOutcome as ForcedOutcome));
      } else {
        this.execute(task);
      }
    });
  }

  // ---- execution ----

  /**
   * Emulator-only mapping: a cluster reads `dbfs:/x` (or FUSE `/dbfs/x`), `/Volumes/...` and
   * `/Workspace/...`; locally those live under the emulator's storage root. Whole parameters
   * and the value of `--name=value` parameters are rewritten; nothing inside files is.
   */
  rewriteParameter(parameter: string): string {
    const eq = /^(--?[^=\s]+=)(.*)$/.exec(parameter);
    if (eq && MAPPED_PREFIX.test(eq[2] as string)) {
      return `${eq[1]}${this.opts.storage.localPathFor(eq[2] as string) ?? eq[2]}`;
    }
    return MAPPED_PREFIX.test(parameter) ? (this.opts.storage.localPathFor(parameter) ?? parameter) : parameter;
  }

  private pythonFileFor(task: TaskRun): { local: string } | { failure: Termination } {
    const python = task.spec.spark_python_task as Json | undefined;
    if (!python) {
      const kind = Object.keys(task.spec).find((k) => k.endsWith('_task')) ?? 'unknown';
      return { failure: { code: 'INVALID_RUN_CONFIGURATION', type: 'CLIENT_ERROR', message: `The emulator only executes spark_python_task, not ${kind}.` } };
    }
    const file = String(python.python_file);
    if (python.source === 'GIT' || (python.source === undefined && task.parent.submitted.git_source)) {
      return { failure: { code: 'REPOSITORY_CHECKOUT_FAILED', type: 'CLIENT_ERROR', message: 'The emulator cannot check out git_source.' } };
    }
    const local = this.opts.storage.localPathFor(file);
    if (!local) {
      return { failure: { code: 'RESOURCE_NOT_FOUND', type: 'CLIENT_ERROR', message: `The emulator cannot read ${file}: only dbfs:/, /Volumes/ and workspace paths are stored locally.` } };
    }
    if (!file.startsWith('dbfs:/') && !file.startsWith('/Volumes/') && !file.startsWith('/dbfs/')) {
      const meta = this.opts.storage.describeWorkspaceObject(file);
      if (meta?.objectType === 'NOTEBOOK') {
        return { failure: { code: 'INVALID_RUN_CONFIGURATION', type: 'CLIENT_ERROR', message: `${file} is a notebook, not a file; import it with format AUTO or RAW.` } };
      }
    }
    if (!fs.existsSync(local) || fs.statSync(local).isDirectory()) {
      return { failure: { code: 'RESOURCE_NOT_FOUND', type: 'CLIENT_ERROR', message: `Python file ${file} does not exist.` } };
    }
    return { local };
  }

  private appendLog(task: TaskRun, chunk: string): void {
    task.logs += chunk;
    const max = this.opts.maxLogBytes;
    // The service keeps the last 5 MB of stdout/stderr (README §1.5).
    if (Buffer.byteLength(task.logs) > max) {
      task.logs = Buffer.from(task.logs).subarray(-max).toString('utf8');
      task.logsTruncated = true;
    }
  }

  private execute(task: TaskRun): void {
    const target = this.pythonFileFor(task);
    if ('failure' in target) {
      this.finishTask(task, 'TERMINATED', 'FAILED', target.failure.message, target.failure, target.failure.message);
      return;
    }
    const python = task.spec.spark_python_task as Json;
    const params = Array.isArray(python.parameters) ? python.parameters.map(String) : [];
    const args = [target.local, ...params.map((p) => this.rewriteParameter(p))];
    const cwd = path.join(this.opts.storage.root, '.runs', String(task.runId));
    fs.mkdirSync(cwd, { recursive: true });
    task.command = [this.opts.python, ...args];
    const storage = this.opts.storage;
    let child: ChildProcess;
    try {
      child = spawn(this.opts.python, args, {
        cwd,
        // Own process group, so a cancel or timeout also stops the script's children.
        detached: true,
        stdio: ['ignore', 'pipe', 'pipe'],
        env: {
          ...process.env,
          ...this.opts.env,
          PYTHONUNBUFFERED: '1',
          DATABRICKS_EMULATOR_DBFS_ROOT: storage.dbfsRoot,
          DATABRICKS_EMULATOR_VOLUMES_ROOT: storage.volumesRoot,
          DATABRICKS_EMULATOR_WORKSPACE_ROOT: storage.workspaceRoot,
        },
      });
    } catch (err) {
      this.internalError(task, `Could not start ${this.opts.python}: ${(err as Error).message}`);
      return;
    }
    // A missing interpreter fails asynchronously ('error' below) and has no pid: not a launch.
    if (child.pid !== undefined) this.started++;
    task.process = child;
    child.stdout?.setEncoding('utf8').on('data', (d: string) => this.appendLog(task, d));
    child.stderr?.setEncoding('utf8').on('data', (d: string) => {
      this.appendLog(task, d);
      task.stderrTail = (task.stderrTail + d).slice(-64 * 1024);
    });
    const exited = new Promise<void>((resolve) => {
      child.once('error', (err) => {
        this.internalError(task, `Could not start ${this.opts.python}: ${err.message}`);
        resolve();
      });
      child.once('close', (code, signal) => {
        task.exitCode = code;
        delete task.process;
        this.onExit(task, code, signal);
        resolve();
      });
    });
    this.exits.add(exited);
    void exited.then(() => this.exits.delete(exited));
  }

  private onExit(task: TaskRun, code: number | null, signal: NodeJS.Signals | null): void {
    if (isTerminal(task.lifeCycle) || task.lifeCycle === 'TERMINATING') return;
    if (task.stopReason) {
      this.endStopped(task, task.stopReason);
      return;
    }
    if (code === 0) {
      this.finishTask(task, 'TERMINATED', 'SUCCESS', '', { code: 'SUCCESS', type: 'SUCCESS', message: '' });
      return;
    }
    const lines = task.stderrTail.split('\n').map((l) => l.trim()).filter(Boolean);
    const error = lines.at(-1) ?? (signal ? `Python process killed by ${signal}` : `Python process exited with code ${code}`);
    task.error = error;
    task.errorTrace = task.stderrTail;
    this.finishTask(task, 'TERMINATED', 'FAILED', `Workload failed, see run output for details`, { code: 'RUN_EXECUTION_ERROR', type: 'CLIENT_ERROR', message: 'Workload failed, see run output for details' });
  }

  private internalError(task: TaskRun, message: string): void {
    if (isTerminal(task.lifeCycle)) return;
    delete task.process;
    this.finishTask(task, 'INTERNAL_ERROR', 'FAILED', message, { code: 'INTERNAL_ERROR', type: 'INTERNAL_ERROR', message }, message);
  }

  private applyForcedOutcome(task: TaskRun, outcome: ForcedOutcome): void {
    if (isTerminal(task.lifeCycle) || task.lifeCycle === 'TERMINATING') return;
    const note = '(emulator fault injection)';
    switch (outcome) {
      case 'FAILED':
        this.finishTask(task, 'TERMINATED', 'FAILED', `Workload failed ${note}`, { code: 'RUN_EXECUTION_ERROR', type: 'CLIENT_ERROR', message: `Workload failed ${note}` }, `RuntimeError: forced failure ${note}`);
        break;
      case 'INTERNAL_ERROR':
        this.finishTask(task, 'INTERNAL_ERROR', 'FAILED', `Run encountered an internal error ${note}`, { code: 'INTERNAL_ERROR', type: 'INTERNAL_ERROR', message: `Internal error ${note}` }, `Internal error ${note}`);
        break;
      case 'TIMEDOUT':
        task.parent.timedOut = true;
        this.finishTask(task, 'TERMINATED', 'TIMEDOUT', `Run timed out ${note}`, { code: 'CANCELED', type: 'CLIENT_ERROR', message: `The run exceeded its timeout ${note}` }, undefined, true);
        break;
      case 'CANCELED':
        this.finishTask(task, 'TERMINATED', 'CANCELED', `Run cancelled ${note}`, { code: 'USER_CANCELED', type: 'SUCCESS', message: `The run was cancelled ${note}` }, undefined, true);
        break;
    }
  }

  /** Moves a task to its end state, through TERMINATING when it had started (a cluster to clean up). */
  private finishTask(
    task: TaskRun,
    end: 'TERMINATED' | 'SKIPPED' | 'INTERNAL_ERROR',
    result: ResultState,
    message: string,
    termination: Termination,
    error?: string,
    userCancelledOrTimedout = false,
  ): void {
    if (isTerminal(task.lifeCycle)) return;
    if (error !== undefined) {
      task.error ??= error;
      task.errorTrace ??= error;
    }
    task.userCancelledOrTimedout = userCancelledOrTimedout;
    task.termination = termination;
    const started = task.startTime !== 0;
    const settle = (): void => {
      this.enter(task, end);
      task.result = result;
      task.stateMessage = message;
      task.endTime = Date.now();
      this.schedule(task.parent);
    };
    if (end === 'TERMINATED' && started) {
      this.enter(task, 'TERMINATING');
      task.terminatingAt = Date.now();
      task.stateMessage = 'Cleaning up';
      this.settleParent(task.parent);
      this.later(this.opts.timings.terminatingMs, settle);
    } else {
      settle();
    }
  }

  private settleParent(parent: ParentRun): void {
    if (isTerminal(parent.lifeCycle)) return;
    const tasks = parent.tasks;
    if (tasks.some((t) => t.lifeCycle === 'TERMINATING') && tasks.every((t) => isTerminal(t.lifeCycle) || t.lifeCycle === 'TERMINATING')) {
      this.enter(parent, 'TERMINATING');
      parent.stateMessage = 'Cleaning up';
      return;
    }
    if (!tasks.every((t) => isTerminal(t.lifeCycle))) return;

    parent.endTime = Date.now();
    const internal = tasks.find((t) => t.lifeCycle === 'INTERNAL_ERROR');
    const failed = tasks.find((t) => t.result === 'FAILED');
    if (parent.cancelRequested || (tasks.every((t) => t.result === 'CANCELED'))) {
      this.enter(parent, 'TERMINATED');
      parent.result = 'CANCELED';
      parent.userCancelledOrTimedout = true;
      parent.stateMessage = 'Run cancelled.';
      parent.termination = { code: 'USER_CANCELED', type: 'SUCCESS', message: 'The run was cancelled by a user.' };
    } else if (parent.timedOut || tasks.some((t) => t.result === 'TIMEDOUT')) {
      this.enter(parent, 'TERMINATED');
      parent.result = 'TIMEDOUT';
      parent.userCancelledOrTimedout = true;
      parent.stateMessage = 'Run timed out.';
      parent.termination = { code: 'CANCELED', type: 'CLIENT_ERROR', message: 'The run exceeded its timeout.' };
    } else if (internal) {
      this.enter(parent, 'INTERNAL_ERROR');
      parent.result = 'FAILED';
      parent.stateMessage = internal.stateMessage;
      parent.termination = internal.termination ?? { code: 'INTERNAL_ERROR', type: 'INTERNAL_ERROR', message: internal.stateMessage };
    } else if (failed || tasks.some((t) => t.result !== 'SUCCESS' && t.result !== 'EXCLUDED')) {
      const culprit = failed ?? tasks.find((t) => t.result !== 'SUCCESS');
      this.enter(parent, tasks.every((t) => t.lifeCycle === 'SKIPPED') ? 'SKIPPED' : 'TERMINATED');
      parent.result = culprit?.result === 'MAXIMUM_CONCURRENT_RUNS_REACHED' ? 'MAXIMUM_CONCURRENT_RUNS_REACHED' : 'FAILED';
      parent.stateMessage = culprit?.stateMessage ?? 'A task failed.';
      parent.termination = culprit?.termination ?? { code: 'RUN_EXECUTION_ERROR', type: 'CLIENT_ERROR', message: parent.stateMessage };
    } else {
      this.enter(parent, 'TERMINATED');
      parent.result = 'SUCCESS';
      parent.stateMessage = '';
      parent.termination = { code: 'SUCCESS', type: 'SUCCESS', message: '' };
    }
    // A finished run frees a slot for queued ones.
    for (const other of this.parents.values()) {
      if (other.lifeCycle === 'QUEUED' && other.queueReason) this.later(0, () => this.leaveQueue(other));
    }
  }

  // ---- cancel and timeouts ----

  private endStopped(task: TaskRun, reason: 'cancel' | 'timeout'): void {
    if (reason === 'cancel') {
      this.finishTask(task, 'TERMINATED', 'CANCELED', 'Run cancelled.',
        { code: 'USER_CANCELED', type: 'SUCCESS', message: 'The run was cancelled by a user.' }, undefined, true);
      return;
    }
    const own = typeof task.spec.timeout_seconds === 'number' && task.spec.timeout_seconds > 0;
    const seconds = own ? Number(task.spec.timeout_seconds) : task.parent.timeoutSeconds;
    // No documented termination code names timeouts; CANCELED is "canceled by the platform,
    // for example if the maximum run duration was exceeded" (SDK TerminationCode docs).
    this.finishTask(task, 'TERMINATED', 'TIMEDOUT', `${own ? 'Task' : 'Run'} timed out after ${seconds} seconds.`,
      { code: 'CANCELED', type: 'CLIENT_ERROR', message: `The ${own ? 'task' : 'run'} exceeded its timeout_seconds (${seconds}).` },
      `Timed out after ${seconds} seconds`, true);
  }

  /** Stops a task: a running script is signalled and ends the task when it exits. */
  private stopTask(task: TaskRun, reason: 'cancel' | 'timeout'): void {
    if (isTerminal(task.lifeCycle) || task.lifeCycle === 'TERMINATING' || task.stopReason) return;
    const child = task.process;
    if (!child?.pid) {
      this.endStopped(task, reason);
      return;
    }
    task.stopReason = reason;
    task.stateMessage = reason === 'cancel' ? 'Cancelling' : 'Timing out';
    const pid = child.pid;
    try {
      process.kill(-pid, 'SIGTERM');
    } catch {
      return;
    }
    this.later(this.opts.timings.killGraceMs, () => {
      if (task.process === child) {
        try {
          process.kill(-pid, 'SIGKILL');
        } catch {
          // already gone
        }
      }
    });
  }

  /** runs/cancel: answers at once; the run ends TERMINATED/CANCELED shortly after (README §1.6). */
  cancel(runId: number): void {
    const found = this.get(runId);
    if (!found) throw invalidParameter(`Run ${runId} does not exist`);
    // A task run id cancels the run it belongs to (the emulator does not cancel single tasks).
    const parent = 'parent' in found ? found.parent : found;
    if (isTerminal(parent.lifeCycle) || parent.cancelRequested) return;
    parent.cancelRequested = true;
    this.later(this.opts.timings.cancelDelayMs, () => {
      for (const task of parent.tasks) this.stopTask(task, 'cancel');
      this.settleParent(parent);
    });
  }

  private timeOutTask(task: TaskRun): void {
    this.stopTask(task, 'timeout');
  }

  private timeOutRun(parent: ParentRun): void {
    if (isTerminal(parent.lifeCycle)) return;
    parent.timedOut = true;
    for (const task of parent.tasks) this.stopTask(task, 'timeout');
  }

  // ---- JSON views (the wire shapes of runs/get, runs/list and runs/get-output) ----

  private pageUrl(jobId: number, runId: number): string {
    return `${this.opts.baseUrl()}/?o=${this.opts.workspaceId}#job/${jobId}/run/${runId}`;
  }

  private stateJson(unit: { lifeCycle: LifeCycleState; result?: ResultState; stateMessage: string; userCancelledOrTimedout: boolean }, queueReason?: string): Json {
    return {
      life_cycle_state: unit.lifeCycle,
      ...(unit.result && isTerminal(unit.lifeCycle) ? { result_state: unit.result } : {}),
      state_message: unit.stateMessage,
      user_cancelled_or_timedout: unit.userCancelledOrTimedout,
      ...(queueReason ? { queue_reason: queueReason } : {}),
    };
  }

  private statusJson(lifeCycle: LifeCycleState, termination?: Termination, queue?: { code: string; message: string }): Json {
    const state = v2State(lifeCycle);
    return {
      state,
      ...(queue && state === 'QUEUED' ? { queue_details: queue } : {}),
      ...(termination && (state === 'TERMINATING' || state === 'TERMINATED') ? { termination_details: termination } : {}),
    };
  }

  taskJson(task: TaskRun): Json {
    const { spec } = task;
    const copied = Object.fromEntries(Object.entries(spec).filter(([k]) =>
      ['description', 'depends_on', 'existing_cluster_id', 'new_cluster', 'libraries', 'spark_python_task',
        'notebook_task', 'spark_jar_task', 'python_wheel_task', 'environment_key', 'run_if', 'timeout_seconds'].includes(k)));
    const now = Date.now();
    const exec = task.runningAt ? (task.terminatingAt || task.endTime || now) - task.runningAt : 0;
    return {
      run_id: task.runId,
      task_key: task.taskKey,
      ...copied,
      ...(this.opts.omitDeprecatedState ? {} : { state: this.stateJson(task) }),
      status: this.statusJson(task.lifeCycle, task.termination),
      run_page_url: this.pageUrl(task.parent.jobId, task.runId),
      start_time: task.startTime,
      setup_duration: task.runningAt ? task.runningAt - task.startTime : 0,
      execution_duration: Math.max(0, exec),
      cleanup_duration: task.terminatingAt && task.endTime ? task.endTime - task.terminatingAt : 0,
      end_time: task.endTime,
      queue_duration: task.parent.pendingAt ? task.parent.pendingAt - task.parent.submittedAt : 0,
      attempt_number: 0,
      ...(task.startTime ? { cluster_instance: { cluster_id: task.clusterId, ...(task.runningAt ? { spark_context_id: String(task.runId * 7) } : {}) } } : {}),
    };
  }

  parentJson(parent: ParentRun, includeTasks: boolean): Json {
    const end = parent.endTime || Date.now();
    return {
      job_id: parent.jobId,
      run_id: parent.runId,
      number_in_job: parent.runId,
      original_attempt_run_id: parent.runId,
      creator_user_name: 'emulator@manymodels.invalid',
      run_name: parent.runName,
      run_type: 'SUBMIT_RUN',
      trigger: 'ONE_TIME',
      run_page_url: this.pageUrl(parent.jobId, parent.runId),
      ...(this.opts.omitDeprecatedState ? {} : { state: this.stateJson(parent, parent.queueReason?.message) }),
      status: this.statusJson(parent.lifeCycle, parent.termination, parent.queueReason),
      start_time: parent.submittedAt,
      end_time: parent.endTime,
      // Multi-task runs report the total in run_duration and 0 in the three phases (2.1 document).
      setup_duration: 0,
      execution_duration: 0,
      cleanup_duration: 0,
      run_duration: end - parent.submittedAt,
      queue_duration: (parent.pendingAt || (parent.lifeCycle === 'QUEUED' ? Date.now() : parent.submittedAt)) - parent.submittedAt,
      attempt_number: 0,
      ...(includeTasks ? { tasks: parent.tasks.map((t) => this.taskJson(t)) } : {}),
    };
  }

  /** runs/get: a task run id answers with that task run's own view. */
  getJson(runId: number): Json {
    const parent = this.parents.get(runId);
    if (parent) return this.parentJson(parent, true);
    const task = this.taskIndex.get(runId);
    if (task) return this.taskRunAsRun(task);
    throw invalidParameter(`Run ${runId} does not exist`);
  }

  private taskRunAsRun(task: TaskRun): Json {
    const { run_id: _run, ...rest } = this.taskJson(task);
    void _run;
    return {
      job_id: task.parent.jobId,
      run_id: task.runId,
      job_run_id: task.parent.runId,
      run_name: task.parent.runName,
      run_type: 'SUBMIT_RUN',
      ...rest,
    };
  }

  getOutputJson(runId: number): Json {
    if (this.parents.has(runId)) throw invalidParameter(MULTI_TASK_OUTPUT);
    const task = this.taskIndex.get(runId);
    if (!task) throw invalidParameter(`Run ${runId} does not exist`);
    return {
      metadata: this.taskRunAsRun(task),
      ...(task.logs || task.runningAt ? { logs: task.logs, logs_truncated: task.logsTruncated } : {}),
      ...(task.error !== undefined ? { error: task.error } : {}),
      ...(task.errorTrace !== undefined ? { error_trace: task.errorTrace } : {}),
    };
  }

  listJson(query: Readonly<Record<string, string>>, apiVersion: '2.1' | '2.2'): Json {
    const flag = (name: string): boolean => query[name] === 'true';
    if (flag('active_only') && flag('completed_only')) {
      throw invalidParameter('active_only and completed_only cannot both be true');
    }
    let runs = [...this.parents.values()].sort((a, b) => b.submittedAt - a.submittedAt || b.runId - a.runId);
    if (flag('active_only')) runs = runs.filter((r) => !isTerminal(r.lifeCycle));
    if (flag('completed_only')) runs = runs.filter((r) => isTerminal(r.lifeCycle));
    if (query.job_id) runs = runs.filter((r) => String(r.jobId) === query.job_id);
    if (query.run_type && query.run_type !== 'SUBMIT_RUN') runs = [];
    if (query.start_time_from) runs = runs.filter((r) => r.submittedAt >= Number(query.start_time_from));
    if (query.start_time_to) runs = runs.filter((r) => r.submittedAt <= Number(query.start_time_to));
    // 2.1 document: default 25; 2.2 reference: default 20 (README §1.7). 0 means the maximum.
    const requested = query.limit === undefined ? (apiVersion === '2.1' ? 25 : 20) : Number(query.limit);
    const limit = requested === 0 ? 25 : requested;
    let offset = query.offset ? Number(query.offset) : 0;
    if (query.page_token) {
      const decoded = Number.parseInt(Buffer.from(query.page_token, 'base64url').toString('utf8'), 10);
      if (!Number.isInteger(decoded) || decoded < 0) throw invalidParameter(`Invalid page_token: ${query.page_token}`);
      offset = decoded;
    }
    const page = runs.slice(offset, offset + limit);
    const hasMore = offset + limit < runs.length;
    return {
      runs: page.map((r) => this.parentJson(r, flag('expand_tasks'))),
      has_more: hasMore,
      ...(hasMore ? { next_page_token: Buffer.from(String(offset + limit)).toString('base64url') } : {}),
      ...(offset > 0 ? { prev_page_token: Buffer.from(String(Math.max(0, offset - limit))).toString('base64url') } : {}),
    };
  }

  /** Kills every process the engine started and waits for them to exit. */
  async stop(): Promise<void> {
    this.stopped = true;
    for (const t of this.timers) clearTimeout(t);
    this.timers.clear();
    for (const task of this.taskIndex.values()) {
      const pid = task.process?.pid;
      if (pid) {
        try {
          process.kill(-pid, 'SIGKILL');
        } catch {
          // already gone
        }
      }
    }
    await Promise.all([...this.exits]);
  }
}
