// Rendering per-group results for a terminal, a spreadsheet (CSV) or a program (JSON):
// `runs show RUN --groups` and `runs compare A B`.
import type { GroupResult } from '../../contracts/runs.js';
import { groupChoice, selectionLine, type GroupTable, type MetricSummary, type RunComparison } from '../../runs/results.js';

export const OUTPUTS = ['table', 'json', 'csv'] as const;
export type Output = (typeof OUTPUTS)[number];

/** Four significant digits, no exponent for ordinary magnitudes; `-` for no value. */
export function num(v: number | null | undefined): string {
  if (v === null || v === undefined || !Number.isFinite(v)) return '-';
  if (v !== 0 && (Math.abs(v) >= 1e7 || Math.abs(v) < 1e-4)) return v.toExponential(3);
  return String(Number(v.toPrecision(4)));
}

export function keysText(keys: Record<string, string>): string {
  return Object.entries(keys).map(([k, v]) => `${k}=${v}`).join(' ');
}

/** Columns padded to their widest cell; numbers right-aligned. */
export function formatColumns(header: string[], rows: string[][], numeric: boolean[] = []): string {
  const widths = header.map((h, i) => Math.max(h.length, ...rows.map((r) => (r[i] ?? '').length)));
  const line = (cells: string[]): string =>
    cells.map((c, i) => (numeric[i] ? c.padStart(widths[i]!) : c.padEnd(widths[i]!))).join('  ').trimEnd();
  return [line(header), ...rows.map(line)].join('\n');
}

