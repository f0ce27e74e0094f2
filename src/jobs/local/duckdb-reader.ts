// The local engine's embedded reader: DuckDB (the @duckdb/node-api package, which ships the
// engine) reads the input — one CSV or Parquet file, a folder, a glob, Hive partition folders —
// before the Python runtime starts, and writes a parsed-input cache entry in the format the
// runtime memory-maps (input_data/cache.py: .npy files + meta.json). Python then never parses
// the input, and never needs pyarrow for Parquet. The typing follows the runtime's CSV reader
// exactly: keys as codes over their sorted distinct strings (as written; an empty key is the
// group ""), the runtime's missing-value strings, numbers as float64 or the narrowest whole
// int type, classification labels as their index; times are handed over as codes over their
// distinct strings, which the runtime parses once each (columns.parse_times), or as int64 ns
// for Parquet timestamp columns.
import { createHash } from 'node:crypto';
import { closeSync, existsSync, mkdirSync, mkdtempSync, openSync, readdirSync, readSync, renameSync, rmSync, statSync, utimesSync, writeFileSync } from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import type { DuckDBConnection, DuckDBDataChunk } from '@duckdb/node-api';
import type { JobSpec } from '../../contracts/job-spec.js';
import { InputProblem, NA_STRINGS, listInputFiles, type InputFiles } from './input-files.js';
import { NpyWriter } from './npy.js';

/** The cache entry format the runtime loads (cache.CACHE_FORMAT). */
export const CACHE_FORMAT = 2;
const CACHE_KEEP = 3;
const NAT = -9223372036854775808n;
/** The source's column of each row's file, when planSource is asked for it (and with partition folders). */
export const FILE_COLUMN = '__manymodels_file';

export interface PreparedInput {
  /** The cache entry folder, complete (meta.json written last). */
  entry: string;
  fromCache: boolean;
  rows: number;
  seconds: number;
}

export const ident = (name: string): string => `"${name.replace(/"/g, '""')}"`;
export const lit = (value: string): string => `'${value.replace(/'/g, "''")}'`;
const utf8Order = (a: string, b: string): number => Buffer.compare(Buffer.from(a, 'utf8'), Buffer.from(b, 'utf8'));

interface CsvDialect {
  delim: string;
  quote: string;
  escape: string;
  encoding: string;
  nullValue?: string;
}

const DUCKDB_ENCODINGS: Record<string, string> = { 'utf-8': 'utf-8', utf8: 'utf-8', ascii: 'utf-8', 'latin-1': 'latin-1', 'iso-8859-1': 'latin-1', latin1: 'latin-1' };

/**
 * The CSV options DuckDB reads as the runtime does (the Spark-style names of data.options), or
 * null when some option needs the runtime's own reader (another text encoding).
 */
export function csvDialect(options: Record<string, string | number | boolean>): CsvDialect | null {
  const d: CsvDialect = { delim: ',', quote: '"', escape: '"', encoding: 'utf-8' };
  for (const [k, raw] of Object.entries(options)) {
    const v = String(raw);
    switch (k.toLowerCase()) {
      case 'sep':
      case 'delimiter':
        d.delim = v;
        break;
      case 'quote':
        d.quote = v;
        d.escape = v;
        break;
      case 'escape':
        d.escape = v;
        break;
      case 'encoding':
      case 'charset': {
        const e = DUCKDB_ENCODINGS[v.toLowerCase().replace(/_/g, '-')];
        if (!e) return null;
        d.encoding = e;
        break;
      }
      case 'header':
        if (v.toLowerCase() !== 'true') throw new InputProblem('MM410', 'CSV input needs a header row (data.options.header must be true); columns are matched by name');
        break;
      case 'nullvalue':
        d.nullValue = v;
        break;
      default:
      // Other Spark options (inferSchema, dateFormat, …) mean nothing here, as in the runtime's reader.
    }
  }
  if (d.delim.length !== 1 || d.quote.length > 1 || d.escape.length > 1) return null;
  return d;
}

/** The input's fingerprint: the runtime's (fingerprint.py) for one file; for many, over every file's path, size and mtime. */
export function dataFingerprint(input: InputFiles): string {
  const h = createHash('sha256');
  if (!input.many) {
    const file = input.files[0]!;
    h.update(`${path.resolve(file)}\0`);
    const st = statSync(file, { bigint: true });
    h.update(`${st.size}\0${st.mtimeNs}\0`);
    const MIB = 1 << 20;
    const size = Number(st.size);
    const fd = openSync(file, 'r');
    try {
      const read = (pos: number): Buffer => {
        const buf = Buffer.alloc(Math.min(MIB, Math.max(0, size - pos)));
        let got = 0;
        while (got < buf.length) {
          const n = readSync(fd, buf, got, buf.length - got, pos + got);
          if (!n) break;
          got += n;
        }
        return buf.subarray(0, got);
      };
      h.update(read(0));
      if (size > MIB) h.update(read(Math.max(MIB, size - MIB)));
    } finally {
      closeSync(fd);
    }
    return `sha256:${h.digest('hex')}`;
  }
  h.update(`${input.base}\0many\0`);
  for (const f of input.files) {
    const st = statSync(f, { bigint: true });
    h.update(`${path.relative(input.base, f)}\0${st.size}\0${st.mtimeNs}\0`);
  }
  return `sha256:${h.digest('hex')}`;
}

