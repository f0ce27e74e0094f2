// The partition plan, pure: which bucket (a Spark shuffle partition, or a local worker) each
// group goes to, from each group's estimated cost. Longest-processing-time first (LPT): the
// groups in falling cost order, each to the bucket with the least load so far — within 4/3 of
// the best possible makespan, and in practice close to the mean when groups are many. The
// naive plan it replaces is a hash of the keys modulo the bucket count, which puts two giants
// in one bucket as often as chance does. Used by `manymodels plan` (its estimates) and by the
// compiled Spark job (docs/plan.md), which reads the plan `manymodels plan` saved (readPartitionPlan).
import { readFileSync } from 'node:fs';
import path from 'node:path';
import type { SpecPartition } from '../contracts/job-spec.js';

export interface BucketPlan {
  /** The bucket of each item, in the input's order. */
  bucket: number[];
  /** The summed cost of each bucket. */
  loads: number[];
}

/** A binary min-heap of (load, bucket) pairs; ties go to the lower bucket, so plans are deterministic. */
class LoadHeap {
  private readonly load: number[];
  private readonly id: number[];

  constructor(n: number) {
    this.load = Array.from({ length: n }, () => 0);
    this.id = Array.from({ length: n }, (_, i) => i);
  }

  private less(a: number, b: number): boolean {
    return this.load[a]! < this.load[b]! || (this.load[a] === this.load[b] && this.id[a]! < this.id[b]!);
  }

  private swap(a: number, b: number): void {
    [this.load[a], this.load[b]] = [this.load[b]!, this.load[a]!];
    [this.id[a], this.id[b]] = [this.id[b]!, this.id[a]!];
  }

  /** The least loaded bucket. */
  top(): number {
    return this.id[0]!;
  }

  /** Adds `cost` to the least loaded bucket and restores the heap. */
  addToTop(cost: number): void {
    this.load[0]! += cost;
    const n = this.load.length;
    for (let i = 0; ;) {
      const l = 2 * i + 1;
      const r = l + 1;
      let m = i;
      if (l < n && this.less(l, m)) m = l;
      if (r < n && this.less(r, m)) m = r;
      if (m === i) return;
      this.swap(i, m);
      i = m;
    }
  }
}

function checkBuckets(buckets: number): void {
  if (!Number.isInteger(buckets) || buckets < 1) throw new RangeError(`buckets must be a whole number ≥ 1, got ${buckets}`);
}

/** LPT: items in falling cost order (ties: input order), each to the least loaded bucket. */
export function lptPlan(costs: readonly number[], buckets: number): BucketPlan {
  checkBuckets(buckets);
  const order = costs.map((_, i) => i).sort((a, b) => costs[b]! - costs[a]! || a - b);
  const heap = new LoadHeap(buckets);
  const bucket: number[] = Array.from({ length: costs.length }, () => 0);
  const loads: number[] = Array.from({ length: buckets }, () => 0);
  for (const i of order) {
    const b = heap.top();
    bucket[i] = b;
    loads[b]! += costs[i]!;
    heap.addToTop(costs[i]!);
  }
  return { bucket, loads };
}

/** FNV-1a over the UTF-16 code units of a string: a stable, well-spread 32-bit hash. */
export function fnv1a(text: string): number {
  let h = 0x811c9dc5;
  for (let i = 0; i < text.length; i++) {
    h ^= text.charCodeAt(i);
    h = Math.imul(h, 0x01000193) >>> 0;
  }
  return h >>> 0;
}

/** The naive plan: each item's bucket is a hash of its id modulo the bucket count. */
export function hashPlan(ids: readonly string[], costs: readonly number[], buckets: number): BucketPlan {
  checkBuckets(buckets);
  const loads: number[] = Array.from({ length: buckets }, () => 0);
  const bucket = ids.map((id, i) => {
    const b = fnv1a(id) % buckets;
    loads[b]! += costs[i]!;
    return b;
  });
  return { bucket, loads };
}

/** The largest load over the mean load: 1 is perfect balance. */
export function imbalance(loads: readonly number[]): number {
  const total = loads.reduce((a, b) => a + b, 0);
  if (total <= 0 || loads.length === 0) return 1;
  return Math.max(...loads) / (total / loads.length);
}

/**
 * The wall time of `workers` that each take the next item as soon as they are free, in the
 * given order (what the local executor's worker pool does): the largest finish time.
 */
export function listSchedule(costs: readonly number[], workers: number): number {
  checkBuckets(workers);
  const heap = new LoadHeap(workers);
  const finish: number[] = Array.from({ length: workers }, () => 0);
  for (const c of costs) {
    const w = heap.top();
    finish[w]! += c;
    heap.addToTop(c);
  }
  return Math.max(0, ...finish);
}

/** The file `manymodels plan` saves a pipeline's partition plan to, and the compiled Spark job reads. */
export function partitionPlanPath(stateDir: string, pipeline: string): string {
  return path.join(stateDir, 'plans', `${pipeline}.json`);
}

/**
 * The saved plan of this pipeline on this target, as the JobSpec carries it; undefined when
 * there is none, or it is for another target, other keys, or not a plan (then the job groups
 * as it does without one: a plan only places groups, it never changes a result).
 */
export function readPartitionPlan(stateDir: string, pipeline: string, target: string, keys: readonly string[]): SpecPartition | undefined {
  let raw: unknown;
  try {
    raw = JSON.parse(readFileSync(partitionPlanPath(stateDir, pipeline), 'utf8'));
  } catch {
    return undefined;
  }
  const plan = raw as { pipeline?: unknown; target?: unknown; keys?: unknown; buckets?: unknown; mapping?: unknown };
  if (plan.pipeline !== pipeline || plan.target !== target) return undefined;
  if (!Array.isArray(plan.keys) || plan.keys.length !== keys.length || plan.keys.some((k, i) => k !== keys[i])) return undefined;
  const buckets = plan.buckets;
  if (typeof buckets !== 'number' || !Number.isInteger(buckets) || buckets < 1 || !Array.isArray(plan.mapping)) return undefined;
  const mapping: SpecPartition['mapping'] = [];
  for (const m of plan.mapping as Array<{ keys?: unknown; bucket?: unknown }>) {
    const ok = Array.isArray(m?.keys) && m.keys.length === keys.length && m.keys.every((v) => typeof v === 'string')
      && typeof m.bucket === 'number' && Number.isInteger(m.bucket) && m.bucket >= 0 && m.bucket < buckets;
    if (!ok) return undefined;
    mapping.push({ keys: m.keys as string[], bucket: m.bucket as number });
  }
  return { buckets, mapping };
}
