// End-to-end projects for tests: a temporary folder with a pipelines.yaml, sample data and any
// other files, the built CLI (`bin/manymodels.js`, so `npm run build` first) run in it as a real
// child process with its own environment, and the folder removed when the test file is done.
// `cli` (helpers/cli.ts) stays for what needs the in-process seams (tokenProviderFor).
import { execFileSync, spawn } from 'node:child_process';
import { copyFileSync, mkdirSync, mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { DatabaseSync } from 'node:sqlite';
import { afterAll } from 'vitest';

export const REPO = path.resolve(import.meta.dirname, '../..');
/** The interpreter the runtime and the emulators' jobs use. */
export const PYTHON = process.env.MANYMODELS_PYTHON ?? 'python3';
const BIN = path.join(REPO, 'bin/manymodels.js');

export interface RunResult {
  code: number | null;
  /** The signal that ended the process, when one did. */
  signal: NodeJS.Signals | null;
  stdout: string;
  stderr: string;
}

/** The environment a CLI run gets: PATH, HOME and MANYMODELS_PYTHON of this process, plus `extra`. */
export function cliEnv(extra: Record<string, string | undefined> = {}): Record<string, string | undefined> {
  return { PATH: process.env.PATH, HOME: process.env.HOME, MANYMODELS_PYTHON: process.env.MANYMODELS_PYTHON, ...extra };
}

export interface RunOptions {
  readonly cwd: string;
  /** The whole environment (default `cliEnv()`): nothing else of this process leaks in. */
  readonly env?: Record<string, string | undefined>;
  /** Send SIGINT (Ctrl-C) this many ms after the start. */
  readonly interruptAfterMs?: number;
  /** Kill the process (SIGKILL) after this long; default 120 s. */
  readonly timeoutMs?: number;
}

/** Runs `node bin/manymodels.js <argv>` and resolves with its exit code and output. */
export function runBuiltCli(argv: readonly string[], options: RunOptions): Promise<RunResult> {
  const env = Object.fromEntries(Object.entries(options.env ?? cliEnv()).filter((e): e is [string, string] => e[1] !== undefined));
  const child = spawn(process.execPath, [BIN, ...argv], { cwd: options.cwd, env, stdio: ['ignore', 'pipe', 'pipe'] });
  let stdout = '';
  let stderr = '';
  child.stdout.setEncoding('utf8').on('data', (s: string) => (stdout += s));
  child.stderr.setEncoding('utf8').on('data', (s: string) => (stderr += s));
  const timers = [setTimeout(() => child.kill('SIGKILL'), options.timeoutMs ?? 120_000)];
  if (options.interruptAfterMs !== undefined) timers.push(setTimeout(() => child.kill('SIGINT'), options.interruptAfterMs));
  return new Promise((resolve, reject) => {
    child.once('error', reject);
    child.once('close', (code, signal) => {
      for (const t of timers) clearTimeout(t);
      resolve({ code, signal, stdout, stderr });
    });
  });
}

export interface SampleDataOptions {
  readonly stores?: number;
  readonly items?: number;
  readonly days?: number;
  readonly seed?: number;
}

/** Writes the runtime generator's daily sales CSV (store_id, item_id, date, sales, price, promo) to `file`. */
export function writeSampleData(file: string, options: SampleDataOptions = {}): void {
  const { stores = 10, items = 20, days = 240, seed = 7 } = options;
  execFileSync(PYTHON, [path.join(REPO, 'pyspark-templates/sample_data_entry.py'), '--out', file, '--stores', String(stores), '--items', String(items), '--days', String(days), '--seed', String(seed)], { stdio: 'pipe' });
}

/** Rows of a read-only SQLite query. */
export function sqliteQuery<T>(file: string, sql: string, ...params: Array<string | number>): T[] {
  const db = new DatabaseSync(file, { readOnly: true });
  try {
    return db.prepare(sql).all(...params) as T[];
  } finally {
    db.close();
  }
}

/** The run id the CLI prints (`Run 20260101-120000-train-abc123 ...`). */
export const runIdOf = (stdout: string): string => /Run (\d{8}-\d{6}-\w+-[0-9a-f]{6})/.exec(stdout)?.[1] ?? '';

export interface ProjectOptions {
  /** The pipelines.yaml text; none written when omitted. */
  readonly yaml?: string;
  /** `data/sales.csv`: generated with these settings, or copied from this file. */
  readonly sampleData?: SampleDataOptions | { readonly copyFrom: string };
  /** Other files, by path relative to the project folder. */
  readonly files?: Readonly<Record<string, string | Buffer>>;
  /** The environment of `run` (default `cliEnv()`). */
  readonly env?: Record<string, string | undefined>;
}

export interface TestProject {
  readonly dir: string;
  /** A path inside the project. */
  path(...parts: string[]): string;
  write(rel: string, content: string | Buffer): void;
  read(rel: string): string;
  /** The built CLI in this folder as a child process. */
  run(argv: readonly string[], options?: Omit<RunOptions, 'cwd'>): Promise<RunResult>;
  /** A read-only query of a SQLite file of the project (`.manymodels/predictions.db`, ...). */
  query<T>(rel: string, sql: string, ...params: Array<string | number>): T[];
}

export interface ProjectKit {
  /** A fresh temp folder, removed after the test file. */
  tempDir(prefix?: string): string;
  /** A fresh project folder, removed after the test file. */
  project(options?: ProjectOptions): TestProject;
}

/** Call once at the top of a test file: everything it makes is removed in afterAll. */
export function projectKit(prefix = 'mm-test-'): ProjectKit {
  const made: string[] = [];
  afterAll(() => {
    for (const dir of made) rmSync(dir, { recursive: true, force: true });
  });
  const tempDir = (p = prefix): string => {
    const dir = mkdtempSync(path.join(tmpdir(), p));
    made.push(dir);
    return dir;
  };
  return {
    tempDir,
    project: (options = {}) => {
      const dir = tempDir();
      const at = (...parts: string[]): string => path.join(dir, ...parts);
      const write = (rel: string, content: string | Buffer): void => {
        mkdirSync(path.dirname(at(rel)), { recursive: true });
        writeFileSync(at(rel), content);
      };
      if (options.yaml !== undefined) write('pipelines.yaml', options.yaml);
      for (const [rel, content] of Object.entries(options.files ?? {})) write(rel, content);
      const data = options.sampleData;
      if (data) {
        mkdirSync(at('data'), { recursive: true });
        if ('copyFrom' in data) copyFileSync(data.copyFrom, at('data/sales.csv'));
        else writeSampleData(at('data/sales.csv'), data);
      }
      return {
        dir,
        path: at,
        write,
        read: (rel) => readFileSync(at(rel), 'utf8'),
        run: (argv, runOptions = {}) => runBuiltCli(argv, { env: options.env ?? cliEnv(), ...runOptions, cwd: dir }),
        query: (rel, sql, ...params) => sqliteQuery(at(rel), sql, ...params),
      };
    },
  };
}
