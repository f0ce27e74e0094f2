// format: sql end to end on the local engine, through the built CLI: a real PostgreSQL started
// here (helpers/postgres.ts) holds the sample data; train reads it from a table and from a
// query with credentials from environment variables, and gets the same models as from the CSV;
// a wrong password is a clear MM451 that echoes no password anywhere. Needs `npm run build`.
import { readdirSync, readFileSync, statSync } from 'node:fs';
import path from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { cliEnv, projectKit, type TestProject } from '../helpers/project.js';
import { freePort, havePostgres, PG_PASSWORD, PG_USER, startPostgres, type PostgresServer } from '../helpers/postgres.js';

const kit = projectKit('mm-sql-');

function yaml(data: string): string {
  return `version: 1
project: sqlsrc
pipelines:
  - name: daily
    data: ${data}
    keys: [store_id, item_id]
    time: { column: date, frequency: D }
    target: sales
    features: [price, promo]
    task: forecast
    model: { type: linear, holdout: 14 }
    metrics: [wape, rmse]
    failure_budget: { max_failed_fraction: 0.5 }
`;
}

const sqlData = (url: string, what: string): string => `{ format: sql, sql: { url: "${url}", ${what}, user_env: SHOP_PG_USER, password_env: SHOP_PG_PASSWORD } }`;
const env = (password = PG_PASSWORD): Record<string, string | undefined> => cliEnv({ SHOP_PG_USER: PG_USER, SHOP_PG_PASSWORD: password });

/** Every file under `dir`, as latin1 text. */
function allText(dir: string): Array<{ file: string; text: string }> {
  const out: Array<{ file: string; text: string }> = [];
  for (const name of readdirSync(dir)) {
    const full = path.join(dir, name);
    if (statSync(full).isDirectory()) out.push(...allText(full));
    else out.push({ file: full, text: readFileSync(full, 'latin1') });
  }
  return out;
}

/** store/item → [status, metrics] of the last training run's manifest. */
function trainedGroups(proj: TestProject): Record<string, unknown> {
  const runs = readdirSync(proj.path('.manymodels/runs')).filter((r) => r.includes('-train-')).sort();
  const manifest = JSON.parse(proj.read(`.manymodels/runs/${runs.at(-1)!}/run-manifest.json`)) as { groups: Array<{ keys: Record<string, string>; status: string; metrics: unknown }> };
  return Object.fromEntries(manifest.groups.map((g) => [`${g.keys.store_id}/${g.keys.item_id}`, [g.status, g.metrics]]));
}

describe.skipIf(!havePostgres())('a sql (PostgreSQL) source on the local engine', () => {
  let pg: PostgresServer;
  let csv: TestProject;
  let fromCsv: Record<string, unknown>;

  beforeAll(async () => {
    pg = await startPostgres();
    csv = kit.project({ yaml: yaml('{ format: csv, path: data/sales.csv }'), sampleData: { stores: 3, items: 4, days: 120, seed: 7 } });
    pg.psql(`CREATE SCHEMA shop;
CREATE TABLE shop.sales (store_id integer, item_id integer, date date, sales double precision, price numeric(8, 2), promo integer);
\\copy shop.sales FROM '${csv.path('data/sales.csv')}' WITH (FORMAT csv, HEADER true)
`);
    const r = await csv.run(['train']);
    expect(r.code, r.stderr).toBe(0);
    fromCsv = trainedGroups(csv);
  }, 180_000);

  afterAll(() => pg?.stop());

  it('trains from a table, with the same models as from the CSV', async () => {
    const proj = kit.project({ yaml: yaml(sqlData(pg.url, 'table: shop.sales')) });
    expect((await proj.run(['validate'], { env: env() })).code).toBe(0);
    const r = await proj.run(['train'], { env: env() });
    expect(r.code, r.stderr).toBe(0);
    expect(r.stdout).toMatch(/Trained daily on local: \d+ ok/);
    expect(trainedGroups(proj)).toEqual(fromCsv);
    expect(Object.keys(fromCsv).length).toBeGreaterThan(10);
    // The report reads the run's data again, from the database, with the same credentials.
    const report = await proj.run(['report', '--json'], { env: env() });
    expect(report.code, report.stderr).toBe(0);
    const data = JSON.parse(report.stdout) as { seriesNote: string | null; series: Array<{ history: unknown[] }> };
    expect(data.seriesNote).toBeNull();
    expect(data.series.some((s) => s.history.length > 0)).toBe(true);
  }, 120_000);

  it('trains from a query', async () => {
    const query = "SELECT * FROM shop.sales WHERE store_id = 2 -- one store\n";
    const proj = kit.project({ yaml: yaml(sqlData(pg.url, `query: ${JSON.stringify(query)}`)) });
    const r = await proj.run(['train'], { env: env() });
    expect(r.code, r.stderr).toBe(0);
    const groups = Object.keys(trainedGroups(proj));
    expect(groups.length).toBeGreaterThan(0);
    expect(groups.sort()).toEqual(Object.keys(fromCsv).filter((g) => g.startsWith('2/')).sort());
  }, 120_000);

  it('a wrong password is MM451 with the server\'s words, no trace, and the password nowhere', async () => {
    const wrong = `not-${PG_PASSWORD}-x`;
    const proj = kit.project({ yaml: yaml(sqlData(pg.url, 'table: shop.sales')) });
    const r = await proj.run(['train'], { env: env(wrong) });
    expect(r.code).toBe(2);
    expect(r.stderr).toMatch(/Error MM451: the database refused the credentials for postgresql:\/\/127\.0\.0\.1:\d+\/postgres: .*password authentication failed for user "mm"/);
    expect(r.stderr).not.toMatch(/Traceback|at .*\.js:\d+/);
    for (const password of [wrong, PG_PASSWORD]) {
      expect(r.stdout + r.stderr).not.toContain(password);
      for (const { file, text } of allText(proj.path('.manymodels'))) expect(text.includes(password), file).toBe(false);
    }
  }, 120_000);

  it('a missing table is MM452, a server that is not there MM450, an unset variable MM453', async () => {
    const missing = kit.project({ yaml: yaml(sqlData(pg.url, 'table: shop.nope')) });
    const a = await missing.run(['train'], { env: env() });
    expect([a.code, a.stderr]).toEqual([2, expect.stringMatching(/Error MM452: reading .* table shop\.nope failed: ERROR: {2}relation "shop\.nope" does not exist/)]);
    const down = kit.project({ yaml: yaml(sqlData(`postgresql://127.0.0.1:${await freePort()}/postgres`, 'table: shop.sales')) });
    const b = await down.run(['train'], { env: env() });
    expect([b.code, b.stderr]).toEqual([2, expect.stringMatching(/Error MM450: cannot connect to postgresql:\/\/127\.0\.0\.1:\d+\/postgres: .*Connection refused/)]);
    const unset = kit.project({ yaml: yaml(sqlData(pg.url, 'table: shop.sales')) });
    const c = await unset.run(['train'], { env: cliEnv({ SHOP_PG_USER: PG_USER }) });
    expect([c.code, c.stderr]).toEqual([2, expect.stringMatching(/Error MM453: data\.sql\.password_env names the environment variable SHOP_PG_PASSWORD for the password, which is not set/)]);
  }, 120_000);
});

