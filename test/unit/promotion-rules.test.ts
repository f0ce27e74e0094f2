// Promotion decisions: thresholds, comparison with production, metric direction, the gate.
import { describe, expect, it } from 'vitest';
import { evaluatePromotion, type PromotionCandidate } from '../../src/pipeline/promotion-rules.js';
import type { PromotionRule } from '../../src/pipeline/types.js';

const candidate = (groupId: string, metrics: Record<string, number>, runId = 'r2'): PromotionCandidate => ({ groupId, name: `m-${groupId}`, version: '2', runId, keys: { store: groupId }, metrics });
const rule = (r: Partial<PromotionRule> & { metric: string }): PromotionRule => ({ name: r.name ?? `${r.metric} rule`, tolerance: 0, whenNoProduction: 'pass', ...r });

describe('evaluatePromotion', () => {
  it('applies absolute thresholds and names the failing rule', () => {
    const { decisions, summary } = evaluatePromotion({
      candidates: [candidate('a', { wape: 0.2 }), candidate('b', { wape: 0.7 })],
      production: new Map(),
      rules: [rule({ metric: 'wape', max: 0.5, name: 'wape <= 0.5' })],
      gate: { minPromotedFraction: null, minPromoted: null },
    });
    expect(decisions.map((d) => d.outcome)).toEqual(['promote', 'reject']);
    expect(decisions[1]!.failed).toEqual(['wape <= 0.5']);
    expect(decisions[1]!.reasons[0]).toBe('FAIL wape <= 0.5: wape = 0.7');
    expect(summary).toMatchObject({ candidates: 2, promoted: 1, rejected: 1, rejectedBy: { 'wape <= 0.5': 1 } });
  });

  it('compares with production in the direction of the metric, within the tolerance', () => {
    const production = new Map([
      ['a', { version: '1', metrics: { wape: 0.3, f1: 0.8 } }],
      ['b', { version: '1', metrics: { wape: 0.3, f1: 0.8 } }],
    ]);
    const { decisions } = evaluatePromotion({
      candidates: [candidate('a', { wape: 0.31, f1: 0.79 }), candidate('b', { wape: 0.33, f1: 0.81 })],
      production,
      rules: [rule({ metric: 'wape', compare: 'production', tolerance: 0.02 }), rule({ metric: 'f1', compare: 'production', tolerance: 0.005 })],
      gate: { minPromotedFraction: null, minPromoted: null },
    });
    // a: wape 0.31 ≤ 0.32 passes; f1 0.79 < 0.795 fails. b: wape 0.33 > 0.32 fails; f1 0.81 passes.
    expect(decisions[0]!.failed).toEqual(['f1 rule']);
    expect(decisions[1]!.failed).toEqual(['wape rule']);
  });

  it('follows when_no_production for groups never promoted, and rejects missing metrics', () => {
    const { decisions } = evaluatePromotion({
      candidates: [candidate('a', { wape: 0.3 }), candidate('b', {})],
      production: new Map(),
      rules: [rule({ metric: 'wape', compare: 'production', whenNoProduction: 'fail' })],
      gate: { minPromotedFraction: null, minPromoted: null },
    });
    expect(decisions.map((d) => d.outcome)).toEqual(['reject', 'reject']);
    expect(decisions[1]!.reasons[0]).toContain('was not computed');
  });

  it('treats a candidate already in production as unchanged, and counts it for the gate', () => {
    const { decisions, summary } = evaluatePromotion({
      candidates: [candidate('a', { wape: 0.2 }, 'r1'), candidate('b', { wape: 0.9 })],
      production: new Map([['a', { version: '1', metrics: { wape: 0.2 }, sourceRunId: 'r1' }]]),
      rules: [rule({ metric: 'wape', max: 0.5 })],
      gate: { minPromotedFraction: 0.5, minPromoted: null },
    });
    expect(decisions[0]!.outcome).toBe('unchanged');
    expect(summary.gate).toEqual({ required: 'at least 50% of groups pass', met: true });
  });

  it('fails the gate below the fraction or the count', () => {
    const input = {
      candidates: [candidate('a', { wape: 0.2 }), candidate('b', { wape: 0.9 }), candidate('c', { wape: 0.9 })],
      production: new Map(),
      rules: [rule({ metric: 'wape', max: 0.5 })],
    };
    expect(evaluatePromotion({ ...input, gate: { minPromotedFraction: 0.9, minPromoted: null } }).summary.gate.met).toBe(false);
    expect(evaluatePromotion({ ...input, gate: { minPromotedFraction: null, minPromoted: 2 } }).summary.gate.met).toBe(false);
    expect(evaluatePromotion({ ...input, gate: { minPromotedFraction: null, minPromoted: 1 } }).summary.gate.met).toBe(true);
  });
});
