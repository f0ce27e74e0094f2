// `manymodels runs list|show|watch|cancel`: the run history under .manymodels/runs, and
// re-attaching to a remote run (follow it, finish it, or cancel it) from another CLI process.
import path from 'node:path';
import { formatDiagnostics, expectedOneOf } from '../../core/diagnostics.js';
import { UsageError } from '../../core/errors.js';
import { ExitCode } from '../../core/exit-codes.js';
import type { RunRecord } from '../../contracts/runs.js';
import type { Project } from '../../pipeline/project.js';
import { compareRunIds, listRunsPage, showRun, showRunGroups, type UnreadableRun } from '../../runs/history.js';
import { GROUP_SORTS, selectionLine, selectionSummary, type GroupQuery } from '../../runs/results.js';
import { azureContext, type CliIo } from '../io.js';
import { loadProjectOrThrow, projectOptions, type ProjectOptions } from '../options.js';
import { cliHints, throwForOutcome } from '../run-outcome.js';
import { OUTPUTS, reasonOf, keysText, renderComparison, renderGroupTable, type Output } from '../ui/results.js';
import { describeFailures, renderRunEvents, type RunEventView } from '../ui/run-events.js';

const ACTIONS = ['list', 'show', 'compare', 'watch', 'cancel'];

function row(r: RunRecord): string {
  const c = r.counts;
  const counts = !c
    ? ''
    : r.stage === 'promote'
      ? `${c.ok}/${c.total} pass${c.failed ? `, ${c.failed} rejected` : ''}${r.summary.dryRun ? ' (dry run)' : ''}`
      : `${c.ok}/${c.total} ok${c.failed ? `, ${c.failed} failed` : ''}${c.skipped ? `, ${c.skipped} skipped` : ''}`;
  const secs = r.timings.runSeconds !== undefined ? `${r.timings.runSeconds.toFixed(1)} s` : '';
  return [r.id.padEnd(31), r.pipeline.padEnd(20), r.engine.padEnd(11), r.state.padEnd(10), counts.padEnd(30), secs].join(' ').trimEnd();
}

