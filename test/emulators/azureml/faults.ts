// Fault injection for the emulators, driven from the test (not over HTTP): the next N requests
// matching a method/path/operation (optionally after letting M through) get a 429, a 5xx, a
// dropped connection, a slow reply, or start an operation that ends Failed.

export type FaultAction =
  /** 429 with Retry-After (seconds) and the ARM throttling body. */
  | { kind: 'throttle'; retryAfterSeconds?: number }
  /** A server error reply; nothing is changed in the emulator's state. */
  | { kind: 'status'; status: 500 | 502 | 503 | 504; code?: string; retryAfterSeconds?: number }
  /**
   * Destroys the socket without a reply. `before-handling`: the request had no effect;
   * `after-handling` (default): it was applied, then the reply was lost.
   */
  | { kind: 'reset'; when?: 'before-handling' | 'after-handling' }
  /** Waits, then handles the request normally. */
  | { kind: 'delay'; ms: number }
  /** The long-running operation this request starts ends Failed with this error. */
  | { kind: 'lro-failure'; code?: string; message?: string };

export interface FaultMatch {
  method?: string;
  /** Substring of the path, or a RegExp tested against it. */
  path?: string | RegExp;
  operationId?: string;
}

export interface FaultSpec extends FaultMatch {
  action: FaultAction;
  /** How many matching requests get the fault (default 1). */
  times?: number;
  /** Let this many matching requests through untouched first ("fail after N writes"). */
  after?: number;
}

export interface FaultHandle {
  readonly hits: number;
  readonly remaining: number;
  cancel(): void;
}

interface ActiveFault {
  spec: FaultSpec;
  remaining: number;
  hits: number;
  /** Matching requests still to let through before the fault applies. */
  passes: number;
}

export class FaultInjector {
  private readonly active: ActiveFault[] = [];

  inject(spec: FaultSpec): FaultHandle {
    const fault: ActiveFault = { spec, remaining: spec.times ?? 1, hits: 0, passes: spec.after ?? 0 };
    this.active.push(fault);
    return {
      get hits() {
        return fault.hits;
      },
      get remaining() {
        return fault.remaining;
      },
      cancel: () => {
        fault.remaining = 0;
      },
    };
  }

  clear(): void {
    this.active.length = 0;
  }

  /** The first armed fault matching this request, consumed. */
  take(method: string, path: string, operationId: string | undefined): FaultAction | undefined {
    for (const fault of this.active) {
      if (fault.remaining <= 0) continue;
      const { spec } = fault;
      if (spec.method && spec.method.toUpperCase() !== method.toUpperCase()) continue;
      if (spec.operationId && spec.operationId !== operationId) continue;
      if (spec.path !== undefined && !(typeof spec.path === 'string' ? path.includes(spec.path) : spec.path.test(path))) continue;
      if (fault.passes > 0) {
        fault.passes--;
        continue;
      }
      fault.remaining--;
      fault.hits++;
      return spec.action;
    }
    return undefined;
  }
}
