// pollRun: watching a remote run as an async generator that yields only when its state changes,
// polls fast and then slower, honours the server's Retry-After, and stops on an AbortSignal.
// Engine-neutral: Databricks and Synapse backends supply `read` and `key`; sleep/now are
// injected so tests run it on a fake clock.

export class PollAbortedError extends Error {
  constructor() {
    super('stopped watching the run');
    this.name = 'PollAbortedError';
  }
}

export interface PollRunOptions<S> {
  /** Reads the run's current state. */
  read: (signal?: AbortSignal) => Promise<S>;
  /** Snapshots with the same key are the same state: nothing is yielded for them. */
  key: (state: S) => string;
  isTerminal: (state: S) => boolean;
  signal?: AbortSignal;
  sleep?: (ms: number, signal?: AbortSignal) => Promise<void>;
  now?: () => number;
  /** The first wait (default 2 s); it grows by `factor` (1.5) while nothing changes, up to `maxIntervalMs` (30 s), and starts over after a change. */
  intervalMs?: number;
  maxIntervalMs?: number;
  factor?: number;
  /** A wait the server asked for in a reply (e.g. Retry-After on a poll reply); it is a floor for the next wait. */
  retryAfterMs?: (state: S) => number | undefined;
  /**
   * A read failed: how long to wait before reading again, or `undefined` to give up and throw.
   * Default: the error's own `retryAfterMs` if it has one, else give up.
   */
  retryDelay?: (error: unknown, consecutiveFailures: number) => number | undefined;
  /** Consecutive failed reads tolerated before the last error is thrown (default 5). */
  maxConsecutiveErrors?: number;
  /** Called after every successful read, changed or not (tailing a progress file, say). */
  onPoll?: (state: S) => Promise<void> | void;
}

export interface PollSnapshot<S> {
  state: S;
  /** `now()` when it was read. */
  at: number;
  /** Reads so far, this one included. */
  polls: number;
}

function defaultSleep(ms: number, signal?: AbortSignal): Promise<void> {
  return new Promise((resolve, reject) => {
    if (signal?.aborted) return reject(new PollAbortedError());
    const timer = setTimeout(() => {
      signal?.removeEventListener('abort', onAbort);
      resolve();
    }, ms);
    const onAbort = (): void => {
      clearTimeout(timer);
      reject(new PollAbortedError());
    };
    signal?.addEventListener('abort', onAbort, { once: true });
  });
}

const hintOf = (error: unknown): number | undefined => {
  const v = (error as { retryAfterMs?: unknown } | null)?.retryAfterMs;
  return typeof v === 'number' && v >= 0 ? v : undefined;
};

/**
 * Yields the first state read, then each change of state, and returns after yielding a
 * terminal one. Throws PollAbortedError when the signal aborts (between or during waits),
 * and the read's error once `retryDelay` declines or too many reads in a row failed.
 */
export async function* pollRun<S>(options: PollRunOptions<S>): AsyncGenerator<PollSnapshot<S>, void, undefined> {
  const sleep = options.sleep ?? defaultSleep;
  const now = options.now ?? Date.now;
  const base = options.intervalMs ?? 2_000;
  const cap = Math.max(base, options.maxIntervalMs ?? 30_000);
  const factor = options.factor ?? 1.5;
  const retryDelay = options.retryDelay ?? ((e: unknown) => hintOf(e));
  const maxErrors = options.maxConsecutiveErrors ?? 5;
  const { signal } = options;

  let lastKey: string | undefined;
  let interval = base;
  let polls = 0;
  let failures = 0;

  const wait = async (ms: number): Promise<void> => {
    if (signal?.aborted) throw new PollAbortedError();
    try {
      await sleep(ms, signal);
    } catch (err) {
      if (signal?.aborted) throw new PollAbortedError();
      throw err;
    }
    if (signal?.aborted) throw new PollAbortedError();
  };

  for (;;) {
    if (signal?.aborted) throw new PollAbortedError();
    let state: S;
    try {
      state = await options.read(signal);
    } catch (err) {
      if (signal?.aborted) throw new PollAbortedError();
      failures++;
      const delay = failures < maxErrors ? retryDelay(err, failures) : undefined;
      if (delay === undefined) throw err;
      await wait(Math.max(delay, interval));
      continue;
    }
    failures = 0;
    polls++;
    const at = now();
    await options.onPoll?.(state);
    const key = options.key(state);
    if (key !== lastKey) {
      lastKey = key;
      // A change is when the next change is most likely: poll fast again.
      interval = base;
      yield { state, at, polls };
    } else {
      interval = Math.min(cap, Math.round(interval * factor));
    }
    if (options.isTerminal(state)) return;
    await wait(Math.max(interval, options.retryAfterMs?.(state) ?? 0));
  }
}
