// `validate --data` on a sql (PostgreSQL) source, through the built CLI, against a real
// PostgreSQL started here (helpers/postgres.ts): the source's columns and a sample of its rows
// are checked like a CSV's, each problem at the YAML that names it, and the database's own
// problems (refused connection, refused password, missing table, unset variable) are coded
// diagnostics at the data.sql field, with no trace and no password. Needs `npm run build`.
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { cliEnv, projectKit } from '../helpers/project.js';
import { freePort, havePostgres, PG_PASSWORD, PG_USER, startPostgres, type PostgresServer } from '../helpers/postgres.js';

const kit = projectKit('mm-vsql-');

interface Shape {
  keys?: string;
  time?: string;
  target?: string;
}

function yaml(data: string, shape: Shape = {}): string {
  return `version: 1
project: vsql
pipelines:
  - name: daily
    data: ${data}
    keys: ${shape.keys ?? '[store_id, item_id]'}
    time: ${shape.time ?? '{ column: date, frequency: D }'}
    target: ${shape.target ?? 'sales'}
    features: [price]
    task: forecast
    model: { type: linear, holdout: 7 }
    metrics: [wape]
`;
}

const sqlData = (url: string, what: string): string => `{ format: sql, sql: { url: "${url}", ${what}, user_env: SHOP_PG_USER, password_env: SHOP_PG_PASSWORD } }`;
const env = (password = PG_PASSWORD): Record<string, string | undefined> => cliEnv({ SHOP_PG_USER: PG_USER, SHOP_PG_PASSWORD: password });

interface Diag {
  code: string;
  severity: string;
  path: string;
  message: string;
  hint?: string;
}

async function validate(data: string, shape: Shape = {}, e = env(), flags = ['--data']): Promise<{ code: number | null; stdout: string; stderr: string; json: { ok: boolean; diagnostics: Diag[]; data: Array<{ source: string; note: string; rows?: number; groups?: number }> } }> {
  const proj = kit.project({ yaml: yaml(data, shape) });
  const r = await proj.run(['validate', ...flags, '--json'], { env: e });
  return { ...r, json: JSON.parse(r.stdout) as never };
}