type Role = 'key' | 'time' | 'part' | 'target' | 'labels' | 'feature';

interface Column {
  name: string;
  role: Role;
  /** The column's DuckDB type in the source (VARCHAR for every CSV column and partition). */
  type: string;
  partition: boolean;
}

const NUMERIC_TYPES = /^(TINYINT|SMALLINT|INTEGER|BIGINT|HUGEINT|UTINYINT|USMALLINT|UINTEGER|UBIGINT|UHUGEINT|FLOAT|DOUBLE|DECIMAL.*)$/;
const TIME_TYPES = /^(DATE|TIMESTAMP.*)$/;

/** A column as text: NULL where missing (the runtime's missing-value strings included, except for keys). */
function textOf(c: Column, na: string, col = ident(c.name), mapMissing = true): string {
  const asText = c.type === 'VARCHAR' ? col : c.type === 'BOOLEAN' ? `CASE WHEN ${col} THEN 'True' WHEN NOT ${col} THEN 'False' END` : `CAST(${col} AS VARCHAR)`;
  if (c.role === 'key') return `coalesce(${asText}, '')`;
  if (!mapMissing) return asText;
  return `CASE WHEN ${asText} IN (${na}) THEN NULL ELSE ${asText} END`;
}

/** A text expression as a number; NULL where missing or not a number. */
const numberOf = (t: string): string => `TRY_CAST(${t} AS DOUBLE)`;
/**
 * Text that is present but not a number as the runtime reads numbers: what DuckDB does not
 * parse, digit separators (1_000), and values past the float64 range (1e309).
 */
const tooLarge = (t: string): string => `coalesce(CASE WHEN isinf(${numberOf(t)}) THEN NOT regexp_matches(lower(trim(${t})), '^[+-]?inf(inity)?$') ELSE false END, false)`;
const notNumber = (t: string): string => `(${t} IS NOT NULL AND (${numberOf(t)} IS NULL OR contains(${t}, '_') OR ${tooLarge(t)}))`;
const notBoolean = (t: string): string => `(${t} IS NOT NULL AND lower(${t}) NOT IN ('true', 'false'))`;

async function rows(con: DuckDBConnection, sql: string): Promise<Array<Record<string, unknown>>> {
  const reader = await con.runAndReadAll(sql);
  return reader.getRowObjectsJS() as Array<Record<string, unknown>>;
}

function duckdbMessage(err: unknown): string {
  const text = err instanceof Error ? err.message : String(err);
  return text.split('\n').filter((l) => l.trim() && !l.startsWith('LINE ') && !/^\s*\^/.test(l)).slice(0, 3).join(' ').trim();
}

/** Every file's columns, checked to be the same (MM417), and the source expression over all files. */
export async function planSource(con: DuckDBConnection, format: string, input: InputFiles, dialect: CsvDialect | null, projectRoot: string, withFile = false): Promise<{ header: string[]; types: Map<string, string>; from: string }> {
  const csv = format === 'csv';
  const rel = (f: string): string => path.relative(projectRoot, f) || f;
  const csvArgs = dialect ? `delim=${lit(dialect.delim)}, quote=${lit(dialect.quote)}, escape=${lit(dialect.escape)}, encoding=${lit(dialect.encoding)}` : '';
  let first: { names: string[]; types: Map<string, string> } | undefined;
  for (const f of input.files) {
    let described: Array<Record<string, unknown>>;
    try {
      described = await rows(
        con,
        csv ? `DESCRIBE SELECT * FROM read_csv(${lit(f)}, header=true, all_varchar=true, hive_partitioning=false, ${csvArgs})` : `DESCRIBE SELECT * FROM read_parquet(${lit(f)}, hive_partitioning=false)`,
      );
    } catch (err) {
      const msg = duckdbMessage(err);
      if (/no (data|rows)|empty/i.test(msg) && csv) throw new InputProblem('MM413', `${rel(f)} is empty (no header row)`);
      throw new InputProblem('MM410', `cannot read ${rel(f)} as ${csv ? 'CSV' : 'Parquet'}: ${msg}`);
    }
    const names = described.map((r) => String(r.column_name));
    const types = new Map(described.map((r) => [String(r.column_name), String(r.column_type)]));
    if (!first) {
      first = { names, types };
      continue;
    }
    const same = csv ? names.join('\0') === first.names.join('\0') : names.length === first.names.length && names.every((n) => first!.types.has(n));
    if (!same) {
      const lacks = first.names.filter((n) => !names.includes(n));
      const extra = names.filter((n) => !first!.names.includes(n));
      const detail = lacks.length || extra.length ? [lacks.length ? `lacks ${lacks.join(', ')}` : '', extra.length ? `has ${extra.join(', ')} besides` : ''].filter(Boolean).join(' and ') : 'has them in another order';
      throw new InputProblem('MM417', `the input's files have different columns: ${rel(f)} ${detail} (compared with ${rel(input.files[0]!)}: ${first.names.join(', ')})`);
    }
  }
  const header = [...first!.names];
  const types = new Map(first!.types);
  if (csv) for (const n of header) types.set(n, 'VARCHAR');
  const clash = input.partitionColumns.filter((p) => types.has(p));
  if (clash.length) throw new InputProblem('MM417', `partition folder${clash.length > 1 ? 's' : ''} ${clash.map((c) => `${c}=…`).join(', ')} name${clash.length > 1 ? '' : 's'} a column the files also have: rename the folders or drop the column`);
  const list = `[${input.files.map(lit).join(', ')}]`;
  const fileArg = input.partitionColumns.length || withFile ? `, filename=${lit(FILE_COLUMN)}` : '';
  const from = csv
    ? // Every field as the text written: no string is NULL here (the missing-value strings are
      // applied per column), and quoted fields are text like any other.
      `read_csv(${list}, header=true, auto_detect=false, ${csvArgs}, columns={${header.map((h) => `${lit(h)}: 'VARCHAR'`).join(', ')}}, nullstr=${lit('\u0001')}, allow_quoted_nulls=false, hive_partitioning=false${fileArg})`
    : `read_parquet(${list}, union_by_name=true, hive_partitioning=false${fileArg})`;
  for (const p of input.partitionColumns) {
    header.push(p);
    types.set(p, 'VARCHAR');
  }
  return { header, types, from };
}

