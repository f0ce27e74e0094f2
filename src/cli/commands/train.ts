// `manymodels train`: one model per group, evaluated and registered, with live progress (ui/run-events.ts).
import { ExitCode } from '../../core/exit-codes.js';
import { trainPipelines } from '../../runs/train.js';
import { azureContext, type CliIo } from '../io.js';
import { loadProjectOrThrow, optionalCount, projectOptions, showWarnings } from '../options.js';
import { cliHints, throwForOutcome, writeSubmitted } from '../run-outcome.js';
import { CiStageReport, junitPath, metricsOf } from '../ui/ci/stage-report.js';
import { describeFailures, renderRunEvents, type RunEventView } from '../ui/run-events.js';

export async function run(args: unknown[], opts: Record<string, unknown>, io: CliIo): Promise<number> {
  const options = projectOptions(opts, io);
  const { project, warnings } = loadProjectOrThrow(options, io);
  showWarnings(warnings, options, io);
  const request: Parameters<typeof trainPipelines>[0] = { project, context: azureContext(io, options) };
  if (typeof args[0] === 'string') request.pipeline = args[0];
  if (typeof opts.resume === 'string') request.resume = opts.resume;
  const workers = optionalCount('workers', opts.workers);
  if (workers !== undefined) request.workers = workers;
  const noWait = opts.wait === false;
  if (noWait) request.wait = false;
  if (io.signal) request.signal = io.signal;
  const target = project.target.name === project.target.engine ? project.target.name : `${project.target.name} (${project.target.engine})`;

  const report = new CiStageReport(io, 'train', project.target.stateDir, junitPath(opts, io));
  let succeeded = false;
  let view: RunEventView | undefined;
  try {
    await trainPipelines(request, {
      start(pipeline) {
        const v = renderRunEvents(io, options.json, `train ${pipeline.name}`);
        view = v;
        return (u) => {
          if (u.kind === 'register') {
            if (u.done === u.total) v.phase(u.of ? `registered ${u.total} models of run ${u.of}` : `registered ${u.total} models`, u);
          } else if (u.kind === 'run') v.started(u.runId);
          else v.update(u);
        };
      },
      done(pipeline, result) {
        view?.end();
        const { run, manifest } = result;
        const entry: Parameters<typeof report.run>[0] = { pipeline: pipeline.name, metrics: metricsOf(pipeline), target: project.target.name, run, outcome: result.outcome, registered: result.registered };
        if (manifest) entry.manifest = manifest;
        report.run(entry);
        if (noWait && result.outcome.state === 'running') {
          writeSubmitted(io, options.json, run, cliHints(project));
          return;
        }
        if (options.json) {
          io.stdout.write(`${JSON.stringify({ event: 'result', run, registered: result.registered })}\n`);
        } else if (result.nothingToDo) {
          io.stdout.write(`Nothing to resume: every group of run ${request.resume} is ok.\n`);
        } else if (run.counts && !result.manifest) {
          // Stopped before its manifest: what its journal kept, and `--resume` trains the rest.
          const c = run.counts;
          io.stdout.write(`Stopped ${pipeline.name} on ${target}: ${c.total} group${c.total === 1 ? '' : 's'} finished and kept (${c.ok} ok · ${c.failed} failed · ${c.skipped} skipped)\n`);
        } else if (run.counts) {
          const c = run.counts;
          io.stdout.write(
            `Trained ${pipeline.name} on ${target}: ${c.ok} ok · ${c.failed} failed · ${c.skipped} skipped of ${c.total} groups in ${(run.timings.runSeconds ?? 0).toFixed(1)} s\n` +
              `Registered ${result.registered} model version${result.registered === 1 ? '' : 's'} in the ${String(run.summary.registry)}\n`,
          );
          if (manifest) io.stdout.write(describeFailures(manifest));
          io.stdout.write(`Run ${run.id} — details: ${cliHints(project)(`runs show ${run.id}`)}\n`);
        }
        throwForOutcome(result.outcome, run, `train ${pipeline.name} --resume ${run.id}`, cliHints(project));
      },
    });
    succeeded = true;
  } finally {
    report.finish(succeeded);
  }
  return ExitCode.Ok;
}

