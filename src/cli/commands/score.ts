// `manymodels score`: every group scored with its production model into the target's sink.
import { formatDiagnostics } from '../../core/diagnostics.js';
import { UsageError } from '../../core/errors.js';
import { ExitCode } from '../../core/exit-codes.js';
import { openBackend } from '../../jobs/open-backend.js';
import { RunStore } from '../../jobs/run-store.js';
import { runScoring } from '../../pipeline/score.js';
import { openRegistry } from '../../registry/open-registry.js';
import { azureContext, type CliIo } from '../io.js';
import { loadProjectOrThrow, pickPipelines, projectOptions } from '../options.js';
import { throwForOutcome, writeSubmitted } from '../run-outcome.js';
import { describeFailures, renderRunEvents } from '../ui/run-events.js';

export async function run(args: unknown[], opts: Record<string, unknown>, io: CliIo): Promise<number> {
  const options = projectOptions(opts, io);
  const { project, warnings } = loadProjectOrThrow(options, io);
  if (warnings.length && !options.json) io.stderr.write(formatDiagnostics(warnings));
  const workers = opts.workers === undefined ? undefined : Number(opts.workers);
  if (workers !== undefined && (!Number.isInteger(workers) || workers < 0)) {
    throw new UsageError(`--workers must be a whole number ≥ 0, got "${String(opts.workers)}"`, { code: 'MM318' });
  }
  const runs = new RunStore(project.target.stateDir);
  const noWait = opts.wait === false;
  const backend = await openBackend(project.target, azureContext(io));
  if (noWait && !backend.attach) throw new UsageError(`--no-wait needs a remote engine; target "${project.target.name}" runs on ${project.target.engine}`, { code: 'MM318' });
  const production = await openRegistry(project.target.productionRegistry, azureContext(io), { field: 'production_registry', stateDir: project.target.stateDir });
  try {
    for (const pipeline of pickPipelines(project, args[0])) {
      const view = renderRunEvents(io, options.json, `score ${pipeline.name}`);
      const scoreOptions: Parameters<typeof runScoring>[0] = {
        project,
        pipeline,
        backend,
        production,
        runs,
        onUpdate: (u) => (u.kind === 'run' ? view.started(u.runId) : view.update(u)),
      };
      if (workers !== undefined) scoreOptions.workers = workers;
      if (noWait) scoreOptions.wait = false;
      if (io.signal) scoreOptions.signal = io.signal;
      const result = await runScoring(scoreOptions);
      view.end();
      const { run } = result;
      if (noWait && result.outcome.state === 'running') {
        writeSubmitted(io, options.json, run);
        continue;
      }
      if (options.json) {
        io.stdout.write(`${JSON.stringify({ event: 'result', run })}\n`);
      } else if (run.counts) {
        const sink = run.summary.sink as Record<string, string | null>;
        const where = sink.type === 'sqlite' ? `${sink.path} (table ${sink.table})` : `${sink.type} ${sink.table ?? sink.path ?? ''}`;
        io.stdout.write(
          `Scored ${pipeline.name} with ${result.models} production models: ${run.counts.ok} ok · ${run.counts.failed} failed · ${run.counts.skipped} skipped; ` +
            `${Number(run.summary.predictionsWritten ?? 0).toLocaleString('en-US')} predictions written to ${where} in ${(run.timings.runSeconds ?? 0).toFixed(1)} s\n`,
        );
        if (result.manifest) io.stdout.write(describeFailures(result.manifest));
        io.stdout.write(`Run ${run.id} — details: manymodels runs show ${run.id}\n`);
      }
      throwForOutcome(result.outcome, run, null);
    }
  } finally {
    await production.close();
  }
  return ExitCode.Ok;
}
