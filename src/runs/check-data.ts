// `validate`'s look at the data: for each local source, its header and first rows against the
// pipeline's columns, each problem at the YAML location that names the thing (MM430–MM434,
// MM437, MM465–MM467). One CSV file is sampled by data-sample.ts (its problems name the file's
// line); Parquet and many files (a folder, a glob, Hive partition folders) through the embedded
// reader's DuckDB (jobs/local/duckdb-sample.ts): every file's columns the same (MM467), the
// first rows (named by file and row), the groups (of every row for Parquet). A sql (PostgreSQL)
// source, with --data on an engine that reads it from this machine, through the runtime's
// sql_check.py (jobs/local/sql-sample.ts): its columns and types without reading a row, then
// the first rows (MM450–MM453 at the data.sql field that names the problem). Remote, delta and
// jdbc sources are skipped with a note.
import { statSync } from 'node:fs';
import { didYouMean, type Diagnostic } from '../core/diagnostics.js';
import { formatPath, locatePath, type PathSegment } from '../pipeline/locate.js';
import type { Project } from '../pipeline/project.js';
import { hasScheme } from '../pipeline/resolve.js';
import { TIME_PARTS, type Pipeline, type RawData } from '../pipeline/types.js';
import { InputProblem, NA_STRINGS, listInputFiles, type InputFiles } from '../jobs/local/input-files.js';
import { isPeriodNumber } from '../pipeline/semantics.js';
import { CsvTextError, SAMPLE_ROWS, sampleCsv } from './data-sample.js';
import { UsageError } from '../core/errors.js';

export interface DataNote {
  pipeline: string;
  source: string;
  /** What was seen, or why the source was not checked. */
  note: string;
  rows?: number;
  groups?: number;
}

export interface DataCheck {
  diagnostics: Diagnostic[];
  notes: DataNote[];
}

export { NA_STRINGS };
const NA = new Set(NA_STRINGS);
const ISO_DATE = /^\d{4}-\d{1,2}-\d{1,2}([ T]\d{1,2}:\d{2}(:\d{2}(\.\d+)?)?)?(Z|[+-]\d{2}:?\d{2})?$/;

const isNumber = (v: string): boolean => {
  const t = v.trim();
  return t !== '' && (Number.isFinite(Number(t)) || /^[+-]?(inf|infinity)$/i.test(t));
};
const SLASH_DATE = /^\d{1,4}[/.]\d{1,2}[/.]\d{1,4}([ T]\d{1,2}:\d{2}(:\d{2}(\.\d+)?)?)?$/;
/**
 * A date or time the runtime parses: ISO 8601, day/month/year with slashes or dots, or a
 * written date with a four-digit year ("Jan 31 2024"). Week numbers and other bare integers
 * are not dates.
 */
const isDate = (v: string): boolean => {
  const t = v.trim();
  if (ISO_DATE.test(t) || SLASH_DATE.test(t)) return true;
  return /\b\d{4}\b/.test(t) && /[a-z]{3}/i.test(t) && !Number.isNaN(Date.parse(t));
};

const show = (names: readonly string[]): string => (names.length > 20 ? `${names.slice(0, 20).join(', ')}, … (${names.length} columns)` : names.join(', '));

/** What was sampled of one source, whichever reader sampled it. */
interface Sample {
  header: string[];
  rows: string[][];
  /** Where each row is, for messages: "data/sales.csv line 3", "data/lake/a.parquet row 2". */
  refs: string[];
  wholeFile: boolean;
  /** The source as messages name it. */
  shown: string;
  /** What the note says was read ("rows of data/lake, 3 files"). */
  what: string;
  /** What has the columns, in hints: "The file has", "The files have", "The table has". */
  holder?: string;
  groups?: { count: number; minRows: number; maxRows: number; allRows: boolean };
  /** Columns stored as dates or timestamps (Parquet): times already, not text to parse. */
  dateColumns?: Set<string>;
}

const isWhole = (v: string): boolean => /^\s*[+-]?\d+(\.0*)?\s*$/.test(v);
const PART_RANGES: Partial<Record<(typeof TIME_PARTS)[number], [number, number]>> = { year: [1678, 2261], month: [1, 12], hour: [0, 23], minute: [0, 59] };
const daysIn = (year: number, month: number): number => new Date(Date.UTC(year, month, 0)).getUTCDate();

export interface DataCheckOptions {
  /** --data: a missing source is an error; sql sources are read. */
  requireData: boolean;
  /** The environment (a sql source's credentials variables). */
  env?: Record<string, string | undefined>;
}

