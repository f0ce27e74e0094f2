// Fault injection for every emulator, driven from the test (not over HTTP): the next N requests
// matching a method / path / operation (optionally after letting M through) get a 429, a 5xx, a
// dropped connection or a slow reply, or start a long-running operation that ends Failed; and
// the next N runs or batches a service creates can be forced to an end state without running.
// Each emulator renders the status faults in its own service's error shape.

export type FaultKind =
  /** 429 with `Retry-After: retryAfterSeconds` (default 1), in the service's throttling shape. */
  | 'rate-limit'
  /** 503 (Retry-After when `retryAfterSeconds` is given). */
  | 'unavailable'
  /** 500 (Retry-After when `retryAfterSeconds` is given). */
  | 'server-error'
  /** Any server error in `status` (500, 502, 503, 504; default 500), `code` where the body has one. */
  | 'status'
  /** The socket is destroyed after the body was read; nothing is handled. */
  | 'reset'
  /** The request is handled (a run, batch or version is created), then the socket is destroyed. */
  | 'reset-after-handling'
  /** The reply is delayed by `delayMs` (default 1000), then the request is handled normally. */
  | 'slow'
  /** The long-running operation this request starts ends Failed with `code` and `message`. */
  | 'lro-failure';

export const ALL_FAULT_KINDS: readonly FaultKind[] = [
  'rate-limit', 'unavailable', 'server-error', 'status', 'reset', 'reset-after-handling', 'slow', 'lro-failure',
];

export interface FaultRule {
  readonly kind: FaultKind;
  /** HTTP method to match; any when omitted. */
  readonly method?: string;
  /** URL path without the query string: exact string, or a RegExp. Any when omitted. */
  readonly path?: string | RegExp;
  /** A substring the URL path must contain (e.g. `/versions/`). Any when omitted. */
  readonly pathIncludes?: string;
  /** The operationId from the service's definition (e.g. `SparkBatch_GetSparkBatchJob`); any when omitted. */
  readonly operation?: string;
  /** How many matching requests get the fault (default 1). */
  readonly times?: number;
  /** Let this many matching requests through untouched first (default 0): "fail after N writes". */
  readonly skip?: number;
  /** Retry-After seconds: for `rate-limit` (default 1), and optionally the other status faults. */
  readonly retryAfterSeconds?: number;
  /** For `slow`: the delay (default 1000 ms). */
  readonly delayMs?: number;
  /** For `status`: the status to answer (default 500). */
  readonly status?: 500 | 502 | 503 | 504;
  /** For `status` and `lro-failure`: the error code where the service's error body has one. */
  readonly code?: string;
  /** For `lro-failure`: the operation's error message. */
  readonly message?: string;
}

export interface FaultHandle {
  /** Matching requests still to be faulted. */
  remaining(): number;
  /** Matching requests faulted so far. */
  hits(): number;
  /** Disarms the rule (its remaining faults are dropped). */
  cancel(): void;
}

interface ActiveRule {
  readonly rule: FaultRule;
  remaining: number;
  hits: number;
  toSkip: number;
}

function matches(rule: FaultRule, method: string, urlPath: string, operation: string | undefined): boolean {
  if (rule.method && rule.method.toUpperCase() !== method.toUpperCase()) return false;
  if (rule.operation && rule.operation !== operation) return false;
  if (rule.pathIncludes !== undefined && !urlPath.includes(rule.pathIncludes)) return false;
  if (rule.path === undefined) return true;
  return typeof rule.path === 'string' ? rule.path === urlPath : rule.path.test(urlPath);
}

/**
 * Armed faults and forced outcomes of one emulator. `Outcome` is the end state the emulator's
 * engine can force on its next runs (Databricks result states, Livy states); `supports` lists the
 * fault kinds the emulator implements, so a rule it would silently ignore is refused up front.
 */
export class FaultController<Outcome extends string = never> {
  private readonly rules: ActiveRule[] = [];
  private readonly outcomes: Outcome[] = [];
  private readonly supports: ReadonlySet<FaultKind>;

  constructor(supports: readonly FaultKind[] = ALL_FAULT_KINDS) {
    this.supports = new Set(supports);
  }

  /** Faults the next `times` requests matching the rule. Rules are tried in the order added. */
  inject(rule: FaultRule): FaultHandle {
    if (!this.supports.has(rule.kind)) throw new Error(`This emulator does not implement the '${rule.kind}' fault.`);
    const active: ActiveRule = { rule, remaining: rule.times ?? 1, hits: 0, toSkip: rule.skip ?? 0 };
    this.rules.push(active);
    return {
      remaining: () => active.remaining,
      hits: () => active.hits,
      cancel: () => {
        active.remaining = 0;
      },
    };
  }

  /** The next `times` runs (or batches) end `outcome` without running their script. */
  forceOutcome(outcome: Outcome, times = 1): void {
    for (let i = 0; i < times; i++) this.outcomes.push(outcome);
  }

  clear(): void {
    this.rules.length = 0;
    this.outcomes.length = 0;
  }

  /** Rules that still have faults to give, and forced outcomes not yet used. */
  pending(): { rules: readonly FaultRule[]; outcomes: readonly Outcome[] } {
    return { rules: this.rules.filter((r) => r.remaining > 0).map((r) => r.rule), outcomes: [...this.outcomes] };
  }

  /** @internal The server's: the first armed rule matching this request, consumed. */
  take(method: string, urlPath: string, operation?: string): FaultRule | undefined {
    for (const active of this.rules) {
      if (active.remaining <= 0 || !matches(active.rule, method, urlPath, operation)) continue;
      if (active.toSkip > 0) {
        active.toSkip--;
        continue;
      }
      active.remaining--;
      active.hits++;
      return active.rule;
    }
    return undefined;
  }

  /** @internal The engine's: the outcome forced on the next run, if any. */
  takeForcedOutcome(): Outcome | undefined {
    return this.outcomes.shift();
  }
}

/** The status and Retry-After a status fault answers with; undefined for the other kinds. */
export function faultStatus(rule: FaultRule): { status: number; retryAfterSeconds?: number } | undefined {
  const retry = rule.retryAfterSeconds === undefined ? {} : { retryAfterSeconds: rule.retryAfterSeconds };
  switch (rule.kind) {
    case 'rate-limit':
      return { status: 429, retryAfterSeconds: rule.retryAfterSeconds ?? 1 };
    case 'unavailable':
      return { status: 503, ...retry };
    case 'server-error':
      return { status: 500, ...retry };
    case 'status':
      return { status: rule.status ?? 500, ...retry };
    default:
      return undefined;
  }
}

/** `{ 'retry-after': … }` for a fault status that carries one, else `{}`. */
export function retryAfterHeader(fault: { retryAfterSeconds?: number }): Record<string, string> {
  return fault.retryAfterSeconds === undefined ? {} : { 'retry-after': String(fault.retryAfterSeconds) };
}
