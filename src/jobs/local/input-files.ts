// What a local `data.path` names: one file, a folder (every file under it, as Spark reads a
// folder: names starting with `.` or `_` — _SUCCESS, .crc — skipped), or a glob (`*`, `?`,
// `[abc]` within a name, `**` for any depth). Folders named `name=value` between the base and
// a file are Hive-style partitions: each becomes a column of every row of the files below it.
import { readdirSync, statSync } from 'node:fs';
import path from 'node:path';

/**
 * What the runtime reads as missing in every column but the keys (its csv_reader.NA_STRINGS;
 * a test keeps the two equal): the embedded reader and `validate` use it.
 */
export const NA_STRINGS: readonly string[] = ['', 'NA', 'N/A', 'n/a', 'NaN', 'nan', '-NaN', '-nan', 'NULL', 'null', 'None', '#N/A', '<NA>'];

/** A problem with the input, found before any group runs: the runtime's MM41x codes. */
export class InputProblem extends Error {
  constructor(
    readonly code: string,
    message: string,
  ) {
    super(message);
  }
}

export interface InputFiles {
  /** Absolute paths, sorted. */
  files: string[];
  /** The folder partitions are counted from (the path itself, or a glob's fixed prefix). */
  base: string;
  /** Partition column names, in path order (the same for every file). */
  partitionColumns: string[];
  /** True when data.path was a folder or a glob, not one file. */
  many: boolean;
}

