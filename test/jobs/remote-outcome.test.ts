// The outcome rules every remote engine shares: the runtime's exit code does not travel, so it is
// inferred from what the job wrote, and only a failure those outputs do not explain asks the
// service what happened (redacted, since service messages may echo what they were sent).
import { describe, expect, it } from 'vitest';
import { remoteRunOutcome, tailLines } from '../../src/jobs/remote/follow-remote-run.js';
import type { RunManifest } from '../../src/contracts/runs.js';

const manifest = (exceeded: boolean): RunManifest => ({
  specVersion: 1, runId: 'r', stage: 'train', pipeline: 'p', startedAt: '', finishedAt: '', dataFingerprint: null,
  counts: { total: 2, ok: exceeded ? 0 : 2, failed: exceeded ? 2 : 0, skipped: 0 },
  failureBudget: { maxFailed: null, maxFailedFraction: 0.05, exceeded },
  groups: [],
});

describe('remoteRunOutcome', () => {
  it('infers the runtime exit code from its outputs and asks the service only when they do not explain a failure', () => {
    let asked = 0;
    const remote = (): { message: string; error: string; trace: string } => {
      asked++;
      return { message: 'batch 3 ended dead: Bearer abcdefghijklmnop', error: 'token=s3cr3t', trace: 'line\nGET https://acct.blob.core.windows.net/c/b?sv=2024&sig=abcsecret' };
    };
    expect(remoteRunOutcome({ result: 'succeeded', manifest: manifest(false), logTail: '', seconds: 4, remote })).toEqual({ state: 'succeeded', exitCode: 0, logTail: '', seconds: 4 });
    // Bad input: an error event and no manifest is the runtime's exit 2.
    expect(remoteRunOutcome({ result: 'failed', error: { code: 'MM411', message: 'columns missing' }, logTail: '', remote })).toMatchObject({ exitCode: 2, error: { code: 'MM411' } });
    // Past the failure budget, or a sink that failed after the groups ran: exit 1.
    expect(remoteRunOutcome({ result: 'failed', manifest: manifest(true), logTail: '', remote }).exitCode).toBe(1);
    expect(remoteRunOutcome({ result: 'failed', manifest: manifest(false), error: { code: 'MM415', message: 'sink' }, logTail: '', remote }).exitCode).toBe(1);
    expect(asked).toBe(0);
    expect(remoteRunOutcome({ result: 'cancelled', logTail: '', remote })).toEqual({ state: 'cancelled', exitCode: null, logTail: '' });
    expect(asked).toBe(0);

    // The service ended it and the outputs say nothing: its story, with secrets redacted.
    const crashed = remoteRunOutcome({ result: 'failed', logTail: 'Authorization: Bearer abcdefghijklmnop', remote });
    expect(asked).toBe(1);
    expect(crashed.exitCode).toBeNull();
    expect(JSON.stringify(crashed)).not.toMatch(/abcdefghijklmnop|s3cr3t|abcsecret/);
    expect(crashed.remote?.message).toContain('batch 3 ended dead');
  });

  it('keeps the last non-blank lines', () => {
    expect(tailLines('a\n\nb\n  \nc\n', 2)).toBe('b\nc');
  });
});
