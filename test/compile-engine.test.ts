// `manymodels compile --engine databricks|synapse`: the submit request a run would send, with
// no network. The Databricks body is checked against what a real run (train --no-wait) sent to
// the emulator: the same bytes once the run id is filled in. Secrets are redacted; the command
// loads neither axios nor an Azure SDK.
import { execFileSync } from 'node:child_process';
import { mkdtempSync, readdirSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { startDatabricksEmulator, type DatabricksEmulator } from './emulators/databricks/server.js';
import { cli } from './helpers/cli.js';

const repo = path.resolve(import.meta.dirname, '..');
const TOKEN = `dapi${'5e1f'.repeat(8)}-3`;
const ACCOUNT_KEY = 'c2VjcmV0LWFjY291bnQta2V5LXZhbHVl';

const PIPELINE = `pipelines:
  - name: daily
    data: { format: csv, path: "dbfs:/data/sales.csv" }
    keys: [store_id, item_id]
    time: { column: date, frequency: D }
    target: sales
    features: [price, promo]
    task: forecast
    model: { type: linear, holdout: 14 }
    metrics: [wape, rmse]
    spark: { conf: { spark.sql.shuffle.partitions: 64 } }
`;

const FILE = `version: 1
project: preview
targets:
  dbx:
    default: true
    engine: databricks
    databricks:
      host: \${env.DATABRICKS_HOST}
      auth: pat
      artifacts: { location: dbfs }
      compute:
        new_cluster: { spark_version: 15.4.x-scala2.12, node_type_id: Standard_D4ds_v5, num_workers: 2 }
      libraries: [{ pypi: { package: statsmodels } }]
    sink: { type: delta, path: "dbfs:/manymodels/predictions" }
  dbx-secret:
    engine: databricks
    databricks:
      host: https://adb-1.2.azuredatabricks.net
      artifacts: { location: dbfs }
      compute:
        new_cluster:
          spark_version: 15.4.x-scala2.12
          node_type_id: Standard_D4ds_v5
          spark_conf: { fs.azure.account.key.acct.dfs.core.windows.net: "${ACCOUNT_KEY}" }
    sink: { type: delta, path: "dbfs:/manymodels/predictions" }
  syn:
    engine: synapse
    synapse:
      endpoint: https://contoso-syn.dev.azuresynapse.net
      spark_pool: mmpool
      storage: { account_url: https://contosodata.dfs.core.windows.net, container: lake, path: teams/retail }
      executor_size: Medium
      executors: 3
    sink: { type: synapse_sql, database: retail }
${PIPELINE}`;

let dir: string;
let emu: DatabricksEmulator;

beforeAll(async () => {
  dir = mkdtempSync(path.join(tmpdir(), 'mm-preview-'));
  writeFileSync(path.join(dir, 'pipelines.yaml'), FILE);
  // Runs stay queued: only the submission matters here.
  emu = await startDatabricksEmulator({ acceptedTokens: [TOKEN], minLatencyMs: 1, timings: { queuedMs: 600_000, pendingMs: 1, terminatingMs: 1 } });
});

afterAll(async () => {
  await emu?.stop();
  if (dir) rmSync(dir, { recursive: true, force: true });
});

const env = (): Record<string, string | undefined> => ({ PATH: process.env.PATH, HOME: process.env.HOME, MANYMODELS_PYTHON: process.env.MANYMODELS_PYTHON, DATABRICKS_TOKEN: TOKEN, DATABRICKS_HOST: emu.url });

describe('compile --engine', () => {
  it('prints the exact runs/submit body a Databricks run sends, the run id left as <run-id>', async () => {
    const preview = await cli(['compile', '--engine', 'databricks'], { cwd: dir, env: env() });
    expect(preview.stderr).toBe('');
    expect(preview.code).toBe(0);
    expect(preview.stdout).toContain('"idempotency_token": "manymodels-<run-id>"');

    const train = await cli(['train', '--no-wait'], { cwd: dir, env: env() });
    expect(train.code, train.stderr).toBe(0);
    const runId = readdirSync(path.join(dir, '.manymodels/runs'))[0]!;
    const submits = emu.requests.filter((r) => r.operation === 'JobsRunsSubmit');
    expect(submits).toHaveLength(1);
    expect(JSON.parse(preview.stdout.replaceAll('<run-id>', runId))).toEqual(submits[0]!.body);
    expect(emu.invalidRequests()).toEqual([]);
  });

  it('names the model manifest of a scoring run as a placeholder', async () => {
    const r = await cli(['compile', '--engine', 'databricks', '--stage', 'score'], { cwd: dir, env: env() });
    expect(r.code, r.stderr).toBe(0);
    const params = (JSON.parse(r.stdout) as { tasks: Array<{ spark_python_task: { parameters: string[] } }> }).tasks[0]!.spark_python_task.parameters;
    expect(params[params.indexOf('--models') + 1]).toMatch(/^<model-manifest/);
    expect(params).not.toContain('--bundle-artifacts');
  });

  it('redacts secrets from the body', async () => {
    const r = await cli(['compile', '--engine', 'databricks', '--target', 'dbx-secret'], { cwd: dir, env: env() });
    expect(r.code, r.stderr).toBe(0);
    expect(r.stdout).not.toContain(ACCOUNT_KEY);
    expect(JSON.parse(r.stdout).tasks[0].new_cluster.spark_conf).toMatchObject({ 'fs.azure.account.key.acct.dfs.core.windows.net': '***', 'spark.sql.shuffle.partitions': '64' });
  });

  it('prints the Livy batch of a Synapse run, selecting the one synapse target', async () => {
    const r = await cli(['compile', '--engine', 'synapse'], { cwd: dir, env: env() });
    expect(r.code, r.stderr).toBe(0);
    const batch = JSON.parse(r.stdout) as Record<string, unknown>;
    const lake = 'abfss://lake@contosodata.dfs.core.windows.net/teams/retail';
    expect(batch).toMatchObject({
      name: 'manymodels-daily-<run-id>',
      executorCount: 3,
      executorMemory: '56g',
      tags: { manymodels_run: '<run-id>', manymodels_pipeline: 'daily', manymodels_stage: 'train' },
    });
    expect(batch.file).toMatch(new RegExp(`^${lake}/cas/[0-9a-f]{64}-train_entry\\.py$`));
    expect(batch.pythonFiles).toEqual([expect.stringMatching(/manymodels_runtime\.zip$/)]);
    expect(batch.arguments).toContain(`${lake}/runs/<run-id>`);
    expect(batch.arguments).not.toContain('--runtime-zip');
  });

  it('refuses an engine no selected target runs on (MM318)', async () => {
    const r = await cli(['compile', '--engine', 'synapse', '--target', 'dbx'], { cwd: dir, env: env() });
    expect(r.code).toBe(2);
    expect(r.stderr).toContain('MM318');
    expect(r.stderr).toContain('syn run on synapse');
  });

  it('loads neither axios nor an Azure SDK', () => {
    const probe = `
      import { registerHooks } from 'node:module';
      const seen = [];
      registerHooks({ resolve(specifier, context, next) { seen.push(specifier); return next(specifier, context); } });
      const { runCli } = await import(${JSON.stringify(path.join(repo, 'dist/cli/main.js'))});
      let out = '';
      const io = { stdout: { write(s) { out += s; } }, stderr: { write() {} }, cwd: ${JSON.stringify(dir)}, env: { DATABRICKS_HOST: 'https://adb-1.2.azuredatabricks.net' } };
      const codes = [await runCli(['compile', '--engine', 'databricks'], io), await runCli(['compile', '--engine', 'synapse'], io)];
      process.stdout.write(JSON.stringify({ seen, codes, printed: out.length > 0 }));
    `;
    const result = JSON.parse(execFileSync(process.execPath, ['--input-type=module', '-e', probe], { encoding: 'utf8' })) as { seen: string[]; codes: number[]; printed: boolean };
    expect(result.codes).toEqual([0, 0]);
    expect(result.printed).toBe(true);
    expect(result.seen.some((s) => s.includes('remote/preview'))).toBe(true);
    expect(result.seen.filter((s) => s.startsWith('@azure/') || s === 'axios')).toEqual([]);
  });
});
