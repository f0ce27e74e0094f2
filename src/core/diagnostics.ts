// Diagnostics: what every config and input problem becomes before it reaches a user —
// a stable code, a path, a file:line:col and an optional hint — and how they print.
export type Severity = 'error' | 'warning';

export interface Diagnostic {
  code: string;
  severity: Severity;
  message: string;
  /** Dotted path into the document, e.g. `pipelines[0].model.type`; empty for the whole file. */
  path: string;
  file: string;
  /** 1-based; 0 when the problem has no position (e.g. the file does not exist). */
  line: number;
  column: number;
  hint?: string;
}

export function hasErrors(diagnostics: readonly Diagnostic[]): boolean {
  return diagnostics.some((d) => d.severity === 'error');
}

/** Stable order: by file, then position, then code, so output and snapshots never shuffle. */
export function sortDiagnostics(diagnostics: readonly Diagnostic[]): Diagnostic[] {
  return [...diagnostics].sort(
    (a, b) =>
      a.file.localeCompare(b.file) ||
      a.line - b.line ||
      a.column - b.column ||
      a.code.localeCompare(b.code) ||
      a.message.localeCompare(b.message),
  );
}

export function formatDiagnostic(d: Diagnostic): string {
  const head = `${d.severity === 'error' ? 'Error' : 'Warning'} ${d.code}: ${d.message}`;
  const lines = [head];
  if (d.path) lines.push(`  at ${d.path}`);
  lines.push(d.line > 0 ? `  in ${d.file}:${d.line}:${d.column}` : `  in ${d.file}`);
  if (d.hint) lines.push(`  ${d.hint}`);
  return lines.join('\n');
}

export function formatDiagnostics(diagnostics: readonly Diagnostic[]): string {
  const sorted = sortDiagnostics(diagnostics);
  const errors = sorted.filter((d) => d.severity === 'error').length;
  const warnings = sorted.length - errors;
  const parts = sorted.map(formatDiagnostic);
  const count: string[] = [];
  if (errors) count.push(`${errors} error${errors === 1 ? '' : 's'}`);
  if (warnings) count.push(`${warnings} warning${warnings === 1 ? '' : 's'}`);
  parts.push(count.length ? `Found ${count.join(' and ')}.` : 'No problems found.');
  return parts.join('\n\n') + '\n';
}

/** Levenshtein distance, bounded: returns max+1 as soon as the distance must exceed max. */
function editDistance(a: string, b: string, max: number): number {
  if (Math.abs(a.length - b.length) > max) return max + 1;
  let prev = Array.from({ length: b.length + 1 }, (_, i) => i);
  for (let i = 1; i <= a.length; i++) {
    const cur = [i];
    let rowMin = i;
    for (let j = 1; j <= b.length; j++) {
      const cost = a[i - 1] === b[j - 1] ? 0 : 1;
      const v = Math.min(prev[j]! + 1, cur[j - 1]! + 1, prev[j - 1]! + cost);
      cur.push(v);
      if (v < rowMin) rowMin = v;
    }
    if (rowMin > max) return max + 1;
    prev = cur;
  }
  return prev[b.length]!;
}

/** The closest candidate within a distance that still reads as a typo, or undefined. */
export function didYouMean(input: string, candidates: Iterable<string>): string | undefined {
  const needle = input.toLowerCase();
  const max = Math.max(1, Math.min(3, Math.floor(needle.length / 3)));
  let best: string | undefined;
  let bestDistance = max + 1;
  for (const c of candidates) {
    const d = editDistance(needle, c.toLowerCase(), max);
    if (d < bestDistance) {
      best = c;
      bestDistance = d;
    }
  }
  return best;
}

/** The hint line for an enum-like mismatch: `Expected one of: a, b. Did you mean "a"?` */
export function expectedOneOf(input: unknown, allowed: readonly string[]): string {
  const guess = typeof input === 'string' ? didYouMean(input, allowed) : undefined;
  return `Expected one of: ${allowed.join(', ')}.${guess ? ` Did you mean "${guess}"?` : ''}`;
}
