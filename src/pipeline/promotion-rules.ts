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

function checkRule(rule: PromotionRule, c: PromotionCandidate, prod: ProductionModel | undefined): { ok: boolean; reason: string } {
  const value = c.metrics[rule.metric];
  if (value === undefined || value === null || !Number.isFinite(value)) {
    return { ok: false, reason: `${rule.name}: ${rule.metric} was not computed for this group` };
  }
  if (rule.compare === 'production') {
    const base = prod?.metrics[rule.metric];
    if (!prod || base === undefined || !Number.isFinite(base)) {
      const ok = rule.whenNoProduction === 'pass';
      return { ok, reason: `${rule.name}: no production ${rule.metric} to compare with (${ok ? 'passes' : 'fails'} by when_no_production)` };
    }
    const ok = higherIsBetter(rule.metric) ? value >= base - rule.tolerance : value <= base + rule.tolerance;
    return { ok, reason: `${rule.name}: ${rule.metric} ${fmt(value)} vs production ${fmt(base)}${rule.tolerance ? ` (tolerance ${fmt(rule.tolerance)})` : ''}` };
  }
  const okMin = rule.min === undefined || value >= rule.min;
  const okMax = rule.max === undefined || value <= rule.max;
  return { ok: okMin && okMax, reason: `${rule.name}: ${rule.metric} = ${fmt(value)}` };
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
    for (const rule of input.rules) {
      const r = checkRule(rule, c, prod);
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
