// Text helpers of the dashboard: fixed-width cells, a metric histogram, all
// plain strings so each view is rows of text cut to the terminal's width.
import { clock } from '../progress-line.js';
import { keysText } from '../results.js';

export { clock, keysText };

/** `s` cut or padded to exactly `w` columns (an ellipsis marks a cut). */
export function cell(s: string, w: number, right = false): string {
  if (w <= 0) return '';
  const t = s.length > w ? `${s.slice(0, Math.max(0, w - 1))}…` : s;
  return right ? t.padStart(w) : t.padEnd(w);
}

/** One line no wider than the terminal: Ink would wrap it and push the screen down. */
export function fit(s: string, width: number): string {
  return s.length > width ? `${s.slice(0, Math.max(0, width - 1))}…` : s;
}

export function metricText(v: number | null | undefined): string {
  if (v === null || v === undefined || !Number.isFinite(v)) return '-';
  if (v !== 0 && (Math.abs(v) >= 1e6 || Math.abs(v) < 1e-3)) return v.toExponential(2);
  return String(Number(v.toPrecision(4)));
}

/** A histogram as rows of `[lo, hi) ████ n`, `bins` rows tall. */
export function histogramRows(values: number[], bins: number, width: number): string[] {
  if (!values.length) return ['(no group has this metric)'];
  let lo = Infinity;
  let hi = -Infinity;
  for (const v of values) {
    if (v < lo) lo = v;
    if (v > hi) hi = v;
  }
  const n = hi > lo ? bins : 1;
  const step = hi > lo ? (hi - lo) / n : 1;
  const counts = new Array<number>(n).fill(0);
  for (const v of values) counts[Math.min(n - 1, Math.floor((v - lo) / step))]! += 1;
  const max = Math.max(...counts);
  const labelW = 19;
  const barW = Math.max(4, width - labelW - 8);
  return counts.map((c, i) => {
    const a = metricText(lo + i * step);
    const b = metricText(hi > lo ? lo + (i + 1) * step : hi);
    const len = max ? Math.round((c / max) * barW) : 0;
    return `${cell(`${a}–${b}`, labelW)} ${'▇'.repeat(len)}${c ? ' ' : ''}${c}`;
  });
}

/** The rows of a list around `cursor`, so only what fits is rendered (10,000 groups or not). */
export function windowOf<T>(items: readonly T[], cursor: number, height: number): { start: number; rows: T[] } {
  const h = Math.max(1, height);
  const start = Math.max(0, Math.min(cursor - Math.floor(h / 2), items.length - h));
  return { start, rows: items.slice(start, start + h) };
}
