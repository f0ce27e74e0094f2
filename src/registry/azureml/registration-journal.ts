// The local journal of the versions a registration has written (one NDJSON file, removed when
// it completes), so one that stopped halfway resumes where it stopped instead of from scratch.
import { appendFileSync, existsSync, mkdirSync, readFileSync, rmSync } from 'node:fs';
import path from 'node:path';

export class RegistrationJournal {
  private readonly done = new Set<string>();
  private readonly file: string | undefined;

  private constructor(file: string | undefined) {
    this.file = file;
    if (!file || !existsSync(file)) return;
    for (const line of readFileSync(file, 'utf8').split('\n')) {
      // A line cut short by a crash fails to parse and is ignored: that version is written
      // again, which is an idempotent PUT.
      try {
        const rec = JSON.parse(line) as { n?: unknown; v?: unknown };
        if (typeof rec.n === 'string' && typeof rec.v === 'string') this.done.add(`${rec.n}\0${rec.v}`);
      } catch {
        /* partial line */
      }
    }
  }

  /** A journal under `dir` for registration `key` (hex); without a dir it only remembers in memory. */
  static open(dir: string | undefined, key: string): RegistrationJournal {
    if (!dir) return new RegistrationJournal(undefined);
    if (!/^[0-9a-f]{16,64}$/.test(key)) throw new RangeError(`journal key must be hex, got ${key}`);
    mkdirSync(dir, { recursive: true });
    return new RegistrationJournal(path.join(dir, `${key}.ndjson`));
  }

  get size(): number {
    return this.done.size;
  }

  has(name: string, version: string): boolean {
    return this.done.has(`${name}\0${version}`);
  }

  /** Called only after the service confirmed the write. */
  record(name: string, version: string): void {
    this.done.add(`${name}\0${version}`);
    if (this.file) appendFileSync(this.file, `${JSON.stringify({ n: name, v: version })}\n`);
  }

  /** The registration is complete and recorded in the service: nothing left to resume. */
  finish(): void {
    if (this.file) rmSync(this.file, { force: true });
  }
}
