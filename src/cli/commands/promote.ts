// `manymodels promote`: decide every candidate, print the summary and reasons, write the report.
import { copyFileSync } from 'node:fs';
import path from 'node:path';
import { WorkFailedError } from '../../core/errors.js';
import { ExitCode } from '../../core/exit-codes.js';
import { worstRejections } from '../../pipeline/promotion-rules.js';
import { promotePipelines } from '../../runs/promote.js';
import { azureContext, type CliIo } from '../io.js';
import { loadProjectOrThrow, projectOptions, showWarnings } from '../options.js';
import { CiStageReport, junitPath } from '../ui/ci/stage-report.js';
import { renderRunEvents, type RunEventView } from '../ui/run-events.js';

/** Rejected groups listed in the summary; the report has them all. */
const SHOWN = 5;

export async function run(args: unknown[], opts: Record<string, unknown>, io: CliIo): Promise<number> {
  const options = projectOptions(opts, io);
  const { project, warnings } = loadProjectOrThrow(options, io);
  showWarnings(warnings, options, io);
  const dryRun = Boolean(opts.dryRun);
  const request: Parameters<typeof promotePipelines>[0] = { project, dryRun, context: azureContext(io) };
  if (typeof args[0] === 'string') request.pipeline = args[0];
  if (typeof opts.run === 'string') request.run = opts.run;
  const report = new CiStageReport(io, 'promote', project.target.stateDir, junitPath(opts, io));
  let succeeded = false;
  try {
    let view: RunEventView | undefined;
    await promotePipelines(request, {
      // The copy to production, live on a terminal (a line per tenth in a log); --json prints only the report.
      start(pipeline) {
        if (options.json || dryRun) return undefined;
        const v = renderRunEvents(io, false, `promote ${pipeline.name}`);
        view = v;
        return ({ done, total }) => v.progress({ done, failed: 0, skipped: 0, total });
      },
      done(pipeline, result) {
        view?.end();
        const { summary } = result.report;
        report.promotion(pipeline.name, result);
        if (typeof opts.report === 'string') copyFileSync(result.reportPath, path.resolve(io.cwd, opts.report));
        if (options.json) {
          io.stdout.write(`${JSON.stringify(result.report)}\n`);
        } else {
          const pct = (summary.promotedFraction * 100).toFixed(1);
          const lines = [
            `${dryRun ? 'Dry run — nothing changed. ' : ''}Promotion of ${pipeline.name} from run ${result.report.sourceRun}:`,
            `  ${summary.candidates} candidates · ${summary.promoted} promoted · ${summary.unchanged} already in production · ${summary.rejected} rejected (${pct}% pass)`,
          ];
          for (const [rule, n] of Object.entries(summary.rejectedBy).sort((a, b) => b[1] - a[1])) lines.push(`  rejected by "${rule}": ${n}`);
          if (summary.gate.required) lines.push(`  gate: ${summary.gate.required} — ${summary.gate.met ? 'met' : 'NOT MET'}`);
          // Worst first: the groups furthest from passing are the ones to look at.
          const rejected = worstRejections(result.report.decisions);
          for (const d of rejected.slice(0, SHOWN)) {
            const keys = Object.entries(d.keys).map(([k, v]) => `${k}=${v}`).join(' ');
            lines.push(`  ✗ ${keys}: ${d.reasons.filter((r) => r.startsWith('FAIL')).map((r) => r.slice(5)).join('; ')}`);
          }
          if (rejected.length > SHOWN) lines.push(`  … and ${rejected.length - SHOWN} more rejected (every decision is in the report below)`);
          if (!dryRun && summary.gate.met) lines.push(`Copied ${result.copied} model version${result.copied === 1 ? '' : 's'} to the ${result.productionRegistry}`);
          lines.push(`Report: ${path.relative(io.cwd, result.reportPath) || result.reportPath}`);
          io.stdout.write(`${lines.join('\n')}\n`);
        }
        if (!summary.gate.met) {
          throw new WorkFailedError(`promotion gate not met for ${pipeline.name}: ${summary.gate.required}; production was not changed`, {
            code: 'MM506',
            nextSteps: [`Why each group was rejected: ${path.relative(io.cwd, result.reportPath) || result.reportPath}`],
          });
        }
      },
    });
    succeeded = true;
  } finally {
    report.finish(succeeded);
  }
  return ExitCode.Ok;
}
