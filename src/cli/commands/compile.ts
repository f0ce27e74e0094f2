// `manymodels compile`: the JobSpec a run would submit, written where a user can open and diff it.
import path from 'node:path';
import { canonicalJson } from '../../core/canonical-json.js';
import { formatDiagnostics } from '../../core/diagnostics.js';
import { ExitCode } from '../../core/exit-codes.js';
import { compiledSpecPath, compileProject, writeJobSpec } from '../../pipeline/compile.js';
import type { Stage } from '../../contracts/job-spec.js';
import type { CliIo } from '../io.js';
import { selectPipelines } from '../../pipeline/project.js';
import { loadProjectOrThrow, projectOptions } from '../options.js';

export async function run(args: unknown[], opts: Record<string, unknown>, io: CliIo): Promise<number> {
  const options = projectOptions(opts, io);
  const { project, warnings } = loadProjectOrThrow(options, io);
  if (warnings.length && !options.json) io.stderr.write(formatDiagnostics(warnings));
  const stage = (opts.stage as Stage | undefined) ?? 'train';
  const specs = compileProject(project, selectPipelines(project, typeof args[0] === 'string' ? args[0] : undefined), stage);
  if (opts.stdout) {
    io.stdout.write(canonicalJson(specs.length === 1 ? specs[0] : specs));
    return ExitCode.Ok;
  }
  const written = specs.map((spec) => {
    const file = compiledSpecPath(project, spec);
    writeJobSpec(file, spec);
    return path.relative(io.cwd, file) || file;
  });
  if (options.json) io.stdout.write(`${JSON.stringify({ written }, null, 2)}\n`);
  else for (const f of written) io.stdout.write(`wrote ${f}\n`);
  return ExitCode.Ok;
}
