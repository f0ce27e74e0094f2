// What a command tells the CI system it runs under: issues (file:line:col, code), progress,
// output variables, a markdown summary and "succeeded with issues". One implementation per
// system (azure.ts, github.ts); detect.ts picks one from the environment.
import type { Diagnostic } from '../../../core/diagnostics.js';

export type CiSystem = 'azure' | 'github' | 'none';

export interface CiIssue {
  severity: 'error' | 'warning';
  message: string;
  code?: string;
  /** As the user named it (relative to the cwd); the reporter makes it relative to the checkout. */
  file?: string;
  line?: number;
  column?: number;
}

export interface CiReporter {
  readonly system: CiSystem;
  issue(issue: CiIssue): void;
  /** 0–100, with what is being done. */
  progress(percent: number, operation: string): void;
  /** A variable later steps, jobs and stages can read (never a secret). */
  output(name: string, value: string | number | boolean): void;
  /** Markdown shown on the run's summary page; `file` is where it is kept for the upload. */
  summary(markdown: string, file: string): void;
  /** The work is done and exits 0, but some of it (groups) failed within its budget. */
  succeededWithIssues(reason: string): void;
  /** Makes text from elsewhere (group errors, user strings) unable to pose as a command of this system. */
  neutralize(text: string): string;
}

export const NO_CI: CiReporter = {
  system: 'none',
  issue: () => undefined,
  progress: () => undefined,
  output: () => undefined,
  summary: () => undefined,
  succeededWithIssues: () => undefined,
  neutralize: (text) => text,
};

/** Every diagnostic as a CI issue at its file:line:col (nothing outside CI). */
export function reportDiagnostics(ci: CiReporter, diagnostics: readonly Diagnostic[]): void {
  for (const d of diagnostics) {
    const issue: CiIssue = { severity: d.severity, code: d.code, message: d.hint ? `${d.message}\n${d.hint}` : d.message };
    if (d.file) issue.file = d.file;
    if (d.line > 0) {
      issue.line = d.line;
      issue.column = d.column;
    }
    ci.issue(issue);
  }
}
