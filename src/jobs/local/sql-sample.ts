// `validate --data` on a sql (PostgreSQL) source: the runtime's sql_check.py (sql_check_entry.py)
// connects as the local reader does — psycopg2, the credentials from the variables user_env and
// password_env name (only those are passed on; the password is registered with the redaction
// point first) — and answers the source's columns with their types and a sample of rows, or
// the problem (MM450–MM453, MM410) with the data.sql field that names it.
import { spawn } from 'node:child_process';
import path from 'node:path';
import type { SqlSource } from '../../contracts/job-spec.js';
import { runtimeDir } from '../../core/package-root.js';
import { findPython, runtimeEnv, sqlSourceEnv } from './python.js';

export interface SqlSample {
  columns: Array<{ name: string; type: string }>;
  /** The columns the rows hold: the pipeline's that the source has. */
  sampled: string[];
  rows: string[][];
  /** The source has no more rows than were sampled. */
  whole: boolean;
}

export interface SqlProblem {
  code: string;
  message: string;
  /** The data.sql field (or data.format) that names the problem. */
  field: 'url' | 'table' | 'query' | 'user_env' | 'password_env' | 'format';
  /** For a table that does not exist: the tables the user can see. */
  tables?: string[];
}

/** Connect (15 s at most), the columns, then up to `limit` rows; never throws for the database's problems. */
export async function sampleSql(sql: SqlSource, columns: readonly string[], limit: number, env: Record<string, string | undefined>, cwd: string): Promise<SqlSample | { error: SqlProblem }> {
  const credentials = sqlSourceEnv(sql, env);
  const python = findPython(env);
  const request = JSON.stringify({ sql, columns, limit });
  const { code, stdout, stderr } = await new Promise<{ code: number | null; stdout: string; stderr: string }>((resolve) => {
    const child = spawn(python, [path.join(runtimeDir(), 'sql_check_entry.py')], { cwd, env: runtimeEnv(env, credentials), stdio: ['pipe', 'pipe', 'pipe'] });
    let out = '';
    let err = '';
    child.stdout.setEncoding('utf8').on('data', (d: string) => void (out += d));
    child.stderr.setEncoding('utf8').on('data', (d: string) => void (err = (err + d).slice(-4000)));
    child.stdin.on('error', () => undefined);
    child.stdin.end(request);
    child.on('error', (e) => resolve({ code: null, stdout: out, stderr: `${err}\n${e.message}` }));
    child.on('close', (c) => resolve({ code: c, stdout: out, stderr: err }));
  });
  const last = stdout.trim().split('\n').pop() ?? '';
  try {
    return JSON.parse(last) as SqlSample | { error: SqlProblem };
  } catch {
    const said = stderr.trim().split('\n').slice(-3).join(' ');
    return { error: { code: 'MM410', message: `the runtime could not look at the source (exit ${String(code)}): ${said || 'no output'}`, field: 'format' } };
  }
}
