// The small error hierarchy: every error a user can cause or meet carries a stable code,
// an exit code and optional next steps. Only cli/main.ts turns these into output.
import { ExitCode, type ExitCodeValue } from './exit-codes.js';

export interface ErrorDetails {
  code: string;
  nextSteps?: string[];
  cause?: unknown;
}

export class ManyModelsError extends Error {
  readonly code: string;
  readonly exitCode: ExitCodeValue;
  readonly nextSteps: string[];

  constructor(message: string, exitCode: ExitCodeValue, details: ErrorDetails) {
    super(message, details.cause === undefined ? undefined : { cause: details.cause });
    this.name = new.target.name;
    this.code = details.code;
    this.exitCode = exitCode;
    this.nextSteps = details.nextSteps ?? [];
  }
}

/** Bad flags, bad config, bad data found before any work started: exit 2. */
export class UsageError extends ManyModelsError {
  constructor(message: string, details: ErrorDetails) {
    super(message, ExitCode.BadInput, details);
  }
}

/** The work ran and failed: a run failed, a gate was not met: exit 1. */
export class WorkFailedError extends ManyModelsError {
  constructor(message: string, details: ErrorDetails) {
    super(message, ExitCode.WorkFailed, details);
  }
}

/** A remote service, auth or the network failed after retries: exit 3. */
export class RemoteError extends ManyModelsError {
  readonly status: number | undefined;
  readonly serviceCode: string | undefined;
  constructor(message: string, details: ErrorDetails & { status?: number; serviceCode?: string }) {
    super(message, ExitCode.Remote, details);
    this.status = details.status;
    this.serviceCode = details.serviceCode;
  }
}

/** The user pressed Ctrl-C: exit 130. */
export class InterruptedError extends ManyModelsError {
  constructor(message: string, details: ErrorDetails = { code: 'MM130' }) {
    super(message, ExitCode.Interrupted, details);
  }
}

/** Errno codes that mean the machine's storage refused a write, not that we have a bug. */
const STORAGE_CODES: Record<string, string> = {
  ENOSPC: 'no space left on the device',
  EDQUOT: 'the disk quota is used up',
  EIO: 'an I/O error (a failing disk or a dropped network file system)',
  EROFS: 'the file system is read-only',
};

/**
 * The local disk refused a write (full, over quota, read-only, I/O error): exit 1, the work
 * could not be done here. Named by path; what was already done is left consistent (the run
 * record and registry are written atomically), so running again once there is room resumes.
 */
export class StorageError extends WorkFailedError {
  readonly path: string | undefined;
  constructor(message: string, details: ErrorDetails & { path?: string }) {
    super(message, details);
    this.path = details.path;
  }
}

/** A Node fs error (ENOSPC, EDQUOT, EIO, EROFS) as a StorageError naming its path; undefined for any other error. */
export function storageErrorFrom(err: unknown, fallbackPath?: string): StorageError | undefined {
  if (err instanceof StorageError) return err;
  const e = err as NodeJS.ErrnoException | undefined;
  const what = e && typeof e.code === 'string' ? STORAGE_CODES[e.code] : undefined;
  if (!what) return undefined;
  const where = e!.path ?? fallbackPath;
  return new StorageError(`could not write ${where ?? 'a local file'}: ${what} (${e!.code})`, {
    code: 'MM525',
    cause: err,
    ...(where ? { path: where } : {}),
    nextSteps: [
      e!.code === 'EROFS' ? 'Point the state folder at a writable place, or make this one writable.' : 'Free some space (or fix the disk) and run the command again.',
      'What was already recorded is consistent: a training run can be finished with train --resume RUN; a promotion or score run is simply run again.',
    ],
  });
}
