// What one train, score or promote command leaves for CI, gathered pipeline by pipeline and
// written when the command ends (whether it succeeded or not): output variables as each
// pipeline finishes, the MM510 warning for groups that failed within the budget, the markdown
// summary, the --junit file and, when everything else succeeded, "succeeded with issues".
import path from 'node:path';
import { UsageError } from '../../../core/errors.js';
import { redactSecrets } from '../../../core/redact.js';
import type { RunManifest, RunOutcome, RunRecord } from '../../../contracts/runs.js';
import type { PipelinePromotion } from '../../../runs/promote.js';
import type { CliIo } from '../../io.js';
import { junitXml, writeJunitFile, type JunitSuite } from './junit.js';
import { NO_CI, type CiReporter } from './reporter.js';
import { groupName, promotionSection, runSection } from './summary.js';

export function ciOf(io: CliIo): CiReporter {
  return io.ci ?? NO_CI;
}

/** An output variable name from a pipeline name: letters, digits and `_` only. */
const suffix = (pipeline: string): string => pipeline.replace(/[^A-Za-z0-9_]/g, '_');

export interface RunReportEntry {
  pipeline: string;
  metrics: readonly string[];
  target: string;
  run: RunRecord;
  outcome: RunOutcome;
  manifest?: RunManifest;
  registered?: number;
  models?: number;
}

export class CiStageReport {
  private readonly ci: CiReporter;
  private readonly suites: JunitSuite[] = [];
  private readonly sections: string[] = [];
  private readonly issues: string[] = [];
  private firstRun: string | undefined;

  constructor(
    private readonly io: CliIo,
    private readonly stage: 'train' | 'score' | 'promote',
    private readonly stateDir: string,
    private readonly junitFile: string | undefined,
  ) {
    this.ci = ciOf(io);
  }

  /** CI extras never turn a result into a failure: a file they cannot write is a warning. */
  private safely(what: string, write: () => void): void {
    try {
      write();
    } catch (err) {
      this.io.stderr.write(`Warning: could not write the CI ${what}: ${redactSecrets(err instanceof Error ? err.message : String(err))}\n`);
    }
  }

  private outputs(pipeline: string, values: Record<string, string | number | boolean>): void {
    this.safely('output variables', () => {
      for (const [name, value] of Object.entries(values)) {
        this.ci.output(name, value);
        this.ci.output(`${name}_${suffix(pipeline)}`, value);
      }
    });
  }

  /** A finished (or submitted) train or score run. */
  run(entry: RunReportEntry): void {
    const { run, manifest } = entry;
    const stage = entry.run.stage === 'score' ? 'score' : 'train';
    this.firstRun ??= run.id;
    const values: Record<string, string | number | boolean> = { [`${stage}RunId`]: run.id, [`${stage}State`]: entry.outcome.state };
    if (run.counts) {
      Object.assign(values, {
        [`${stage}GroupsTotal`]: run.counts.total,
        [`${stage}GroupsOk`]: run.counts.ok,
        [`${stage}GroupsFailed`]: run.counts.failed,
        [`${stage}GroupsSkipped`]: run.counts.skipped,
      });
    }
    if (stage === 'train' && entry.registered !== undefined) values.trainModelsRegistered = entry.registered;
    if (stage === 'score' && run.summary.predictionsWritten !== undefined) values.scorePredictionsWritten = Number(run.summary.predictionsWritten);
    this.outputs(entry.pipeline, values);

    if (entry.outcome.state === 'succeeded' && run.counts && run.counts.failed > 0) {
      const failed = manifest?.groups.filter((g) => g.status === 'failed') ?? [];
      const lines = failed.slice(0, 5).map((g) => `  ${groupName(g.keys)}: ${g.errorClass ?? 'Error'}: ${(g.errorMessage ?? '').split('\n')[0]?.slice(0, 200) ?? ''}`);
      if (failed.length > 5) lines.push(`  … and ${failed.length - 5} more`);
      const reason = `${run.counts.failed} of ${run.counts.total} groups of ${entry.pipeline} failed within the failure budget (run ${run.id})`;
      this.ci.issue({ severity: 'warning', code: 'MM510', message: [reason, ...lines].join('\n') });
      this.issues.push(reason);
    }
    if (entry.outcome.state !== 'running') this.sections.push(runSection({ stage, ...entry }));
    if (manifest) {
      this.suites.push({
        name: entry.pipeline,
        timestamp: manifest.startedAt,
        seconds: run.timings.runSeconds ?? 0,
        properties: { stage, runId: run.id, target: entry.target, ...(run.resumeOf ? { resumeOf: run.resumeOf } : {}) },
        cases: manifest.groups.map((g) => ({
          classname: entry.pipeline,
          name: groupName(g.keys),
          ...(g.fitSeconds !== undefined ? { seconds: g.fitSeconds } : {}),
          ...(g.status === 'failed'
            ? { failure: { type: g.errorClass ?? 'Error', message: `${g.errorClass ?? 'Error'}: ${(g.errorMessage ?? '').split('\n')[0] ?? ''}`, detail: g.errorMessage ?? '' } }
            : g.status === 'skipped'
              ? { skipped: g.reason ?? 'skipped' }
              : {}),
        })),
      });
    }
  }

