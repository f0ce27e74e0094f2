// Fault injection for the Databricks emulator: transport faults for the next N matching
// requests, and forced outcomes for the next N submitted runs.
import type { ForcedOutcome } from './run-engine.js';

export type FaultKind =
  /** 429 REQUEST_LIMIT_EXCEEDED with Retry-After. */
  | 'rate-limit'
  /** 503 TEMPORARILY_UNAVAILABLE. */
  | 'unavailable'
  /** 500 INTERNAL_ERROR. */
  | 'server-error'
  /** The socket is destroyed after the body was read; nothing is handled. */
  | 'reset'
  /** The request is handled (a run is created, a file written), then the socket is destroyed. */
  | 'reset-after-handling'
  /** The reply is delayed by `delayMs`, then sent normally. */
  | 'slow';

export interface FaultRule {
  readonly kind: FaultKind;
  /** HTTP method to match; any when omitted. */
  readonly method?: string;
  /** URL path without the query string: exact string, or a RegExp. Any when omitted. */
  readonly path?: string | RegExp;
  /** How many matching requests get the fault (default 1). */
  readonly times?: number;
  /** Let this many matching requests through untouched first (default 0). */
  readonly skip?: number;
  /** For `rate-limit` (default 1) and optionally `unavailable`: the Retry-After seconds. */
  readonly retryAfterSeconds?: number;
  /** For `slow`: the delay (default 1000 ms). */
  readonly delayMs?: number;
}

interface ActiveRule {
  readonly rule: FaultRule;
  remaining: number;
  toSkip: number;
}

export interface FaultHandle {
  /** Matching requests still to be faulted. */
  remaining(): number;
}

function matches(rule: FaultRule, method: string, urlPath: string): boolean {
  if (rule.method && rule.method.toUpperCase() !== method.toUpperCase()) return false;
  if (rule.path === undefined) return true;
  return typeof rule.path === 'string' ? rule.path === urlPath : rule.path.test(urlPath);
}

export class FaultController {
  private readonly rules: ActiveRule[] = [];
  private readonly outcomes: ForcedOutcome[] = [];

  /** Faults the next `times` requests matching `method`/`path`. Rules are tried in the order added. */
  inject(rule: FaultRule): FaultHandle {
    const active: ActiveRule = { rule, remaining: rule.times ?? 1, toSkip: rule.skip ?? 0 };
    this.rules.push(active);
    return { remaining: () => active.remaining };
  }

  /** The next `times` runs/submit calls create runs that end with `outcome` instead of running their script. */
  forceRunOutcome(outcome: ForcedOutcome, times = 1): void {
    for (let i = 0; i < times; i++) this.outcomes.push(outcome);
  }

  clear(): void {
    this.rules.length = 0;
    this.outcomes.length = 0;
  }

  /** Rules that still have faults to give, and forced outcomes not yet used. */
  pending(): { rules: readonly FaultRule[]; outcomes: readonly ForcedOutcome[] } {
    return { rules: this.rules.filter((r) => r.remaining > 0).map((r) => r.rule), outcomes: [...this.outcomes] };
  }

  /** @internal Used by the server for each request. */
  take(method: string, urlPath: string): FaultRule | undefined {
    for (const active of this.rules) {
      if (active.remaining <= 0 || !matches(active.rule, method, urlPath)) continue;
      if (active.toSkip > 0) {
        active.toSkip--;
        continue;
      }
      active.remaining--;
      return active.rule;
    }
    return undefined;
  }

  /** @internal Used by the run engine for each new run. */
  takeForcedOutcome(): ForcedOutcome | undefined {
    return this.outcomes.shift();
  }
}
