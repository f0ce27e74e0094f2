// `manymodels promote`: decide every candidate, print the summary and reasons, write the report.
import { copyFileSync } from 'node:fs';
import path from 'node:path';
import { formatDiagnostics } from '../../core/diagnostics.js';
import { WorkFailedError } from '../../core/errors.js';
import { ExitCode } from '../../core/exit-codes.js';
import { RunStore } from '../../jobs/run-store.js';
import { runPromotion } from '../../pipeline/promote.js';
import { openRegistry } from '../../registry/open-registry.js';
import { azureContext, type CliIo } from '../io.js';
import { loadProjectOrThrow, pickPipelines, projectOptions } from '../options.js';

export async function run(args: unknown[], opts: Record<string, unknown>, io: CliIo): Promise<number> {
  const options = projectOptions(opts, io);
  const { project, warnings } = loadProjectOrThrow(options, io);
  if (warnings.length && !options.json) io.stderr.write(formatDiagnostics(warnings));
  const runs = new RunStore(project.target.stateDir);
  const training = await openRegistry(project.target.registry, azureContext(io), { field: 'registry', stateDir: project.target.stateDir });
  const production = await openRegistry(project.target.productionRegistry, azureContext(io), { field: 'production_registry', stateDir: project.target.stateDir });
  const dryRun = Boolean(opts.dryRun);
  try {
    for (const pipeline of pickPipelines(project, args[0])) {
      const promoteOptions: Parameters<typeof runPromotion>[0] = { project, pipeline, training, production, runs, dryRun };
      if (typeof opts.run === 'string') promoteOptions.run = opts.run;
      const result = await runPromotion(promoteOptions);
      const { summary } = result.report;
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
        const rejected = result.report.decisions.filter((d) => d.outcome === 'reject').slice(0, 5);
        for (const d of rejected) {
          const keys = Object.entries(d.keys).map(([k, v]) => `${k}=${v}`).join(' ');
          lines.push(`  ✗ ${keys}: ${d.reasons.filter((r) => r.startsWith('FAIL')).map((r) => r.slice(5)).join('; ')}`);
        }
        if (!dryRun && summary.gate.met) lines.push(`Copied ${result.copied} model version${result.copied === 1 ? '' : 's'} to the ${production.description}`);
        lines.push(`Report: ${path.relative(io.cwd, result.reportPath) || result.reportPath}`);
        io.stdout.write(`${lines.join('\n')}\n`);
      }
      if (!summary.gate.met) {
        throw new WorkFailedError(`promotion gate not met for ${pipeline.name}: ${summary.gate.required}; production was not changed`, {
          code: 'MM506',
          nextSteps: [`Why each group was rejected: ${path.relative(io.cwd, result.reportPath) || result.reportPath}`],
        });
      }
    }
  } finally {
    await training.close();
    await production.close();
  }
  return ExitCode.Ok;
}
