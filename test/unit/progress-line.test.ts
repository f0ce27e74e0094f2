// The progress line of a log: counts, ETA, and how often it prints (a terminal gets the live
// view: test/live-progress.test.tsx).
import { describe, expect, it } from 'vitest';
import { formatProgress, ProgressLine } from '../../src/cli/ui/progress-line.js';

describe('progress line', () => {
  it('shows done / failed / total and an ETA from the rate so far', () => {
    expect(formatProgress('train p', { done: 2500, failed: 3, skipped: 10, total: 10000 }, 10)).toBe('train p 2,500/10,000 groups (25%) · 3 failed · 10 skipped · 0:10 · ETA 0:30');
  });

  it('prints once per tenth without a TTY, and always at the end', () => {
    let out = '';
    let t = 0;
    const line = new ProgressLine({ write: (s: string) => (out += s) }, 'train', () => t);
    for (let done = 0; done <= 1000; done += 10) {
      t += 10;
      line.update({ done, failed: 0, skipped: 0, total: 1000 });
    }
    expect(out.trim().split('\n')).toHaveLength(11);
    expect(out.trim().split('\n').pop()).toContain('1,000/1,000 groups (100%)');
  });
});
