// ARM-style throttling: a token bucket per (subscription, principal) and request kind, with
// the documented defaults (reads 250 refilled 25/s, writes and deletes 200 refilled 10/s).

export type RequestKind = 'reads' | 'writes' | 'deletes';

export interface BucketLimit {
  capacity: number;
  refillPerSecond: number;
}

export type ThrottleLimits = Record<RequestKind, BucketLimit>;

export const ARM_THROTTLE_LIMITS: ThrottleLimits = {
  reads: { capacity: 250, refillPerSecond: 25 },
  writes: { capacity: 200, refillPerSecond: 10 },
  deletes: { capacity: 200, refillPerSecond: 10 },
};

export function requestKind(method: string): RequestKind {
  const m = method.toUpperCase();
  if (m === 'GET' || m === 'HEAD') return 'reads';
  if (m === 'DELETE') return 'deletes';
  return 'writes';
}

export type TakeResult = { ok: true; remaining: number } | { ok: false; retryAfterSeconds: number; remaining: 0 };

export class ThrottleBuckets {
  private readonly buckets = new Map<string, { tokens: number; at: number }>();
  private readonly limits: ThrottleLimits;
  private readonly now: () => number;

  constructor(limits: ThrottleLimits, now: () => number = Date.now) {
    this.limits = limits;
    this.now = now;
  }

  /** Takes one token for `client` (subscription + principal) and `kind`. */
  take(client: string, kind: RequestKind): TakeResult {
    const limit = this.limits[kind];
    const key = `${client}|${kind}`;
    const t = this.now();
    const bucket = this.buckets.get(key) ?? { tokens: limit.capacity, at: t };
    bucket.tokens = Math.min(limit.capacity, bucket.tokens + ((t - bucket.at) / 1000) * limit.refillPerSecond);
    bucket.at = t;
    this.buckets.set(key, bucket);
    if (bucket.tokens >= 1) {
      bucket.tokens -= 1;
      return { ok: true, remaining: Math.floor(bucket.tokens) };
    }
    // ARM answers in whole seconds; never less than 1 so clients always back off.
    const retryAfterSeconds = Math.max(1, Math.ceil((1 - bucket.tokens) / limit.refillPerSecond));
    return { ok: false, retryAfterSeconds, remaining: 0 };
  }
}