  promotion(pipeline: string, result: PipelinePromotion): void {
    const { summary, decisions } = result.report;
    this.firstRun ??= result.run.id;
    this.outputs(pipeline, {
      promotionRunId: result.run.id,
      promotionSourceRunId: result.report.sourceRun,
      promotedCount: summary.promoted,
      unchangedCount: summary.unchanged,
      rejectedCount: summary.rejected,
      gateMet: summary.gate.met,
    });
    this.sections.push(promotionSection(pipeline, result));
    this.suites.push({
      name: pipeline,
      timestamp: result.run.createdAt,
      properties: { stage: 'promote', runId: result.run.id, sourceRun: result.report.sourceRun, gate: summary.gate.required ?? 'none', gateMet: String(summary.gate.met), dryRun: String(result.report.dryRun) },
      cases: decisions.map((d) => {
        const failed = d.reasons.filter((r) => r.startsWith('FAIL')).map((r) => r.slice(5));
        return {
          classname: pipeline,
          name: groupName(d.keys),
          ...(d.outcome === 'reject' ? { failure: { type: 'PromotionRejected', message: `rejected: ${failed.join('; ')}`, detail: d.reasons.join('\n') } } : {}),
        };
      }),
    });
  }

  /**
   * Called once, when the command ends. The JUnit file is written whenever a pipeline produced
   * results, also when the command failed: that is when it is most wanted.
   */
  finish(succeeded: boolean): void {
    if (this.sections.length && this.ci.system !== 'none') {
      const markdown = [`## manymodels ${this.stage}`, '', ...this.sections.flatMap((s) => [s, ''])].join('\n');
      this.safely('summary', () => this.ci.summary(markdown, path.join(this.stateDir, 'ci', `${this.stage}-${this.firstRun ?? 'run'}.md`)));
    }
    if (this.junitFile && this.suites.length) {
      try {
        writeJunitFile(this.junitFile, junitXml(`manymodels ${this.stage}`, this.suites));
      } catch (err) {
        const message = `cannot write the --junit file ${path.relative(this.io.cwd, this.junitFile) || this.junitFile}: ${redactSecrets(err instanceof Error ? err.message : String(err))}`;
        // A failed command already has its error to report; do not hide it behind this one.
        if (!succeeded) {
          this.io.stderr.write(`Warning MM318: ${message}\n`);
          this.ci.issue({ severity: 'warning', code: 'MM318', message });
        } else throw new UsageError(message, { code: 'MM318' });
      }
    }
    if (succeeded && this.issues.length) this.ci.succeededWithIssues(this.issues.join('; '));
  }
}

/** The --junit path, resolved against the cwd, or undefined when the flag was not given. */
export function junitPath(opts: Record<string, unknown>, io: CliIo): string | undefined {
  if (opts.junit === undefined) return undefined;
  if (typeof opts.junit !== 'string' || !opts.junit.trim()) throw new UsageError('--junit needs a file name', { code: 'MM318' });
  return path.resolve(io.cwd, opts.junit);
}

/** The hooks see the Pipeline itself (typed as `{ name }`); its metrics order the summary's worst groups. */
export function metricsOf(pipeline: { name: string }): string[] {
  const metrics = (pipeline as { metrics?: unknown }).metrics;
  return Array.isArray(metrics) ? metrics.filter((m): m is string => typeof m === 'string') : [];
}
