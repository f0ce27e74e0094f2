// `manymodels dashboard`: the interactive terminal view of the project's runs and models
// (docs/dashboard.md). Needs a terminal; exits 0 on `q`.
import { createElement } from 'react';
import { formatDiagnostics } from '../../core/diagnostics.js';
import { UsageError } from '../../core/errors.js';
import { ExitCode } from '../../core/exit-codes.js';
import { dashboardSource } from '../../runs/dashboard.js';
import { azureContext, type CliIo } from '../io.js';
import { loadProjectOrThrow, projectOptions } from '../options.js';

export async function run(_args: unknown[], opts: Record<string, unknown>, io: CliIo): Promise<number> {
  const options = projectOptions(opts, io);
  const terminal = io.terminal;
  if (!terminal) {
    throw new UsageError('the dashboard needs an interactive terminal', {
      code: 'MM318',
      nextSteps: ['For scripts and CI: manymodels runs list, manymodels runs show RUN --groups, manymodels report'],
    });
  }
  const { project, warnings } = loadProjectOrThrow(options, io);
  if (warnings.length) io.stderr.write(formatDiagnostics(warnings));
  const sourceOptions: Parameters<typeof dashboardSource>[0] = { project, context: azureContext(io, options), file: options.file, cwd: io.cwd, env: io.env };
  if (options.target !== undefined) sourceOptions.target = options.target;
  const source = dashboardSource(sourceOptions);
  const [{ render }, { App }] = await Promise.all([import('ink'), import('../ui/dashboard/app.js')]);
  const refresh = Number(opts.refresh ?? 1);
  const instance = render(createElement(App, { source, refreshMs: Number.isFinite(refresh) && refresh >= 0.2 ? refresh * 1000 : 1000 }), {
    stdout: terminal.stdout,
    stdin: terminal.stdin,
    exitOnCtrlC: true,
    // Only ever started on a real terminal (checked above): a CI variable inherited by that
    // terminal must not switch Ink to writing one final frame.
    interactive: true,
  });
  await instance.waitUntilExit();
  return ExitCode.Ok;
}
