// The live view of a run under `train` / `score` / `promote` on a terminal: the dashboard's
// progress component, drawn by Ink on stderr (stdout is for results) and redrawn in place at
// any width. Notes (the run id, the remote run page, a registry lock being waited for, "Stopped
// …") print as permanent lines above it — and so does anything else written to stderr while
// it is up, which would otherwise land inside the frame Ink redraws. Ink reads no keys here:
// the terminal stays in cooked mode, so Ctrl-C is the process's SIGINT as without the view.
// Progress events are coalesced: however fast they come (thousands a second from a big run),
// the view renders at most once per frame interval, with the newest counts.
import { EventEmitter } from 'node:events';
import { PassThrough } from 'node:stream';
import { Box, render, Static, Text, type Instance } from 'ink';
import type { OutputStream } from '../io.js';
import { LiveProgress, type ProgressState } from './live-progress.js';
import type { ProgressCounts } from './progress-line.js';

/** At most one render per this many ms (Ink draws at most 20 frames a second here too). */
export const FRAME_MS = 50;

interface Frame {
  notes: string[];
  progress: ProgressState | null;
  width: number;
}

function LiveRun({ notes, progress, width }: Frame): React.JSX.Element {
  return (
    <Box flexDirection="column">
      <Static items={notes}>{(note, i) => <Text key={i}>{note}</Text>}</Static>
      {progress && <LiveProgress width={width} {...progress} />}
    </Box>
  );
}

/** What Ink writes to: the command's stderr (redacted like every other write), with its size and resizes. */
class TerminalOut extends EventEmitter {
  readonly isTTY = true;
  constructor(
    private readonly write_: (chunk: string) => unknown,
    private readonly stream: OutputStream,
  ) {
    super();
  }
  write(chunk: string): boolean {
    this.write_(chunk);
    return true;
  }
  get columns(): number {
    return this.stream.columns || 80;
  }
  get rows(): number {
    return this.stream.rows || 24;
  }
}

export class LiveRunView {
  private readonly started: number;
  private readonly notes: string[] = [];
  private counts: ProgressCounts | null = null;
  private state: string | undefined;
  private url: string | undefined;
  private finished = false;
  private readonly out: TerminalOut;
  private readonly ink: Instance;
  private readonly originalWrite: OutputStream['write'];
  private readonly timer: NodeJS.Timeout;
  private readonly onResize = (): void => void this.out.emit('resize');
  private pending = '';
  private ended = false;
  private lastDraw = -Infinity;
  private scheduled: NodeJS.Timeout | null = null;

  constructor(
    private readonly stream: OutputStream,
    private readonly now: () => number = Date.now,
  ) {
    this.started = now();
    this.originalWrite = stream.write;
    const write = this.originalWrite.bind(stream);
    this.out = new TerminalOut(write, stream);
    // Every other write to stderr while the view is up becomes a note above it.
    stream.write = (chunk: string) => {
      this.pending += String(chunk);
      const cut = this.pending.lastIndexOf('\n');
      if (cut >= 0) {
        for (const line of this.pending.slice(0, cut).split('\n')) this.notes.push(line);
        this.pending = this.pending.slice(cut + 1);
        this.draw(true);
      }
      return true;
    };
    stream.on?.('resize', this.onResize);
    const stdout = this.out as unknown as NodeJS.WriteStream;
    this.ink = render(this.frame(), {
      stdout,
      stderr: stdout,
      stdin: new PassThrough() as unknown as NodeJS.ReadStream,
      exitOnCtrlC: false,
      patchConsole: false,
      maxFps: 20,
      // Chosen for a terminal outside CI (run-events.ts decides): a CI variable must not switch
      // Ink to writing one final frame.
      interactive: true,
    });
    // The elapsed time and ETA move on between events.
    this.timer = setInterval(() => this.draw(), 1000);
    this.timer.unref();
  }

  private frame(): React.JSX.Element {
    const elapsed = (this.now() - this.started) / 1000;
    const progress: ProgressState | null =
      this.counts || this.state || this.url
        ? {
            counts: this.counts ?? { done: 0, failed: 0, skipped: 0, total: 0 },
            elapsedSeconds: elapsed,
            running: !this.finished,
            ...(this.state ? { state: this.state } : {}),
            ...(this.url ? { url: this.url } : {}),
          }
        : null;
    return <LiveRun notes={[...this.notes]} progress={progress} width={this.out.columns} />;
  }

  /** Renders now (notes, the end), or at the next frame for progress. */
  private draw(now = false): void {
    if (this.ended) return;
    const wait = FRAME_MS - (performance.now() - this.lastDraw);
    if (now || wait <= 0) {
      if (this.scheduled) clearTimeout(this.scheduled);
      this.scheduled = null;
      this.lastDraw = performance.now();
      this.ink.rerender(this.frame());
    } else if (!this.scheduled) {
      this.scheduled = setTimeout(() => {
        this.scheduled = null;
        this.draw(true);
      }, wait);
      this.scheduled.unref();
    }
  }

  update(c: ProgressCounts): void {
    this.counts = c;
    if (c.total && c.done >= c.total) this.finished = true;
    this.draw();
  }

  /** The remote state in words, shown in the view (and the run page under it). */
  remote(state: string | undefined, url?: string): void {
    if (state !== undefined) this.state = state;
    if (url) this.url = url;
    this.draw(true);
  }

  /** A permanent line above the live view. */
  note(text: string): void {
    this.notes.push(...text.split('\n'));
    this.draw(true);
  }

  end(): void {
    if (this.ended) return;
    this.finished = true;
    this.state = undefined;
    this.draw(true);
    this.ended = true;
    clearInterval(this.timer);
    this.ink.unmount();
    this.stream.off?.('resize', this.onResize);
    this.stream.write = this.originalWrite;
    if (this.pending) this.stream.write(`${this.pending}\n`);
    this.pending = '';
  }
}