export async function checkData(project: Project, options: DataCheckOptions): Promise<DataCheck> {
  const diagnostics: Diagnostic[] = [];
  const notes: DataNote[] = [];
  const file = project.file;
  const report = (code: string, message: string, p: readonly PathSegment[], hint?: string, severity: 'error' | 'warning' = 'error'): void => {
    const d: Diagnostic = { code, severity, message, path: formatPath(p), file: file.displayPath, ...locatePath(file.doc, file.lineCounter, p) };
    if (hint) d.hint = hint;
    diagnostics.push(d);
  };
  for (const [i, pipeline] of project.pipelines.entries()) {
    const base: PathSegment[] = ['pipelines', i];
    const sources: Array<[RawData, PathSegment[], boolean]> = [[pipeline.data, [...base, 'data'], true]];
    if (pipeline.scoring.data) sources.push([pipeline.scoring.data, [...base, 'scoring', 'data'], false]);
    for (const [data, where, needTarget] of sources) {
      const shown = data.path ?? data.jdbc?.table ?? data.sql?.table ?? (data.sql ? 'sql.query' : data.format);
      const skip = (note: string): void => void notes.push({ pipeline: pipeline.name, source: shown, note });
      if (data.format === 'sql' && data.sql) {
        if (!options.requireData) skip('not checked: a sql source is read by validate --data');
        else if (project.target.engine !== 'local' && project.target.engine !== 'spark-local') skip(`not checked: a sql source of a ${project.target.engine} target is read by the cluster`);
        else {
          const sample = await sampleSqlSource(project, data, pipeline, report, where, options.env ?? {});
          if (sample) notes.push({ pipeline: pipeline.name, source: shown, ...checkSample(sample, pipeline, base, needTarget, report) });
        }
        continue;
      }
      if (data.format !== 'csv' && data.format !== 'parquet') {
        skip(`not checked: validate reads csv and parquet sources; this one is ${data.format}`);
        continue;
      }
      if (typeof data.path !== 'string') continue;
      if (hasScheme(data.path)) {
        skip('not checked: a remote path, read by the cluster');
        continue;
      }
      let inputs: InputFiles;
      try {
        inputs = listInputFiles(file.projectRoot, data.path);
      } catch (err) {
        if (!(err instanceof InputProblem)) throw err;
        if (err.code === 'MM410') report('MM430', `data source "${data.path}" does not exist${/[*?[]/.test(data.path) ? ' (no file matches it)' : ''}`, [...where, 'path'], 'The path is relative to pipelines.yaml; train and score will fail until it exists.', options.requireData ? 'error' : 'warning');
        else if (err.code === 'MM417') report('MM467', `the files of data source "${data.path}" differ: ${err.message.replace(/^the input's files differ in their partition folders: /, 'their partition folders differ: ')}`, [...where, 'path'], 'Every file of a folder or glob is read as one table: the same partition folders and columns in each.');
        else report('MM434', `data source "${data.path}" cannot be read: ${err.message}`, [...where, 'path']);
        continue;
      }
      const sample = data.format === 'csv' && !inputs.many ? sampleOneCsv(inputs.files[0]!, data, report, where) : await sampleMany(file.projectRoot, data, inputs, pipeline, report, where);
      if (!sample) continue;
      const note = checkSample(sample, pipeline, base, needTarget, report);
      notes.push({ pipeline: pipeline.name, source: data.path, ...note });
    }
  }
  return { diagnostics, notes };
}

type Report = (code: string, message: string, p: readonly PathSegment[], hint?: string, severity?: 'error' | 'warning') => void;

/** One CSV file, by the quick sampler (line numbers in messages). */
function sampleOneCsv(abs: string, data: RawData, report: Report, where: PathSegment[]): Sample | undefined {
  if (!statSync(abs).isFile()) return undefined;
  const shownFile = data.path!;
  const opt = Object.fromEntries(Object.entries(data.options ?? {}).map(([k, v]) => [k.toLowerCase(), String(v)]));
  let sample;
  try {
    const dialect = { delimiter: opt.delimiter ?? opt.sep ?? ',', quote: opt.quote ?? '"', encoding: opt.encoding ?? opt.charset ?? 'utf-8' } as { delimiter: string; quote: string; encoding: string; escape?: string };
    if (opt.escape) dialect.escape = opt.escape;
    sample = sampleCsv(abs, dialect);
  } catch (err) {
    if (!(err instanceof CsvTextError)) throw err;
    report('MM434', `data source "${shownFile}" cannot be read as CSV: ${err.message}`, [...where, 'path']);
    return undefined;
  }
  const header = sample.header.map((h) => h.trim());
  if (!header.length || (header.length === 1 && header[0] === '')) {
    report('MM434', `data source "${shownFile}" is empty: it has no header row`, [...where, 'path']);
    return undefined;
  }
  return { header, rows: sample.rows, refs: sample.rowLines.map((l) => `${shownFile} line ${l}`), wholeFile: sample.wholeFile, shown: shownFile, what: '' };
}

