// What a command may touch of the outside world. Tests pass their own; the bin passes the
// process's. Nothing under src/cli reads process.* directly except bin and this default.
export interface OutputStream {
  write(chunk: string): unknown;
  isTTY?: boolean;
  columns?: number;
  rows?: number;
  /** A terminal's 'resize' (the live progress view redraws at the new width). */
  on?(event: 'resize', listener: () => void): unknown;
  off?(event: 'resize', listener: () => void): unknown;
}

import type { AzureContext, TokenProvider } from '../contracts/azure.js';
import { redactOutput } from '../core/redact.js';
import type { CiReporter } from './ui/ci/reporter.js';

export interface CliIo {
  /** An interactive terminal, when there is one: what the dashboard draws on and reads keys from. */
  terminal?: { stdin: NodeJS.ReadStream; stdout: NodeJS.WriteStream };
  stdout: OutputStream;
  stderr: OutputStream;
  cwd: string;
  env: Record<string, string | undefined>;
  /** Aborted on Ctrl-C: long commands stop, say how to resume or cancel, and exit 130. */
  signal?: AbortSignal;
  /** Tests only: tokens for Azure scopes without @azure/identity (the emulators accept any). */
  tokenProviderFor?: (scope: string) => TokenProvider;
  /** Set by runCli: the CI system's reporter (Azure Pipelines, GitHub Actions), none outside CI. */
  ci?: CiReporter;
}

/** The Azure context a command hands to registries and engines. */
export function azureContext(io: CliIo, options: { profile?: string } = {}): AzureContext {
  const context: AzureContext = { env: io.env, notice: (line) => io.stderr.write(`${line}\n`) };
  if (options.profile) context.databricksProfile = options.profile;
  if (io.tokenProviderFor) context.tokenProviderFor = io.tokenProviderFor;
  return context;
}

/**
 * A process stream that survives its reader going away. `runs show … | head` closes the pipe
 * after ten lines: the write fails with EPIPE, asynchronously, as an 'error' event that would
 * otherwise crash the process with a stack trace. Once the reader is gone nothing more is
 * written there, and the command finishes its work quietly with its own exit code (a training
 * run whose log reader went away still registers its models). Any other write error (ENOSPC
 * when stdout is a file on a full disk, EIO) is said once on the other stream, and `failed` is
 * set so the bin can exit 1.
 */
export interface GuardedStream extends OutputStream {
  readonly failed: NodeJS.ErrnoException | undefined;
}

export function guardStream(stream: NodeJS.WriteStream, name: 'stdout' | 'stderr', other: () => OutputStream | undefined, onFail?: () => void): GuardedStream {
  let broken = false;
  let failed: NodeJS.ErrnoException | undefined;
  stream.on('error', (err: NodeJS.ErrnoException) => {
    broken = true;
    if (err.code === 'EPIPE' || failed) return;
    failed = err;
    onFail?.();
    try {
      other()?.write(`Error MM524: could not write to ${name}: ${err.code ?? ''} ${err.message}\n`);
    } catch {
      // Both streams gone: nothing left to tell.
    }
  });
  return {
    write(chunk: string): boolean {
      if (broken) return false;
      try {
        return stream.write(chunk);
      } catch {
        // A synchronous failure (a closed file descriptor): same as the 'error' event.
        broken = true;
        return false;
      }
    },
    get isTTY() {
      return stream.isTTY;
    },
    get columns() {
      return stream.columns;
    },
    get rows() {
      return stream.rows;
    },
    on: (event: 'resize', listener: () => void) => stream.on(event, listener),
    off: (event: 'resize', listener: () => void) => stream.off(event, listener),
    get failed() {
      return failed;
    },
  };
}

/**
 * The stream a command writes to, redacted (core/redact.ts redactOutput): runCli hands every
 * command these, so no text, table, JSON document or NDJSON event reaches the terminal, a
 * pipe or a CI log with a secret in it.
 */
export function redactingStream(stream: OutputStream): OutputStream {
  const out: OutputStream = { write: (chunk: string) => stream.write(redactOutput(String(chunk))) };
  Object.defineProperty(out, 'isTTY', { get: () => stream.isTTY, enumerable: true });
  Object.defineProperty(out, 'columns', { get: () => stream.columns, enumerable: true });
  Object.defineProperty(out, 'rows', { get: () => stream.rows, enumerable: true });
  if (stream.on && stream.off) {
    out.on = (event, listener) => stream.on!(event, listener);
    out.off = (event, listener) => stream.off!(event, listener);
  }
  return out;
}

export function processIo(signal?: AbortSignal): CliIo {
  let stderr: GuardedStream | undefined;
  // The error may come after the command has returned its code (writes to a file are flushed
  // later): the exit code is raised to 1 here too, unless it says something worse already.
  const fail = (): void => {
    if (!process.exitCode) process.exitCode = 1;
  };
  const stdout = guardStream(process.stdout, 'stdout', () => stderr, fail);
  stderr = guardStream(process.stderr, 'stderr', () => undefined, fail);
  const io: CliIo = { stdout, stderr, cwd: process.cwd(), env: process.env };
  // The dashboard draws on the terminal itself (Ink needs the real streams: resize, raw mode).
  if (process.stdin.isTTY && process.stdout.isTTY) io.terminal = { stdin: process.stdin, stdout: process.stdout };
  if (signal) io.signal = signal;
  return io;
}