describe('a sql source compiled for Databricks and Synapse', () => {
  const file = (credentials: string): string => `version: 1
project: sqlsrc
targets:
  dbx:
    engine: databricks
    databricks:
      host: https://adb-1.2.azuredatabricks.net
      artifacts: { location: dbfs }
      compute: { existing_cluster_id: 0101-abc }
    sink: { type: delta, path: "dbfs:/manymodels/predictions" }
  syn:
    engine: synapse
    synapse:
      endpoint: https://contoso-syn.dev.azuresynapse.net
      spark_pool: mmpool
      storage: { account_url: https://contosodata.dfs.core.windows.net, container: lake, path: teams/retail }
    sink: { type: delta, path: "abfss://lake@contosodata.dfs.core.windows.net/predictions" }
pipelines:
  - name: daily
    data: { format: sql, sql: { url: "postgresql://db.internal:5432/retail?sslmode=require", query: "SELECT * FROM sales", partition: { column: store_id, count: 8 }, ${credentials} } }
    keys: [store_id, item_id]
    time: { column: date, frequency: D }
    target: sales
    task: forecast
    model: { type: linear, holdout: 14 }
    metrics: [wape]
`;

  it('carries the names of the credentials, never their values, and a scope only where Databricks reads it', async () => {
    const secret = 'sc0pe-Secret-Value-991';
    const proj = kit.project({ yaml: file('secret_scope: retail, user_key: pg-user, password_key: pg-password, user_env: SHOP_PG_USER, password_env: SHOP_PG_PASSWORD') });
    const envWith = cliEnv({ SHOP_PG_USER: 'mm', SHOP_PG_PASSWORD: secret, DATABRICKS_TOKEN: `dapi${'ab12'.repeat(8)}` });
    for (const target of ['dbx', 'syn']) {
      const r = await proj.run(['compile', '--target', target, '--stdout'], { env: envWith });
      expect(r.code, r.stderr).toBe(0);
      expect(r.stdout).not.toContain(secret);
      const spec = JSON.parse(r.stdout) as { data: { sql: Record<string, unknown> } };
      expect(spec.data.sql).toEqual({
        url: 'postgresql://db.internal:5432/retail?sslmode=require', table: null, query: 'SELECT * FROM sales',
        partition: { column: 'store_id', lower: null, upper: null, count: 8 },
        userEnv: 'SHOP_PG_USER', passwordEnv: 'SHOP_PG_PASSWORD', secretScope: 'retail', userKey: 'pg-user', passwordKey: 'pg-password',
      });
      const body = await proj.run(['compile', '--engine', target === 'dbx' ? 'databricks' : 'synapse', '--target', target], { env: envWith });
      expect(body.code, body.stderr).toBe(0);
      expect(body.stdout).not.toContain(secret);
    }
    const scopeOnly = kit.project({ yaml: file('secret_scope: retail, password_key: pg-password') });
    expect((await scopeOnly.run(['validate', '--target', 'dbx'])).code).toBe(0);
    const syn = await scopeOnly.run(['validate', '--target', 'syn']);
    expect(syn.code).toBe(2);
    expect(syn.stderr).toContain('Error MM320: the synapse engine has no Databricks secret scopes to read sql.secret_scope "retail" from');
  }, 120_000);
});