/** One CSV field (RFC 4180), with text that a spreadsheet would run as a formula made inert. */
export function csvField(v: string | number | null | undefined): string {
  if (v === null || v === undefined) return '';
  if (typeof v === 'number') return Number.isFinite(v) ? String(v) : '';
  const text = /^[=+\-@\t\r]/.test(v) ? `'${v}` : v;
  return /[",\r\n]/.test(text) ? `"${text.replace(/"/g, '""')}"` : text;
}

/** The reason a group is not ok, on one line (failed: class and first line of the message). */
export function reasonOf(g: GroupResult, max?: number): string {
  const text =
    g.status === 'failed' ? `${g.errorClass ?? 'Error'}: ${g.errorMessage ?? g.reason ?? ''}`.trim()
    : g.status === 'skipped' ? (g.reason ?? 'skipped')
    : '';
  const one = text.replace(/\s*\n\s*/g, ' ⏎ ');
  return max !== undefined && one.length > max ? `${one.slice(0, max - 1)}…` : one;
}

function summaryBlock(summary: MetricSummary[]): string {
  if (!summary.length) return '';
  const rows = summary.map((s) => [s.metric, s.higherIsBetter ? 'higher' : 'lower', String(s.count), num(s.mean), num(s.p10), num(s.p50), num(s.p90), num(s.min), num(s.max)]);
  return `${formatColumns(['METRIC', 'BETTER', 'GROUPS', 'MEAN', 'P10', 'P50', 'P90', 'MIN', 'MAX'], rows, [false, false, true, true, true, true, true, true, true])}\n`;
}

/** The marker after a group's type when its model is the fallback, and what it means. */
export const FALLBACK_MARK = '*';
export const FALLBACK_LEGEND = `${FALLBACK_MARK} the fallback model: none of the candidates could be used`;

/** A group's chosen type for a table cell: `ets`, `seasonal_naive*` (the fallback), empty when it has none. */
export function choiceCell(g: GroupResult): string {
  const { modelType, fallback } = groupChoice(g);
  return modelType ? `${modelType}${fallback ? FALLBACK_MARK : ''}` : '';
}

export function renderGroupTable(table: GroupTable, output: Output, runId: string): string {
  const auto = table.selection !== null;
  if (output === 'json') {
    // model.type auto: each group's type and fallback marker as fields of their own, and the counts.
    const groups = auto ? table.rows.map((g) => ({ ...g, ...groupChoice(g) })) : table.rows;
    return `${JSON.stringify({ runId, total: table.total, matched: table.matched, sortedBy: table.sortedBy, summary: table.summary, ...(auto ? { selection: table.selection } : {}), groups })}\n`;
  }
  if (output === 'csv') {
    const header = [...table.keyColumns, 'status', 'reason', 'model', ...(auto ? ['model_type', 'fallback'] : []), 'fit_seconds', ...table.metrics, 'group_id'];
    const choiceFields = (g: GroupResult): string[] => {
      const { modelType, fallback } = groupChoice(g);
      return [csvField(modelType), csvField(modelType ? String(fallback) : null)];
    };
    const lines = table.rows.map((g) =>
      [
        ...table.keyColumns.map((k) => csvField(g.keys[k])),
        csvField(g.status),
        csvField(reasonOf(g)),
        csvField(g.modelName),
        ...(auto ? choiceFields(g) : []),
        csvField(g.fitSeconds ?? null),
        ...table.metrics.map((m) => csvField(g.metrics?.[m] ?? null)),
        csvField(g.groupId),
      ].join(','),
    );
    return `${[header.map(csvField).join(','), ...lines].join('\r\n')}\r\n`;
  }
  const header = [...table.keyColumns.map((k) => k.toUpperCase()), 'STATUS', ...table.metrics.map((m) => m.toUpperCase()), 'FIT S', ...(auto ? ['TYPE'] : []), 'MODEL', 'REASON'];
  const numeric = [...table.keyColumns.map(() => false), false, ...table.metrics.map(() => true), true, ...(auto ? [false] : []), false, false];
  const rows = table.rows.map((g) => [
    ...table.keyColumns.map((k) => g.keys[k] ?? ''),
    g.status,
    ...table.metrics.map((m) => num(g.metrics?.[m])),
    num(g.fitSeconds),
    ...(auto ? [g.status === 'ok' ? choiceCell(g) : ''] : []),
    g.status === 'ok' ? g.modelName : '',
    reasonOf(g),
  ]);
  const shown = table.rows.length;
  const head = `${shown} of ${table.matched} group${table.matched === 1 ? '' : 's'}${table.matched !== table.total ? ` (${table.total} in the run)` : ''}, sorted by ${table.sortedBy}\n`;
  const legend = auto && table.rows.some((g) => g.status === 'ok' && groupChoice(g).fallback) ? `${FALLBACK_LEGEND}\n` : '';
  const body = shown ? `${formatColumns(header, rows, numeric)}\n${legend}` : '';
  const selection = table.selection ? `\n${selectionLine(table.selection)}\n` : '';
  const measured = table.summary.filter((s) => s.count > 0);
  const summary = measured.length ? `\nSummary over ${table.matched} group${table.matched === 1 ? '' : 's'}:\n${summaryBlock(measured)}` : '';
  return `${head}${body}${selection}${summary}`;
}

export function renderComparison(c: RunComparison, output: Exclude<Output, 'csv'>): string {
  if (output === 'json') return `${JSON.stringify(c)}\n`;
  const out: string[] = [
    `Compare ${c.before.runId} (${c.before.groups} groups) → ${c.after.runId} (${c.after.groups} groups)`,
  ];
  if (c.before.pipeline !== c.after.pipeline) out.push(`  note: different pipelines (${c.before.pipeline} → ${c.after.pipeline})`);
  if (c.metrics.length) {
    const rows = c.metrics.map((m) => [
      m.metric,
      `${num(m.before.mean)} → ${num(m.after.mean)}`,
      `${num(m.before.p50)} → ${num(m.after.p50)}`,
      `${num(m.before.p90)} → ${num(m.after.p90)}`,
      String(m.better),
      String(m.worse),
      String(m.unchanged),
    ]);
    out.push('', formatColumns(['METRIC', 'MEAN', 'P50', 'P90', 'BETTER', 'WORSE', 'SAME'], rows, [false, false, false, false, true, true, true]));
  } else {
    out.push('', 'No metric in common between the two runs.');
  }
  const changes = (title: string, list: RunComparison['mostImproved']): void => {
    if (!list.length) return;
    out.push('', `${title} (${c.rankedBy}):`);
    for (const g of list) out.push(`  ${keysText(g.keys)}: ${num(g.before)} → ${num(g.after)} (${g.delta > 0 ? '+' : ''}${num(g.delta)})`);
  };
  changes('Most worsened', c.mostWorsened);
  changes('Most improved', c.mostImproved);
  if (c.newFailures.length) {
    out.push('', `New failures (${c.newFailures.length}):`);
    for (const g of c.newFailures.slice(0, 20)) out.push(`  ${keysText(g.keys)}: ${reasonOf(g, 160)}`);
    if (c.newFailures.length > 20) out.push(`  … and ${c.newFailures.length - 20} more: manymodels runs show ${c.after.runId} --groups --status failed`);
  }
  if (c.fixed.length) out.push('', `Fixed (failed before, ok now): ${c.fixed.length}`);
  if (c.onlyBefore || c.onlyAfter) out.push('', `Groups only in ${c.before.runId}: ${c.onlyBefore} · only in ${c.after.runId}: ${c.onlyAfter}`);
  return `${out.join('\n')}\n`;
}
