// Client-side pacing for ARM: a local model of ARM's token buckets per request kind, corrected
// by the x-ms-ratelimit-remaining-* headers and by 429s.

// Why pace at all when the HTTP layer already retries 429s: a throttled worker sleeps the
// whole Retry-After (ARM answers in whole seconds) while the bucket refills, so N workers that
// all hit 429 deliver well under the refill rate. Sending no faster than the bucket refills
// keeps the service at its quota with (almost) no 429s; the headers and 429s keep the model
// honest when the quota is shared with other clients or smaller than assumed.
import { defaultSleep } from './http.js';

export type ArmRequestKind = 'reads' | 'writes' | 'deletes';

export interface BucketRate {
  capacity: number;
  refillPerSecond: number;
}

/** ARM's documented per-principal limits (Azure Resource Manager request limits and throttling). */
export const ARM_DOCUMENTED_RATES: Record<ArmRequestKind, BucketRate> = {
  reads: { capacity: 250, refillPerSecond: 25 },
  writes: { capacity: 200, refillPerSecond: 10 },
  deletes: { capacity: 200, refillPerSecond: 10 },
};

/** What the HTTP layer asks of a pacer: wait before sending, learn from each reply. */
export interface RequestPacer {
  acquire(method: string, signal?: AbortSignal): Promise<void>;
  observe(method: string, status: number, headers: Record<string, string>, retryAfterMs: number | undefined): void;
}

export function armRequestKind(method: string): ArmRequestKind {
  const m = method.toUpperCase();
  if (m === 'GET' || m === 'HEAD') return 'reads';
  if (m === 'DELETE') return 'deletes';
  return 'writes';
}

interface BucketState {
  rate: BucketRate;
  tokens: number;
  at: number;
  /** No request of this kind before this time (a 429's Retry-After). */
  blockedUntil: number;
  /** Waiters in arrival order, so a burst of workers is served fairly. */
  queue: Promise<void>;
}

export interface ArmRequestPacerOptions {
  rates?: Partial<Record<ArmRequestKind, BucketRate>>;
  now?: () => number;
  sleep?: (ms: number, signal?: AbortSignal) => Promise<void>;
}

export class ArmRequestPacer implements RequestPacer {
  private readonly buckets: Record<ArmRequestKind, BucketState>;
  private readonly now: () => number;
  private readonly sleep: (ms: number, signal?: AbortSignal) => Promise<void>;
  /** Time spent waiting for the local model, in ms: what pacing cost. */
  waitedMs = 0;

  constructor(options: ArmRequestPacerOptions = {}) {
    this.now = options.now ?? Date.now;
    this.sleep = options.sleep ?? defaultSleep;
    const t = this.now();
    const make = (kind: ArmRequestKind): BucketState => {
      const given = options.rates?.[kind] ?? ARM_DOCUMENTED_RATES[kind];
      // A bucket that can never hold one token, or never refills, would wait forever.
      const rate = { capacity: Math.max(1, given.capacity), refillPerSecond: Math.max(0.001, given.refillPerSecond) };
      return { rate, tokens: rate.capacity, at: t, blockedUntil: 0, queue: Promise.resolve() };
    };
    this.buckets = { reads: make('reads'), writes: make('writes'), deletes: make('deletes') };
  }

  private refill(b: BucketState): void {
    const t = this.now();
    b.tokens = Math.min(b.rate.capacity, b.tokens + ((t - b.at) / 1000) * b.rate.refillPerSecond);
    b.at = t;
  }

  acquire(method: string, signal?: AbortSignal): Promise<void> {
    const b = this.buckets[armRequestKind(method)];
    // Chain on the queue so concurrent callers take tokens one after another.
    const turn = b.queue.then(async () => {
      for (;;) {
        this.refill(b);
        const blocked = b.blockedUntil - this.now();
        const short = b.tokens >= 1 ? 0 : ((1 - b.tokens) / b.rate.refillPerSecond) * 1000;
        const wait = Math.max(blocked, short);
        if (wait <= 0) {
          b.tokens -= 1;
          return;
        }
        const started = this.now();
        await this.sleep(Math.ceil(wait), signal);
        this.waitedMs += this.now() - started;
      }
    });
    // A cancelled waiter must not wedge the queue for the others.
    b.queue = turn.catch(() => undefined);
    return turn;
  }

  observe(method: string, status: number, headers: Record<string, string>, retryAfterMs: number | undefined): void {
    const kind = armRequestKind(method);
    const b = this.buckets[kind];
    this.refill(b);
    const remaining = Number(headers[`x-ms-ratelimit-remaining-subscription-${kind}`]);
    // The service's count is the truth; ours only ever moves down to meet it (requests still
    // in flight were already counted here).
    if (Number.isFinite(remaining)) b.tokens = Math.min(b.tokens, remaining);
    if (status === 429) {
      b.tokens = Math.min(b.tokens, 0);
      b.blockedUntil = Math.max(b.blockedUntil, this.now() + (retryAfterMs ?? 1000));
    }
  }
}
