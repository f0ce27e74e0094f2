// Who a process is, well enough to tell later whether it is still alive: its pid and its
// start time (Linux: field 22 of /proc/<pid>/stat, clock ticks since boot), so a pid reused by
// an unrelated process after a reboot or a long time is not mistaken for the original.
import { readFileSync } from 'node:fs';
import { hostname } from 'node:os';

export interface ProcessIdentity {
  pid: number;
  /** Opaque; compared for equality only. Absent where the OS does not expose it. */
  startTime?: string;
  host: string;
}

export function processStartTime(pid: number): string | undefined {
  try {
    const stat = readFileSync(`/proc/${pid}/stat`, 'utf8');
    // The command name (field 2) is in parentheses and may hold spaces: count from after it.
    const fields = stat.slice(stat.lastIndexOf(')') + 2).split(' ');
    return fields[19];
  } catch {
    return undefined;
  }
}

export function currentProcess(): ProcessIdentity {
  const id: ProcessIdentity = { pid: process.pid, host: hostname() };
  const start = processStartTime(process.pid);
  if (start !== undefined) id.startTime = start;
  return id;
}

/**
 * `alive`: the process is running (or cannot be checked from here: another host, no
 * permission to signal it); `dead`: there is no such process, or its pid now belongs to a
 * process that started at another time.
 */
export function processState(id: { pid: number; startTime?: string | undefined; host?: string | undefined }): 'alive' | 'dead' | 'unknown' {
  if (id.host !== undefined && id.host !== hostname()) return 'unknown';
  if (!Number.isInteger(id.pid) || id.pid <= 0) return 'dead';
  try {
    process.kill(id.pid, 0);
  } catch (err) {
    if ((err as NodeJS.ErrnoException).code === 'ESRCH') return 'dead';
    // EPERM: it exists, owned by someone else.
  }
  if (id.startTime !== undefined) {
    const now = processStartTime(id.pid);
    if (now !== undefined && now !== id.startTime) return 'dead';
    // A zombie (exited, not yet reaped by its parent) has done all it will do.
    if (now !== undefined && processStatus(id.pid) === 'Z') return 'dead';
  }
  return 'alive';
}

function processStatus(pid: number): string | undefined {
  try {
    const stat = readFileSync(`/proc/${pid}/stat`, 'utf8');
    return stat.slice(stat.lastIndexOf(')') + 2).split(' ')[0];
  } catch {
    return undefined;
  }
}