export async function run(args: unknown[], opts: Record<string, unknown>, io: CliIo): Promise<number> {
  const options = projectOptions(opts, io);
  const { project, warnings } = loadProjectOrThrow(options, io);
  if (warnings.length && !options.json) io.stderr.write(formatDiagnostics(warnings));
  const action = typeof args[0] === 'string' ? args[0] : 'list';
  if (!ACTIONS.includes(action)) {
    throw new UsageError(`unknown runs action "${action}"`, { code: 'MM318', nextSteps: [expectedOneOf(action, ACTIONS)] });
  }
  if (action === 'list') {
    const limit = Number(opts.limit ?? 20);
    const unreadable: UnreadableRun[] = [];
    const { runs, more } = listRunsPage(project, { limit: Number.isFinite(limit) && limit > 0 ? limit : 20 }, unreadable);
    for (const u of unreadable) {
      io.stderr.write(`Warning MM520: skipped run ${u.id}: ${u.file} ${u.problem}\n  Restore it, or move ${path.dirname(u.file)} out of the runs folder to forget the run.\n`);
    }
    if (options.json) io.stdout.write(`${JSON.stringify(runs)}\n`);
    else if (!runs.length) io.stdout.write(`No runs yet. Start one with: ${cliHints(project)('train')}\n`);
    else {
      io.stdout.write(`${['RUN'.padEnd(31), 'PIPELINE'.padEnd(20), 'ENGINE'.padEnd(11), 'STATE'.padEnd(10), 'GROUPS'.padEnd(30), 'TIME'].join(' ')}\n${runs.map(row).join('\n')}\n`);
      if (more) io.stdout.write(`… and ${more} older run${more === 1 ? '' : 's'}: ${cliHints(project)(`runs list --limit ${runs.length + more}`)}\n`);
    }
    return ExitCode.Ok;
  }
  if (typeof args[1] !== 'string') throw new UsageError(`runs ${action} needs a run id`, { code: 'MM318', nextSteps: ['List runs with: manymodels runs list'] });
  if (action === 'watch' || action === 'cancel') return follow(args[1], action === 'cancel', options, io, project);
  const output = outputOf(opts, options.json);
  if (action === 'compare') {
    if (typeof args[2] !== 'string') throw new UsageError('runs compare needs two run ids: the earlier run, then the later one', { code: 'MM318', nextSteps: ['List runs with: manymodels runs list'] });
    if (output === 'csv') throw new UsageError('runs compare prints a table or JSON, not CSV', { code: 'MM318', nextSteps: ['Per-group CSV of one run: manymodels runs show RUN --groups --output csv'] });
    io.stdout.write(renderComparison(compareRunIds(project, args[1], args[2]), output));
    return ExitCode.Ok;
  }
  if (opts.groups || opts.sort !== undefined || opts.worst !== undefined || opts.best !== undefined || opts.status !== undefined) {
    const { run: record, table } = showRunGroups(project, args[1], groupQuery(opts));
    if (table.sortedBy !== 'keys' && !(GROUP_SORTS as readonly string[]).includes(table.sortedBy) && !table.metrics.includes(table.sortedBy)) {
      throw new UsageError(`run ${record.id} has no metric "${table.sortedBy}" to sort by`, {
        code: 'MM318',
        nextSteps: [expectedOneOf(table.sortedBy, [...table.metrics, ...GROUP_SORTS])],
      });
    }
    io.stdout.write(renderGroupTable(table, output, record.id));
    return ExitCode.Ok;
  }
  const { run: record, manifest } = showRun(project, args[1]);
  const selection = manifest ? selectionSummary(manifest) : null;
  if (options.json) {
    io.stdout.write(`${JSON.stringify({ run: record, ...(selection ? { selection } : {}), groups: manifest?.groups ?? null })}\n`);
    return ExitCode.Ok;
  }
  const lines = [
    `Run ${record.id}`,
    `  stage ${record.stage} · pipeline ${record.pipeline} · target ${record.target} (${record.engine}) · ${record.state}`,
    `  created ${record.createdAt}${record.finishedAt ? ` · finished ${record.finishedAt}` : ''}`,
  ];
  if (record.counts) lines.push(`  groups: ${record.counts.total} total · ${record.counts.ok} ok · ${record.counts.failed} failed · ${record.counts.skipped} skipped`);
  if (selection) lines.push(`  ${selectionLine(selection)}`);
  if (record.resumeOf) lines.push(`  resumes ${record.resumeOf}`);
  if (record.sourceRun) lines.push(`  models from ${record.sourceRun}`);
  if (record.external) lines.push(`  remote run ${record.external.id}${record.external.url ? ` · ${record.external.url}` : ''}`);
  const timings = Object.entries(record.timings).map(([k, v]) => `${k} ${v.toFixed(2)}`).join(' · ');
  if (timings) lines.push(`  timings (s): ${timings}`);
  if (record.error) lines.push(`  error ${record.error.code}: ${record.error.message}`);
  if ((record.state === 'interrupted' || record.state === 'lost') && record.process) {
    lines.push(`  the manymodels process that ran it (pid ${record.process.pid}) is gone; it never finished`);
    if (record.state === 'lost') lines.push(`  its submission was never confirmed: find it on the service, or follow it with: ${cliHints(project)(`runs watch ${record.id}`)}`);
    else if (record.stage === 'train') lines.push(`  pick up where it stopped: ${cliHints(project)(`train ${record.pipeline} --resume ${record.id}`)}`);
  }
  io.stdout.write(`${lines.join('\n')}\n`);
  if (manifest) {
    // Full messages here: the end of an error is usually the fix.
    const failed = manifest.groups.filter((g) => g.status === 'failed');
    if (failed.length) {
      const shown = failed.slice(0, 20);
      io.stdout.write(`Failed groups:\n${shown.map((g) => `  ${keysText(g.keys)}: ${reasonOf(g).replace(/ ⏎ /g, '\n      ')}`).join('\n')}\n`);
      if (failed.length > shown.length) io.stdout.write(`  … and ${failed.length - shown.length} more: ${cliHints(project)(`runs show ${record.id} --groups --status failed`)}\n`);
    }
    const skipped = manifest.groups.filter((g) => g.status === 'skipped');
    if (skipped.length) {
      const reasons = new Map<string, number>();
      for (const g of skipped) reasons.set(g.reason ?? 'no reason given', (reasons.get(g.reason ?? 'no reason given') ?? 0) + 1);
      io.stdout.write(`Skipped groups:\n${[...reasons].map(([r, n]) => `  ${n} × ${r}`).join('\n')}\n`);
    }
  }
  return ExitCode.Ok;
}

