// Runs the CLI in-process with captured output, the way every CLI test does.
import { runCli } from '../../src/cli/main.js';
import type { CliIo } from '../../src/cli/io.js';

export interface CliResult {
  code: number;
  stdout: string;
  stderr: string;
}

export async function cli(
  argv: string[],
  options: { cwd: string; env?: Record<string, string | undefined>; signal?: AbortSignal; tokenProviderFor?: CliIo['tokenProviderFor'] },
): Promise<CliResult> {
  let stdout = '';
  let stderr = '';
  const io: CliIo = {
    stdout: { write: (s: string) => (stdout += s) },
    stderr: { write: (s: string) => (stderr += s) },
    cwd: options.cwd,
    env: options.env ?? { PATH: process.env.PATH, MANYMODELS_PYTHON: process.env.MANYMODELS_PYTHON, HOME: process.env.HOME },
  };
  if (options.signal) io.signal = options.signal;
  if (options.tokenProviderFor) io.tokenProviderFor = options.tokenProviderFor;
  const code = await runCli(argv, io);
  return { code, stdout, stderr };
}
