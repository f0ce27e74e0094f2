// The options every project command shares, read once from commander's parsed flags, and
// the project loading that turns diagnostics into a DiagnosticsError.
import { formatDiagnostics, type Diagnostic } from '../core/diagnostics.js';
import { UsageError } from '../core/errors.js';
import { loadProject, type Project } from '../pipeline/project.js';
import { DiagnosticsError, redactDiagnostics } from './diagnostics-error.js';
import type { CliIo } from './io.js';
import { reportDiagnostics } from './ui/ci/reporter.js';

export interface ProjectOptions {
  file: string;
  target?: string;
  vars: Record<string, string>;
  json: boolean;
  verbose: boolean;
  /** `--profile`: the ~/.databrickscfg profile of a Databricks target. */
  profile?: string;
}

export function projectOptions(opts: Record<string, unknown>, io: CliIo, fileArg?: unknown): ProjectOptions {
  const out: ProjectOptions = {
    file: typeof fileArg === 'string' ? fileArg : String(opts.file ?? io.env.MANYMODELS_FILE ?? 'pipelines.yaml'),
    vars: (opts.var as Record<string, string> | undefined) ?? {},
    json: Boolean(opts.json),
    verbose: Boolean(opts.verbose),
  };
  if (typeof opts.target === 'string') out.target = opts.target;
  if (typeof opts.profile === 'string' && opts.profile) out.profile = opts.profile;
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

/** Warnings of a project that loaded: on stderr (not with --json) and, under CI, as warning issues. */
export function showWarnings(warnings: readonly Diagnostic[], options: ProjectOptions, io: CliIo): void {
  if (!warnings.length) return;
  if (!options.json) io.stderr.write(formatDiagnostics(redactDiagnostics(warnings)));
  if (io.ci) reportDiagnostics(io.ci, warnings);
}

/** A whole-number flag ≥ 0 (`--workers`), or undefined when not given. */
export function optionalCount(flag: string, value: unknown): number | undefined {
  if (value === undefined) return undefined;
  const n = Number(value);
  if (!Number.isInteger(n) || n < 0) throw new UsageError(`--${flag} must be a whole number ≥ 0, got "${String(value)}"`, { code: 'MM318' });
  return n;
}
