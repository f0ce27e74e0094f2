// `manymodels report [RUN] [--html FILE]`: what a training run achieved — metric spread, the
// worst groups, failures by class, the promotion funnel, timings — as a terminal summary, or
// as one self-contained HTML page with charts (docs/results.md).
import { mkdirSync, renameSync, rmSync, writeFileSync } from 'node:fs';
import path from 'node:path';
import { formatDiagnostics } from '../../core/diagnostics.js';
import { storageErrorFrom, UsageError } from '../../core/errors.js';
import { ExitCode } from '../../core/exit-codes.js';
import { redactValue } from '../../core/redact.js';
import { buildReport, type ReportData } from '../../runs/report.js';
import type { CliIo } from '../io.js';
import { loadProjectOrThrow, projectOptions } from '../options.js';
import { renderReportHtml } from '../ui/report-html.js';
import { groupChoice, selectionLine } from '../../runs/results.js';
import { formatColumns, keysText, num, reasonOf } from '../ui/results.js';

function terminalSummary(r: ReportData): string {
  const m = r.manifest;
  const c = m.counts;
  const out = [
    `Report on run ${r.run.id}: ${m.pipeline} (${m.modelType ?? 'model'} ${m.task ?? ''}) on ${r.run.target} · ${r.run.state}`,
    `  groups: ${c.total} · ${c.ok} ok · ${c.failed} failed · ${c.skipped} skipped`,
  ];
  if (r.selection) out.push(`  ${selectionLine(r.selection)}`);
  const measured = r.summary.filter((s) => s.count);
  if (measured.length) {
    out.push('', formatColumns(['METRIC', 'BETTER', 'GROUPS', 'MEAN', 'P10', 'P50', 'P90'], measured.map((s) => [s.metric, s.higherIsBetter ? 'higher' : 'lower', String(s.count), num(s.mean), num(s.p10), num(s.p50), num(s.p90)]), [false, false, true, true, true, true, true]));
  }
  if (r.metric && r.byKey.length) {
    for (const k of r.byKey) {
      const vals = k.values.filter((v) => v.mean !== null).sort((a, b) => (r.higherIsBetter ? a.mean! - b.mean! : b.mean! - a.mean!));
      if (vals.length > 1) out.push(`  worst ${k.column} by mean ${r.metric}: ${vals.slice(0, 3).map((v) => `${v.value} (${num(v.mean)})`).join(', ')}`);
    }
  }
  if (r.worst.length) {
    out.push('', `Worst ${Math.min(10, r.worst.length)} groups:`);
    for (const g of r.worst.slice(0, 10)) {
      const choice = groupChoice(g);
      // model.type auto: the type the group kept, and whether it is the fallback.
      const type = r.selection && g.status === 'ok' && choice.modelType ? ` · ${choice.modelType}${choice.fallback ? ' (fallback)' : ''}` : '';
      out.push(`  ${keysText(g.keys)}: ${g.status === 'ok' && r.metric ? `${r.metric} ${num(g.metrics?.[r.metric])}` : reasonOf(g, 120)}${type}`);
    }
  }
  if (r.failures.length) {
    out.push('', 'Failures and skips by class:');
    for (const f of r.failures.slice(0, 8)) out.push(`  ${String(f.count).padStart(5)} × ${f.status} ${f.label}`);
  }
  const p = r.promotion;
  out.push('', p ? `Promotion ${p.runId}${p.dryRun ? ' (dry run)' : ''}: ${p.candidates} candidates → ${p.promoted + p.unchanged} passed → ${p.gate.met ? p.promoted : 0} promoted · gate ${p.gate.met ? 'met' : 'NOT met'}` : 'Not promoted yet: manymodels promote');
  if (r.timings.length) out.push(`Timings (s): ${r.timings.map((t) => `${t.phase} ${num(t.seconds)}`).join(' · ')}`);
  out.push('', `Charts (distribution, by key, forecast vs actual, funnel): manymodels report ${r.run.id} --html report.html`);
  return `${out.join('\n')}\n`;
}

/** Temp file + rename: a reader (or a CI artifact step) never sees half a page. */
function writeAtomic(file: string, text: string): void {
  mkdirSync(path.dirname(file), { recursive: true });
  const tmp = `${file}.${process.pid}.tmp`;
  try {
    writeFileSync(tmp, text);
    renameSync(tmp, file);
  } catch (e) {
    rmSync(tmp, { force: true });
    // A full disk or read-only folder is MM525 like every other write; anything else (no such
    // folder, a directory in the way) is a bad --html path.
    const err = e as NodeJS.ErrnoException;
    throw storageErrorFrom(err, file) ?? new UsageError(`cannot write the report to ${file}: ${err.message}`, { code: 'MM318', nextSteps: ['Choose a writable path for --html.'] });
  }
}

export async function run(args: unknown[], opts: Record<string, unknown>, io: CliIo): Promise<number> {
  const options = projectOptions(opts, io);
  const { project, warnings } = loadProjectOrThrow(options, io);
  if (warnings.length && !options.json) io.stderr.write(formatDiagnostics(warnings));
  const request: Parameters<typeof buildReport>[0] = { project, env: io.env };
  if (typeof args[0] === 'string') request.run = args[0];
  // Redacted value by value before it is drawn: the page escapes `&` in a SAS to `&amp;`,
  // where a pattern run over the finished HTML would no longer see it.
  const data = redactValue(await buildReport(request));
  if (typeof opts.html === 'string') {
    const file = path.resolve(io.cwd, opts.html);
    writeAtomic(file, renderReportHtml(data));
    if (options.json) io.stdout.write(`${JSON.stringify({ run: data.run.id, html: file, seriesNote: data.seriesNote })}\n`);
    else io.stdout.write(`Report on run ${data.run.id} written to ${path.relative(io.cwd, file) || file}${data.seriesNote ? `\n  note: forecast vs actual: ${data.seriesNote}` : ''}\n`);
    return ExitCode.Ok;
  }
  io.stdout.write(options.json ? `${JSON.stringify(data)}\n` : terminalSummary(data));
  return ExitCode.Ok;
}
