// `manymodels plan`: the data's profile, a pilot of sampled groups on the local engine, and
// the time and cost of a training run on the local engine and on the target (docs/plan.md).
import { ExitCode } from '../../core/exit-codes.js';
import { DEFAULT_PILOT, parseBudget, planCount, planPipelines, type PlanResult, type TargetEstimate } from '../../runs/plan.js';
import type { CliIo } from '../io.js';
import { loadProjectOrThrow, projectOptions, showWarnings } from '../options.js';

export async function run(args: unknown[], opts: Record<string, unknown>, io: CliIo): Promise<number> {
  const options = projectOptions(opts, io);
  // The flags first: a bad --budget is an error before anything is read.
  const budgetSeconds = typeof opts.budget === 'string' ? parseBudget(opts.budget) : undefined;
  const pilot = planCount('pilot', opts.pilot, DEFAULT_PILOT, 100_000);
  const seed = planCount('seed', opts.seed, 0, 2 ** 31 - 1);
  const { project, warnings } = loadProjectOrThrow(options, io);
  showWarnings(warnings, options, io);
  const request: Parameters<typeof planPipelines>[0] = { project, pilot, seed, env: io.env };
  if (project.target.engine !== 'local') {
    // A remote target's data is on the cluster: the profile reads the file's local target's.
    const local = localTargetOf(project.raw.targets);
    if (local !== undefined) request.localProject = loadProjectOrThrow({ ...options, target: local }, io).project;
  }
  if (typeof args[0] === 'string') request.pipeline = args[0];
  if (budgetSeconds !== undefined) request.budgetSeconds = budgetSeconds;
  if (io.signal) request.signal = io.signal;
  if (!options.json) io.stderr.write(`Profiling the data and training ${pilot} pilot group${pilot === 1 ? '' : 's'} on the local engine…\n`);
  await planPipelines(request, (result) => {
    if (options.json) {
      io.stdout.write(`${JSON.stringify({ event: 'pilot', pipeline: result.pipeline.name, ...result.pilot, notes: result.notes, ...(result.partition ? { partition: result.partition } : {}) })}\n`);
      io.stdout.write(`${JSON.stringify({ event: 'plan', estimate: result.estimate, profile: result.profile })}\n`);
    } else {
      io.stdout.write(renderPlan(result));
    }
  });
  return ExitCode.Ok;
}

/** The local target a remote target's plan profiles through: the default local one, else the first. */
function localTargetOf(targets: Record<string, { engine?: string; default?: boolean } | undefined> | undefined): string | undefined {
  const local = Object.entries(targets ?? {}).filter(([, t]) => t?.engine === 'local');
  return (local.find(([, t]) => t?.default) ?? local[0])?.[0];
}

const fmtSeconds = (s: number): string => (s < 60 ? `${s.toFixed(1)} s` : s < 3600 ? `${(s / 60).toFixed(1)} min` : `${(s / 3600).toFixed(2)} h`);
const fmtBytes = (b: number): string => (b < 2 ** 20 ? `${(b / 1024).toFixed(1)} KiB` : b < 2 ** 30 ? `${(b / 2 ** 20).toFixed(1)} MiB` : `${(b / 2 ** 30).toFixed(2)} GiB`);

function table(rows: string[][]): string {
  const widths = rows[0]!.map((_, c) => Math.max(...rows.map((r) => r[c]!.length)));
  return rows.map((r) => r.map((cell, c) => (c === 0 ? cell.padEnd(widths[c]!) : cell.padStart(widths[c]!))).join('  ').trimEnd()).join('\n');
}

function where(name: string, e: TargetEstimate): string {
  if (e.engine === 'local') return `${name} (${e.workers} workers)`;
  return `${name} (${e.nodes} × ${e.vcpus_per_node} vCPU)`;
}

export function renderPlan(r: PlanResult): string {
  const p = r.profile;
  const out: string[] = [];
  const checks = Object.entries(p.groups_by_check).filter(([k, n]) => k !== 'ok' && n > 0).map(([k, n]) => `${n} ${k.replace(/_/g, ' ')}`);
  out.push(`Pipeline ${p.pipeline}: ${p.rows} rows, ${p.groups} groups${p.time_range ? `, ${p.time_range.start} to ${p.time_range.end}` : ''}`);
  out.push(`  rows per group: min ${p.rows_per_group.min}, median ${p.rows_per_group.median}, p90 ${p.rows_per_group.p90}, max ${p.rows_per_group.max}`);
  out.push(`  ${p.groups_by_check.ok} groups to fit${checks.length ? `; skipped or failed before a fit: ${checks.join(', ')}` : ''}`);
  const giants = p.giants;
  if (giants.over_arrow_limit.length) out.push(`  ${giants.over_arrow_limit.length} group(s) over Arrow's 2 GiB batch limit (largest ${fmtBytes(giants.over_arrow_limit[0]!.bytes)}): split them with another key`);
  if (giants.over_task_memory.length) out.push(`  ${giants.over_task_memory.length} group(s) too large for one task's memory (${fmtBytes(giants.memory_per_task_bytes ?? 0)})`);
  out.push('  histogram (rows: groups): ' + p.rows_per_group.histogram.map((h) => `${h.from}–${h.to}: ${h.groups}`).join(', '));
  const pl = r.pilot;
  out.push(`Pilot: ${pl.groups} groups (seed ${pl.seed}) on ${pl.workers} workers, ${pl.fitted_ok} fitted; per group ${fmtSeconds(pl.seconds.min)}–${fmtSeconds(pl.seconds.max)} (median ${fmtSeconds(pl.seconds.median)})` + (pl.artifact_bytes_mean !== null ? `, artifacts ${fmtBytes(pl.artifact_bytes_mean)} each` : ''));
  out.push(`  per group: ${pl.cost_model.intercept.toFixed(4)} s + ${(pl.cost_model.per_row * 1000).toFixed(4)} ms per row`);
  const rows: string[][] = [['estimate', 'wall', 'vCPU-h', 'cost', 'budget']];
  for (const [name, e] of Object.entries(r.estimate)) {
    const budget = e.budget ? (e.budget.meets ? 'meets' : e.budget.recommended_nodes ? `${e.budget.recommended_nodes} nodes: ${fmtSeconds(e.budget.wall_seconds ?? 0)}` : e.budget.reason ? 'cannot' : 'misses') : '';
    rows.push([where(name, e), fmtSeconds(e.wall_seconds), e.vcpu_hours.toFixed(3), e.cost !== null ? `${e.cost.toFixed(2)} ${e.currency}` : '–', budget]);
  }
  out.push(table(rows));
  for (const [name, e] of Object.entries(r.estimate)) {
    out.push(`  ${name}: ` + Object.entries(e.parts).filter(([, s]) => s >= 0.05).map(([k, s]) => `${k.replace(/_/g, ' ')} ${fmtSeconds(s)}`).join(', '));
    if (e.budget?.reason) out.push(`  ${name} budget ${fmtSeconds(e.budget.budget_seconds)}: ${e.budget.reason}`);
  }
  if (r.partition) out.push(`Partition plan: ${r.partition.file} (${r.partition.buckets} buckets, ${r.partition.mapped} groups mapped, ${r.partition.giants} giants, max/mean load ${r.partition.imbalance})`);
  for (const n of r.notes) out.push(`note: ${n}`);
  return `${out.join('\n')}\n`;
}
