// The markdown summary of a CI step: per pipeline its counts, its failed and worst groups,
// and for promotion every decision that matters (the gate, the rules that rejected, the
// rejected groups with their reasons). Shown on the Azure Pipelines run page
// (task.uploadsummary) and as the GitHub Actions step summary.
import type { GroupResult, RunManifest, RunRecord } from '../../../contracts/runs.js';
import { higherIsBetter } from '../../../pipeline/catalog.js';
import type { PipelinePromotion } from '../../../runs/promote.js';

export const LIST_LIMIT = 10;

/** A table cell: one line, no table or HTML syntax from the data. */
export function cell(value: unknown): string {
  return String(value ?? '')
    .replace(/&/g, '&amp;')
    .replace(/</g, '&lt;')
    .replace(/>/g, '&gt;')
    .replace(/\|/g, '\\|')
    .replace(/\s*[\r\n]+\s*/g, ' ')
    .slice(0, 300);
}

export const groupName = (keys: Record<string, string>): string => Object.entries(keys).map(([k, v]) => `${k}=${v}`).join(' ');

const table = (head: string[], rows: unknown[][], align?: string[]): string[] => [
  `| ${head.join(' | ')} |`,
  `| ${(align ?? head.map(() => '---')).join(' | ')} |`,
  ...rows.map((r) => `| ${r.map(cell).join(' | ')} |`),
];

const fmt = (v: number): string => (Number.isFinite(v) ? String(Number(v.toPrecision(4))) : String(v));

function failedGroups(groups: readonly GroupResult[]): string[] {
  const failed = groups.filter((g) => g.status === 'failed');
  if (!failed.length) return [];
  return [
    '',
    `**Failed groups** (${failed.length}${failed.length > LIST_LIMIT ? `, first ${LIST_LIMIT}` : ''})`,
    '',
    ...table(
      ['Group', 'Error'],
      failed.slice(0, LIST_LIMIT).map((g) => [groupName(g.keys), `${g.errorClass ?? 'Error'}: ${(g.errorMessage ?? '').split('\n')[0] ?? ''}`]),
    ),
  ];
}

/** The ok groups that did worst on the pipeline's first metric. */
function worstGroups(groups: readonly GroupResult[], metrics: readonly string[]): string[] {
  const metric = metrics[0];
  if (!metric) return [];
  const scored = groups.filter((g) => g.status === 'ok' && Number.isFinite(g.metrics[metric]));
  if (!scored.length) return [];
  const up = higherIsBetter(metric);
  const worst = [...scored].sort((a, b) => (up ? a.metrics[metric]! - b.metrics[metric]! : b.metrics[metric]! - a.metrics[metric]!)).slice(0, 5);
  return ['', `**Worst groups by ${metric}**`, '', ...table(['Group', ...metrics], worst.map((g) => [groupName(g.keys), ...metrics.map((m) => (g.metrics[m] === undefined ? '' : fmt(g.metrics[m]!)))]))];
}

export interface RunSection {
  stage: 'train' | 'score';
  pipeline: string;
  metrics: readonly string[];
  target: string;
  run: RunRecord;
  manifest?: RunManifest;
  registered?: number;
  models?: number;
}

export function runSection(s: RunSection): string {
  const { run } = s;
  const c = run.counts;
  const lines = [`### ${s.stage === 'train' ? 'Training' : 'Scoring'}: ${cell(s.pipeline)}`, ''];
  const seconds = run.timings.runSeconds;
  const head = ['Run', 'Target', 'State', 'Groups', 'ok', 'failed', 'skipped', s.stage === 'train' ? 'Registered' : 'Predictions', 'Time'];
  const extra = s.stage === 'train' ? (s.registered ?? 0) : Number(run.summary.predictionsWritten ?? 0).toLocaleString('en-US');
  lines.push(
    ...table(
      head,
      [[run.id, s.target, run.state, c?.total ?? '', c?.ok ?? '', c?.failed ?? '', c?.skipped ?? '', extra, seconds === undefined ? '' : `${seconds.toFixed(1)} s`]],
      ['---', '---', '---', '---:', '---:', '---:', '---:', '---:', '---:'],
    ),
  );
  if (run.error) lines.push('', `**${cell(run.error.code)}**: ${cell(run.error.message)}`);
  if (s.manifest) {
    lines.push(...failedGroups(s.manifest.groups));
    if (s.stage === 'train') lines.push(...worstGroups(s.manifest.groups, s.metrics));
  }
  return lines.join('\n');
}

export function promotionSection(pipeline: string, result: PipelinePromotion): string {
  const { summary, decisions, dryRun, sourceRun } = result.report;
  const lines = [`### Promotion: ${cell(pipeline)}`, ''];
  lines.push(
    ...table(
      ['From run', 'Candidates', 'Promoted', 'Already in production', 'Rejected', 'Pass rate', 'Gate'],
      [[sourceRun, summary.candidates, summary.promoted, summary.unchanged, summary.rejected, `${(summary.promotedFraction * 100).toFixed(1)}%`, summary.gate.required ? `${summary.gate.required}: ${summary.gate.met ? 'met' : 'NOT MET'}` : 'none']],
      ['---', '---:', '---:', '---:', '---:', '---:', '---'],
    ),
  );
  const decision = dryRun
    ? 'Dry run: nothing was changed.'
    : summary.gate.met
      ? `Copied ${result.copied} model version${result.copied === 1 ? '' : 's'} to the ${result.productionRegistry}.`
      : 'Gate not met: production was not changed.';
  lines.push('', `**Decision**: ${cell(decision)}`);
  const rules = Object.entries(summary.rejectedBy).sort((a, b) => b[1] - a[1]);
  if (rules.length) lines.push('', ...table(['Rejected by rule', 'Groups'], rules, ['---', '---:']));
  const rejected = decisions.filter((d) => d.outcome === 'reject');
  if (rejected.length) {
    lines.push(
      '',
      `**Rejected groups** (${rejected.length}${rejected.length > LIST_LIMIT ? `, first ${LIST_LIMIT}` : ''})`,
      '',
      ...table(['Group', 'Why'], rejected.slice(0, LIST_LIMIT).map((d) => [groupName(d.keys), d.reasons.filter((r) => r.startsWith('FAIL')).map((r) => r.slice(5)).join('; ')])),
    );
  }
  return lines.join('\n');
}
