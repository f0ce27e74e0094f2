// `manymodels validate`: every problem in the file at once, as text or as JSON data.
import { formatDiagnostics } from '../../core/diagnostics.js';
import { ExitCode } from '../../core/exit-codes.js';
import { loadProject } from '../../pipeline/project.js';
import { redactDiagnostics } from '../diagnostics-error.js';
import type { CliIo } from '../io.js';
import { projectOptions } from '../options.js';
import { reportDiagnostics } from '../ui/ci/reporter.js';

export async function run(args: unknown[], opts: Record<string, unknown>, io: CliIo): Promise<number> {
  const options = projectOptions(opts, io, args[0]);
  const load: Parameters<typeof loadProject>[0] = { file: options.file, cwd: io.cwd, vars: options.vars, env: io.env };
  if (options.target !== undefined) load.target = options.target;
  const { project, diagnostics: found } = loadProject(load);
  const diagnostics = redactDiagnostics(found);
  const ok = project !== undefined;
  if (io.ci) reportDiagnostics(io.ci, diagnostics);
  if (options.json) {
    io.stdout.write(`${JSON.stringify({ ok, file: options.file, target: project?.target.name ?? null, diagnostics }, null, 2)}\n`);
  } else {
    if (diagnostics.length) io.stderr.write(formatDiagnostics(diagnostics));
    if (project) {
      const names = project.pipelines.map((p) => p.name).join(', ');
      io.stdout.write(`${project.file.displayPath} is valid: ${project.pipelines.length} pipeline${project.pipelines.length === 1 ? '' : 's'} (${names}), target ${project.target.name} (${project.target.engine}).\n`);
    }
  }
  return ok ? ExitCode.Ok : ExitCode.BadInput;
}
