// `manymodels validate`: every problem in the file at once, as text or as JSON data.
import { formatDiagnostics, hasErrors, sortDiagnostics } from '../../core/diagnostics.js';
import { ExitCode } from '../../core/exit-codes.js';
import { loadProject } from '../../pipeline/project.js';
import { checkData, type DataNote } from '../../runs/check-data.js';
import { redactDiagnostics } from '../diagnostics-error.js';
import { azureContext, type CliIo } from '../io.js';
import { projectOptions } from '../options.js';
import { reportDiagnostics } from '../ui/ci/reporter.js';

export async function run(args: unknown[], opts: Record<string, unknown>, io: CliIo): Promise<number> {
  const options = projectOptions(opts, io, args[0]);
  const load: Parameters<typeof loadProject>[0] = { file: options.file, cwd: io.cwd, vars: options.vars, env: io.env };
  if (options.target !== undefined) load.target = options.target;
  const { project, diagnostics: loaded } = loadProject(load);
  // The data is looked at once the file is sound: --no-data skips it, --data requires it.
  const found = [...loaded];
  let notes: DataNote[] = [];
  if (project && opts.data !== false) {
    const checked = await checkData(project, { requireData: opts.data === true, env: io.env });
    found.push(...checked.diagnostics);
    notes = checked.notes;
  }
  // --remote: once the file is sound, ask the service about the target's settings.
  if (project && opts.remote === true && !hasErrors(found)) {
    const { remoteDiagnostics } = await import('../../runs/remote-check.js');
    found.push(...await remoteDiagnostics(project, azureContext(io, options), io.signal));
  }
  const diagnostics = redactDiagnostics(sortDiagnostics(found));
  const ok = project !== undefined && !hasErrors(diagnostics);
  if (io.ci) reportDiagnostics(io.ci, diagnostics);
  if (options.json) {
    io.stdout.write(`${JSON.stringify({ ok, file: options.file, target: project?.target.name ?? null, diagnostics, data: notes }, null, 2)}\n`);
  } else {
    if (diagnostics.length) io.stderr.write(formatDiagnostics(diagnostics));
    for (const n of notes) io.stdout.write(`Data of ${n.pipeline} (${n.source}): ${n.note}.\n`);
    if (ok && project) {
      const names = project.pipelines.map((p) => p.name).join(', ');
      io.stdout.write(`${project.file.displayPath} is valid: ${project.pipelines.length} pipeline${project.pipelines.length === 1 ? '' : 's'} (${names}), target ${project.target.name} (${project.target.engine}).\n`);
    }
  }
  return ok ? ExitCode.Ok : ExitCode.BadInput;
}
