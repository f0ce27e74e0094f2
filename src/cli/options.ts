// The options every project command shares, read once from commander's parsed flags, and
// the project loading that turns diagnostics into a DiagnosticsError.
import type { Diagnostic } from '../core/diagnostics.js';
import { expectedOneOf } from '../core/diagnostics.js';
import { UsageError } from '../core/errors.js';
import { loadProject, type Project } from '../pipeline/project.js';
import type { Pipeline } from '../pipeline/types.js';
import { DiagnosticsError } from './diagnostics-error.js';
import type { CliIo } from './io.js';

export interface ProjectOptions {
  file: string;
  target?: string;
  vars: Record<string, string>;
  json: boolean;
  verbose: boolean;
}

export function projectOptions(opts: Record<string, unknown>, io: CliIo, fileArg?: unknown): ProjectOptions {
  const out: ProjectOptions = {
    file: typeof fileArg === 'string' ? fileArg : String(opts.file ?? io.env.MANYMODELS_FILE ?? 'pipelines.yaml'),
    vars: (opts.var as Record<string, string> | undefined) ?? {},
    json: Boolean(opts.json),
    verbose: Boolean(opts.verbose),
  };
  if (typeof opts.target === 'string') out.target = opts.target;
  return out;
}

/** Loads the project or throws a DiagnosticsError; warnings are returned for the caller to show. */
export function loadProjectOrThrow(options: ProjectOptions, io: CliIo): { project: Project; warnings: Diagnostic[] } {
  const load: Parameters<typeof loadProject>[0] = { file: options.file, cwd: io.cwd, vars: options.vars, env: io.env };
  if (options.target !== undefined) load.target = options.target;
  const { project, diagnostics } = loadProject(load);
  if (!project) throw new DiagnosticsError(diagnostics);
  return { project, warnings: diagnostics };
}

/** The pipelines a command acts on: the one named, or every one in the file. */
export function pickPipelines(project: Project, name: unknown): Pipeline[] {
  if (typeof name !== 'string') return project.pipelines;
  const hit = project.pipelines.find((p) => p.name === name);
  if (hit) return [hit];
  throw new UsageError(`unknown pipeline "${name}"`, {
    code: 'MM315',
    nextSteps: [expectedOneOf(name, project.pipelines.map((p) => p.name))],
  });
}
