// Promotion decisions, as a pure function: each candidate against the pipeline's rules
// (absolute thresholds, comparison with the group's production version) and the gate.
import { higherIsBetter } from './catalog.js';
import type { PromotionRule } from './types.js';

export interface PromotionCandidate {
  groupId: string;
  name: string;
  version: string;
  runId: string;
  keys: Record<string, string>;
  metrics: Record<string, number>;
}

export interface ProductionModel {
  version: string;
  metrics: Record<string, number>;
  /** Where the production version came from, to recognise a candidate already promoted. */
  sourceRunId?: string;
}

export type DecisionOutcome = 'promote' | 'reject' | 'unchanged';

export interface PromotionDecision {
  groupId: string;
  name: string;
  keys: Record<string, string>;
  candidateVersion: string;
  productionVersion: string | null;
  outcome: DecisionOutcome;
  passed: string[];
  failed: string[];
  /** One line per rule: why it passed or failed, with the numbers. */
  reasons: string[];
  /**
   * How far a rejected candidate misses its rules: the largest relative distance past a
   * threshold (0.25 = 25% beyond it); `null` when a rule's metric was not computed; 0 when it
   * passed. Orders the worst rejections first.
   */
  shortfall: number | null;
}

export interface PromotionSummary {
  candidates: number;
  promoted: number;
  unchanged: number;
  rejected: number;
  promotedFraction: number;
  rejectedBy: Record<string, number>;
  gate: { required: string | null; met: boolean };
}

const fmt = (v: number): string => (Number.isFinite(v) ? String(Number(v.toPrecision(6))) : String(v));

/** Relative distance of `value` past `limit` in the bad direction (0 when not past it). */
function past(value: number, limit: number, up: boolean): number {
  const over = up ? limit - value : value - limit;
  return over > 0 ? over / Math.max(Math.abs(limit), 1e-12) : 0;
}

function checkRule(rule: PromotionRule, c: PromotionCandidate, prod: ProductionModel | undefined): { ok: boolean; reason: string; shortfall: number | null } {
  const value = c.metrics[rule.metric];
  if (value === undefined || value === null || !Number.isFinite(value)) {
    return { ok: false, reason: `${rule.name}: ${rule.metric} was not computed for this group`, shortfall: null };
  }
  if (rule.compare === 'production') {
    const base = prod?.metrics[rule.metric];
    if (!prod || base === undefined || !Number.isFinite(base)) {
      const ok = rule.whenNoProduction === 'pass';
      return { ok, reason: `${rule.name}: no production ${rule.metric} to compare with (${ok ? 'passes' : 'fails'} by when_no_production)`, shortfall: 0 };
    }
    const up = higherIsBetter(rule.metric);
    const limit = up ? base - rule.tolerance : base + rule.tolerance;
    const ok = up ? value >= limit : value <= limit;
    return { ok, reason: `${rule.name}: ${rule.metric} ${fmt(value)} vs production ${fmt(base)}${rule.tolerance ? ` (tolerance ${fmt(rule.tolerance)})` : ''}`, shortfall: past(value, limit, up) };
  }
  const okMin = rule.min === undefined || value >= rule.min;
  const okMax = rule.max === undefined || value <= rule.max;
  const shortfall = Math.max(rule.min === undefined ? 0 : past(value, rule.min, true), rule.max === undefined ? 0 : past(value, rule.max, false));
  return { ok: okMin && okMax, reason: `${rule.name}: ${rule.metric} = ${fmt(value)}`, shortfall };
}

/** Rejected decisions, worst first: a metric not computed, then the largest shortfall; then by name. */
export function worstRejections(decisions: readonly PromotionDecision[]): PromotionDecision[] {
  const rank = (d: PromotionDecision): number => (d.shortfall === null ? Number.POSITIVE_INFINITY : d.shortfall);
  return decisions.filter((d) => d.outcome === 'reject').sort((a, b) => rank(b) - rank(a) || (a.name < b.name ? -1 : a.name > b.name ? 1 : 0));
}

export function evaluatePromotion(input: {
  candidates: PromotionCandidate[];
  production: Map<string, ProductionModel>;
  rules: PromotionRule[];
  gate: { minPromotedFraction: number | null; minPromoted: number | null };
}): { decisions: PromotionDecision[]; summary: PromotionSummary } {
  const decisions: PromotionDecision[] = [];
  const rejectedBy: Record<string, number> = {};
  for (const c of input.candidates) {
    const prod = input.production.get(c.groupId);
    const passed: string[] = [];
    const failed: string[] = [];
    const reasons: string[] = [];
    let shortfall: number | null = 0;
    for (const rule of input.rules) {
      const r = checkRule(rule, c, prod);
      if (!r.ok) shortfall = r.shortfall === null || shortfall === null ? null : Math.max(shortfall, r.shortfall);
      (r.ok ? passed : failed).push(rule.name);
      reasons.push(`${r.ok ? 'pass' : 'FAIL'} ${r.reason}`);
      if (!r.ok) rejectedBy[rule.name] = (rejectedBy[rule.name] ?? 0) + 1;
    }
    let outcome: DecisionOutcome = failed.length ? 'reject' : 'promote';
    if (outcome === 'promote' && prod?.sourceRunId === c.runId) outcome = 'unchanged';
    decisions.push({
      groupId: c.groupId,
      name: c.name,
      keys: c.keys,
      candidateVersion: c.version,
      productionVersion: prod?.version ?? null,
      outcome,
      passed,
      failed,
      reasons,
      shortfall: failed.length ? shortfall : 0,
    });
  }
  const promoted = decisions.filter((d) => d.outcome === 'promote').length;
  const unchanged = decisions.filter((d) => d.outcome === 'unchanged').length;
  const accepted = promoted + unchanged;
  const fraction = decisions.length ? accepted / decisions.length : 0;
  let required: string | null = null;
  let met = true;
  if (input.gate.minPromotedFraction !== null) {
    required = `at least ${fmt(input.gate.minPromotedFraction * 100)}% of groups pass`;
    met = fraction >= input.gate.minPromotedFraction;
  } else if (input.gate.minPromoted !== null) {
    required = `at least ${input.gate.minPromoted} groups pass`;
    met = accepted >= input.gate.minPromoted;
  }
  return {
    decisions,
    summary: {
      candidates: decisions.length,
      promoted,
      unchanged,
      rejected: decisions.length - accepted,
      promotedFraction: fraction,
      rejectedBy,
      gate: { required, met },
    },
  };
}