export function partitionExpr(input: InputFiles, name: string): string {
  const base = input.base.endsWith(path.sep) ? input.base : input.base + path.sep;
  const rel = `substr(${ident(FILE_COLUMN)}, ${[...base].length + 1})`;
  // The value of the folder `name=value` in the path below the base (url-decoded as Hive writes it).
  const raw = `regexp_extract(${rel}, ${lit(`(^|/)${name.replace(/[.*+?^${}()|[\]\\]/g, '\\$&')}=([^/]*)/`)}, 2)`;
  return `CASE WHEN ${raw} = '__HIVE_DEFAULT_PARTITION__' THEN NULL ELSE url_decode(${raw}) END`;
}

export interface PrepareOptions {
  signal?: AbortSignal;
  /**
   * The most the read's result may take in memory at once (bytes, 8 per value): a larger input
   * is streamed a chunk at a time. Default: an eighth of the machine's memory.
   */
  materializeBytes?: number;
}

/** Reads the spec's input into a parsed-input cache entry under `cacheDir` (reused when it exists). */
export async function prepareInput(spec: JobSpec, projectRoot: string, cacheDir: string, workers: number, options: PrepareOptions = {}): Promise<PreparedInput | null> {
  const { signal } = options;
  const materializeBytes = options.materializeBytes ?? Math.floor(os.totalmem() / 8);
  const t0 = performance.now();
  const fmt = spec.data.format;
  if ((fmt !== 'csv' && fmt !== 'parquet') || typeof spec.data.path !== 'string') return null;
  const dialect = fmt === 'csv' ? csvDialect(spec.data.options) : null;
  if (fmt === 'csv' && !dialect) return null;
  const input = listInputFiles(projectRoot, spec.data.path);
  const fingerprint = dataFingerprint(input);
  const { DuckDBInstance } = await import('@duckdb/node-api');
  const threads = String(workers > 0 ? workers : os.availableParallelism());
  // Past its memory limit DuckDB spills to disk: into the cache folder, not the working directory.
  const spill = path.join(cacheDir, `tmp-duckdb-spill-${process.pid}`);
  mkdirSync(cacheDir, { recursive: true });
  const instance = await DuckDBInstance.create(':memory:', { threads, preserve_insertion_order: 'true', temp_directory: spill });
  const con = await instance.connect();
  // Ctrl-C stops the query under way; the caller sees the signal aborted and ends the run cancelled.
  const stop = (): void => con.interrupt();
  signal?.addEventListener('abort', stop, { once: true });
  try {
    return await read(con, spec, input, dialect, fingerprint, projectRoot, cacheDir, t0, materializeBytes);
  } catch (err) {
    // DuckDB's own errors (a malformed file, a value it cannot convert) are the input's
    // problem, MM410 with its words; a file system error (ENOSPC, EACCES) keeps its errno.
    if (err instanceof InputProblem || (err as NodeJS.ErrnoException).code !== undefined) throw err;
    throw new InputProblem('MM410', `cannot read ${spec.data.path}: ${duckdbMessage(err)}`);
  } finally {
    signal?.removeEventListener('abort', stop);
    con.closeSync();
    instance.closeSync();
    rmSync(spill, { recursive: true, force: true });
  }
}

