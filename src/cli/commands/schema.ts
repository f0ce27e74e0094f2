// `manymodels schema`: the JSON Schema of pipelines.yaml on stdout.
import { ExitCode } from '../../core/exit-codes.js';
import { editorSchema } from '../../pipeline/schema.js';
import type { CliIo } from '../io.js';

export async function run(_args: unknown[], _opts: Record<string, unknown>, io: CliIo): Promise<number> {
  io.stdout.write(`${JSON.stringify(editorSchema(), null, 2)}\n`);
  return ExitCode.Ok;
}
