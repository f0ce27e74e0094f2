// `manymodels report --html FILE`: one self-contained HTML page — inline SVG charts drawn
// here, inline CSS, no script, no font, no request (a Content-Security-Policy forbids any),
// so it opens from disk or as a CI artifact. Light and dark follow the reader's setting;
// printing uses the light colours and keeps each section on one page where it fits.
// Every string from the run (keys, reasons, names) is escaped.
import type { GroupSeries, ReportData } from '../../runs/report.js';
import { groupChoice, selectionLine } from '../../runs/results.js';
import { keysText, num, reasonOf } from './results.js';

export function escapeHtml(s: string): string {
  return s.replace(/[&<>"']/g, (c) => ({ '&': '&amp;', '<': '&lt;', '>': '&gt;', '"': '&quot;', "'": '&#39;' })[c]!);
}

const W = 720;

function svg(width: number, height: number, body: string, label: string): string {
  return `<svg viewBox="0 0 ${width} ${height}" width="100%" role="img" aria-label="${escapeHtml(label)}" xmlns="http://www.w3.org/2000/svg">${body}</svg>`;
}

function text(x: number, y: number, s: string, cls = '', anchor = 'start'): string {
  return `<text x="${x.toFixed(1)}" y="${y.toFixed(1)}" class="${cls}" text-anchor="${anchor}">${escapeHtml(s)}</text>`;
}

/** Round tick values spanning [lo, hi]. */
export function ticks(lo: number, hi: number, count = 5): number[] {
  if (!(hi > lo)) return [lo];
  const raw = (hi - lo) / count;
  const mag = 10 ** Math.floor(Math.log10(raw));
  const step = [1, 2, 2.5, 5, 10].map((m) => m * mag).find((s) => s >= raw) ?? 10 * mag;
  const out: number[] = [];
  for (let v = Math.ceil(lo / step) * step; v <= hi + step * 1e-9; v += step) out.push(Number(v.toPrecision(12)));
  return out;
}

function histogram(values: number[], metric: string, p50: number | null, p90: number | null): string {
  if (!values.length) return '<p class="note">No group has this metric.</p>';
  const lo = Math.min(...values);
  const hi = Math.max(...values);
  const bins = Math.min(30, Math.max(5, Math.ceil(Math.sqrt(values.length))));
  const width = hi > lo ? (hi - lo) / bins : 1;
  const counts = new Array<number>(bins).fill(0);
  for (const v of values) counts[Math.min(bins - 1, Math.floor((v - lo) / width))]! += 1;
  const H = 220;
  const left = 48;
  const bottom = H - 30;
  const plotW = W - left - 16;
  const maxC = Math.max(...counts);
  const x = (v: number): number => left + (hi > lo ? ((v - lo) / (hi - lo)) * plotW : plotW / 2);
  const y = (c: number): number => bottom - (c / maxC) * (bottom - 16);
  let body = `<line x1="${left}" y1="${bottom}" x2="${W - 16}" y2="${bottom}" class="axis"/>`;
  counts.forEach((c, i) => {
    const x0 = left + (i / bins) * plotW;
    body += `<rect x="${(x0 + 1).toFixed(1)}" y="${y(c).toFixed(1)}" width="${Math.max(1, plotW / bins - 2).toFixed(1)}" height="${(bottom - y(c)).toFixed(1)}" class="bar"><title>${escapeHtml(`${num(lo + i * width)} – ${num(lo + (i + 1) * width)}: ${c} group${c === 1 ? '' : 's'}`)}</title></rect>`;
  });
  for (const t of ticks(lo, hi)) body += text(x(t), bottom + 16, num(t), 'tick', 'middle');
  for (const t of ticks(0, maxC, 4).filter(Number.isInteger)) body += text(left - 6, y(t) + 4, String(t), 'tick', 'end');
  for (const [v, name] of [[p50, 'p50'], [p90, 'p90']] as const) {
    if (v === null) continue;
    body += `<line x1="${x(v).toFixed(1)}" y1="12" x2="${x(v).toFixed(1)}" y2="${bottom}" class="marker"/>${text(x(v) + 4, 22, `${name} ${num(v)}`, 'tick')}`;
  }
  return svg(W, H, body, `distribution of ${metric} across ${values.length} groups`);
}

/** Horizontal bars: one row per item. */
function hbars(items: Array<{ label: string; value: number; title?: string; cls?: string }>, format: (v: number) => string, label: string): string {
  if (!items.length) return '<p class="note">Nothing to show.</p>';
  const row = 20;
  const left = 200;
  const H = items.length * row + 10;
  const max = Math.max(...items.map((i) => i.value), 0) || 1;
  const plotW = W - left - 90;
  let body = '';
  items.forEach((it, i) => {
    const y0 = 4 + i * row;
    const w = Math.max(it.value > 0 ? 1 : 0, (it.value / max) * plotW);
    const shown = it.label.length > 30 ? `${it.label.slice(0, 29)}…` : it.label;
    body += text(left - 8, y0 + 13, shown, 'label', 'end');
    body += `<rect x="${left}" y="${y0 + 2}" width="${w.toFixed(1)}" height="${row - 6}" class="${it.cls ?? 'bar'}"><title>${escapeHtml(it.title ?? `${it.label}: ${format(it.value)}`)}</title></rect>`;
    body += text(left + w + 6, y0 + 13, format(it.value), 'tick');
  });
  return svg(W, H, body, label);
}

function lineChart(s: GroupSeries, unit: ReportData['timeUnit']): string {
  const pts = [...s.history.map((p) => p.time), ...s.holdout.map((p) => p.time), ...s.forecast.map((p) => p.time)];
  const vals = [...s.history.map((p) => p.value), ...s.holdout.flatMap((p) => [p.actual, p.predicted]), ...s.forecast.map((p) => p.value)];
  if (!pts.length) return '<p class="note">No data for this group.</p>';
  const H = 170;
  const CW = 340;
  const left = 40;
  const bottom = H - 24;
  const t0 = Math.min(...pts);
  const t1 = Math.max(...pts);
  const v0 = Math.min(0, ...vals);
  const v1 = Math.max(...vals, v0 + 1);
  const x = (t: number): number => left + (t1 > t0 ? ((t - t0) / (t1 - t0)) * (CW - left - 8) : 0);
  const y = (v: number): number => bottom - ((v - v0) / (v1 - v0)) * (bottom - 10);
  const path = (p: Array<[number, number]>): string => p.map(([t, v], i) => `${i ? 'L' : 'M'}${x(t).toFixed(1)},${y(v).toFixed(1)}`).join('');
  let body = `<line x1="${left}" y1="${bottom}" x2="${CW - 8}" y2="${bottom}" class="axis"/>`;
  for (const t of ticks(v0, v1, 3)) body += `${text(left - 4, y(t) + 4, num(t), 'tick', 'end')}<line x1="${left}" y1="${y(t).toFixed(1)}" x2="${CW - 8}" y2="${y(t).toFixed(1)}" class="grid"/>`;
  const date = (t: number): string => (unit === 'ms' ? new Date(t).toISOString().slice(0, 10) : unit === 'period' ? `period ${t}` : `row ${t}`);
  body += text(left, H - 6, date(t0), 'tick') + text(CW - 8, H - 6, date(t1), 'tick', 'end');
  if (s.holdout.length) {
    const h0 = x(s.holdout[0]!.time);
    body += `<rect x="${h0.toFixed(1)}" y="10" width="${(x(s.holdout[s.holdout.length - 1]!.time) - h0).toFixed(1)}" height="${bottom - 10}" class="holdout-band"/>`;
  }
  if (s.history.length) body += `<path d="${path(s.history.map((p) => [p.time, p.value]))}" class="line actual"/>`;
  if (s.holdout.length) body += `<path d="${path(s.holdout.map((p) => [p.time, p.predicted]))}" class="line predicted"/>`;
  if (s.forecast.length) body += `<path d="${path(s.forecast.map((p) => [p.time, p.value]))}" class="line forecast"/>`;
  return svg(CW, H, body, `${keysText(s.keys)}: actual, holdout forecast and scored forecast`);
}

function table(header: string[], rows: string[][], numeric: boolean[] = []): string {
  const th = header.map((h, i) => `<th${numeric[i] ? ' class="num"' : ''}>${escapeHtml(h)}</th>`).join('');
  const trs = rows.map((r) => `<tr>${r.map((c, i) => `<td${numeric[i] ? ' class="num"' : ''}>${escapeHtml(c)}</td>`).join('')}</tr>`).join('');
  return `<table><thead><tr>${th}</tr></thead><tbody>${trs}</tbody></table>`;
}

const CSS = `
:root{--bg:#fff;--fg:#1b1f24;--muted:#5b6570;--bar:#3b6fb6;--bad:#c2412d;--skip:#b58a1b;--ok:#2f855a;--grid:#e3e7ec;--band:rgba(59,111,182,.08);--card:#f6f8fa}
@media (prefers-color-scheme: dark){:root{--bg:#15181c;--fg:#e6e9ed;--muted:#9aa4ae;--bar:#6fa3ea;--bad:#f07a66;--skip:#e0b84a;--ok:#5fcf95;--grid:#2b3138;--band:rgba(111,163,234,.12);--card:#1d2126}}
@media print{:root{--bg:#fff;--fg:#000;--muted:#444;--bar:#3b6fb6;--bad:#c2412d;--skip:#b58a1b;--ok:#2f855a;--grid:#ddd;--band:rgba(59,111,182,.08);--card:#f6f8fa}section{break-inside:avoid}}
body{background:var(--bg);color:var(--fg);font:14px/1.45 system-ui,-apple-system,"Segoe UI",sans-serif;margin:0 auto;max-width:780px;padding:24px}
h1{font-size:22px;margin:0 0 4px}h2{font-size:17px;margin:28px 0 8px}h3{font-size:14px;margin:10px 0 2px}
.note,.meta{color:var(--muted)}section{margin-bottom:18px}
.cards{display:flex;flex-wrap:wrap;gap:10px}.card{background:var(--card);border-radius:6px;padding:8px 12px;min-width:110px}.card b{display:block;font-size:20px}
table{border-collapse:collapse;width:100%;font-size:13px}th,td{text-align:left;padding:3px 6px;border-bottom:1px solid var(--grid);vertical-align:top}th.num,td.num{text-align:right;font-variant-numeric:tabular-nums}
svg text{fill:var(--fg);font-size:11px}svg .tick{fill:var(--muted)}svg .axis{stroke:var(--muted)}svg .grid{stroke:var(--grid)}
svg .bar{fill:var(--bar)}svg .bad{fill:var(--bad)}svg .skip{fill:var(--skip)}svg .good{fill:var(--ok)}svg .marker{stroke:var(--bad);stroke-dasharray:4 3}
svg .line{fill:none;stroke-width:1.6}svg .actual{stroke:var(--fg)}svg .predicted{stroke:var(--bar);stroke-dasharray:5 3}svg .forecast{stroke:var(--ok)}svg .holdout-band{fill:var(--band)}
.grid2{display:grid;grid-template-columns:repeat(auto-fill,minmax(340px,1fr));gap:8px 16px}
.legend span{margin-right:14px}.legend i{display:inline-block;width:18px;height:3px;vertical-align:middle;margin-right:4px}
`;

export function renderReportHtml(r: ReportData): string {
  const m = r.manifest;
  const c = m.counts;
  const metric = r.metric;
  const s = metric ? r.summary.find((x) => x.metric === metric) : undefined;
  const sections: string[] = [];

  sections.push(`<section id="overview"><div class="cards">
<div class="card"><b>${c.total}</b>groups</div><div class="card"><b>${c.ok}</b>ok</div><div class="card"><b>${c.failed}</b>failed</div><div class="card"><b>${c.skipped}</b>skipped</div>
${s ? `<div class="card"><b>${escapeHtml(num(s.p50))}</b>median ${escapeHtml(s.metric)}</div>` : ''}</div>
${r.summary.some((x) => x.count) ? table(['metric', 'better', 'groups', 'mean', 'p10', 'p50', 'p90', 'min', 'max'], r.summary.filter((x) => x.count).map((x) => [x.metric, x.higherIsBetter ? 'higher' : 'lower', String(x.count), num(x.mean), num(x.p10), num(x.p50), num(x.p90), num(x.min), num(x.max)]), [false, false, true, true, true, true, true, true, true]) : ''}</section>`);

  if (metric) {
    sections.push(`<section id="distribution"><h2>Distribution of ${escapeHtml(metric)} across groups</h2>
<p class="note">${r.values.length} groups with a value; ${r.higherIsBetter ? 'higher' : 'lower'} is better.</p>${histogram(r.values, metric, s?.p50 ?? null, s?.p90 ?? null)}</section>`);
    const byKey = r.byKey
      .map((k) => {
        const MAX = 40;
        const vals = k.values.filter((v) => v.mean !== null);
        const shown = vals.length > MAX ? [...vals].sort((a, b) => (r.higherIsBetter ? a.mean! - b.mean! : b.mean! - a.mean!)).slice(0, MAX) : vals;
        const note = vals.length > MAX ? `<p class="note">The ${MAX} worst of ${vals.length} values of ${escapeHtml(k.column)}.</p>` : '';
        return `<h3>Mean ${escapeHtml(metric)} by ${escapeHtml(k.column)}</h3>${note}${hbars(shown.map((v) => ({ label: v.value, value: v.mean!, title: `${k.column}=${v.value}: mean ${num(v.mean)} over ${v.groups} groups${v.failed ? `, ${v.failed} failed` : ''}` })), num, `mean ${metric} by ${k.column}`)}`;
      })
      .join('');
    sections.push(`<section id="by-key"><h2>${escapeHtml(metric)} by key</h2>${byKey}</section>`);
  }

  const sel = r.selection;
  if (sel) {
    sections.push(`<section id="selection"><h2>Model chosen per group</h2><p class="note">${escapeHtml(selectionLine(sel))}: the type each ok group kept by its holdout ${escapeHtml(m.groups.find((g) => g.selection)?.selection?.selectBy ?? '')}; the fallback went to groups none of whose candidates could be used.</p>${hbars(
      Object.entries(sel.chosen).map(([type, n]) => ({ label: type, value: n, title: `${type}: ${n} group${n === 1 ? '' : 's'}` })),
      (v) => String(v),
      'groups by chosen model type',
    )}</section>`);
  }
  // model.type auto: the worst groups' types too, the fallback marked.
  const modelOf = (g: (typeof r.worst)[number]): string[] => {
    if (!sel) return [];
    const c = groupChoice(g);
    return [g.status === 'ok' && c.modelType ? `${c.modelType}${c.fallback ? ' (fallback)' : ''}` : ''];
  };
  sections.push(`<section id="worst"><h2>The ${r.worst.length} worst groups</h2>${
    r.worst.length
      ? table([...r.keyColumns, 'status', metric ?? 'metric', ...(sel ? ['model'] : []), 'reason'], r.worst.map((g) => [...r.keyColumns.map((k) => g.keys[k] ?? ''), g.status, metric ? num(g.metrics?.[metric]) : '-', ...modelOf(g), reasonOf(g, 300)]), [...r.keyColumns.map(() => false), false, true, ...(sel ? [false] : []), false])
      : '<p class="note">No group to list.</p>'
  }</section>`);

  const legend = `<p class="legend"><span><i style="background:var(--fg)"></i>actual</span><span><i style="background:var(--bar)"></i>holdout forecast</span><span><i style="background:var(--ok)"></i>scored forecast</span><span><i style="background:var(--band);height:10px"></i>holdout</span></p>`;
  const charts = r.series
    .map((g) => `<div><h3>${escapeHtml(keysText(g.keys))} <span class="note">(${g.why}${metric && g.metric !== null ? `, ${escapeHtml(metric)} ${escapeHtml(num(g.metric))}` : ''})</span></h3>${lineChart(g, r.timeUnit)}</div>`)
    .join('');
  sections.push(`<section id="forecasts"><h2>Forecast vs actual</h2>${r.seriesNote ? `<p class="note">${escapeHtml(r.seriesNote)}</p>` : ''}${r.series.length ? `${legend}<div class="grid2">${charts}</div>` : '<p class="note">No group to plot.</p>'}</section>`);

  sections.push(`<section id="failures"><h2>Failures and skips by class</h2>${
    r.failures.length
      ? hbars(r.failures.map((f) => ({ label: `${f.status === 'failed' ? '✗' : '–'} ${f.label}`, value: f.count, title: `${f.label} (${f.count}): ${f.example.slice(0, 300)}`, cls: f.status === 'failed' ? 'bad' : 'skip' })), (v) => String(v), 'failures by class')
      : '<p class="note">Every group trained.</p>'
  }</section>`);

  const p = r.promotion;
  const funnel = [
    { label: 'groups', value: c.total },
    { label: 'trained ok', value: c.ok },
    ...(p ? [{ label: 'candidates', value: p.candidates }, { label: 'passed the rules', value: p.promoted + p.unchanged, cls: 'good' }, { label: p.dryRun ? 'would be promoted (dry run)' : 'promoted (new)', value: p.gate.met ? p.promoted : 0, cls: 'good' }] : []),
  ];
  sections.push(`<section id="promotion"><h2>Promotion funnel</h2>${
    p
      ? `<p class="note">Promotion run ${escapeHtml(p.runId)}${p.dryRun ? ' (dry run)' : ''} · gate ${escapeHtml(p.gate.required ?? 'none')} — ${p.gate.met ? 'met' : 'NOT met: nothing was copied'}${Object.keys(p.rejectedBy).length ? ` · rejected by ${escapeHtml(Object.entries(p.rejectedBy).map(([k, v]) => `"${k}": ${v}`).join(', '))}` : ''}</p>`
      : '<p class="note">This run has not been through promotion yet (manymodels promote).</p>'
  }${hbars(funnel, (v) => String(v), 'promotion funnel')}</section>`);

  sections.push(`<section id="timings"><h2>Timings by phase</h2>${hbars(r.timings.map((t) => ({ label: t.phase, value: t.seconds })), (v) => `${num(v)} s`, 'timings by phase')}${
    r.score ? `<p class="note">Latest scoring: run ${escapeHtml(r.score.runId)}${r.score.predictionsWritten !== null ? `, ${r.score.predictionsWritten} predictions` : ''}${r.score.sink ? ` in ${escapeHtml(r.score.sink)}` : ''}.</p>` : ''
  }</section>`);

  const title = `${r.project} · ${m.pipeline} · run ${r.run.id}`;
  return `<!doctype html>
<html lang="en"><head><meta charset="utf-8">
<meta http-equiv="Content-Security-Policy" content="default-src 'none'; style-src 'unsafe-inline'; img-src data:">
<meta name="viewport" content="width=device-width, initial-scale=1">
<meta name="color-scheme" content="light dark">
<title>${escapeHtml(title)}</title><style>${CSS}</style></head>
<body><header><h1>${escapeHtml(m.pipeline)}: ${escapeHtml(m.modelType ?? 'model')} ${escapeHtml(m.task ?? '')}</h1>
<p class="meta">Project ${escapeHtml(r.project)} · run ${escapeHtml(r.run.id)} on ${escapeHtml(r.run.target)} (${escapeHtml(r.run.engine)}) · ${escapeHtml(r.run.state)} · ${escapeHtml(m.startedAt)} · report ${escapeHtml(r.generatedAt)}</p></header>
${sections.join('\n')}
<footer class="note">Written by manymodels report. Every number comes from the run's manifest${r.series.length ? ', and the holdout forecasts from refitting the run\'s model on its own training rows' : ''}.</footer>
</body></html>
`;
}
