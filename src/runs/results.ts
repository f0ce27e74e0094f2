// Reading a run's per-group results: a filtered, sorted table with a summary of every metric
// (`runs show RUN --groups`), and the comparison of two runs (`runs compare A B`). Pure
// functions over run manifests; the commands render what they return.
import type { GroupResult, GroupStatus, RunManifest } from '../contracts/runs.js';
import { higherIsBetter } from '../pipeline/catalog.js';

export interface MetricSummary {
  metric: string;
  /** Groups with a finite value of this metric. */
  count: number;
  mean: number | null;
  min: number | null;
  p10: number | null;
  p50: number | null;
  p90: number | null;
  max: number | null;
  higherIsBetter: boolean;
}

export interface GroupQuery {
  /** A metric name, or `keys`, `status`, `fit_seconds`. Default: the keys. */
  sort?: string;
  /** The N worst (or best) groups by the sort metric; groups without it are left out. */
  worst?: number;
  best?: number;
  status?: GroupStatus;
}

export interface GroupTable {
  /** model.type auto: how many groups kept each type and how many got the fallback; null for other pipelines. */
  selection: SelectionSummary | null;
  /** Key columns, in the order the pipeline declares them. */
  keyColumns: string[];
  /** Every metric any group has, in first-seen order. */
  metrics: string[];
  rows: GroupResult[];
  /** Groups in the run, and groups that matched the status filter (before worst/best). */
  total: number;
  matched: number;
  /** Over the groups that matched the status filter. */
  summary: MetricSummary[];
  sortedBy: string;
}

export const GROUP_SORTS = ['keys', 'status', 'fit_seconds'] as const;

/** Numbers where they are numbers, so store 10 comes after store 9. */
const collator = new Intl.Collator('en', { numeric: true });

export function compareKeys(a: Record<string, string>, b: Record<string, string>, columns: string[]): number {
  for (const c of columns) {
    const d = collator.compare(a[c] ?? '', b[c] ?? '');
    if (d) return d;
  }
  return 0;
}

/**
 * The order of `compareKeys` over `columns` for sorting many groups at once: each column's
 * distinct values are ordered by the collator once (a few hundred calls, not one per
 * comparison of 10,000 groups), then a group compares by its place in that order.
 */
export function keyOrder(groups: readonly GroupResult[], columns: string[]): (a: GroupResult, b: GroupResult) => number {
  const ranks = columns.map((c) => {
    const values = [...new Set(groups.map((g) => g.keys[c] ?? ''))].sort(collator.compare);
    const rank = new Map<string, number>();
    let r = 0;
    values.forEach((v, i) => {
      if (i > 0 && collator.compare(values[i - 1]!, v) !== 0) r += 1;
      rank.set(v, r);
    });
    return rank;
  });
  const tuples = new Map<GroupResult, number[]>();
  for (const g of groups) tuples.set(g, columns.map((c, i) => ranks[i]!.get(g.keys[c] ?? '')!));
  const place = new Map<GroupResult, number>();
  [...groups]
    .sort((a, b) => {
      const x = tuples.get(a)!;
      const y = tuples.get(b)!;
      for (let i = 0; i < x.length; i++) if (x[i] !== y[i]) return x[i]! - y[i]!;
      return 0;
    })
    .forEach((g, i) => place.set(g, i));
  return (a, b) => (place.get(a) ?? 0) - (place.get(b) ?? 0);
}

export function keyColumnsOf(groups: readonly GroupResult[]): string[] {
  const seen: string[] = [];
  for (const g of groups) for (const k of Object.keys(g.keys)) if (!seen.includes(k)) seen.push(k);
  return seen;
}

export function metricsOf(groups: readonly GroupResult[]): string[] {
  const seen: string[] = [];
  for (const g of groups) for (const m of Object.keys(g.metrics ?? {})) if (!seen.includes(m)) seen.push(m);
  return seen;
}

function finite(v: unknown): v is number {
  return typeof v === 'number' && Number.isFinite(v);
}

/** Linear interpolation between order statistics (numpy's default), over sorted values. */
export function quantile(sorted: readonly number[], q: number): number | null {
  if (!sorted.length) return null;
  const pos = (sorted.length - 1) * q;
  const lo = Math.floor(pos);
  const hi = Math.ceil(pos);
  return sorted[lo]! + (sorted[hi]! - sorted[lo]!) * (pos - lo);
}

export function summarize(groups: readonly GroupResult[], metric: string): MetricSummary {
  const values = groups.map((g) => g.metrics?.[metric]).filter(finite).sort((a, b) => a - b);
  const mean = values.length ? values.reduce((s, v) => s + v, 0) / values.length : null;
  return {
    metric,
    count: values.length,
    mean,
    min: values.length ? values[0]! : null,
    p10: quantile(values, 0.1),
    p50: quantile(values, 0.5),
    p90: quantile(values, 0.9),
    max: values.length ? values[values.length - 1]! : null,
    higherIsBetter: higherIsBetter(metric),
  };
}

