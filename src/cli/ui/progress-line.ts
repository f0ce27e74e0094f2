// The plain progress display for long runs: one self-rewriting line on a TTY, a line every
// 10% (or 15 s) otherwise, both on stderr — stdout is for results. --json bypasses it.
import type { OutputStream } from '../io.js';

export interface ProgressCounts {
  done: number;
  failed: number;
  skipped: number;
  total: number;
}

/** Elapsed or remaining time as m:ss or h:mm:ss. */
export function clock(seconds: number): string {
  const s = Math.max(0, Math.round(seconds));
  const m = Math.floor(s / 60);
  return m >= 60 ? `${Math.floor(m / 60)}:${String(m % 60).padStart(2, '0')}:${String(s % 60).padStart(2, '0')}` : `${m}:${String(s % 60).padStart(2, '0')}`;
}

export function formatProgress(label: string, c: ProgressCounts, elapsedSeconds: number): string {
  const pct = c.total ? Math.floor((c.done / c.total) * 100) : 0;
  const rate = elapsedSeconds > 0 ? c.done / elapsedSeconds : 0;
  const eta = c.done > 0 && c.done < c.total && rate > 0 ? ` · ETA ${clock((c.total - c.done) / rate)}` : '';
  return `${label} ${c.done.toLocaleString('en-US')}/${c.total.toLocaleString('en-US')} groups (${pct}%) · ${c.failed} failed · ${c.skipped} skipped · ${clock(elapsedSeconds)}${eta}`;
}

export class ProgressLine {
  private readonly started: number;
  private lastDraw = 0;
  private lastDecile = -1;
  private drawn = false;

  constructor(
    private readonly stream: OutputStream,
    private readonly label: string,
    private readonly now: () => number = Date.now,
  ) {
    this.started = now();
  }

  update(c: ProgressCounts): void {
    const t = this.now();
    const line = formatProgress(this.label, c, (t - this.started) / 1000);
    if (this.stream.isTTY) {
      if (t - this.lastDraw < 100 && c.done < c.total) return;
      // Never wider than the terminal: a wrapped line cannot be redrawn in place and scrolls.
      const cols = this.stream.columns ?? 0;
      const shown = cols > 1 && line.length > cols - 1 ? `${line.slice(0, cols - 2)}…` : line;
      this.stream.write(`\r\x1b[2K${shown}`);
      this.drawn = true;
    } else {
      const decile = c.total ? Math.floor((c.done / c.total) * 10) : 0;
      if (decile === this.lastDecile && t - this.lastDraw < 15_000) return;
      this.lastDecile = decile;
      this.stream.write(`${line}\n`);
    }
    this.lastDraw = t;
  }

  /** A one-off message, kept clear of the progress line. */
  note(text: string): void {
    this.end();
    this.stream.write(`${text}\n`);
  }

  end(): void {
    if (this.drawn) this.stream.write('\n');
    this.drawn = false;
  }
}