async function read(con: DuckDBConnection, spec: JobSpec, input: InputFiles, dialect: CsvDialect | null, fingerprint: string, projectRoot: string, cacheDir: string, t0: number, materializeBytes: number): Promise<PreparedInput> {
  const { header, types, from } = await planSource(con, spec.data.format, input, dialect, projectRoot);
  // The runtime reads the time column of a forecast only (spec.py drops it for the other tasks).
  const cols = { ...spec.columns, time: spec.task === 'forecast' ? spec.columns.time : null };
  // A time built from parts: those columns are read, and `time` only names the composed time.
  const timeParts = cols.time && cols.timeParts ? TIME_PART_NAMES.flatMap((p) => (cols.timeParts![p] ? [[p, cols.timeParts![p]!] as const] : [])) : [];
  const needTarget = spec.stage === 'train';
  const wanted = [...cols.keys, ...(timeParts.length ? timeParts.map(([, c]) => c) : cols.time ? [cols.time] : []), ...cols.features];
  const missing = wanted.filter((c) => !header.includes(c));
  const targetPresent = header.includes(cols.target);
  if (needTarget && !targetPresent) missing.push(cols.target);
  if (missing.length) throw new InputProblem('MM411', `columns named in the pipeline are missing from ${spec.data.path}: ${missing.join(', ')}. The file has: ${header.join(', ')}`);

  const labels = spec.task === 'classification';
  const request = {
    v: CACHE_FORMAT,
    reader: 'duckdb',
    fp: fingerprint,
    fmt: spec.data.format,
    options: Object.entries(spec.data.options).map(([k, v]) => [String(k), String(v)]).sort(),
    keys: cols.keys,
    time: cols.time,
    // The runtime parses the time strings into time.npy once, as dates or as periods.
    timeKind: spec.timeKind ?? 'date',
    ...(timeParts.length ? { timeParts } : {}),
    target: targetPresent ? cols.target : null,
    labels,
    features: cols.features,
  };
  const key = createHash('sha256').update(JSON.stringify(request)).digest('hex').slice(0, 32);
  const entry = path.join(cacheDir, `duckdb-${key}`);
  const metaFile = path.join(entry, 'meta.json');
  if (existsSync(metaFile)) {
    const now = new Date();
    utimesSync(metaFile, now, now); // recency, for pruning
    return { entry, fromCache: true, rows: -1, seconds: (performance.now() - t0) / 1000 };
  }

  const na = [...NA_STRINGS, ...(dialect?.nullValue !== undefined ? [dialect.nullValue] : [])].map(lit).join(', ');
  const column = (name: string, role: Role): Column => ({ name, role, type: types.get(name) ?? 'VARCHAR', partition: input.partitionColumns.includes(name) });
  const keyCols = cols.keys.map((k) => column(k, 'key'));
  const timeCol = cols.time && !timeParts.length ? column(cols.time, 'time') : null;
  const partCols = timeParts.map(([, c]) => column(c, 'part'));
  const targetCol = targetPresent ? column(cols.target, labels ? 'labels' : 'target') : null;
  const featureCols = cols.features.map((f) => column(f, 'feature'));
  const all = [...keyCols, ...(timeCol ? [timeCol] : []), ...partCols, ...(targetCol ? [targetCol] : []), ...featureCols];
  const alias = (i: number): string => `c${i}`;
  const rel = (f: string): string => path.relative(projectRoot, f) || f;
  const shown = input.many ? spec.data.path! : path.resolve(projectRoot, spec.data.path!);
  const textExpr = (c: Column, mapMissing = true): string => textOf(c, na, c.partition ? partitionExpr(input, c.name) : ident(c.name), mapMissing);
  // Target and feature columns written as text are parsed as numbers in the one read, with a
  // flag for each value that is not one; a column with any such value is read again as text
  // (a category, booleans, or the MM412 of a target), the rare case.
  const parsed = new Set(all.filter((c) => (c.role === 'target' || c.role === 'feature' || c.role === 'part') && !keepTyped(c)));
  const numeric = (c: Column): boolean => keepTyped(c) || parsed.has(c);
  // Nothing to parse (Parquet's typed columns): a column store read again per pass costs less
  // than copying it into a table first (40M rows: 1.9 s). Text is read once, into a table.
  const asView = spec.data.format === 'parquet' && parsed.size === 0;
  const readFailed = (err: unknown): InputProblem => {
    const msg = duckdbMessage(err);
    const file = /file "?([^"\s]+)"?/i.exec(msg)?.[1];
    return new InputProblem('MM410', `cannot read ${file ? rel(file) : spec.data.path} as ${spec.data.format === 'csv' ? 'CSV' : 'Parquet'}: ${msg}`);
  };
  const createTable = async (): Promise<void> => {
    // The inner query parses each number once; the outer one flags what is not a number the
    // runtime reads (NULL from the cast and not a missing-value string; a digit separator; a
    // value past the float64 range), each check only where it can matter.
    const inner: string[] = [];
    const selects = all.flatMap((c, i) => {
      const a = alias(i);
      if (keepTyped(c)) {
        // Typed in the source (Parquet): carried through the inner query as it is.
        inner.push(`${ident(c.name)} AS ${a}`);
        return [a];
      }
      if (parsed.has(c)) {
        inner.push(`${textExpr(c, false)} AS ${a}_raw`, `TRY_CAST(${textExpr(c, false)} AS DOUBLE) AS ${a}_num`);
        return [
          `CASE WHEN isnan(${a}_num) THEN NULL ELSE ${a}_num END AS ${a}`,
          `CASE WHEN ${a}_num IS NULL THEN ${a}_raw IS NOT NULL AND ${a}_raw NOT IN (${na}) WHEN isinf(${a}_num) THEN NOT regexp_matches(lower(trim(${a}_raw)), '^[+-]?inf(inity)?$') ELSE contains(${a}_raw, '_') END AS ${a}_bad`,
        ];
      }
      // The time and class labels are coded over their distinct strings: missing-value strings are dropped from those, not tested per row.
      inner.push(`${textExpr(c, !(c.role === 'time' || c.role === 'labels'))} AS ${a}`);
      return [a];
    });
    const query = `SELECT ${selects.join(', ')} FROM (SELECT ${inner.length ? inner.join(', ') : '1 AS one'} FROM ${from})`;
    try {
      // A table is read once, into DuckDB's memory (spilled to disk past its memory limit): the
      // passes below scan it, not the files again. The instance is closed before the runtime starts.
      await con.run(`CREATE OR REPLACE TEMP ${asView ? 'VIEW' : 'TABLE'} src AS ${query}`);
    } catch (err) {
      throw readFailed(err);
    }
  };
  await createTable();
  if (parsed.size) {
    const bad = (await rows(con, `SELECT ${[...parsed].map((c) => `bool_or(${alias(all.indexOf(c))}_bad) AS ${alias(all.indexOf(c))}`).join(', ')} FROM src`))[0]!;
    const text = [...parsed].filter((c) => bad[alias(all.indexOf(c))] === true);
    if (text.length) {
      for (const c of text) parsed.delete(c);
      await createTable();
    }
  }
  const idx = (c: Column): string => alias(all.indexOf(c));
  const missingText = new Set([...NA_STRINGS, ...(dialect?.nullValue !== undefined ? [dialect.nullValue] : [])]);
  const distinct = async (c: Column): Promise<string[]> =>
    (await rows(con, `SELECT DISTINCT ${idx(c)} AS v FROM src WHERE ${idx(c)} IS NOT NULL`))
      .map((r) => String(r.v))
      .filter((v) => c.role === 'key' || !missingText.has(v))
      .sort(utf8Order);

  // Pass 1: distinct values of the coded columns, and what each number column holds.
  const stats: string[] = ['count(*) AS n'];
  if (targetCol?.role === 'target' && !numeric(targetCol)) {
    stats.push(`count(*) FILTER (WHERE ${notNumber(idx(targetCol))}) AS ${idx(targetCol)}_bad`, `count(*) FILTER (WHERE ${tooLarge(idx(targetCol))}) AS ${idx(targetCol)}_huge`);
  }
  for (const c of featureCols) {
    const v = idx(c);
    const num = numeric(c) ? `CAST(${v} AS DOUBLE)` : numberOf(v);
    if (!numeric(c)) {
      stats.push(`count(*) FILTER (WHERE ${notNumber(v)}) AS ${v}_bad`, `count(*) FILTER (WHERE ${notBoolean(v)}) AS ${v}_notbool`);
    }
    stats.push(`min(${num}) AS ${v}_min`, `max(${num}) AS ${v}_max`, `count(${num}) AS ${v}_count`, `bool_and(${num} = floor(${num})) AS ${v}_whole`);
  }
  // Over a view, this is the first scan of the files: a file DuckDB cannot read fails here.
  const s = (await rows(con, `SELECT ${stats.join(', ')} FROM src`).catch((err: unknown) => {
    throw readFailed(err);
  }))[0]!;
  const n = Number(s.n);
  if (n === 0) throw new InputProblem('MM413', `${shown} has a header but no data rows`);
  const partTime = timeParts.length ? await checkTimeParts(con, timeParts.map(([p], i) => ({ part: p, name: partCols[i]!.name, v: idx(partCols[i]!), numeric: numeric(partCols[i]!) })), keyCols.map((k) => ({ name: k.name, v: idx(k) }))) : null;

  if (targetCol?.role === 'target' && Number(s[`${idx(targetCol)}_bad`] ?? 0) > 0) {
    // Worded as the runtime's CSV reader words it: text first, then values past the float64 range.
    const v = idx(targetCol);
    const examples = async (where: string): Promise<string> => {
      const seen = await rows(con, `SELECT ${v} AS v FROM src WHERE ${where} LIMIT 10000`);
      return [...new Set(seen.map((r) => String(r.v)))].slice(0, 3).map(pyRepr).join(', ');
    };
    const huge = Number(s[`${v}_huge`]);
    const text = Number(s[`${v}_bad`]) - huge;
    const lines: string[] = [];
    if (text) lines.push(`target column '${targetCol.name}' has ${text} non-numeric value(s), e.g. ${await examples(`${notNumber(v)} AND NOT ${tooLarge(v)}`)}`);
    if (huge) lines.push(`target column '${targetCol.name}' has ${huge} value(s) out of the 64-bit float range, e.g. ${await examples(tooLarge(v))}`);
    throw new InputProblem('MM412', `${lines.join('; ')}. The target must be numbers (text labels are for task: classification); a feature may be numbers, true/false, or text (a category)`);
  }

  const enums: string[] = [];
  const makeEnum = async (values: string[]): Promise<string> => {
    const name = `mm_enum_${enums.length}`;
    enums.push(name);
    // An ENUM needs at least one value; a column with none only ever yields -1.
    await con.run(`CREATE TYPE ${name} AS ENUM (${(values.length ? values : ['']).map(lit).join(', ')})`);
    return name;
  };

  // Pass 2: every column as the array the runtime maps, streamed into .npy files.
  mkdirSync(cacheDir, { recursive: true });
  const tmp = mkdtempSync(path.join(cacheDir, 'tmp-duckdb-'));
  interface Out {
    expr: string;
    writer: NpyWriter;
  }
  const outs: Out[] = [];
  const meta: Record<string, unknown> = { format: CACHE_FORMAT, n, fingerprint, reader: 'duckdb', keys: [], time: timeCol !== null || partTime !== null, target: targetCol !== null, classes: null, features: cols.features, feature_kinds: [], feature_values: {} };
  try {
    for (const [i, c] of keyCols.entries()) {
      const values = await distinct(c);
      (meta.keys as unknown[]).push({ name: c.name, values });
      const wide = values.length >= 32767;
      outs.push({ expr: `CAST(enum_code(CAST(${idx(c)} AS ${await makeEnum(values)})) AS ${wide ? 'INTEGER' : 'SMALLINT'})`, writer: new NpyWriter(path.join(tmp, `k${i}.npy`), wide ? '<i4' : '<i2') });
    }
    if (partTime) outs.push({ expr: partTime, writer: new NpyWriter(path.join(tmp, 'time.npy'), '<i8') });
    if (timeCol) {
      if (keepTyped(timeCol)) {
        outs.push({ expr: `coalesce(epoch_ns(CAST(${idx(timeCol)} AS TIMESTAMP)), ${NAT}::BIGINT)`, writer: new NpyWriter(path.join(tmp, 'time.npy'), '<i8') });
      } else {
        const values = await distinct(timeCol);
        meta.time_text = values; // parsed by the runtime once per distinct value (time_codes.npy: -1 = missing)
        outs.push({ expr: `coalesce(CAST(enum_code(TRY_CAST(${idx(timeCol)} AS ${await makeEnum(values)})) AS INTEGER), -1)`, writer: new NpyWriter(path.join(tmp, 'time_codes.npy'), '<i4') });
      }
    }
    if (targetCol) {
      let expr: string;
      if (targetCol.role === 'labels') {
        const values = await distinct(targetCol);
        const numbers = values.length > 0 && values.every((v) => isNumberText(v));
        if (numbers) expr = `CASE WHEN ${idx(targetCol)} IN (${na}) THEN NULL ELSE ${numberOf(idx(targetCol))} END`;
        else {
          meta.classes = values;
          expr = `CAST(enum_code(TRY_CAST(${idx(targetCol)} AS ${await makeEnum(values)})) AS DOUBLE)`;
        }
      } else expr = numeric(targetCol) ? `CAST(${idx(targetCol)} AS DOUBLE)` : numberOf(idx(targetCol));
      outs.push({ expr: `coalesce(${expr}, 'NaN'::DOUBLE)`, writer: new NpyWriter(path.join(tmp, 'target.npy'), '<f8') });
    }
    for (const [i, c] of featureCols.entries()) {
      const v = idx(c);
      const file = path.join(tmp, `f${i}.npy`);
      const isNumber = numeric(c) || Number(s[`${v}_bad`]) === 0;
      const isBoolean = !isNumber && Number(s[`${v}_notbool`]) === 0;
      if (!isNumber && !isBoolean) {
        // A category: int32 codes into its sorted distinct strings, -1 where missing.
        const values = await distinct(c);
        (meta.feature_kinds as string[]).push('category');
        (meta.feature_values as Record<string, string[]>)[c.name] = values;
        outs.push({ expr: `coalesce(CAST(enum_code(CAST(${v} AS ${await makeEnum(values)})) AS INTEGER), -1)`, writer: new NpyWriter(file, '<i4') });
        continue;
      }
      (meta.feature_kinds as string[]).push('number');
      const num = numeric(c) ? `CAST(${v} AS DOUBLE)` : isBoolean ? `CASE lower(${v}) WHEN 'true' THEN 1.0 WHEN 'false' THEN 0.0 END` : numberOf(v);
      // Whole numbers everywhere (and none missing): the narrowest int type that holds them, as the runtime's reader stores them.
      const count = Number(s[`${v}_count`]);
      const lo = isBoolean ? 0 : Number(s[`${v}_min`] ?? 0);
      const hi = isBoolean ? 1 : Number(s[`${v}_max`] ?? 0);
      const whole = count === n && (isBoolean || s[`${v}_whole`] === true || n === 0);
      const int = whole ? INT_TYPES.find((t) => t.min <= lo && hi <= t.max) : undefined;
      if (int) outs.push({ expr: `CAST(${num} AS ${int.sql})`, writer: new NpyWriter(file, int.descr) });
      else outs.push({ expr: `coalesce(${num}, 'NaN'::DOUBLE)`, writer: new NpyWriter(file, '<f8') });
    }
    let written = 0;
    // Each column's values copied as the bytes they are (the binding's vector data: no typed
    // vector object per column and chunk; 40M rows × 6 columns, ~0.8 s less).
    const { default: bindings } = await import('@duckdb/node-bindings');
    const take = (chunk: DuckDBDataChunk): void => {
      const rowCount = bindings.data_chunk_get_size(chunk.chunk);
      for (let j = 0; j < outs.length; j++) {
        const w = outs[j]!.writer;
        w.appendBytes(bindings.vector_get_data(bindings.data_chunk_get_vector(chunk.chunk, j), rowCount * w.itemBytes), rowCount);
      }
      written += rowCount;
    };
    try {
      const select = `SELECT ${outs.map((o) => o.expr).join(', ')} FROM src`;
      if (n * outs.length * 8 <= materializeBytes) {
        // Whole, in one query: DuckDB runs it on every thread, and its chunks are then taken
        // one after another without a round trip each (40M rows: 3.1 s against 4.0 s streamed).
        const result = await con.run(select);
        for (let i = 0; i < result.chunkCount; i++) take(result.getChunk(i));
      } else {
        // Past the memory set aside for it: streamed, one chunk in memory at a time.
        const result = await con.stream(select);
        for (;;) {
          const chunk = await result.fetchChunk();
          if (!chunk || chunk.rowCount === 0) break;
          take(chunk);
        }
      }
    } catch (err) {
      throw new InputProblem('MM410', `cannot read ${spec.data.path}: ${duckdbMessage(err)}`);
    }
    for (const o of outs) o.writer.close();
    if (written !== n) throw new InputProblem('MM410', `${spec.data.path} changed while it was read (${n} rows, then ${written}); run again`);
    // meta.json last: an entry without it is incomplete and never read.
    writeFileSync(path.join(tmp, 'meta.json'), JSON.stringify(meta));
    try {
      renameSync(tmp, entry);
    } catch {
      // Another run wrote the same entry first; theirs is identical.
    }
  } finally {
    rmSync(tmp, { recursive: true, force: true });
  }
  pruneCache(cacheDir, entry);
  return { entry, fromCache: false, rows: n, seconds: (performance.now() - t0) / 1000 };
}