/** Best first for the metric's direction; groups without a value last. */
function byMetric(metric: string): (a: GroupResult, b: GroupResult) => number {
  const sign = higherIsBetter(metric) ? -1 : 1;
  return (a, b) => {
    const x = a.metrics?.[metric];
    const y = b.metrics?.[metric];
    if (!finite(x) || !finite(y)) return finite(x) ? -1 : finite(y) ? 1 : 0;
    return sign * (x - y);
  };
}

/** model.type auto over a run's groups: the groups that kept each type (most first), and those whose model is the fallback. */
export interface SelectionSummary {
  chosen: Record<string, number>;
  fallback: number;
}

/** The type a group of an auto pipeline kept (training) or was scored with, and whether it is the fallback. */
export function groupChoice(g: GroupResult): { modelType: string | null; fallback: boolean } {
  return { modelType: g.modelType ?? g.selection?.chosen ?? null, fallback: g.fallback ?? g.selection?.fallback ?? false };
}

/** Whether a run chose a model per group (model.type auto), so its groups have a type and a fallback marker to show. */
export function choosesPerGroup(manifest: RunManifest): boolean {
  return manifest.modelType === 'auto' || manifest.groups.some((g) => g.selection !== undefined || g.fallback !== undefined);
}

/** Over the groups that have a model (ok ones); null when the run did not choose per group. */
export function selectionSummary(manifest: RunManifest, groups: readonly GroupResult[] = manifest.groups): SelectionSummary | null {
  if (!choosesPerGroup(manifest)) return null;
  const counts = new Map<string, number>();
  let fallback = 0;
  for (const g of groups) {
    const { modelType, fallback: isFallback } = groupChoice(g);
    if (g.status !== 'ok' || !modelType) continue;
    counts.set(modelType, (counts.get(modelType) ?? 0) + 1);
    if (isFallback) fallback += 1;
  }
  const chosen = Object.fromEntries([...counts].sort((a, b) => b[1] - a[1] || (a[0] < b[0] ? -1 : a[0] > b[0] ? 1 : 0)));
  return { chosen, fallback };
}

/** `auto: ets 412, seasonal_naive 88 (fallback 3)`. */
export function selectionLine(s: SelectionSummary): string {
  const types = Object.entries(s.chosen).map(([t, n]) => `${t} ${n}`).join(', ');
  return `auto: ${types || 'no group has a model'} (fallback ${s.fallback})`;
}

const STATUS_ORDER: Record<string, number> = { failed: 0, skipped: 1, ok: 2 };

export function groupTable(manifest: RunManifest, query: GroupQuery = {}): GroupTable {
  const keyColumns = keyColumnsOf(manifest.groups);
  const metrics = metricsOf(manifest.groups);
  const byKeys = keyOrder(manifest.groups, keyColumns);
  const matchedGroups = manifest.groups.filter((g) => !query.status || g.status === query.status).sort(byKeys);
  const rankBy = query.worst !== undefined || query.best !== undefined ? (query.sort ?? metrics[0]) : undefined;
  const sortedBy = query.sort ?? rankBy ?? 'keys';
  let rows = matchedGroups;
  if (sortedBy === 'status') rows = [...rows].sort((a, b) => (STATUS_ORDER[a.status] ?? 3) - (STATUS_ORDER[b.status] ?? 3) || byKeys(a, b));
  else if (sortedBy === 'fit_seconds') rows = [...rows].sort((a, b) => (b.fitSeconds ?? -1) - (a.fitSeconds ?? -1) || byKeys(a, b)); // slowest first
  else if (sortedBy !== 'keys') {
    const best = byMetric(sortedBy);
    rows = [...rows].sort((a, b) => best(a, b) || byKeys(a, b));
  }
  if (rankBy !== undefined && rankBy !== 'keys' && rankBy !== 'status' && rankBy !== 'fit_seconds') {
    const ranked = rows.filter((g) => finite(g.metrics?.[rankBy]));
    rows = query.worst !== undefined ? ranked.reverse().slice(0, query.worst) : ranked.slice(0, query.best);
  } else if (query.worst !== undefined || query.best !== undefined) {
    rows = rows.slice(0, query.worst ?? query.best);
  }
  return {
    selection: selectionSummary(manifest, matchedGroups),
    keyColumns,
    metrics,
    rows,
    total: manifest.groups.length,
    matched: matchedGroups.length,
    summary: metrics.map((m) => summarize(matchedGroups, m)),
    sortedBy,
  };
}

export interface FailureClass {
  status: 'failed' | 'skipped';
  /** The error class of a failure, or the reason of a skip with its numbers taken out. */
  label: string;
  count: number;
  /** The first group's whole error message (or skip reason). */
  example: string;
  /** The keys of the first few groups behind it. */
  groups: Array<Record<string, string>>;
}

/** A skip reason with its numbers replaced, so "too short: 3 rows" and "too short: 5 rows" count together. */
function reasonClass(reason: string): string {
  const head = reason.split(':')[0] ?? reason;
  return head.replace(/\d+(\.\d+)?/g, 'N').trim() || 'skipped';
}

