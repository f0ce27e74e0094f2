// The progress of long runs in a log (a pipe, a file, a CI job): a line every 10% (or 15 s) on
// stderr — stdout is for results. A terminal gets the live view (live-run.tsx); --json NDJSON.
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

/** The progress of a run in a log: a line every tenth of the groups (or every 15 s), and the end. */
export class ProgressLine {
  private readonly started: number;
  private lastDraw = 0;
  private lastDecile = -1;

  constructor(
    private readonly stream: OutputStream,
    private readonly label: string,
    private readonly now: () => number = Date.now,
  ) {
    this.started = now();
  }

  update(c: ProgressCounts): void {
    const t = this.now();
    const decile = c.total ? Math.floor((c.done / c.total) * 10) : 0;
    if (decile === this.lastDecile && t - this.lastDraw < 15_000) return;
    this.lastDecile = decile;
    this.lastDraw = t;
    this.stream.write(`${formatProgress(this.label, c, (t - this.started) / 1000)}\n`);
  }

  /** A one-off message on its own line. */
  note(text: string): void {
    this.stream.write(`${text}\n`);
  }

  end(): void {}
}
