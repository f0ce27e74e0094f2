// `manymodels score`: every group scored with its production model into the target's sink.
import { ExitCode } from '../../core/exit-codes.js';
import { scorePipelines } from '../../runs/score.js';
import { azureContext, type CliIo } from '../io.js';
import { loadProjectOrThrow, optionalCount, projectOptions, showWarnings } from '../options.js';
import { cliHints, throwForOutcome, writeSubmitted } from '../run-outcome.js';
import { CiStageReport, junitPath } from '../ui/ci/stage-report.js';
import { describeFailures, renderRunEvents, type RunEventView } from '../ui/run-events.js';

export async function run(args: unknown[], opts: Record<string, unknown>, io: CliIo): Promise<number> {
  const options = projectOptions(opts, io);
  const { project, warnings } = loadProjectOrThrow(options, io);
  showWarnings(warnings, options, io);
  const request: Parameters<typeof scorePipelines>[0] = { project, context: azureContext(io, options) };
  if (typeof args[0] === 'string') request.pipeline = args[0];
  const workers = optionalCount('workers', opts.workers);
  if (workers !== undefined) request.workers = workers;
  const noWait = opts.wait === false;
  if (noWait) request.wait = false;
  if (io.signal) request.signal = io.signal;

  const report = new CiStageReport(io, 'score', project.target.stateDir, junitPath(opts, io));
  let succeeded = false;
  let view: RunEventView | undefined;
  try {
    await scorePipelines(request, {
      start(pipeline) {
        const v = renderRunEvents(io, options.json, `score ${pipeline.name}`);
        view = v;
        return (u) => (u.kind === 'run' ? v.started(u.runId) : v.update(u));
      },
      done(pipeline, result) {
        view?.end();
        const { run } = result;
        const entry: Parameters<typeof report.run>[0] = { pipeline: pipeline.name, metrics: [], target: project.target.name, run, outcome: result.outcome, models: result.models };
        if (result.manifest) entry.manifest = result.manifest;
        report.run(entry);
        if (noWait && result.outcome.state === 'running') {
          writeSubmitted(io, options.json, run, cliHints(project));
          return;
        }
        if (options.json) {
          io.stdout.write(`${JSON.stringify({ event: 'result', run })}\n`);
        } else if (run.counts) {
          const sink = run.summary.sink as Record<string, string | null>;
          const where = sink.type === 'sqlite' ? `${sink.path} (table ${sink.table})` : sink.type === 'csv' || sink.type === 'parquet' ? `${sink.path} (${sink.type})` : `${sink.type} ${sink.table ?? sink.path ?? ''}`;
          io.stdout.write(
            `Scored ${pipeline.name} with ${result.models} production models: ${run.counts.ok} ok · ${run.counts.failed} failed · ${run.counts.skipped} skipped; ` +
              `${Number(run.summary.predictionsWritten ?? 0).toLocaleString('en-US')} predictions written to ${where} in ${(run.timings.runSeconds ?? 0).toFixed(1)} s\n`,
          );
          if (result.manifest) io.stdout.write(describeFailures(result.manifest));
          io.stdout.write(`Run ${run.id} — details: ${cliHints(project)(`runs show ${run.id}`)}\n`);
        }
        throwForOutcome(result.outcome, run, null, cliHints(project));
      },
    });
    succeeded = true;
  } finally {
    report.finish(succeeded);
  }
  return ExitCode.Ok;
}
