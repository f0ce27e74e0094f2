// The ARM pacer on a fake clock: a burst up to the bucket, then the refill rate; the service's
// remaining-count headers and 429s correct the local model.
import { describe, expect, it } from 'vitest';
import { ArmRequestPacer, armRequestKind } from '../../src/clients/arm-pacer.js';

function fakeTime(): { now: () => number; sleep: (ms: number) => Promise<void>; slept: number[] } {
  let t = 0;
  const slept: number[] = [];
  return {
    now: () => t,
    slept,
    sleep: async (ms: number) => {
      slept.push(ms);
      t += ms;
    },
  };
}

describe('ArmRequestPacer', () => {
  it('lets a burst through, then spaces requests at the refill rate, per request kind', async () => {
    // Given a write bucket of 3 refilled at 2/s
    const clock = fakeTime();
    const pacer = new ArmRequestPacer({ ...clock, rates: { writes: { capacity: 3, refillPerSecond: 2 } } });
    // When six writes and a read ask to go
    for (let i = 0; i < 6; i++) await pacer.acquire('PUT');
    await pacer.acquire('GET');
    // Then three went at once and each later one waited half a second; the read did not wait
    expect(clock.slept).toEqual([500, 500, 500]);
    expect(clock.now()).toBe(1500);
    expect(armRequestKind('POST')).toBe('writes');
    expect(armRequestKind('DELETE')).toBe('deletes');
  });

  it('believes the service: a lower remaining count and a 429 slow it down', async () => {
    const clock = fakeTime();
    const pacer = new ArmRequestPacer({ ...clock, rates: { writes: { capacity: 100, refillPerSecond: 10 } } });
    await pacer.acquire('PUT');
    // Given the service says only one write is left (another client shares the quota)
    pacer.observe('PUT', 201, { 'x-ms-ratelimit-remaining-subscription-writes': '1' }, undefined);
    await pacer.acquire('PUT');
    expect(clock.slept).toEqual([]);
    await pacer.acquire('PUT');
    expect(clock.slept).toEqual([100]);
    // When a 429 asks for 3 s
    pacer.observe('PUT', 429, {}, 3000);
    await pacer.acquire('PUT');
    // Then nothing is sent before the 3 s are over
    expect(clock.slept.slice(1).reduce((a, b) => a + b, 0)).toBeGreaterThanOrEqual(3000);
  });

  it('serves concurrent waiters in turn and survives a cancelled one', async () => {
    // A degenerate bucket (capacity 0) is read as 1: it must not wait forever
    const clock = fakeTime();
    const pacer = new ArmRequestPacer({ ...clock, rates: { writes: { capacity: 1, refillPerSecond: 1 } } });
    const aborted = new AbortController();
    aborted.abort(new Error('stop'));
    const sleepThatHonoursAbort = new ArmRequestPacer({
      now: clock.now,
      sleep: async (ms, signal) => {
        if (signal?.aborted) throw signal.reason;
        await clock.sleep(ms);
      },
      rates: { writes: { capacity: 0, refillPerSecond: 1 } },
    });
    await sleepThatHonoursAbort.acquire('PUT');
    await expect(sleepThatHonoursAbort.acquire('PUT', aborted.signal)).rejects.toThrow('stop');
    await sleepThatHonoursAbort.acquire('PUT');
    expect(clock.slept).toEqual([1000]);
    const order: number[] = [];
    await Promise.all([1, 2, 3].map((n) => pacer.acquire('PUT').then(() => order.push(n))));
    expect(order).toEqual([1, 2, 3]);
  });
});
