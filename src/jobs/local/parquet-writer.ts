// The parquet sink's writer: the Python runtime has no Parquet writer without pyarrow, so its
// parquet sink (pyspark-templates/manymodels_runtime/sinks/parquet.py) stages a run's prediction
// rows as NDJSON and runs this script (`node parquet-writer.js check|write <request JSON>`), which
// uses the embedded DuckDB (@duckdb/node-api) to merge them with the old file per write mode and
// write the new file under a temporary name in the same folder, flushed, then renamed over the
// old one: a reader sees the old file or the new one, never half of one. It prints one JSON line,
// {ok: true, rows} or {code, message} (exit 1). Every identifier and literal is quoted: column
// names come from the user's key columns.
import { closeSync, existsSync, fsyncSync, openSync, renameSync, rmSync } from 'node:fs';
import path from 'node:path';
import { pathToFileURL } from 'node:url';
import type { DuckDBConnection } from '@duckdb/node-api';

export interface ParquetRequest {
  file: string;
  columns: string[];
  mode: 'replace_run' | 'append' | 'overwrite';
  staged?: string;
  runId?: string;
}

export class ParquetSinkProblem extends Error {
  constructor(
    readonly code: 'MM460' | 'MM461' | 'MM463',
    message: string,
  ) {
    super(message);
  }
}

const ident = (name: string): string => `"${name.replace(/"/g, '""')}"`;
const lit = (value: string): string => `'${value.replace(/'/g, "''")}'`;

/** The DuckDB type of each prediction column (keys and the other text columns are VARCHAR). */
export function columnType(name: string, keyCount: number, index: number): string {
  if (index < keyCount) return 'VARCHAR';
  if (name === 'row_index') return 'BIGINT';
  if (name === 'prediction') return 'DOUBLE';
  return 'VARCHAR';
}

function typed(req: ParquetRequest): Array<{ name: string; type: string }> {
  const keyCount = req.columns.indexOf('time');
  return req.columns.map((name, i) => ({ name, type: columnType(name, keyCount, i) }));
}

async function oldColumns(con: DuckDBConnection, file: string): Promise<string[]> {
  const reader = await con.runAndReadAll(`DESCRIBE SELECT * FROM read_parquet(${lit(file)})`);
  return (reader.getRowObjectsJS() as Array<{ column_name: string }>).map((r) => r.column_name);
}

async function checkOld(con: DuckDBConnection, req: ParquetRequest): Promise<boolean> {
  if (!existsSync(req.file)) return false;
  let have: string[];
  try {
    have = await oldColumns(con, req.file);
  } catch (err) {
    throw new ParquetSinkProblem('MM461', `cannot read the predictions file ${req.file}: ${firstLine(err)}`);
  }
  if (have.join('\u0000') !== req.columns.join('\u0000')) {
    throw new ParquetSinkProblem('MM460', `the predictions file ${req.file} exists with other columns (${have.slice(0, 12).join(', ') || 'none'}); this pipeline writes ${req.columns.join(', ')}. Move it away or name another path`);
  }
  return true;
}

function firstLine(err: unknown): string {
  return (err instanceof Error ? err.message : String(err)).split('\n')[0]!.trim();
}

/** Runs one request against a fresh in-memory DuckDB; returns the rows the new file holds. */
export async function runParquetRequest(op: 'check' | 'write', req: ParquetRequest): Promise<number> {
  const { DuckDBInstance } = await import('@duckdb/node-api');
  const instance = await DuckDBInstance.create(':memory:', { threads: '1' });
  const con = await instance.connect();
  const tmp = path.join(path.dirname(req.file), `.${path.basename(req.file)}.${process.pid}.tmp`);
  try {
    const hasOld = await checkOld(con, req);
    if (op === 'check') return 0;
    const cols = typed(req);
    const list = cols.map((c) => `CAST(${ident(c.name)} AS ${c.type}) AS ${ident(c.name)}`).join(', ');
    await con.run(`CREATE TEMP TABLE incoming (${cols.map((c) => `${ident(c.name)} ${c.type}`).join(', ')})`);
    if (req.staged) {
      const spec = `{${cols.map((c) => `${lit(c.name)}: ${lit(c.type)}`).join(', ')}}`;
      // An empty staging file has no rows to read (read_json wants at least one).
      const count = (await con.runAndReadAll(`SELECT count(*)::BIGINT AS n FROM read_text(${lit(req.staged)}) WHERE length(content) > 0`)).getRowObjectsJS() as Array<{ n: bigint }>;
      if (Number(count[0]!.n) > 0) {
        await con.run(`INSERT INTO incoming SELECT ${list} FROM read_json(${lit(req.staged)}, format = 'newline_delimited', columns = ${spec})`);
      }
    }
    const parts = [`SELECT ${list} FROM incoming`];
    if (hasOld && req.mode !== 'overwrite') {
      const keep = req.mode === 'replace_run' ? ` WHERE ${ident('run_id')} IS DISTINCT FROM ${lit(req.runId ?? '')}` : '';
      parts.unshift(`SELECT ${list} FROM read_parquet(${lit(req.file)})${keep}`);
    }
    await con.run(`COPY (${parts.join(' UNION ALL ')}) TO ${lit(tmp)} (FORMAT parquet)`);
    const n = (await con.runAndReadAll(`SELECT count(*)::BIGINT AS n FROM read_parquet(${lit(tmp)})`)).getRowObjectsJS() as Array<{ n: bigint }>;
    const fd = openSync(tmp, 'r');
    try {
      fsyncSync(fd);
    } finally {
      closeSync(fd);
    }
    renameSync(tmp, req.file);
    return Number(n[0]!.n);
  } catch (err) {
    if (err instanceof ParquetSinkProblem) throw err;
    throw new ParquetSinkProblem('MM463', `writing predictions to ${req.file} failed: ${firstLine(err)}`);
  } finally {
    rmSync(tmp, { force: true });
    con.closeSync();
    instance.closeSync();
  }
}

async function main(argv: string[]): Promise<number> {
  const [op, body] = argv;
  if ((op !== 'check' && op !== 'write') || !body) {
    process.stdout.write(`${JSON.stringify({ code: 'MM463', message: 'usage: parquet-writer.js check|write <request JSON>' })}\n`);
    return 1;
  }
  try {
    const rows = await runParquetRequest(op, JSON.parse(body) as ParquetRequest);
    process.stdout.write(`${JSON.stringify({ ok: true, rows })}\n`);
    return 0;
  } catch (err) {
    const code = err instanceof ParquetSinkProblem ? err.code : 'MM463';
    process.stdout.write(`${JSON.stringify({ code, message: firstLine(err) })}\n`);
    return 1;
  }
}

if (process.argv[1] && import.meta.url === pathToFileURL(path.resolve(process.argv[1])).href) {
  process.exitCode = await main(process.argv.slice(2));
}
