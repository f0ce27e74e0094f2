// The one fault controller every emulator uses: matching, skip/times, handles, forced outcomes.
import { describe, expect, it } from 'vitest';
import { FaultController, faultStatus, retryAfterHeader } from './shared/fault-injection.js';

describe('the shared fault controller', () => {
  it('matches on method, exact path, RegExp, substring and operation, in the order rules were added', () => {
    const faults = new FaultController();
    faults.inject({ kind: 'server-error', method: 'POST', path: '/a/b' });
    faults.inject({ kind: 'slow', path: /\/c$/ });
    faults.inject({ kind: 'reset', pathIncludes: '/versions/' });
    faults.inject({ kind: 'rate-limit', operation: 'Op_Get' });
    expect(faults.take('GET', '/a/b')).toBeUndefined();
    expect(faults.take('post', '/a/b')?.kind).toBe('server-error');
    expect(faults.take('GET', '/x/c')?.kind).toBe('slow');
    expect(faults.take('PUT', '/m/versions/1')?.kind).toBe('reset');
    expect(faults.take('GET', '/anything', 'Op_List')).toBeUndefined();
    expect(faults.take('GET', '/anything', 'Op_Get')?.kind).toBe('rate-limit');
    expect(faults.take('GET', '/anything', 'Op_Get')).toBeUndefined();
  });

  it('skips the first matches, faults `times` of them, and reports hits, remaining and cancel', () => {
    const faults = new FaultController();
    const handle = faults.inject({ kind: 'unavailable', pathIncludes: '/put', skip: 2, times: 3 });
    const kinds = Array.from({ length: 6 }, () => faults.take('POST', '/dbfs/put')?.kind ?? 'through');
    expect(kinds).toEqual(['through', 'through', 'unavailable', 'unavailable', 'unavailable', 'through']);
    expect([handle.hits(), handle.remaining()]).toEqual([3, 0]);
    const cancelled = faults.inject({ kind: 'slow', times: 100 });
    faults.take('GET', '/');
    cancelled.cancel();
    expect([cancelled.hits(), cancelled.remaining(), faults.take('GET', '/')]).toEqual([1, 0, undefined]);
    expect(faults.pending().rules).toEqual([]);
  });

  it('hands forced outcomes out one at a time, and clear() drops rules and outcomes', () => {
    const faults = new FaultController<'dead' | 'killed'>();
    faults.forceOutcome('dead', 2);
    faults.forceOutcome('killed');
    faults.inject({ kind: 'reset' });
    expect(faults.pending()).toEqual({ rules: [{ kind: 'reset' }], outcomes: ['dead', 'dead', 'killed'] });
    expect(faults.takeForcedOutcome()).toBe('dead');
    faults.clear();
    expect(faults.pending()).toEqual({ rules: [], outcomes: [] });
    expect(faults.takeForcedOutcome()).toBeUndefined();
  });

  it('refuses a kind the emulator does not implement instead of ignoring it', () => {
    const faults = new FaultController(['reset', 'slow']);
    expect(() => faults.inject({ kind: 'lro-failure' })).toThrow(/does not implement the 'lro-failure' fault/);
  });

  it('gives each status fault its status and Retry-After', () => {
    expect(faultStatus({ kind: 'rate-limit' })).toEqual({ status: 429, retryAfterSeconds: 1 });
    expect(faultStatus({ kind: 'unavailable' })).toEqual({ status: 503 });
    expect(faultStatus({ kind: 'server-error', retryAfterSeconds: 0 })).toEqual({ status: 500, retryAfterSeconds: 0 });
    expect(faultStatus({ kind: 'status', status: 504 })).toEqual({ status: 504 });
    expect(faultStatus({ kind: 'status' })).toEqual({ status: 500 });
    expect(faultStatus({ kind: 'reset' })).toBeUndefined();
    expect(retryAfterHeader({ retryAfterSeconds: 0 })).toEqual({ 'retry-after': '0' });
    expect(retryAfterHeader({})).toEqual({});
  });
});