const INT_TYPES = [
  { sql: 'TINYINT', descr: '|i1', min: -128, max: 127 },
  { sql: 'SMALLINT', descr: '<i2', min: -32768, max: 32767 },
  { sql: 'INTEGER', descr: '<i4', min: -2147483648, max: 2147483647 },
];

const TIME_PART_NAMES = ['year', 'month', 'day', 'hour', 'minute'] as const;
type TimePart = (typeof TIME_PART_NAMES)[number];
/** The range of each part (the year: what int64 ns since 1970 holds, as the runtime's timeparts.py). */
const PART_RANGES: Record<Exclude<TimePart, 'day'>, [number, number]> = { year: [1678, 2261], month: [1, 12], hour: [0, 23], minute: [0, 59] };
const PARTS_HINT = 'time.parts columns hold integers (year 2013, month 3, day 1, hour 0)';

/**
 * The checks of time.parts over the read table, worded as the runtime's timeparts.py words
 * them: MM465 for a value that is not a whole number, MM466 for values that make no date
 * (month 13, 30 February), with examples naming their groups. Returns the expression of the
 * composed time (int64 ns; NaT where a part is missing).
 */
async function checkTimeParts(con: DuckDBConnection, parts: Array<{ part: TimePart; name: string; v: string; numeric: boolean }>, keys: Array<{ name: string; v: string }>): Promise<string> {
  const num = (p: { v: string; numeric: boolean }): string => (p.numeric ? `CAST(${p.v} AS DOUBLE)` : numberOf(p.v));
  const present = parts.map((p) => `${num(p)} IS NOT NULL`).join(' AND ');
  const textBad = (p: (typeof parts)[number]): string => (p.numeric ? 'false' : notNumber(p.v));
  const notWhole = (p: (typeof parts)[number]): string => `(${present} AND (isinf(${num(p)}) OR ${num(p)} <> floor(${num(p)})))`;
  const of = (part: TimePart): string | null => {
    const p = parts.find((q) => q.part === part);
    return p ? `CAST(${num(p)} AS BIGINT)` : null;
  };
  const year = of('year')!;
  const month = of('month') ?? '1';
  const day = parts.find((q) => q.part === 'day');
  // Ranges compared as doubles (no cast of a value past BIGINT); the day against the month's
  // length only once year and month are in range (CASE evaluates that branch for those rows only).
  const outOfRange = parts.filter((p) => p.part !== 'day').map((p) => {
    const [lo, hi] = PART_RANGES[p.part as Exclude<TimePart, 'day'>];
    return `${num(p)} NOT BETWEEN ${lo} AND ${hi}`;
  });
  const dayBad = day ? `(${num(day)} < 1 OR ${num(day)} > dayofmonth(last_day(make_date(${year}, ${month}, 1))))` : 'false';
  const invalid = `(${present} AND ${parts.map((p) => `NOT ${notWhole(p)}`).join(' AND ')} AND (${outOfRange.length ? `${outOfRange.join(' OR ')} OR ` : ''}CASE WHEN ${outOfRange.length ? `NOT (${outOfRange.join(' OR ')})` : 'true'} THEN ${dayBad} ELSE false END))`;
  // One scan counts every problem; the examples are looked up only for the one reported.
  const counts = (await rows(con, `SELECT ${parts.map((p, i) => `count(*) FILTER (WHERE ${textBad(p)}) AS t${i}, count(*) FILTER (WHERE ${notWhole(p)}) AS w${i}`).join(', ')}, count(*) FILTER (WHERE ${invalid}) AS inv FROM src`))[0]!;
  const where = (r: Record<string, unknown>): string => keys.map((k) => `${k.name} ${pyRepr(String(r[k.v]))}`).join(', ');
  const fmt = (x: unknown): string => (Number.isInteger(Number(x)) ? String(Number(x)) : String(x));
  const keyCols = keys.map((k) => `, ${k.v}`).join('');
  for (const [i, p] of parts.entries()) {
    const text = Number(counts[`t${i}`]);
    if (text) {
      const seen = await rows(con, `SELECT ${p.v} AS v FROM src WHERE ${textBad(p)} LIMIT 10000`);
      const examples = [...new Set(seen.map((r) => String(r.v)))].slice(0, 3).map(pyRepr).join(', ');
      throw new InputProblem('MM465', `time part ${p.part} (column '${p.name}') has ${text} value(s) that are not whole numbers, e.g. ${examples}; ${PARTS_HINT}`);
    }
  }
  for (const [i, p] of parts.entries()) {
    const frac = Number(counts[`w${i}`]);
    if (frac) {
      const bad = await rows(con, `SELECT ${num(p)} AS x${keyCols} FROM src WHERE ${notWhole(p)} LIMIT 3`);
      throw new InputProblem('MM465', `time part ${p.part} (column '${p.name}') has ${frac} value(s) that are not whole numbers, e.g. ${bad.map((r) => `${fmt(r.x)} (${where(r)})`).join(', ')}; ${PARTS_HINT}`);
    }
  }
  const inv = Number(counts.inv);
  if (inv) {
    const bad = await rows(con, `SELECT ${parts.map((p) => `${num(p)} AS ${p.part}`).join(', ')}${keyCols} FROM src WHERE ${invalid} LIMIT 3`);
    const shown = bad.map((r) => `${parts.map((p) => `${p.part} ${fmt(r[p.part])}`).join(', ')} (${where(r)})`).join('; ');
    throw new InputProblem('MM466', `time.parts make no valid date in ${inv} row(s), e.g. ${shown}. Months run 1–12, days 1 to the month's last (28–31), hours 0–23, minutes 0–59, years ${PART_RANGES.year[0]}–${PART_RANGES.year[1]}`);
  }
  return `CASE WHEN ${present} THEN epoch_ns(make_timestamp(${year}, ${month}, ${of('day') ?? '1'}, ${of('hour') ?? '0'}, ${of('minute') ?? '0'}, 0.0)) ELSE ${NAT}::BIGINT END`;
}