const GLOB = /[*?[]/;
const HIVE_NULL = '__HIVE_DEFAULT_PARTITION__';

const hidden = (name: string): boolean => name.startsWith('.') || name.startsWith('_');

/** One path segment's glob as a regular expression (`*` and `?` never cross a `/`). */
function segmentRegExp(segment: string): RegExp {
  let re = '';
  for (let i = 0; i < segment.length; i++) {
    const c = segment[i]!;
    if (c === '*') re += '[^/]*';
    else if (c === '?') re += '[^/]';
    else if (c === '[') {
      const end = segment.indexOf(']', i + 1);
      if (end < 0) re += '\\[';
      else {
        const body = segment.slice(i + 1, end).replace(/\\/g, '\\\\');
        re += `[${body.startsWith('!') ? `^${body.slice(1)}` : body}]`;
        i = end;
      }
    } else re += c.replace(/[.+^${}()|\\]/g, '\\$&');
  }
  return new RegExp(`^${re}$`);
}

function walkFiles(dir: string, out: string[]): void {
  for (const entry of readdirSync(dir, { withFileTypes: true })) {
    if (hidden(entry.name)) continue;
    const full = path.join(dir, entry.name);
    if (entry.isDirectory()) walkFiles(full, out);
    else if (entry.isFile() || statSync(full).isFile()) out.push(full);
  }
}

function globFiles(dir: string, segments: string[], out: string[]): void {
  if (!segments.length) return;
  const [head, ...rest] = segments as [string, ...string[]];
  if (head === '**') {
    globFiles(dir, rest, out); // zero folders
    for (const entry of readdirSync(dir, { withFileTypes: true })) {
      if (!hidden(entry.name) && entry.isDirectory()) globFiles(path.join(dir, entry.name), segments, out);
    }
    return;
  }
  if (!GLOB.test(head)) {
    const full = path.join(dir, head);
    let st;
    try {
      st = statSync(full);
    } catch {
      return;
    }
    if (rest.length ? st.isDirectory() : st.isFile()) {
      if (rest.length) globFiles(full, rest, out);
      else out.push(full);
    }
    return;
  }
  const re = segmentRegExp(head);
  let entries;
  try {
    entries = readdirSync(dir, { withFileTypes: true });
  } catch {
    return;
  }
  for (const entry of entries) {
    if (hidden(entry.name) || !re.test(entry.name)) continue;
    const full = path.join(dir, entry.name);
    const isDir = entry.isDirectory() || (entry.isSymbolicLink() && statSync(full, { throwIfNoEntry: false })?.isDirectory());
    if (rest.length) {
      if (isDir) globFiles(full, rest, out);
    } else if (!isDir) out.push(full);
  }
}

/** Folder names `name=value` between `base` and the file: the file's partition columns. */
export function partitionsOf(base: string, file: string): Array<[string, string | null]> {
  const dirs = path.relative(base, path.dirname(file)).split(path.sep).filter((s) => s && s !== '.');
  const out: Array<[string, string | null]> = [];
  for (const d of dirs) {
    const eq = d.indexOf('=');
    if (eq <= 0) continue;
    const raw = d.slice(eq + 1);
    let value: string | null;
    try {
      value = decodeURIComponent(raw);
    } catch {
      value = raw;
    }
    out.push([d.slice(0, eq), value === HIVE_NULL ? null : value]);
  }
  return out;
}

/** The files `dataPath` names, relative to `projectRoot`; MM410 when there are none, MM417 when partition folders differ. */
export function listInputFiles(projectRoot: string, dataPath: string): InputFiles {
  const abs = path.resolve(projectRoot, dataPath);
  let files: string[] = [];
  let base = abs;
  let many = true;
  if (GLOB.test(dataPath)) {
    const parts = abs.split(path.sep);
    const first = parts.findIndex((p) => GLOB.test(p));
    base = parts.slice(0, first).join(path.sep) || path.sep;
    globFiles(base, parts.slice(first), files);
    if (!files.length) throw new InputProblem('MM410', `input not found: no file matches ${dataPath} (relative paths are relative to the project root)`);
  } else {
    const st = statSync(abs, { throwIfNoEntry: false });
    if (!st) throw new InputProblem('MM410', `input not found: ${dataPath} (relative paths are relative to the project root)`);
    if (st.isDirectory()) {
      walkFiles(abs, files);
      if (!files.length) throw new InputProblem('MM410', `input not found: the folder ${dataPath} holds no data files (names starting with . or _ are skipped)`);
    } else {
      files = [abs];
      base = path.dirname(abs);
      many = false;
    }
  }
  // Byte order of the UTF-8 names: the same order on every machine and in every run.
  files = [...new Set(files)].sort((a, b) => Buffer.compare(Buffer.from(a), Buffer.from(b)));
  const partitionColumns = many ? partitionsOf(base, files[0]!).map(([name]) => name) : [];
  if (many) {
    for (const f of files) {
      const names = partitionsOf(base, f).map(([name]) => name);
      if (names.join('/') !== partitionColumns.join('/')) {
        throw new InputProblem(
          'MM417',
          `the input's files differ in their partition folders: ${path.relative(projectRoot, f)} is under ${names.length ? names.map((n) => `${n}=…`).join('/') : 'no partition folder'}, ` +
            `${path.relative(projectRoot, files[0]!)} under ${partitionColumns.length ? partitionColumns.map((n) => `${n}=…`).join('/') : 'no partition folder'}`,
        );
      }
    }
  }
  return { files, base, partitionColumns, many };
}

/**
 * Which reader reads a local input (MANYMODELS_INPUT_READER): `auto` (the default) gives Parquet
 * and folders or globs to the embedded reader (DuckDB), and a single CSV file to the runtime's
 * own parallel reader, which measured faster on it (docs/performance.md); `duckdb` and `python`
 * choose one for every input.
 */
export function inputReaderFor(env: Record<string, string | undefined>, spec: { data: { format: string; path: string | null } }, projectRoot: string): 'duckdb' | 'python' {
  // A database is read by the runtime (psycopg2, COPY into the parsed-input cache).
  if (spec.data.format === 'sql') return 'python';
  const chosen = (env.MANYMODELS_INPUT_READER ?? 'auto').toLowerCase();
  if (chosen === 'python' || chosen === 'duckdb') return chosen;
  if (spec.data.format !== 'csv' || !spec.data.path || GLOB.test(spec.data.path)) return 'duckdb';
  // One stat, not a listing: the embedded reader lists a folder itself, and reports a path
  // that names nothing (MM410).
  const st = statSync(path.resolve(projectRoot, spec.data.path), { throwIfNoEntry: false });
  return st?.isFile() ? 'python' : 'duckdb';
}
