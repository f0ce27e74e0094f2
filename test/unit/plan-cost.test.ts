// `manymodels plan`'s cost model and the local pool's parts: a group costs the time its worker
// ran it (its wall time less the time it waited for a CPU), a worker's one-off warm-up is
// counted once per worker rather than spread over every group, and more workers than cores
// share the cores. Pilot groups are built by hand: the numbers are what the runtime reports.
import { describe, expect, it } from 'vitest';
import type { PilotGroup, ProbeDocument } from '../../src/jobs/local/plan-probe.js';
import { fitCostModel, localPoolParts } from '../../src/runs/plan.js';

function group(rows: number, seconds: number, extra: Partial<PilotGroup> = {}): PilotGroup {
  return {
    groupId: `g${rows}-${seconds}`, modelName: 'm', keys: {}, artifact: null, sha256: null, metrics: {},
    rows, kind: 'ok', status: 'ok', seconds, artifactBytes: null, fitSeconds: seconds,
    waitSeconds: 0, warmUpSeconds: null, ...extra,
  };
}

function pilot(groups: PilotGroup[], extra: Partial<ProbeDocument['pilot']> = {}): ProbeDocument['pilot'] {
  return { workers: 2, cores: 2, wallSeconds: 0, poolSeconds: 0, manifestSeconds: 0, groups, ...extra };
}

describe('fitCostModel', () => {
  it('costs a group the time it ran, not the time it waited for a CPU taken by other processes', () => {
    // Half of every group's wall time was spent waiting on the run queue.
    const model = fitCostModel([group(100, 0.4, { waitSeconds: 0.2 }), group(200, 0.8, { waitSeconds: 0.4 }), group(300, 1.2, { waitSeconds: 0.6 })]);
    expect(model.per_row).toBeCloseTo(0.002, 9);
    expect(model.intercept).toBeCloseTo(0, 9);
    expect(model.samples).toBe(3);
  });

  it('a group without a run-queue reading (not Linux) costs its wall time', () => {
    const model = fitCostModel([group(100, 0.3, { waitSeconds: null }), group(100, 0.5, { waitSeconds: null })]);
    expect(model.per_row * 100 + model.intercept).toBeCloseTo(0.4, 9);
  });

  it('a screened group costs its run time too', () => {
    const model = fitCostModel([group(100, 1.0), group(5, 0.02, { status: 'skipped', kind: 'short', fitSeconds: null, waitSeconds: 0.01 })]);
    expect(model.screened).toBeCloseTo(0.01, 9);
  });
});

describe('localPoolParts', () => {
  it('counts the workers\' warm-up once (they warm up side by side), the pool\'s own overhead, and the groups over the workers', () => {
    const p = pilot([group(10, 0.5, { warmUpSeconds: 0.9 }), group(10, 0.5, { warmUpSeconds: 1.1 }), group(10, 0.5)], { poolSeconds: 0.05 });
    const parts = localPoolParts(p, [1, 1, 1, 1]);
    expect(parts.warm_up).toBeCloseTo(1.1, 9);
    expect(parts.pool_start).toBeCloseTo(0.05, 9);
    expect(parts.fit).toBeCloseTo(2, 9);
  });

  it('more workers than cores share the cores: the groups take the cores\' time', () => {
    const parts = localPoolParts(pilot([group(10, 0.5)], { workers: 4, cores: 2 }), [1, 1, 1, 1, 1, 1, 1, 1]);
    expect(parts.fit).toBeCloseTo(4, 9);
    expect(parts.warm_up).toBe(0);
  });
});
