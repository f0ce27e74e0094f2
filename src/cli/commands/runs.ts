// `manymodels runs list|show|watch|cancel`: the run history under .manymodels/runs, and
// re-attaching to a remote run (follow it, finish it, or cancel it) from another CLI process.
import { formatDiagnostics, expectedOneOf } from '../../core/diagnostics.js';
import { UsageError } from '../../core/errors.js';
import { ExitCode } from '../../core/exit-codes.js';
import { readRunManifest } from '../../jobs/run-manifest.js';
import { RunStore, type RunRecord } from '../../jobs/run-store.js';
import type { Project } from '../../pipeline/project.js';
import { azureContext, type CliIo } from '../io.js';
import { loadProjectOrThrow, projectOptions, type ProjectOptions } from '../options.js';
import { throwForOutcome } from '../run-outcome.js';
import { describeFailures, renderRunEvents } from '../ui/run-events.js';

const ACTIONS = ['list', 'show', 'watch', 'cancel'];

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
  if (typeof args[1] !== 'string') throw new UsageError(`runs ${action} needs a run id`, { code: 'MM318', nextSteps: ['List runs with: manymodels runs list'] });
  if (action === 'watch' || action === 'cancel') return follow(args[1], action === 'cancel', options, io, store, project);
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

/**
 * `runs watch RUN` / `runs cancel RUN`: follow a remote run to its end (cancelling it first),
 * then finish it as `train`/`score` would have — a training run's models are registered here
 * if nobody registered them yet (registration is idempotent, so watching twice is harmless).
 */
async function follow(id: string, cancel: boolean, options: ProjectOptions, io: CliIo, store: RunStore, loaded: Project): Promise<number> {
  const record = store.get(id);
  // The run's own target, unless --target names one: its settings say where the run is.
  const project = options.target === undefined && record.target !== loaded.target.name
    ? loadProjectOrThrow({ ...options, target: record.target }, io).project
    : loaded;
  const [{ openBackend }, { attachRun }, { openRegistry }] = await Promise.all([
    import('../../jobs/open-backend.js'),
    import('../../pipeline/attach.js'),
    import('../../registry/open-registry.js'),
  ]);
  const backend = await openBackend(project.target, azureContext(io));
  const registry = record.stage === 'train'
    ? await openRegistry(project.target.registry, azureContext(io), { field: 'registry', stateDir: project.target.stateDir })
    : undefined;
  try {
    const view = renderRunEvents(io, options.json, `${record.stage} ${record.pipeline}`);
    if (cancel && !options.json) io.stderr.write(`Cancelling run ${record.id}…\n`);
    const attach: Parameters<typeof attachRun>[0] = {
      project,
      backend,
      runs: store,
      record,
      cancel,
      onUpdate: (u) => {
        if (u.kind === 'register') {
          if (u.done === u.total) view.phase(`registered ${u.total} models`, u);
        } else if (u.kind !== 'run') view.update(u);
      },
    };
    if (registry) attach.registry = registry;
    if (io.signal) attach.signal = io.signal;
    const attached = await attachRun(attach);
    view.end();
    const { run, outcome, manifest } = attached.result;
    const registered = attached.stage === 'train' ? attached.result.registered : undefined;
    if (options.json) {
      io.stdout.write(`${JSON.stringify({ event: 'result', run, ...(registered !== undefined ? { registered } : {}) })}\n`);
    } else if (outcome.state !== 'running') {
      const c = run.counts;
      const lines = [`Run ${run.id} (${run.stage} ${run.pipeline} on ${run.target}): ${run.state}${c ? ` · ${c.ok} ok · ${c.failed} failed · ${c.skipped} skipped of ${c.total} groups` : ''}`];
      if (registered !== undefined && registry) lines.push(`Registered ${registered} model version${registered === 1 ? '' : 's'} in the ${registry.description}`);
      if (run.stage === 'score' && run.summary.predictionsWritten !== undefined) lines.push(`${Number(run.summary.predictionsWritten).toLocaleString('en-US')} predictions written`);
      io.stdout.write(`${lines.join('\n')}\n`);
      if (manifest) io.stdout.write(describeFailures(manifest));
      io.stdout.write(`Details: manymodels runs show ${run.id}\n`);
    }
    // A cancel that did what it was asked is a success.
    if (cancel && outcome.state === 'cancelled') return ExitCode.Ok;
    throwForOutcome(outcome, run, run.stage === 'train' ? `manymodels train ${run.pipeline} --resume ${run.id}` : null);
    return ExitCode.Ok;
  } finally {
    await registry?.close();
  }
}