function outputOf(opts: Record<string, unknown>, json: boolean): Output {
  const o = opts.output === undefined ? (json ? 'json' : 'table') : String(opts.output);
  if (!(OUTPUTS as readonly string[]).includes(o)) throw new UsageError(`--output must be one of ${OUTPUTS.join(', ')}, got "${o}"`, { code: 'MM318', nextSteps: [expectedOneOf(o, OUTPUTS)] });
  return o as Output;
}

function count(flag: string, v: unknown): number | undefined {
  if (v === undefined) return undefined;
  const n = Number(v);
  if (!Number.isInteger(n) || n < 1) throw new UsageError(`--${flag} must be a whole number ≥ 1, got "${String(v)}"`, { code: 'MM318' });
  return n;
}

const STATUSES = ['ok', 'failed', 'skipped'] as const;

function groupQuery(opts: Record<string, unknown>): GroupQuery {
  const q: GroupQuery = {};
  if (typeof opts.sort === 'string') q.sort = opts.sort;
  const worst = count('worst', opts.worst);
  const best = count('best', opts.best);
  if (worst !== undefined && best !== undefined) throw new UsageError('give --worst or --best, not both', { code: 'MM318' });
  if (worst !== undefined) q.worst = worst;
  if (best !== undefined) q.best = best;
  if (opts.status !== undefined) {
    const s = String(opts.status);
    if (!(STATUSES as readonly string[]).includes(s)) throw new UsageError(`--status must be one of ${STATUSES.join(', ')}, got "${s}"`, { code: 'MM318', nextSteps: [expectedOneOf(s, STATUSES)] });
    q.status = s as GroupQuery['status'] & string;
  }
  return q;
}

/** `runs watch RUN` / `runs cancel RUN`: follow (or cancel) a remote run and finish it. */
async function follow(id: string, cancel: boolean, options: ProjectOptions, io: CliIo, project: Project): Promise<number> {
  const { watchRun } = await import('../../runs/attach.js');
  let view: RunEventView | undefined;
  const request: Parameters<typeof watchRun>[0] = {
    project,
    id,
    cancel,
    context: azureContext(io, options),
    onRun(record) {
      view = renderRunEvents(io, options.json, `${record.stage} ${record.pipeline}`);
      if (cancel && !options.json) io.stderr.write(`Cancelling run ${record.id}…\n`);
    },
    onUpdate(u) {
      if (u.kind === 'register') {
        if (u.done === u.total) view?.phase(`registered ${u.total} models`, u);
      } else if (u.kind !== 'run') view?.update(u);
    },
  };
  // The run's own target, unless --target names one.
  if (options.target === undefined) request.projectFor = (target) => loadProjectOrThrow({ ...options, target }, io).project;
  if (io.signal) request.signal = io.signal;
  const attached = await watchRun(request);
  view?.end();
  const { run, outcome, manifest } = attached.result;
  const registered = attached.stage === 'train' ? attached.result.registered : undefined;
  if (options.json) {
    io.stdout.write(`${JSON.stringify({ event: 'result', run, ...(registered !== undefined ? { registered } : {}) })}\n`);
  } else if (outcome.state !== 'running') {
    const c = run.counts;
    const lines = [`Run ${run.id} (${run.stage} ${run.pipeline} on ${run.target}): ${run.state}${c ? ` · ${c.ok} ok · ${c.failed} failed · ${c.skipped} skipped of ${c.total} groups` : ''}`];
    if (registered !== undefined && attached.registry) lines.push(`Registered ${registered} model version${registered === 1 ? '' : 's'} in the ${attached.registry}`);
    if (run.stage === 'score' && run.summary.predictionsWritten !== undefined) lines.push(`${Number(run.summary.predictionsWritten).toLocaleString('en-US')} predictions written`);
    io.stdout.write(`${lines.join('\n')}\n`);
    if (manifest) io.stdout.write(describeFailures(manifest));
    io.stdout.write(`Details: ${cliHints(project)(`runs show ${run.id}`)}\n`);
  }
  // A cancel that did what it was asked is a success.
  if (cancel && outcome.state === 'cancelled') return ExitCode.Ok;
  throwForOutcome(outcome, run, run.stage === 'train' ? `train ${run.pipeline} --resume ${run.id}` : null, cliHints(project));
  return ExitCode.Ok;
}