/** Parquet, or many files: through the embedded reader's DuckDB. */
async function sampleMany(projectRoot: string, data: RawData, inputs: InputFiles, pipeline: Pipeline, report: Report, where: PathSegment[]): Promise<Sample | undefined> {
  const { sampleInput } = await import('../jobs/local/duckdb-sample.js');
  const shown = inputs.many ? `${data.path} (${inputs.files.length} file${inputs.files.length === 1 ? '' : 's'})` : data.path!;
  try {
    const s = await sampleInput(projectRoot, data.format as 'csv' | 'parquet', data.options ?? {}, inputs, pipeline.keys);
    const out: Sample = { header: s.header, rows: s.rows, refs: s.rowRefs, wholeFile: s.wholeInput, shown, what: inputs.many ? ` of ${inputs.files.length} files` : '' };
    if (s.groups) out.groups = s.groups;
    out.dateColumns = new Set([...s.types].filter(([, t]) => /^(DATE|TIMESTAMP.*)$/.test(t)).map(([c]) => c));
    return out;
  } catch (err) {
    if (!(err instanceof InputProblem)) throw err;
    if (err.code === 'MM417') report('MM467', `the files of data source "${data.path}" differ: ${err.message.replace(/^the input's files have different columns: /, '')}`, [...where, 'path'], 'Every file of a folder or glob is read as one table: give each file the same columns (in the same order for CSV).');
    else if (err.code === 'MM413') report('MM434', `data source "${shown}" is empty: ${err.message}`, [...where, 'path']);
    else report('MM434', `data source "${shown}" cannot be read as ${data.format === 'csv' ? 'CSV' : 'Parquet'}: ${err.message}`, [...where, 'path']);
    return undefined;
  }
}

/** A sql source: its columns (without reading a row) and the first rows, through the runtime. */
async function sampleSqlSource(project: Project, data: RawData, pipeline: Pipeline, report: Report, where: PathSegment[], env: Record<string, string | undefined>): Promise<Sample | undefined> {
  const raw = data.sql!;
  const sql = { url: raw.url, table: raw.table ?? null, query: raw.query ?? null, partition: null, userEnv: raw.user_env ?? null, passwordEnv: raw.password_env ?? null, secretScope: null, userKey: null, passwordKey: null };
  const p = pipeline;
  const parts = p.time?.parts ? Object.values(p.time.parts).filter((c): c is string => typeof c === 'string') : [];
  const wanted = [...p.keys, ...(p.time && !parts.length ? [p.time.column] : []), ...parts, p.target, ...p.features];
  const { sampleSql } = await import('../jobs/local/sql-sample.js');
  let got: Awaited<ReturnType<typeof sampleSql>>;
  try {
    got = await sampleSql(sql, wanted, SAMPLE_ROWS, env, project.file.projectRoot);
  } catch (err) {
    // A password too short to redact (MM453), no Python for the runtime (MM401).
    if (!(err instanceof UsageError)) throw err;
    report(err.code, err.message, err.code === 'MM453' ? [...where, 'sql', 'password_env'] : [...where, 'format']);
    return undefined;
  }
  if ('error' in got) {
    const e = got.error;
    let hint: string | undefined;
    if (e.code === 'MM450') hint = 'Check the host, port and database of sql.url, and that the server is running and reachable from here.';
    else if (e.code === 'MM451') hint = `Set ${[raw.user_env, raw.password_env].filter(Boolean).join(' and ') || 'the variables named by sql.user_env and sql.password_env'} to the user and password the server accepts.`;
    else if (e.code === 'MM453') hint = 'Export the variable in this shell (validate --data connects as train would).';
    else if (e.code === 'MM452' && e.tables && raw.table) {
      const guess = didYouMean(raw.table, e.tables);
      hint = `${guess ? `Did you mean "${guess}"? ` : ''}${e.tables.length ? `The database has: ${show(e.tables)}.` : 'The user sees no tables in this database.'}`;
    }
    report(e.code, e.message, e.field === 'format' ? [...where, 'format'] : [...where, 'sql', e.field], hint);
    return undefined;
  }
  const header = got.columns.map((c) => c.name);
  const at = got.sampled.map((c) => header.indexOf(c));
  const rows = got.rows.map((r) => {
    const full = header.map(() => '');
    at.forEach((k, j) => (full[k] = r[j] ?? ''));
    return full;
  });
  const shown = raw.table ? `table ${raw.table}` : 'the rows of sql.query';
  const refs = rows.map((_, i) => `${raw.table ? `table ${raw.table}` : 'sql.query'} row ${i + 1}`);
  const dateColumns = new Set(got.columns.filter((c) => /^(date|timestamp\b.*)$/.test(c.type)).map((c) => c.name));
  return { header, rows, refs, wholeFile: got.whole, shown, what: '', holder: raw.table ? 'The table has' : 'The query gives', dateColumns };
}

