// `manymodels models`: lands with the local engine issue.
import { ExitCode } from '../../core/exit-codes.js';
import type { CliIo } from '../io.js';

export async function run(_args: unknown[], _opts: Record<string, unknown>, io: CliIo): Promise<number> {
  io.stderr.write('manymodels models is not available yet (the local engine issue).\n');
  return ExitCode.BadInput;
}
