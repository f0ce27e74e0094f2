// Every file the CLI keeps under .manymodels/ is written through here: redacted (core/redact.ts
// redactOutput) and atomic — written aside and renamed, so a reader never sees half a file and a
// full disk leaves the previous one whole. The streams the local engine fills while a run goes
// (runtime.log, events.ndjson) are redacted line by line by RedactingLines.
import { createWriteStream, mkdirSync, renameSync, rmSync, writeFileSync } from 'node:fs';
import path from 'node:path';
import { redactOutput } from './redact.js';

export function writeStateFile(file: string, text: string, options: { mode?: number } = {}): void {
  mkdirSync(path.dirname(file), { recursive: true });
  const tmp = `${file}.${process.pid}.tmp`;
  try {
    writeFileSync(tmp, redactOutput(text), options.mode !== undefined ? { mode: options.mode } : {});
    renameSync(tmp, file);
  } catch (err) {
    rmSync(tmp, { force: true });
    throw err;
  }
}

/**
 * A text file written as it grows, whole lines at a time, each redacted: a secret split over two
 * chunks of a pipe is still one line when it is redacted. `end` writes a last unfinished line.
 */
export class RedactingLines {
  private partial = '';
  readonly stream: ReturnType<typeof createWriteStream>;

  constructor(file: string) {
    this.stream = createWriteStream(file);
  }

  /** Writes the complete lines of `chunk`; returns them, redacted, for whoever shows them. */
  write(chunk: string): string {
    const text = this.partial + chunk;
    const cut = text.lastIndexOf('\n');
    if (cut < 0) {
      this.partial = text;
      return '';
    }
    this.partial = text.slice(cut + 1);
    const lines = redactOutput(text.slice(0, cut + 1));
    if (!this.stream.destroyed) this.stream.write(lines);
    return lines;
  }

  /** Writes the unfinished last line, if any, and returns it redacted. */
  flush(): string {
    const rest = redactOutput(this.partial);
    this.partial = '';
    if (rest && !this.stream.destroyed) this.stream.write(rest);
    return rest;
  }

  /** Flushes, and ends the file; resolves whether it ended or failed. */
  end(): Promise<void> {
    this.flush();
    return new Promise((resolve) => {
      if (this.stream.destroyed) resolve();
      else {
        this.stream.once('error', () => resolve());
        this.stream.end(() => resolve());
      }
    });
  }
}