/** The pipeline's columns against one sample; returns the note of what was seen. */
function checkSample(sample: Sample, pipeline: Pipeline, base: PathSegment[], needTarget: boolean, report: Report): Omit<DataNote, 'pipeline' | 'source'> {
  const { header, shown: shownFile } = sample;
  const missing = (column: string, p: readonly PathSegment[], role: string): boolean => {
    if (header.includes(column)) return false;
    const guess = didYouMean(column, header);
    report('MM431', `${role} column "${column}" is not in ${shownFile}`, p, `${guess ? `Did you mean "${guess}"? ` : ''}${sample.holder ?? (sample.what ? 'The files have' : 'The file has')}: ${show(header)}.`);
    return true;
  };
  const keysMissing = pipeline.keys.map((k, ki) => missing(k, [...base, 'keys', ki], 'key')).some(Boolean);
  const parts = pipeline.time?.parts ? TIME_PARTS.flatMap((part) => (pipeline.time!.parts![part] ? [[part, pipeline.time!.parts![part]!] as const] : [])) : [];
  const partsOk = parts.map(([part, c]) => !missing(c, [...base, 'time', 'parts', part], `time part ${part}`)).every(Boolean);
  const timeOk = pipeline.time && !parts.length ? !missing(pipeline.time.column, [...base, 'time', 'column'], 'time') : false;
  const targetOk = needTarget || header.includes(pipeline.target) ? !missing(pipeline.target, [...base, 'target'], 'target') : false;
  pipeline.features.forEach((f, fi) => missing(f, [...base, 'features', fi], 'feature'));
  const col = (name: string): number => header.indexOf(name);
  const firstBad = (name: string, ok: (v: string) => boolean): { value: string; ref: string; count: number } | undefined => {
    const c = col(name);
    let found: { value: string; ref: string; count: number } | undefined;
    sample.rows.forEach((row, ri) => {
      const v = row[c] ?? '';
      if (NA.has(v.trim()) || ok(v)) return;
      if (found) found.count++;
      else found = { value: v, ref: sample.refs[ri]!, count: 1 };
    });
    return found;
  };
  const sampled = `${sample.rows.length}${sample.wholeFile ? '' : ' sampled'} rows`;
  // The time of each sampled row (ms or a period number; NaN where missing), for holdout.from.
  let times: number[] | undefined;
  const period = pipeline.time?.kind === 'period';
  if (pipeline.time && timeOk) {
    const stored = sample.dateColumns?.has(pipeline.time.column) === true;
    const bad = stored ? (period ? { value: sample.rows.find((r) => r[col(pipeline.time!.column)])?.[col(pipeline.time.column)] ?? '', ref: sample.refs[0] ?? shownFile, count: sample.rows.length } : undefined) : firstBad(pipeline.time.column, period ? isPeriodNumber : isDate);
    if (bad && period) report('MM432', `time column "${pipeline.time.column}" (kind: period) has values that are not whole period numbers: ${JSON.stringify(bad.value)} (${bad.ref}; ${bad.count} of ${sampled})`, [...base, 'time', 'column'], 'With kind: period the column holds integers (week 40, 41, …); for dates remove kind: period.');
    else if (bad) report('MM432', `time column "${pipeline.time.column}" has values that are not dates: ${JSON.stringify(bad.value)} (${bad.ref}; ${bad.count} of ${sampled})`, [...base, 'time', 'column'], isPeriodNumber(bad.value) ? 'These look like period numbers (week 40, 41, …): add kind: period to time.' : 'Write times as ISO 8601: 2024-01-31 or 2024-01-31T08:00:00.');
    if (!bad) {
      const c = col(pipeline.time.column);
      times = sample.rows.map((r) => r[c] ?? '').map((v) => (NA.has(v.trim()) ? NaN : period ? Number(v) : Date.parse(v.trim().replace(' ', 'T'))));
    }
  }
  if (parts.length && partsOk) {
    // Each part a whole number (MM465), and together a date (MM466), as the readers check them.
    const bads = parts.map(([part, c]) => {
      const bad = firstBad(c, isWhole);
      if (bad) report('MM465', `time part ${part} "${c}" has values that are not whole numbers: ${JSON.stringify(bad.value)} (${bad.ref}; ${bad.count} of ${sampled})`, [...base, 'time', 'parts', part], 'time.parts columns hold integers (year 2013, month 3, day 1, hour 0).');
      return bad;
    });
    if (!bads.some(Boolean)) {
      const idx = parts.map(([, c]) => col(c));
      let invalid: { text: string; ref: string; count: number } | undefined;
      times = sample.rows.map((r, ri) => {
        const raw = idx.map((k) => (r[k] ?? '').trim());
        if (raw.some((v) => NA.has(v))) return NaN;
        const v = Object.fromEntries(parts.map(([part], pi) => [part, Number(raw[pi])])) as Partial<Record<(typeof TIME_PARTS)[number], number>>;
        const year = v.year!;
        const month = v.month ?? 1;
        const day = v.day ?? 1;
        const out = parts.some(([part]) => {
          const range = PART_RANGES[part];
          return range ? v[part]! < range[0] || v[part]! > range[1] : false;
        });
        if (out || day < 1 || day > daysIn(year, month)) {
          if (invalid) invalid.count++;
          else invalid = { text: parts.map(([part]) => `${part} ${v[part]}`).join(', '), ref: sample.refs[ri]!, count: 1 };
          return NaN;
        }
        return Date.UTC(year, month - 1, day, v.hour ?? 0, v.minute ?? 0);
      });
      if (invalid) {
        report('MM466', `time.parts make no date: ${invalid.text} (${invalid.ref}; ${invalid.count} of ${sampled})`, [...base, 'time', 'parts'], 'Months run 1–12, days 1 to the month\'s last (28–31), hours 0–23, minutes 0–59.');
        times = undefined;
      }
    }
  }
  const from = pipeline.model.holdout.from;
  if (times && from !== null && sample.wholeFile && pipeline.task === 'forecast') {
    const key = (v: string): number => (period ? Number(v) : Date.parse(v.trim().replace(' ', 'T')));
    const known = times.filter((t) => Number.isFinite(t));
    const f = key(from);
    if (known.length && Number.isFinite(f)) {
      const lo = Math.min(...known);
      const hi = Math.max(...known);
      if (f <= lo || f > hi) {
        const shownTime = (t: number): string => (period ? String(t) : new Date(t).toISOString().slice(0, 10));
        report('MM437', `holdout.from ${from} is outside the data of ${shownFile}, which runs from ${shownTime(lo)} to ${shownTime(hi)}`, [...base, 'model', 'holdout', 'from'], 'The holdout is every period at or after from: it must be after the first period (something to train on) and at most the last one.');
      }
    }
  }
  if (targetOk && pipeline.task !== 'classification') {
    const bad = firstBad(pipeline.target, isNumber);
    if (bad) report('MM433', `target "${pipeline.target}" of a ${pipeline.task} pipeline has values that are not numbers: ${JSON.stringify(bad.value)} (${bad.ref}; ${bad.count} of ${sampled})`, [...base, 'target'], 'A forecast or regression target must be numeric; text labels are for task: classification.');
  }
  const note: Omit<DataNote, 'pipeline' | 'source'> = { note: `${sample.wholeFile ? 'read' : 'sampled'} ${sample.rows.length} rows${sample.what}`, rows: sample.rows.length };
  if (sample.groups) {
    const g = sample.groups;
    note.groups = g.count;
    const sizes = g.minRows === g.maxRows ? `${g.minRows} row${g.minRows === 1 ? '' : 's'} each` : `${g.minRows}–${g.maxRows} rows each`;
    note.note += `, ${g.count} group${g.count === 1 ? '' : 's'} ${g.allRows ? `(${sizes})` : 'seen in the sample'}`;
  } else if (!keysMissing) {
    const idx = pipeline.keys.map(col);
    note.groups = new Set(sample.rows.map((r) => JSON.stringify(idx.map((k) => r[k] ?? '')))).size;
    note.note += `, ${note.groups} group${note.groups === 1 ? '' : 's'} ${sample.wholeFile ? '' : 'seen in the sample'}`.trimEnd();
  }
  return note;
}
