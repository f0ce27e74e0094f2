// Carries a list of diagnostics out of a command to main.ts, which prints them and exits 2.
import type { Diagnostic } from '../core/diagnostics.js';
import { UsageError } from '../core/errors.js';

export class DiagnosticsError extends UsageError {
  readonly diagnostics: Diagnostic[];
  constructor(diagnostics: Diagnostic[]) {
    const first = diagnostics.find((d) => d.severity === 'error') ?? diagnostics[0];
    super(first ? first.message : 'invalid configuration', { code: first?.code ?? 'MM200' });
    this.diagnostics = diagnostics;
  }
}
