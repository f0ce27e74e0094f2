// `manymodels runs list|show`: the run history under .manymodels/runs.
import { formatDiagnostics, expectedOneOf } from '../../core/diagnostics.js';
import { UsageError } from '../../core/errors.js';
import { ExitCode } from '../../core/exit-codes.js';
import { readRunManifest } from '../../jobs/run-manifest.js';
import { RunStore, type RunRecord } from '../../jobs/run-store.js';
import type { CliIo } from '../io.js';
import { loadProjectOrThrow, projectOptions } from '../options.js';
import { describeFailures } from '../ui/run-events.js';

const ACTIONS = ['list', 'show'];

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
  const store = new RunStore(project.target.stateDir);
  const action = typeof args[0] === 'string' ? args[0] : 'list';
  if (!ACTIONS.includes(action)) {
    throw new UsageError(`unknown runs action "${action}"`, { code: 'MM318', nextSteps: [expectedOneOf(action, ACTIONS)] });
  }
  if (action === 'list') {
    const limit = Number(opts.limit ?? 20);
    const runs = store.list({ limit: Number.isFinite(limit) && limit > 0 ? limit : 20 });
    if (options.json) io.stdout.write(`${JSON.stringify(runs)}\n`);
    else if (!runs.length) io.stdout.write('No runs yet. Start one with: manymodels train\n');
    else io.stdout.write(`${['RUN'.padEnd(31), 'PIPELINE'.padEnd(20), 'ENGINE'.padEnd(11), 'STATE'.padEnd(10), 'GROUPS'.padEnd(30), 'TIME'].join(' ')}\n${runs.map(row).join('\n')}\n`);
    return ExitCode.Ok;
  }
  if (typeof args[1] !== 'string') throw new UsageError('runs show needs a run id', { code: 'MM318', nextSteps: ['List runs with: manymodels runs list'] });
  const record = store.get(args[1]);
  const manifest = record.stage === 'promote' ? undefined : readRunManifest(store.runDir(record.id));
  if (options.json) {
    io.stdout.write(`${JSON.stringify({ run: record, groups: manifest?.groups ?? null })}\n`);
    return ExitCode.Ok;
  }
  const lines = [
    `Run ${record.id}`,
    `  stage ${record.stage} · pipeline ${record.pipeline} · target ${record.target} (${record.engine}) · ${record.state}`,
    `  created ${record.createdAt}${record.finishedAt ? ` · finished ${record.finishedAt}` : ''}`,
  ];
  if (record.counts) lines.push(`  groups: ${record.counts.total} total · ${record.counts.ok} ok · ${record.counts.failed} failed · ${record.counts.skipped} skipped`);
  if (record.resumeOf) lines.push(`  resumes ${record.resumeOf}`);
  if (record.sourceRun) lines.push(`  models from ${record.sourceRun}`);
  if (record.external) lines.push(`  remote run ${record.external.id}${record.external.url ? ` · ${record.external.url}` : ''}`);
  const timings = Object.entries(record.timings).map(([k, v]) => `${k} ${v.toFixed(2)}`).join(' · ');
  if (timings) lines.push(`  timings (s): ${timings}`);
  if (record.error) lines.push(`  error ${record.error.code}: ${record.error.message}`);
  io.stdout.write(`${lines.join('\n')}\n`);
  if (manifest) {
    io.stdout.write(describeFailures(manifest, 20));
    const skipped = manifest.groups.filter((g) => g.status === 'skipped');
    if (skipped.length) {
      const reasons = new Map<string, number>();
      for (const g of skipped) reasons.set(g.reason ?? 'no reason given', (reasons.get(g.reason ?? 'no reason given') ?? 0) + 1);
      io.stdout.write(`Skipped groups:\n${[...reasons].map(([r, n]) => `  ${n} × ${r}`).join('\n')}\n`);
    }
  }
  return ExitCode.Ok;
}