describe.skipIf(!havePostgres())('validate --data on a sql (PostgreSQL) source', () => {
  let pg: PostgresServer;

  beforeAll(async () => {
    pg = await startPostgres();
    // 2 stores × 3 items × 30 days; shop.bad has text where dates and numbers belong.
    pg.psql(`CREATE SCHEMA shop;
CREATE TABLE shop.sales (store_id integer, item_id integer, date date, sales double precision, price numeric(8, 2), promo boolean);
INSERT INTO shop.sales SELECT s, i, DATE '2024-01-01' + d, (s * 10 + i + d % 7)::float8, 2.50, d % 5 = 0
  FROM generate_series(1, 2) s, generate_series(1, 3) i, generate_series(0, 29) d;
CREATE TABLE shop.bad (store_id integer, item_id integer, date text, sales text, price numeric);
INSERT INTO shop.bad VALUES (1, 1, '2024-01-01', '3', 1), (1, 1, 'week 2', 'n/a', 1), (1, 1, '2024-01-03', 'lots', 1);
`);
  }, 180_000);

  afterAll(() => pg?.stop());

  it('reads a table\'s columns and rows: valid, with rows and groups in the note', async () => {
    const r = await validate(sqlData(pg.url, 'table: shop.sales'));
    expect(r.code, r.stderr).toBe(0);
    expect(r.json.diagnostics).toEqual([]);
    expect(r.json.data).toEqual([{ pipeline: 'daily', source: 'shop.sales', note: 'read 180 rows, 6 groups', rows: 180, groups: 6 }]);
  }, 60_000);

  it('a column the source lacks is MM431 at the YAML that names it, with did-you-mean, for a table and a query', async () => {
    const t = await validate(sqlData(pg.url, 'table: shop.sales'), { keys: '[store_id, itm_id]' });
    expect(t.code).toBe(2);
    expect(t.json.diagnostics).toEqual([expect.objectContaining({ code: 'MM431', path: 'pipelines[0].keys[1]', message: 'key column "itm_id" is not in table shop.sales', hint: 'Did you mean "item_id"? The table has: store_id, item_id, date, sales, price, promo.' })]);
    const q = await validate(sqlData(pg.url, 'query: "SELECT store_id, item_id, date AS dates, sales, price FROM shop.sales"'));
    expect(q.code).toBe(2);
    expect(q.json.diagnostics).toEqual([expect.objectContaining({ code: 'MM431', path: 'pipelines[0].time.column', message: 'time column "date" is not in the rows of sql.query', hint: 'Did you mean "dates"? The query gives: store_id, item_id, dates, sales, price.' })]);
  }, 60_000);

  it('samples the rows: text that is no date is MM432, a target that is no number MM433, a date column with kind: period MM432', async () => {
    const r = await validate(sqlData(pg.url, 'table: shop.bad'));
    expect(r.code).toBe(2);
    expect(r.json.diagnostics).toEqual([
      expect.objectContaining({ code: 'MM432', path: 'pipelines[0].time.column', message: 'time column "date" has values that are not dates: "week 2" (table shop.bad row 2; 1 of 3 rows)' }),
      expect.objectContaining({ code: 'MM433', path: 'pipelines[0].target', message: 'target "sales" of a forecast pipeline has values that are not numbers: "lots" (table shop.bad row 3; 1 of 3 rows)' }),
    ]);
    const period = await validate(sqlData(pg.url, 'table: shop.sales'), { time: '{ column: date, kind: period }' });
    expect(period.json.diagnostics).toEqual([expect.objectContaining({ code: 'MM432', path: 'pipelines[0].time.column', message: expect.stringContaining('(kind: period) has values that are not whole period numbers') })]);
  }, 60_000);

  it('a missing table is MM452 at sql.table with did-you-mean; a refused port MM450 at sql.url', async () => {
    const r = await validate(sqlData(pg.url, 'table: shop.sale'));
    expect(r.code).toBe(2);
    expect(r.json.diagnostics).toEqual([expect.objectContaining({ code: 'MM452', path: 'pipelines[0].data.sql.table', message: expect.stringMatching(/^reading postgresql:\/\/127\.0\.0\.1:\d+\/postgres table shop\.sale failed: ERROR: {2}relation "shop\.sale" does not exist/), hint: 'Did you mean "shop.sales"? The database has: shop.bad, shop.sales.' })]);
    const down = await validate(sqlData(`postgresql://127.0.0.1:${await freePort()}/postgres`, 'table: shop.sales'));
    expect(down.code).toBe(2);
    expect(down.json.diagnostics).toEqual([expect.objectContaining({ code: 'MM450', path: 'pipelines[0].data.sql.url', message: expect.stringMatching(/^cannot connect to postgresql:\/\/127\.0\.0\.1:\d+\/postgres: .*Connection refused/) })]);
  }, 60_000);

  it('a wrong password is MM451 at sql.password_env, an unset variable MM453; no password and no trace in the output', async () => {
    const wrong = `not-${PG_PASSWORD}-x`;
    const r = await validate(sqlData(pg.url, 'table: shop.sales'), {}, env(wrong));
    expect(r.code).toBe(2);
    expect(r.json.diagnostics).toEqual([expect.objectContaining({ code: 'MM451', path: 'pipelines[0].data.sql.password_env', message: expect.stringContaining('password authentication failed for user "mm"') })]);
    for (const secret of [wrong, PG_PASSWORD]) expect(r.stdout + r.stderr).not.toContain(secret);
    const text = await kit.project({ yaml: yaml(sqlData(pg.url, 'table: shop.sales')) }).run(['validate', '--data'], { env: env(wrong) });
    expect(text.stderr).toMatch(/Error MM451: the database refused the credentials .*\n {2}at pipelines\[0\]\.data\.sql\.password_env\n {2}in pipelines\.yaml:\d+:\d+/);
    expect(text.stdout + text.stderr).not.toMatch(/Traceback|at .*\.js:\d+|not-pg/);
    const unset = await validate(sqlData(pg.url, 'table: shop.sales'), {}, cliEnv({ SHOP_PG_USER: PG_USER }));
    expect(unset.json.diagnostics).toEqual([expect.objectContaining({ code: 'MM453', path: 'pipelines[0].data.sql.password_env', message: 'data.sql.password_env names the environment variable SHOP_PG_PASSWORD for the password, which is not set' })]);
  }, 60_000);

  it('without --data a sql source is not read, and says so', async () => {
    const r = await validate(sqlData(`postgresql://127.0.0.1:${await freePort()}/postgres`, 'table: shop.sales'), {}, env(), []);
    expect(r.code, r.stderr).toBe(0);
    expect(r.json.data).toEqual([{ pipeline: 'daily', source: 'shop.sales', note: 'not checked: a sql source is read by validate --data' }]);
  }, 60_000);
});

describe('validate --data on a sql source of a cluster target', () => {
  it('is not read from here, and says so', async () => {
    const proj = kit.project({
      yaml: `version: 1
project: vsql
targets:
  dbx:
    engine: databricks
    databricks:
      host: https://adb-1.2.azuredatabricks.net
      artifacts: { location: dbfs }
      compute: { existing_cluster_id: 0101-abc }
    sink: { type: delta, path: "dbfs:/manymodels/predictions" }
pipelines:
  - name: daily
    data: { format: sql, sql: { url: "postgresql://db.internal:5432/retail", table: public.sales, password_env: SHOP_PG_PASSWORD } }
    keys: [store_id]
    time: { column: date, frequency: D }
    target: sales
    task: forecast
    model: { type: linear, holdout: 7 }
    metrics: [wape]
`,
    });
    const r = await proj.run(['validate', '--data', '--target', 'dbx', '--json']);
    expect(r.code, r.stderr).toBe(0);
    expect((JSON.parse(r.stdout) as { data: unknown }).data).toEqual([{ pipeline: 'daily', source: 'public.sales', note: 'not checked: a sql source of a databricks target is read by the cluster' }]);
  }, 60_000);
});
