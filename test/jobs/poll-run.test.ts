// pollRun on a fake clock: yields only on a change, polls fast then slower (and fast again after
// a change), honours a server's wait, waits out transient read failures, and stops on abort.
import { describe, expect, it } from 'vitest';
import { PollAbortedError, pollRun, type PollRunOptions } from '../../src/jobs/remote/poll-run.js';

interface State {
  life: string;
  retryAfterMs?: number;
}

/** A scripted run: each read returns the next state (the last one repeats); waits advance a fake clock. */
function scripted(states: Array<State | Error>, extra: Partial<PollRunOptions<State>> = {}) {
  let clock = 0;
  let reads = 0;
  const waits: number[] = [];
  const options: PollRunOptions<State> = {
    read: async () => {
      const next = states[Math.min(reads++, states.length - 1)]!;
      if (next instanceof Error) throw next;
      return next;
    },
    key: (s) => s.life,
    isTerminal: (s) => s.life === 'DONE',
    sleep: async (ms) => {
      waits.push(ms);
      clock += ms;
    },
    now: () => clock,
    intervalMs: 1000,
    maxIntervalMs: 4000,
    factor: 2,
    ...extra,
  };
  return { options, waits, reads: () => reads };
}

async function collect<S>(gen: AsyncGenerator<{ state: S; at: number }>): Promise<Array<{ state: S; at: number }>> {
  const out = [];
  for await (const s of gen) out.push(s);
  return out;
}

const s = (life: string, retryAfterMs?: number): State => (retryAfterMs === undefined ? { life } : { life, retryAfterMs });

describe('pollRun', () => {
  it('yields the first state and each change only, and returns after the terminal one', async () => {
    const { options, reads } = scripted([s('QUEUED'), s('QUEUED'), s('RUNNING'), s('RUNNING'), s('RUNNING'), s('DONE')]);
    const seen = await collect(pollRun(options));
    expect(seen.map((x) => x.state.life)).toEqual(['QUEUED', 'RUNNING', 'DONE']);
    expect(reads()).toBe(6);
  });

  it('backs off while nothing changes, up to the cap, and polls fast again after a change', async () => {
    const states = [s('PENDING'), ...Array.from({ length: 5 }, () => s('PENDING')), s('RUNNING'), s('RUNNING'), s('DONE')];
    const { options, waits } = scripted(states);
    const seen = await collect(pollRun(options));
    // 1 s after the first read, then ×2 while PENDING holds, capped at 4 s; a change resets to 1 s.
    expect(waits).toEqual([1000, 2000, 4000, 4000, 4000, 4000, 1000, 2000]);
    expect(seen.map((x) => x.at)).toEqual([0, 19000, 22000]);
  });

  it("honours the server's Retry-After as a floor for the next wait", async () => {
    const { options, waits } = scripted([s('RUNNING', 7000), s('RUNNING'), s('DONE')], { retryAfterMs: (st) => st.retryAfterMs });
    await collect(pollRun(options));
    expect(waits).toEqual([7000, 2000]);
  });

  it('waits out transient read failures (a retry hint wins) and gives up on others', async () => {
    const throttled = Object.assign(new Error('429'), { retryAfterMs: 5000 });
    const { options, waits } = scripted([s('RUNNING'), throttled, throttled, s('DONE')]);
    const seen = await collect(pollRun(options));
    expect(seen.map((x) => x.state.life)).toEqual(['RUNNING', 'DONE']);
    expect(waits).toEqual([1000, 5000, 5000]);

    const fatal = scripted([s('RUNNING'), new Error('403 forbidden')]);
    await expect(collect(pollRun(fatal.options))).rejects.toThrow('403 forbidden');

    const endless = scripted([s('RUNNING'), throttled], { maxConsecutiveErrors: 3 });
    await expect(collect(pollRun(endless.options))).rejects.toBe(throttled);
    expect(endless.reads()).toBe(4);
  });

  it('stops with PollAbortedError when the signal aborts, before or during a wait', async () => {
    const controller = new AbortController();
    const { options } = scripted([s('RUNNING')], {
      signal: controller.signal,
      sleep: (_ms, signal) =>
        new Promise((_resolve, reject) => {
          signal?.addEventListener('abort', () => reject(new Error('aborted sleep')), { once: true });
        }),
    });
    const gen = pollRun(options);
    expect((await gen.next()).value).toMatchObject({ state: { life: 'RUNNING' } });
    const pending = gen.next();
    controller.abort();
    await expect(pending).rejects.toBeInstanceOf(PollAbortedError);

    const already = new AbortController();
    already.abort();
    await expect(collect(pollRun({ ...scripted([s('RUNNING')]).options, signal: already.signal }))).rejects.toBeInstanceOf(PollAbortedError);
  });

  it('calls onPoll after every read, changed or not', async () => {
    const polled: string[] = [];
    const { options } = scripted([s('A'), s('A'), s('DONE')], { onPoll: (st) => void polled.push(st.life) });
    await collect(pollRun(options));
    expect(polled).toEqual(['A', 'A', 'DONE']);
  });
});
