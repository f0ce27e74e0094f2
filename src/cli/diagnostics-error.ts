// Carries a list of diagnostics out of a command to main.ts, which prints them and exits 2.
import type { Diagnostic } from '../core/diagnostics.js';
import { UsageError } from '../core/errors.js';
import { redactSecrets } from '../core/redact.js';

export class DiagnosticsError extends UsageError {
  readonly diagnostics: Diagnostic[];
  constructor(diagnostics: Diagnostic[]) {
    const first = diagnostics.find((d) => d.severity === 'error') ?? diagnostics[0];
    super(first ? first.message : 'invalid configuration', { code: first?.code ?? 'MM200' });
    this.diagnostics = diagnostics;
  }
}

/** Diagnostics quote the user's input (a URL, a --target): redact each text before it is shown or serialized. */
export function redactDiagnostics(diagnostics: readonly Diagnostic[]): Diagnostic[] {
  return diagnostics.map((d) => {
    const out: Diagnostic = { ...d, message: redactSecrets(d.message) };
    if (d.hint !== undefined) out.hint = redactSecrets(d.hint);
    return out;
  });
}
