// The live progress of one run, as Ink renders it in the dashboard's run detail and under
// `train` / `score` / `promote` on a terminal: a bar, done / failed / skipped / total,
// throughput, elapsed time and ETA, the remote state and run page. Every line is cut or
// flowed to the terminal's width, so the view redraws in place at 40 columns as at 200.
import { Box, Text } from 'ink';
import { clock, type ProgressCounts } from './progress-line.js';

export interface ProgressState {
  counts: ProgressCounts;
  /** Seconds since the run started (0 when unknown). */
  elapsedSeconds: number;
  /** An ETA is shown only while the run is going. */
  running: boolean;
  /** Remote state in words ("queued", "waiting for a cluster"), when the engine says one. */
  state?: string;
  /** The remote run page. */
  url?: string;
}

const RUN_PAGE = 'run page: ';

/** One line no wider than `width` (an ellipsis marks a cut). */
function cut(s: string, width: number): string {
  const w = Math.max(1, width);
  return s.length > w ? `${s.slice(0, w - 1)}…` : s;
}

/** 12345 as "12,345" (what toLocaleString('en-US') says, without Intl at every frame). */
export function thousands(v: number): string {
  const s = String(Math.trunc(Math.abs(v)));
  let out = '';
  for (let i = s.length; i > 0; i -= 3) out = `${s.slice(Math.max(0, i - 3), i)}${out ? `,${out}` : ''}`;
  return `${v < 0 ? '-' : ''}${out}`;
}

export function progressBar(done: number, total: number, width: number): string {
  const w = Math.max(4, width);
  const filled = total > 0 ? Math.min(w, Math.round((done / total) * w)) : 0;
  return `${'█'.repeat(filled)}${'░'.repeat(w - filled)}`;
}

/** `head`, then parts joined by " · ", on as few lines as fit in `width`; a part wider than a line is cut. */
function flow(head: string, parts: string[], width: number): string[] {
  const lines: string[] = [];
  let line = head;
  let afterHead = true;
  for (const part of parts) {
    const sep = !line ? '' : afterHead ? ' ' : ' · ';
    afterHead = false;
    if (line && line.length + sep.length + part.length > width) {
      lines.push(line);
      line = part;
    } else line = `${line}${sep}${part}`;
  }
  if (line) lines.push(line);
  return lines.map((l) => cut(l, width));
}

/** The view as lines of text, none longer than `width`. */
export function progressLines(p: ProgressState, width: number): string[] {
  const c = p.counts;
  const n = thousands;
  const rate = p.elapsedSeconds > 0 ? c.done / p.elapsedSeconds : 0;
  const bar = progressBar(c.done, c.total, Math.min(30, Math.max(10, width - 40)));
  const parts = [`${n(c.done)}/${n(c.total)}`, `${n(c.failed)} failed`, `${n(c.skipped)} skipped`];
  const pace: string[] = [];
  if (rate) pace.push(`${rate >= 10 ? Math.round(rate) : rate.toFixed(1)} groups/s`);
  if (p.elapsedSeconds) pace.push(clock(p.elapsedSeconds));
  if (p.running && rate > 0 && c.done < c.total) pace.push(`ETA ${clock((c.total - c.done) / rate)}`);
  const lines = [...flow(bar, parts, width), ...(pace.length ? flow('', pace, width) : [])];
  if (p.state) lines.push(cut(p.state, width));
  if (p.url) lines.push(cut(`${RUN_PAGE}${p.url}`, width));
  return lines;
}

/**
 * `text` as a terminal hyperlink to `url` (OSC 8: clickable where the terminal supports links,
 * plain text elsewhere), for an http(s) address of printable characters only — a service's
 * answer never puts control sequences on the screen.
 */
export function hyperlink(text: string, url: string): string {
  return /^https?:\/\/[\x21-\x7e]+$/.test(url) ? `\x1b]8;;${url}\x1b\\${text}\x1b]8;;\x1b\\` : text;
}

export function LiveProgress({ width, ...state }: ProgressState & { width: number }): React.JSX.Element {
  return (
    <Box flexDirection="column">
      {progressLines(state, width).map((line, i) => (
        <Text key={i} wrap="truncate">
          {/* The run page links to the whole address, even when the line shows it cut. */}
          {state.url && line.startsWith(RUN_PAGE) ? `${RUN_PAGE}${hyperlink(line.slice(RUN_PAGE.length), state.url)}` : line}
        </Text>
      ))}
    </Box>
  );
}
