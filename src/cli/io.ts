// What a command may touch of the outside world. Tests pass their own; the bin passes the
// process's. Nothing under src/cli reads process.* directly except bin and this default.
export interface OutputStream {
  write(chunk: string): unknown;
  isTTY?: boolean;
  columns?: number;
}

import type { AzureContext, TokenProvider } from '../contracts/azure.js';

export interface CliIo {
  /** The interactive commands' keyboard (the dashboard); absent in tests that need none. */
  stdin?: NodeJS.ReadStream;
  stdout: OutputStream;
  stderr: OutputStream;
  cwd: string;
  env: Record<string, string | undefined>;
  /** Aborted on Ctrl-C: long commands stop, say how to resume or cancel, and exit 130. */
  signal?: AbortSignal;
  /** Tests only: tokens for Azure scopes without @azure/identity (the emulators accept any). */
  tokenProviderFor?: (scope: string) => TokenProvider;
}

/** The Azure context a command hands to registries and engines. */
export function azureContext(io: CliIo): AzureContext {
  return io.tokenProviderFor ? { env: io.env, tokenProviderFor: io.tokenProviderFor } : { env: io.env };
}

export function processIo(signal?: AbortSignal): CliIo {
  const io: CliIo = { stdin: process.stdin, stdout: process.stdout, stderr: process.stderr, cwd: process.cwd(), env: process.env };
  if (signal) io.signal = signal;
  return io;
}
