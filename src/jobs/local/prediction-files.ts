// Reading back what the csv and parquet sinks wrote (pyspark-templates/manymodels_runtime/sinks/
// csv.py, parquet.py): one score run's forecasts for some groups, through the embedded DuckDB.
// The file and every value are literals, the key columns quoted identifiers.
import { existsSync, statSync } from 'node:fs';
import path from 'node:path';

/** The predictions file of a csv/parquet sink path: the path, or `<table>.<format>` in a folder. */
export function predictionFile(projectRoot: string, sinkPath: string, table: string, format: 'csv' | 'parquet'): string {
  const p = path.resolve(projectRoot, sinkPath);
  if (sinkPath.endsWith('/') || sinkPath.endsWith(path.sep) || (existsSync(p) && statSync(p).isDirectory())) return path.join(p, `${table}.${format}`);
  return p;
}

const ident = (name: string): string => `"${name.replace(/"/g, '""')}"`;
const lit = (value: string): string => `'${value.replace(/'/g, "''")}'`;

/** Each group's (time, prediction) rows of one run, in time order, keyed by the groups' index. */
export async function readFileForecasts(file: string, format: 'csv' | 'parquet', runId: string, keyColumns: string[], groups: Array<Record<string, string>>): Promise<Array<Array<{ time: string | null; prediction: number | null }>>> {
  const { DuckDBInstance } = await import('@duckdb/node-api');
  const instance = await DuckDBInstance.create(':memory:', { threads: '1' });
  const con = await instance.connect();
  try {
    const source = format === 'csv' ? `read_csv(${lit(file)}, header = true, all_varchar = true)` : `read_parquet(${lit(file)})`;
    const wanted = groups.map((g) => `(${keyColumns.map((k) => `${ident(k)} IS NOT DISTINCT FROM ${lit(g[k] ?? '')}`).join(' AND ') || 'true'})`);
    const keys = keyColumns.map((k) => `CAST(${ident(k)} AS VARCHAR) AS ${ident(k)}`).join(', ');
    const sql = `SELECT ${keys ? `${keys}, ` : ''}CAST("time" AS VARCHAR) AS "time", TRY_CAST("prediction" AS DOUBLE) AS "prediction" FROM ${source} WHERE "run_id" = ${lit(runId)}${wanted.length ? ` AND (${wanted.join(' OR ')})` : ''} ORDER BY "time"`;
    const rows = (await con.runAndReadAll(sql)).getRowObjectsJS() as Array<Record<string, string | number | null>>;
    const index = new Map(groups.map((g, i) => [JSON.stringify(keyColumns.map((k) => g[k] ?? '')), i]));
    const out = groups.map(() => [] as Array<{ time: string | null; prediction: number | null }>);
    for (const r of rows) {
      const i = index.get(JSON.stringify(keyColumns.map((k) => (r[k] ?? '') as string)));
      if (i !== undefined) out[i]!.push({ time: r.time as string | null, prediction: r.prediction as number | null });
    }
    return out;
  } finally {
    con.closeSync();
    instance.closeSync();
  }
}
