// `manymodels train`: one model per group, evaluated and registered, with a progress line.
import { formatDiagnostics } from '../../core/diagnostics.js';
import { ExitCode } from '../../core/exit-codes.js';
import { UsageError } from '../../core/errors.js';
import { openBackend } from '../../jobs/open-backend.js';
import { RunStore } from '../../jobs/run-store.js';
import { runTraining, type TrainUpdate } from '../../pipeline/train.js';
import { openRegistry } from '../../registry/open-registry.js';
import { azureContext, type CliIo } from '../io.js';
import { loadProjectOrThrow, pickPipelines, projectOptions } from '../options.js';
import { throwForOutcome, writeSubmitted } from '../run-outcome.js';
import { describeFailures, renderRunEvents } from '../ui/run-events.js';

export async function run(args: unknown[], opts: Record<string, unknown>, io: CliIo): Promise<number> {
  const options = projectOptions(opts, io);
  const { project, warnings } = loadProjectOrThrow(options, io);
  if (warnings.length && !options.json) io.stderr.write(formatDiagnostics(warnings));
  const runs = new RunStore(project.target.stateDir);
  const resume = typeof opts.resume === 'string' ? opts.resume : undefined;
  const workers = opts.workers === undefined ? undefined : Number(opts.workers);
  if (workers !== undefined && (!Number.isInteger(workers) || workers < 0)) {
    throw new UsageError(`--workers must be a whole number ≥ 0, got "${String(opts.workers)}"`, { code: 'MM318' });
  }
  const pipelines = resume ? pickPipelines(project, args[0] ?? runs.get(resume).pipeline) : pickPipelines(project, args[0]);
  const noWait = opts.wait === false;
  const backend = await openBackend(project.target, azureContext(io));
  if (noWait && !backend.attach) throw new UsageError(`--no-wait needs a remote engine; target "${project.target.name}" runs on ${project.target.engine}`, { code: 'MM318' });
  const registry = await openRegistry(project.target.registry, azureContext(io), { field: 'registry', stateDir: project.target.stateDir });
  try {
    for (const pipeline of pipelines) {
      const view = renderRunEvents(io, options.json, `train ${pipeline.name}`);
      const trainOptions: Parameters<typeof runTraining>[0] = {
        project,
        pipeline,
        backend,
        registry,
        runs,
        onUpdate: (u: TrainUpdate) => {
          if (u.kind === 'register') {
            if (u.done === u.total) view.phase(u.of ? `registered ${u.total} models of run ${u.of}` : `registered ${u.total} models`, u);
          }
          else if (u.kind === 'run') view.started(u.runId);
          else view.update(u);
        },
      };
      if (resume) trainOptions.resume = resume;
      if (workers !== undefined) trainOptions.workers = workers;
      if (noWait) trainOptions.wait = false;
      if (io.signal) trainOptions.signal = io.signal;
      const result = await runTraining(trainOptions);
      view.end();
      const { run, manifest } = result;
      if (noWait && result.outcome.state === 'running') {
        writeSubmitted(io, options.json, run);
        continue;
      }
      if (options.json) {
        io.stdout.write(`${JSON.stringify({ event: 'result', run, registered: result.registered })}\n`);
      } else if (result.nothingToDo) {
        io.stdout.write(`Nothing to resume: every group of run ${resume} is ok.\n`);
      } else if (run.counts) {
        const c = run.counts;
        io.stdout.write(
          `Trained ${pipeline.name} on ${project.target.name === project.target.engine ? project.target.name : `${project.target.name} (${project.target.engine})`}: ${c.ok} ok · ${c.failed} failed · ${c.skipped} skipped of ${c.total} groups in ${(run.timings.runSeconds ?? 0).toFixed(1)} s\n` +
            `Registered ${result.registered} model version${result.registered === 1 ? '' : 's'} in the ${registry.description}\n`,
        );
        if (manifest) io.stdout.write(describeFailures(manifest));
        io.stdout.write(`Run ${run.id} — details: manymodels runs show ${run.id}\n`);
      }
      throwForOutcome(result.outcome, run, `manymodels train ${pipeline.name} --resume ${run.id}`);
    }
  } finally {
    await registry.close();
  }
  return ExitCode.Ok;
}