/** A column kept in its Parquet type: a number, a boolean, or (for the time column) a date or timestamp. */
function keepTyped(c: Column): boolean {
  if (c.partition || c.type === 'VARCHAR') return false;
  if (c.role === 'time') return TIME_TYPES.test(c.type);
  if (c.role === 'part') return NUMERIC_TYPES.test(c.type);
  if (c.role === 'target' || c.role === 'feature') return NUMERIC_TYPES.test(c.type) || c.type === 'BOOLEAN';
  return false;
}

/** What pandas.to_numeric reads as a number (the runtime's test of whether class labels are numbers). */
function isNumberText(v: string): boolean {
  const t = v.trim();
  if (!t || t.includes('_')) return false;
  return /^[+-]?(\d+\.?\d*([eE][+-]?\d+)?|\.\d+([eE][+-]?\d+)?|inf(inity)?)$/i.test(t) && Number.isFinite(Number(t.replace(/inf(inity)?$/i, '1')));
}

/** Python's repr of a str, for messages that read as the runtime's. */
function pyRepr(v: string): string {
  const q = v.includes("'") && !v.includes('"') ? '"' : "'";
  const body = v.replace(/\\/g, '\\\\').replace(/\n/g, '\\n').replace(/\r/g, '\\r').replace(/\t/g, '\\t');
  return q + (q === "'" ? body.replace(/'/g, "\\'") : body) + q;
}

/** Keeps the CACHE_KEEP most recently used entries of the cache folder (the runtime prunes the same way). */
function pruneCache(cacheDir: string, keep: string): void {
  const entries: Array<[number, string]> = [];
  for (const name of readdirSync(cacheDir)) {
    const meta = path.join(cacheDir, name, 'meta.json');
    const st = statSync(meta, { throwIfNoEntry: false });
    if (st) entries.push([st.mtimeMs, path.join(cacheDir, name)]);
  }
  entries.sort((a, b) => b[0] - a[0]);
  for (const [, dir] of entries.slice(CACHE_KEEP)) if (dir !== keep) rmSync(dir, { recursive: true, force: true });
}
