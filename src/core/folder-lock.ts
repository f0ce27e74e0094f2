// One writer at a time per folder (a local registry): a lock file created atomically
// (O_EXCL) holding who holds it — run id, command, pid, process start time, host, since when.
// A lock whose holder is dead (no such pid, or the pid now belongs to a later process) is
// taken over; a live holder is waited for, up to a bound, then refused naming it. Reentrant
// within one process, so a promotion holding the production registry can register into it.
import { closeSync, openSync, readFileSync, statSync, unlinkSync, writeSync } from 'node:fs';
import path from 'node:path';
import { InterruptedError, WorkFailedError } from './errors.js';
import { currentProcess, processState, type ProcessIdentity } from './process-identity.js';

export const LOCK_FILE = '.lock';

export interface LockOwner {
  /** The run taking the lock, when there is one yet. */
  runId: string | null;
  /** What for, in words: "register the models of run …", "promote daily". */
  purpose: string;
}

export interface LockHolder extends LockOwner, ProcessIdentity {
  acquiredAt: string;
}

export interface LockOptions {
  /** How long to wait for a live holder before refusing (MM523); 0 refuses at once. */
  waitSeconds: number;
  /** Told once, when the lock is found held and waiting starts. */
  onWait?: (holder: LockHolder) => void;
  signal?: AbortSignal;
}

export interface HeldLock {
  file: string;
  release(): void;
}

/** Locks this process holds, by file, with how many times (reentrant). */
const held = new Map<string, number>();
const TAKEOVER_STALE_MS = 30_000;

function readHolder(file: string): LockHolder | undefined {
  try {
    const data = JSON.parse(readFileSync(file, 'utf8')) as LockHolder;
    return typeof data?.pid === 'number' ? data : undefined;
  } catch {
    return undefined;
  }
}

/** Creates `file` with `text` only if it does not exist; false when it does. */
function createExclusive(file: string, text: string): boolean {
  let fd: number;
  try {
    fd = openSync(file, 'wx', 0o644);
  } catch (err) {
    if ((err as NodeJS.ErrnoException).code === 'EEXIST') return false;
    throw err;
  }
  try {
    writeSync(fd, text);
  } finally {
    closeSync(fd);
  }
  return true;
}

function unlinkQuietly(file: string): void {
  try {
    unlinkSync(file);
  } catch {
    // Gone already.
  }
}

/**
 * Removes a lock whose holder is dead. Done under a second, short-lived O_EXCL file, so two
 * processes finding the same stale lock cannot both remove it and then each take a "fresh"
 * one: the second re-reads the lock under that file and finds the first one's live holder.
 */
function removeIfStale(file: string): boolean {
  const takeover = `${file}.takeover`;
  if (!createExclusive(takeover, String(process.pid))) {
    try {
      if (Date.now() - statSync(takeover).mtimeMs > TAKEOVER_STALE_MS) unlinkQuietly(takeover);
    } catch {
      // Removed meanwhile.
    }
    return false;
  }
  try {
    const holder = readHolder(file);
    if (holder && processState(holder) !== 'dead') return false;
    // An unreadable lock file is one being written this instant, or one a crash cut short
    // while writing it: stale only once it has stayed unreadable for a while.
    if (!holder && !olderThan(file, 5_000)) return false;
    unlinkQuietly(file);
    return true;
  } finally {
    unlinkQuietly(takeover);
  }
}

function olderThan(file: string, ms: number): boolean {
  try {
    return Date.now() - statSync(file).mtimeMs > ms;
  } catch {
    return false;
  }
}

export function describeHolder(h: LockHolder): string {
  return `${h.runId ? `run ${h.runId}` : 'a manymodels command'} (pid ${h.pid}${h.host ? ` on ${h.host}` : ''}, since ${h.acquiredAt}: ${h.purpose})`;
}

export async function acquireFolderLock(folder: string, owner: LockOwner, options: LockOptions): Promise<HeldLock> {
  const file = path.join(folder, LOCK_FILE);
  const release = (): void => {
    const n = (held.get(file) ?? 1) - 1;
    if (n > 0) {
      held.set(file, n);
      return;
    }
    held.delete(file);
    process.removeListener('exit', onExit);
    const holder = readHolder(file);
    if (holder?.pid === process.pid) unlinkQuietly(file);
  };
  const onExit = (): void => {
    const holder = readHolder(file);
    if (holder?.pid === process.pid) unlinkQuietly(file);
  };
  if (held.has(file)) {
    held.set(file, held.get(file)! + 1);
    return { file, release };
  }
  const me: LockHolder = { ...owner, ...currentProcess(), acquiredAt: new Date().toISOString() };
  const deadline = Date.now() + options.waitSeconds * 1000;
  let told = false;
  for (;;) {
    me.acquiredAt = new Date().toISOString();
    if (createExclusive(file, `${JSON.stringify(me)}\n`)) {
      held.set(file, 1);
      // A normal exit (and process.exit) releases; a kill -9 leaves a lock the next one takes over.
      process.once('exit', onExit);
      return { file, release };
    }
    if (removeIfStale(file)) continue;
    const holder = readHolder(file);
    if (holder && Date.now() >= deadline) {
      throw new WorkFailedError(`${folder} is in use by ${describeHolder(holder)}`, {
        code: 'MM523',
        nextSteps: [
          options.waitSeconds > 0 ? `Waited ${options.waitSeconds} s for it. Run again when it is done, or wait longer: MANYMODELS_LOCK_WAIT=600` : 'Run again when it is done, or let it wait: MANYMODELS_LOCK_WAIT=600',
          `If no such process is running, remove the lock file: ${file}`,
        ],
      });
    }
    if (holder && !told) {
      told = true;
      options.onWait?.(holder);
    }
    if (options.signal?.aborted) throw new InterruptedError(`stopped waiting for ${folder}`);
    await new Promise((resolve) => setTimeout(resolve, 100 + Math.floor(Math.random() * 100)));
  }
}
