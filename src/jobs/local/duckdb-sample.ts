// What `validate` sees of a Parquet input or of many files (a folder, a glob, Hive partition
// folders), read through the embedded reader's DuckDB: every file's columns (the same across
// files, as the reader requires: MM417), their DuckDB types, the first rows as text, and the
// groups. Parquet is read for its key columns only, so the group count and sizes cover every
// row; a CSV source's groups are those of the sampled rows.
import type { DuckDBConnection } from '@duckdb/node-api';
import path from 'node:path';
import { csvDialect, FILE_COLUMN, ident, partitionExpr, planSource } from './duckdb-reader.js';
import { InputProblem, type InputFiles } from './input-files.js';

export interface InputSample {
  header: string[];
  /** Each column's DuckDB type (VARCHAR for every CSV column and partition folder). */
  types: Map<string, string>;
  /** The first rows, every value as text ('' where missing), in header order. */
  rows: string[][];
  /** Where each sampled row is: its file (relative to the project) and data row in it, "data/a.csv row 3". */
  rowRefs: string[];
  /** True when `rows` is every row of the input. */
  wholeInput: boolean;
  /** The groups of the key columns (when all are present): over every row for Parquet, over `rows` for CSV. */
  groups?: { count: number; minRows: number; maxRows: number; allRows: boolean };
}

export const SAMPLE_ROWS = 1000;

async function rowsOf(con: DuckDBConnection, sql: string): Promise<Array<Record<string, unknown>>> {
  return (await con.runAndReadAll(sql)).getRowObjectsJS() as Array<Record<string, unknown>>;
}

/**
 * Samples a local CSV or Parquet input of one or many files. Throws InputProblem: MM417 when
 * the files' columns differ (naming the file), MM410 when a file cannot be read, MM413 when
 * one is empty.
 */
export async function sampleInput(projectRoot: string, format: 'csv' | 'parquet', options: Record<string, string | number | boolean>, input: InputFiles, keys: readonly string[]): Promise<InputSample> {
  const dialect = format === 'csv' ? csvDialect(options) : null;
  if (format === 'csv' && !dialect) throw new InputProblem('MM410', 'the CSV options (data.options) need the runtime\'s own reader (another text encoding); validate cannot sample them');
  const { DuckDBInstance } = await import('@duckdb/node-api');
  const instance = await DuckDBInstance.create(':memory:', { threads: '1' });
  const con = await instance.connect();
  try {
    const { header, types, from } = await planSource(con, format, input, dialect, projectRoot, true);
    const expr = (name: string): string => {
      const col = input.partitionColumns.includes(name) ? partitionExpr(input, name) : ident(name);
      return `coalesce(CAST(${col} AS VARCHAR), '')`;
    };
    // Rows come in file order (DuckDB keeps insertion order), so each one's row in its file is counted here.
    const read = await rowsOf(con, `SELECT ${ident(FILE_COLUMN)} AS f, ${header.map((h, i) => `${expr(h)} AS c${i}`).join(', ')} FROM ${from} LIMIT ${SAMPLE_ROWS + 1}`);
    const wholeInput = read.length <= SAMPLE_ROWS;
    const kept = read.slice(0, SAMPLE_ROWS);
    const rows = kept.map((r) => header.map((_, i) => String(r[`c${i}`] ?? '')));
    const seen = new Map<string, number>();
    const rowRefs = kept.map((r) => {
      const f = path.relative(projectRoot, String(r.f));
      const k = (seen.get(f) ?? 0) + 1;
      seen.set(f, k);
      return `${f} row ${k}`;
    });
    const out: InputSample = { header, types, rows, rowRefs, wholeInput };
    if (keys.length && keys.every((k) => header.includes(k))) {
      const keyList = keys.map((k) => expr(k)).join(', ');
      const source = format === 'parquet' || wholeInput ? from : `(SELECT * FROM ${from} LIMIT ${SAMPLE_ROWS})`;
      const g = (await rowsOf(con, `SELECT count(*) AS groups, min(n) AS lo, max(n) AS hi FROM (SELECT count(*) AS n FROM ${source} GROUP BY ${keyList})`))[0]!;
      out.groups = { count: Number(g.groups), minRows: Number(g.lo ?? 0), maxRows: Number(g.hi ?? 0), allRows: format === 'parquet' || wholeInput };
    }
    return out;
  } catch (err) {
    if (err instanceof InputProblem) throw err;
    const text = err instanceof Error ? err.message : String(err);
    throw new InputProblem('MM410', text.split('\n').filter((l) => l.trim() && !l.startsWith('LINE ')).slice(0, 2).join(' '));
  } finally {
    con.closeSync();
    instance.closeSync();
  }
}