/** Failed groups by error class and skipped groups by reason, the largest class first. */
export function failureClasses(groups: readonly GroupResult[], examples = 3): FailureClass[] {
  const map = new Map<string, FailureClass>();
  for (const g of groups) {
    if (g.status === 'ok') continue;
    const label = g.status === 'failed' ? (g.errorClass ?? 'Error') : reasonClass(g.reason ?? 'skipped');
    const key = `${g.status}\u0000${label}`;
    const hit = map.get(key);
    if (hit) {
      hit.count += 1;
      if (hit.groups.length < examples) hit.groups.push(g.keys);
    } else {
      map.set(key, { status: g.status, label, count: 1, example: g.status === 'failed' ? (g.errorMessage ?? '') : (g.reason ?? ''), groups: [g.keys] });
    }
  }
  return [...map.values()].sort((a, b) => b.count - a.count || a.label.localeCompare(b.label));
}

export interface MetricShift {
  metric: string;
  higherIsBetter: boolean;
  before: MetricSummary;
  after: MetricSummary;
  /** Groups with the metric in both runs, and how many moved each way. */
  paired: number;
  better: number;
  worse: number;
  unchanged: number;
}

export interface GroupChange {
  groupId: string;
  keys: Record<string, string>;
  before: number;
  after: number;
  /** after − before, in the metric's own units. */
  delta: number;
}

export interface RunComparison {
  before: { runId: string; stage: string; pipeline: string; groups: number };
  after: { runId: string; stage: string; pipeline: string; groups: number };
  keyColumns: string[];
  metrics: MetricShift[];
  /** By the first metric both runs share: the groups that moved most each way. */
  rankedBy: string | null;
  mostImproved: GroupChange[];
  mostWorsened: GroupChange[];
  /** Ok (or absent) before, failed after. */
  newFailures: GroupResult[];
  /** Failed before, ok after. */
  fixed: GroupResult[];
  onlyBefore: number;
  onlyAfter: number;
}

/** Relative change small enough to call equal (float noise between identical fits). */
const SAME = 1e-9;

export function compareRuns(before: RunManifest, after: RunManifest, top = 10): RunComparison {
  const a = new Map(before.groups.map((g) => [g.groupId, g]));
  const b = new Map(after.groups.map((g) => [g.groupId, g]));
  const keyColumns = keyColumnsOf([...before.groups, ...after.groups]);
  const afterMetrics = metricsOf(after.groups);
  const shared = metricsOf(before.groups).filter((m) => afterMetrics.includes(m));
  const changesFor = (metric: string): GroupChange[] => {
    const out: GroupChange[] = [];
    for (const [id, g] of b) {
      const x = a.get(id)?.metrics?.[metric];
      const y = g.metrics?.[metric];
      if (finite(x) && finite(y)) out.push({ groupId: id, keys: g.keys, before: x, after: y, delta: y - x });
    }
    return out;
  };
  const metrics: MetricShift[] = shared.map((metric) => {
    const changes = changesFor(metric);
    const up = higherIsBetter(metric);
    let better = 0;
    let worse = 0;
    for (const c of changes) {
      if (Math.abs(c.delta) <= SAME * Math.max(Math.abs(c.before), Math.abs(c.after), 1)) continue;
      if (c.delta > 0 === up) better += 1;
      else worse += 1;
    }
    return {
      metric,
      higherIsBetter: up,
      before: summarize(before.groups, metric),
      after: summarize(after.groups, metric),
      paired: changes.length,
      better,
      worse,
      unchanged: changes.length - better - worse,
    };
  });
  const rankedBy = shared[0] ?? null;
  let mostImproved: GroupChange[] = [];
  let mostWorsened: GroupChange[] = [];
  if (rankedBy) {
    const sign = higherIsBetter(rankedBy) ? 1 : -1;
    const byKeys = (x: GroupChange, y: GroupChange): number => compareKeys(x.keys, y.keys, keyColumns);
    const changes = changesFor(rankedBy).filter((c) => Math.abs(c.delta) > SAME * Math.max(Math.abs(c.before), Math.abs(c.after), 1));
    mostImproved = changes.filter((c) => sign * c.delta > 0).sort((x, y) => sign * (y.delta - x.delta) || byKeys(x, y)).slice(0, top);
    mostWorsened = changes.filter((c) => sign * c.delta < 0).sort((x, y) => sign * (x.delta - y.delta) || byKeys(x, y)).slice(0, top);
  }
  const byKeys = (x: GroupResult, y: GroupResult): number => compareKeys(x.keys, y.keys, keyColumns);
  const newFailures = after.groups.filter((g) => g.status === 'failed' && a.get(g.groupId)?.status !== 'failed').sort(byKeys);
  const fixed = after.groups.filter((g) => g.status === 'ok' && a.get(g.groupId)?.status === 'failed').sort(byKeys);
  const side = (m: RunManifest) => ({ runId: m.runId, stage: m.stage, pipeline: m.pipeline, groups: m.groups.length });
  return {
    before: side(before),
    after: side(after),
    keyColumns,
    metrics,
    rankedBy,
    mostImproved,
    mostWorsened,
    newFailures,
    fixed,
    onlyBefore: [...a.keys()].filter((id) => !b.has(id)).length,
    onlyAfter: [...b.keys()].filter((id) => !a.has(id)).length,
  };
}
