// Fault injection for the Synapse emulator, same shape as the Databricks one: transport faults
// for the next N matching requests, and forced Livy outcomes for the next N created batches.

export type FaultKind =
  /** 429 with Retry-After. */
  | 'rate-limit'
  /** 503 (Retry-After when `retryAfterSeconds` is given). */
  | 'unavailable'
  /** 500. */
  | 'server-error'
  /** The socket is destroyed after the body was read; nothing is handled. */
  | 'reset'
  /** The request is handled (a batch is created or cancelled), then the socket is destroyed. */
  | 'reset-after-handling'
  /** The reply is delayed by `delayMs`, then sent normally. */
  | 'slow';

/** Livy end states a test can force on the next batches instead of running their script. */
export type ForcedOutcome = 'dead' | 'killed' | 'error';

export interface FaultRule {
  readonly kind: FaultKind;
  /** HTTP method to match; any when omitted. */
  readonly method?: string;
  /** URL path without the query string: exact string, or a RegExp. Any when omitted. */
  readonly path?: string | RegExp;
  /** sparkJob.json operationId to match (e.g. `SparkBatch_GetSparkBatchJob`); any when omitted. */
  readonly operation?: string;
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

function matches(rule: FaultRule, method: string, urlPath: string, operation: string | undefined): boolean {
  if (rule.method && rule.method.toUpperCase() !== method.toUpperCase()) return false;
  if (rule.operation && rule.operation !== operation) return false;
  if (rule.path === undefined) return true;
  return typeof rule.path === 'string' ? rule.path === urlPath : rule.path.test(urlPath);
}

export class FaultController {
  private readonly rules: ActiveRule[] = [];
  private readonly outcomes: ForcedOutcome[] = [];

  /** Faults the next `times` requests matching `method`/`path`/`operation`. Rules are tried in the order added. */
  inject(rule: FaultRule): FaultHandle {
    const active: ActiveRule = { rule, remaining: rule.times ?? 1, toSkip: rule.skip ?? 0 };
    this.rules.push(active);
    return { remaining: () => active.remaining };
  }

  /** The next `times` created batches end `outcome` (through `running`) without running their script. */
  forceBatchOutcome(outcome: ForcedOutcome, times = 1): void {
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

  /** @internal Used by the server for each authenticated request. */
  take(method: string, urlPath: string, operation: string | undefined): FaultRule | undefined {
    for (const active of this.rules) {
      if (active.remaining <= 0 || !matches(active.rule, method, urlPath, operation)) continue;
      if (active.toSkip > 0) {
        active.toSkip--;
        continue;
      }
      active.remaining--;
      return active.rule;
    }
    return undefined;
  }

  /** @internal Used by the batch engine for each new batch. */
  takeForcedOutcome(): ForcedOutcome | undefined {
    return this.outcomes.shift();
  }
}
