// The partition plan: LPT's balance against the naive hash plan on skewed group sizes, and
// its basic guarantees (every item placed, loads add up, deterministic, the 4/3 bound).
import { describe, expect, it } from 'vitest';
import { hashPlan, imbalance, listSchedule, lptPlan } from '../../src/pipeline/partition.js';

/** A seeded generator (mulberry32): the same skewed sizes on every run. */
function random(seed: number): () => number {
  let a = seed >>> 0;
  return () => {
    a = (a + 0x6d2b79f5) >>> 0;
    let t = a;
    t = Math.imul(t ^ (t >>> 15), t | 1);
    t ^= t + Math.imul(t ^ (t >>> 7), t | 61);
    return ((t ^ (t >>> 14)) >>> 0) / 4294967296;
  };
}

/** Group costs as many-models data has them: Pareto (a few giants, a long tail of small groups). */
function pareto(n: number, alpha: number, seed: number): number[] {
  const r = random(seed);
  return Array.from({ length: n }, () => 1 / Math.pow(1 - r(), 1 / alpha));
}

/** Log-normal sizes: most groups alike, some ten times larger. */
function lognormal(n: number, sigma: number, seed: number): number[] {
  const r = random(seed);
  return Array.from({ length: n }, () => Math.exp(sigma * Math.sqrt(-2 * Math.log(1 - r())) * Math.cos(2 * Math.PI * r())));
}

const ids = (n: number): string[] => Array.from({ length: n }, (_, i) => `store-${i % 97}|item-${i}`);

describe('lptPlan', () => {
  const cases: Array<[string, number[], number]> = [
    ['pareto α=1.2, 10,000 groups, 200 buckets', pareto(10_000, 1.2, 1), 200],
    ['pareto α=1.5, 2,000 groups, 64 buckets', pareto(2_000, 1.5, 2), 64],
    ['log-normal σ=1.5, 5,000 groups, 128 buckets', lognormal(5_000, 1.5, 3), 128],
    ['a few giants among equal groups', [...Array.from({ length: 990 }, () => 1), ...Array.from({ length: 10 }, () => 60)], 16],
  ];

  for (const [name, costs, buckets] of cases) {
    it(`balances better than a hash of the keys: ${name}`, () => {
      const lpt = lptPlan(costs, buckets);
      const naive = hashPlan(ids(costs.length), costs, buckets);
      const total = costs.reduce((a, b) => a + b, 0);
      const lower = Math.max(total / buckets, ...costs); // no plan beats this makespan
      // LPT is within 4/3 of the optimum, and the optimum is at least `lower`.
      expect(Math.max(...lpt.loads) / lower).toBeLessThan(4 / 3 + 1e-9);
      expect(imbalance(lpt.loads)).toBeLessThan(imbalance(naive.loads));
      // On these distributions the hash plan is visibly unbalanced; LPT is near the mean or
      // bound by its largest group.
      expect(imbalance(naive.loads)).toBeGreaterThan(1.2);
      expect(Math.max(...lpt.loads)).toBeLessThanOrEqual(Math.max(1.05 * (total / buckets), Math.max(...costs)) + 1e-9);
    });
  }

  it('places every item once, and the loads add up', () => {
    const costs = pareto(500, 1.3, 9);
    const plan = lptPlan(costs, 7);
    expect(plan.bucket).toHaveLength(500);
    expect(plan.bucket.every((b) => Number.isInteger(b) && b >= 0 && b < 7)).toBe(true);
    const sums = Array.from({ length: 7 }, () => 0);
    plan.bucket.forEach((b, i) => (sums[b]! += costs[i]!));
    sums.forEach((s, b) => expect(s).toBeCloseTo(plan.loads[b]!, 9));
  });

  it('is deterministic and puts the giants apart', () => {
    const costs = [100, 1, 100, 1, 100, 1, 1, 1];
    expect(lptPlan(costs, 3)).toEqual(lptPlan(costs, 3));
    const giants = [0, 2, 4].map((i) => lptPlan(costs, 3).bucket[i]);
    expect(new Set(giants).size).toBe(3);
  });

  it('refuses a bucket count that is not a whole number ≥ 1', () => {
    expect(() => lptPlan([1], 0)).toThrow(RangeError);
    expect(() => hashPlan(['a'], [1], 1.5)).toThrow(RangeError);
  });
});

describe('listSchedule', () => {
  it('is the makespan of workers taking the next item when free', () => {
    expect(listSchedule([3, 3, 3, 3], 2)).toBe(6);
    expect(listSchedule([5, 1, 1, 1, 1, 1], 2)).toBe(5);
    expect(listSchedule([], 4)).toBe(0);
    expect(listSchedule([1, 1, 1, 10], 2)).toBe(11);
  });
});
