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
