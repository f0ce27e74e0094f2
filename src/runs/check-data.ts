// `validate`'s look at the data: for each local CSV source, its header and first rows
// (data-sample.ts) against the pipeline's columns, each problem at the YAML location that
// names the thing (MM430–MM434, MM437); of a folder or a glob, its first file (with its
// partition folders as columns). Remote, Parquet, delta and jdbc sources are skipped with a note.
import { statSync } from 'node:fs';
import path from 'node:path';
import { didYouMean, type Diagnostic } from '../core/diagnostics.js';
import { formatPath, locatePath, type PathSegment } from '../pipeline/locate.js';
import type { Project } from '../pipeline/project.js';
import { hasScheme } from '../pipeline/resolve.js';
import type { RawData } from '../pipeline/types.js';
import { InputProblem, NA_STRINGS, listInputFiles, partitionsOf } from '../jobs/local/input-files.js';
import { isPeriodNumber } from '../pipeline/semantics.js';
import { CsvTextError, sampleCsv } from './data-sample.js';

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

export function checkData(project: Project, options: { requireData: boolean }): DataCheck {
  const diagnostics: Diagnostic[] = [];
  const notes: DataNote[] = [];
  const file = project.file;
  const report = (code: string, message: string, p: readonly PathSegment[], hint?: string, severity: 'error' | 'warning' = 'error'): void => {
    const d: Diagnostic = { code, severity, message, path: formatPath(p), file: file.displayPath, ...locatePath(file.doc, file.lineCounter, p) };
    if (hint) d.hint = hint;
    diagnostics.push(d);
  };
  project.pipelines.forEach((pipeline, i) => {
    const base: PathSegment[] = ['pipelines', i];
    const sources: Array<[RawData, PathSegment[], boolean]> = [[pipeline.data, [...base, 'data'], true]];
    if (pipeline.scoring.data) sources.push([pipeline.scoring.data, [...base, 'scoring', 'data'], false]);
    for (const [data, where, needTarget] of sources) {
      const shown = data.path ?? data.jdbc?.table ?? data.sql?.table ?? (data.sql ? 'sql.query' : data.format);
      const skip = (note: string): void => void notes.push({ pipeline: pipeline.name, source: shown, note });
      if (data.format !== 'csv') {
        skip(`not checked: validate reads csv sources; this one is ${data.format}`);
        continue;
      }
      if (typeof data.path !== 'string') continue;
      if (hasScheme(data.path)) {
        skip('not checked: a remote path, read by the cluster');
        continue;
      }
      // A folder or a glob: its first file is sampled (the runtime checks every file's columns),
      // and the partition folders above that file are columns too.
      let inputs;
      try {
        inputs = listInputFiles(file.projectRoot, data.path);
      } catch (err) {
        if (!(err instanceof InputProblem)) throw err;
        if (err.code === 'MM410') report('MM430', `data source "${data.path}" does not exist${/[*?[]/.test(data.path) ? ' (no file matches it)' : ''}`, [...where, 'path'], 'The path is relative to pipelines.yaml; train and score will fail until it exists.', options.requireData ? 'error' : 'warning');
        else report('MM434', `data source "${data.path}" cannot be read: ${err.message}`, [...where, 'path']);
        continue;
      }
      const abs = inputs.files[0]!;
      const partitions = inputs.many ? partitionsOf(inputs.base, abs) : [];
      const shownFile = inputs.many ? `${path.relative(file.projectRoot, abs)} (the first of ${inputs.files.length} files of ${data.path})` : data.path;
      if (!statSync(abs).isFile()) continue;
      const opt = Object.fromEntries(Object.entries(data.options ?? {}).map(([k, v]) => [k.toLowerCase(), String(v)]));
      let sample;
      try {
        const dialect = { delimiter: opt.delimiter ?? opt.sep ?? ',', quote: opt.quote ?? '"', encoding: opt.encoding ?? opt.charset ?? 'utf-8' } as { delimiter: string; quote: string; encoding: string; escape?: string };
        if (opt.escape) dialect.escape = opt.escape;
        sample = sampleCsv(abs, dialect);
      } catch (err) {
        if (!(err instanceof CsvTextError)) throw err;
        report('MM434', `data source "${shownFile}" cannot be read as CSV: ${err.message}`, [...where, 'path']);
        continue;
      }
      const header = [...sample.header.map((h) => h.trim()), ...partitions.map(([name]) => name)];
      for (const row of sample.rows) row.push(...partitions.map(([, value]) => value ?? ''));
      if (!header.length || (header.length === 1 && header[0] === '')) {
        report('MM434', `data source "${shownFile}" is empty: it has no header row`, [...where, 'path']);
        continue;
      }
      const missing = (column: string, p: readonly PathSegment[], role: string): boolean => {
        if (header.includes(column)) return false;
        const guess = didYouMean(column, header);
        report('MM431', `${role} column "${column}" is not in ${shownFile}`, p, `${guess ? `Did you mean "${guess}"? ` : ''}The file has: ${show(header)}.`);
        return true;
      };
      const keysMissing = pipeline.keys.map((k, ki) => missing(k, [...base, 'keys', ki], 'key')).some(Boolean);
      const timeOk = pipeline.time ? !missing(pipeline.time.column, [...base, 'time', 'column'], 'time') : false;
      const targetOk = needTarget || header.includes(pipeline.target) ? !missing(pipeline.target, [...base, 'target'], 'target') : false;
      pipeline.features.forEach((f, fi) => missing(f, [...base, 'features', fi], 'feature'));
      const col = (name: string): number => header.indexOf(name);
      const firstBad = (name: string, ok: (v: string) => boolean): { value: string; line: number; count: number } | undefined => {
        const c = col(name);
        let found: { value: string; line: number; count: number } | undefined;
        sample.rows.forEach((row, ri) => {
          const v = row[c] ?? '';
          if (NA.has(v.trim()) || ok(v)) return;
          if (found) found.count++;
          else found = { value: v, line: sample.rowLines[ri]!, count: 1 };
        });
        return found;
      };
      const sampled = `${sample.rows.length}${sample.wholeFile ? '' : ' sampled'} rows`;
      if (pipeline.time && timeOk) {
        const period = pipeline.time.kind === 'period';
        const bad = firstBad(pipeline.time.column, period ? isPeriodNumber : isDate);
        if (bad && period) report('MM432', `time column "${pipeline.time.column}" (kind: period) has values that are not whole period numbers: ${JSON.stringify(bad.value)} (${shownFile} line ${bad.line}; ${bad.count} of ${sampled})`, [...base, 'time', 'column'], 'With kind: period the column holds integers (week 40, 41, …); for dates remove kind: period.');
        else if (bad) report('MM432', `time column "${pipeline.time.column}" has values that are not dates: ${JSON.stringify(bad.value)} (${shownFile} line ${bad.line}; ${bad.count} of ${sampled})`, [...base, 'time', 'column'], isPeriodNumber(bad.value) ? 'These look like period numbers (week 40, 41, …): add kind: period to time.' : 'Write times as ISO 8601: 2024-01-31 or 2024-01-31T08:00:00.');
        const from = pipeline.model.holdout.from;
        if (!bad && from !== null && sample.wholeFile && pipeline.task === 'forecast') {
          const c = col(pipeline.time.column);
          const key = (v: string): number => (period ? Number(v) : Date.parse(v.trim().replace(' ', 'T')));
          const times = sample.rows.map((r) => r[c] ?? '').filter((v) => !NA.has(v.trim())).map(key).filter((t) => Number.isFinite(t));
          const f = key(from);
          if (times.length && Number.isFinite(f)) {
            const lo = Math.min(...times);
            const hi = Math.max(...times);
            if (f <= lo || f > hi) {
              const show = (t: number): string => (period ? String(t) : new Date(t).toISOString().slice(0, 10));
              report('MM437', `holdout.from ${from} is outside the data of ${shownFile}, which runs from ${show(lo)} to ${show(hi)}`, [...base, 'model', 'holdout', 'from'], 'The holdout is every period at or after from: it must be after the first period (something to train on) and at most the last one.');
            }
          }
        }
      }
      if (targetOk && pipeline.task !== 'classification') {
        const bad = firstBad(pipeline.target, isNumber);
        if (bad) report('MM433', `target "${pipeline.target}" of a ${pipeline.task} pipeline has values that are not numbers: ${JSON.stringify(bad.value)} (${shownFile} line ${bad.line}; ${bad.count} of ${sampled})`, [...base, 'target'], 'A forecast or regression target must be numeric; text labels are for task: classification.');
      }
      const what = inputs.many ? ` of ${path.relative(file.projectRoot, abs)}, the first of ${inputs.files.length} files` : '';
      const note: DataNote = { pipeline: pipeline.name, source: data.path, note: `${sample.wholeFile ? 'read' : 'sampled'} ${sample.rows.length} rows${what}`, rows: sample.rows.length };
      if (!keysMissing) {
        const idx = pipeline.keys.map(col);
        note.groups = new Set(sample.rows.map((r) => JSON.stringify(idx.map((k) => r[k] ?? '')))).size;
        note.note += `, ${note.groups} group${note.groups === 1 ? '' : 's'} ${sample.wholeFile ? '' : 'seen in the sample'}`.trimEnd();
      }
      notes.push(note);
    }
  });
  return { diagnostics, notes };
}
