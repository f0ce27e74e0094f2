// End to end on the embedded local engine, through the built CLI as a child process (what a
// user runs), with the real Python runtime: sample data → train → promote → score, and the ways
// a run goes wrong. Needs `npm run build`.
import { existsSync } from 'node:fs';
import { beforeAll, describe, expect, it } from 'vitest';
import { projectKit, runIdOf, type TestProject } from '../helpers/project.js';

const kit = projectKit('mm-e2e-');

function pipelinesYaml(extra: { model?: string; rules?: string; gate?: string; budget?: string; features?: string } = {}): string {
  return `version: 1
project: e2e
pipelines:
  - name: daily
    data: { format: csv, path: data/sales.csv }
    keys: [store_id, item_id]
    time: { column: date, frequency: D }
    target: sales
    features: ${extra.features ?? '[price, promo]'}
    task: forecast
    model: ${extra.model ?? '{ type: linear, holdout: 14 }'}
    metrics: [wape, rmse]
    promotion:
      rules: ${extra.rules ?? '[{ metric: wape, max: 2.0 }]'}
      gate: ${extra.gate ?? '{ min_promoted_fraction: 0.5 }'}
    failure_budget: ${extra.budget ?? '{ max_failed_fraction: 0.05 }'}
    scoring: { horizon: 14, table: predictions }
`;
}

/** 10 stores × 20 items = 200 series (plus the generator's short, gappy and constant ones). */
const project = (yaml: string): TestProject => kit.project({ yaml, sampleData: { stores: 10, items: 20, days: 240, seed: 7 } });

const REGISTRY = '.manymodels/registry/registry.db';
const PRODUCTION = '.manymodels/production/registry.db';
const PREDICTIONS = '.manymodels/predictions.db';

describe('local engine end to end', () => {
  let proj: TestProject;
  let trainRun: string;

  beforeAll(() => {
    proj = project(pipelinesYaml());
  });

  it('trains one model per group and registers every ok one with its tags', async () => {
    const train = await proj.run(['train']);
    expect(train.code, train.stderr).toBe(0);
    trainRun = runIdOf(train.stdout);
    const manifest = JSON.parse(proj.read(`.manymodels/runs/${trainRun}/run-manifest.json`)) as {
      counts: { total: number; ok: number; failed: number; skipped: number };
      groups: Array<{ status: string; groupId: string; modelName: string; artifact: string | null; sha256: string | null; metrics: Record<string, number>; reason: string | null }>;
    };
    expect(manifest.counts.total).toBeGreaterThanOrEqual(200);
    expect(manifest.counts.ok).toBeGreaterThanOrEqual(190);
    expect(manifest.counts.failed).toBe(0);
    for (const g of manifest.groups.filter((x) => x.status === 'skipped')) expect(g.reason).toBeTruthy();
    const ok = manifest.groups.filter((g) => g.status === 'ok');
    expect(ok.every((g) => g.modelName.startsWith('daily__') && /^[0-9a-f]{64}$/.test(g.sha256!) && Number.isFinite(g.metrics.wape))).toBe(true);
    const rows = proj.query<{ n: number }>(REGISTRY, 'SELECT COUNT(*) AS n FROM versions WHERE run_id = ?', trainRun);
    expect(rows[0]!.n).toBe(ok.length);
    const tags = proj.query<{ key: string; value: string }>(REGISTRY, 'SELECT key, value FROM tags WHERE name = ?', ok[0]!.modelName);
    expect(tags.map((t) => t.key).sort()).toEqual(['data_fingerprint', 'group_id', 'key.item_id', 'key.store_id', 'metric.rmse', 'metric.wape', 'model_type', 'pipeline', 'project', 'run_id'].sort());
  });

  it('promotes by the rules into the separate production registry, with lineage', async () => {
    const dry = await proj.run(['promote', '--dry-run', '--json']);
    expect(dry.code, dry.stderr).toBe(0);
    expect(existsSync(proj.path(PRODUCTION))).toBe(true);
    expect(proj.query<{ n: number }>(PRODUCTION, 'SELECT COUNT(*) AS n FROM versions')[0]!.n).toBe(0);
    const promote = await proj.run(['promote']);
    expect(promote.code, promote.stderr).toBe(0);
    const report = JSON.parse(dry.stdout) as { summary: { promoted: number; candidates: number }; decisions: Array<{ outcome: string; reasons: string[] }> };
    const copied = proj.query<{ n: number }>(PRODUCTION, 'SELECT COUNT(*) AS n FROM versions')[0]!.n;
    expect(copied).toBe(report.summary.promoted);
    expect(report.decisions.every((d) => d.reasons.length === 1)).toBe(true);
    const [first] = proj.query<{ name: string }>(PRODUCTION, 'SELECT name FROM versions ORDER BY name LIMIT 1');
    const lineage = proj.query<{ key: string; value: string }>(PRODUCTION, "SELECT key, value FROM tags WHERE name = ? AND key LIKE 'lineage.%'", first!.name);
    expect(Object.fromEntries(lineage.map((t) => [t.key, t.value]))).toMatchObject({ 'lineage.source_run_id': trainRun, 'lineage.source_version': '1' });
  });

  it('scores every production model into SQLite, and a second run keeps one current forecast per date', async () => {
    const score = await proj.run(['score']);
    expect(score.code, score.stderr).toBe(0);
    const scoreRun = runIdOf(score.stdout);
    const db = PREDICTIONS;
    const production = proj.query<{ n: number }>(PRODUCTION, 'SELECT COUNT(*) AS n FROM versions')[0]!.n;
    const rows = proj.query<{ n: number; groups: number }>(db, "SELECT COUNT(*) AS n, COUNT(DISTINCT store_id || '/' || item_id) AS groups FROM predictions WHERE run_id = ?", scoreRun)[0]!;
    expect(rows.groups).toBe(production);
    expect(rows.n).toBe(production * 14);
    const columns = Object.keys(proj.query<Record<string, unknown>>(db, 'SELECT * FROM predictions LIMIT 1')[0]!).sort();
    expect(columns).toEqual(['forecast_origin', 'item_id', 'label', 'model_name', 'model_version', 'pipeline', 'prediction', 'probabilities', 'row_index', 'run_id', 'scored_at', 'store_id', 'time'].sort());

    // A second ordinary scoring run: each (pipeline, keys, time) once in the current table, both runs readable by run id.
    const again = await proj.run(['score']);
    expect(again.code, again.stderr).toBe(0);
    const againRun = runIdOf(again.stdout);
    const current = proj.query<{ n: number; distinct_keys: number; runs: number }>(db, "SELECT COUNT(*) AS n, COUNT(DISTINCT pipeline || '/' || store_id || '/' || item_id || '/' || time) AS distinct_keys, COUNT(DISTINCT run_id) AS runs FROM predictions")[0]!;
    expect(current).toEqual({ n: production * 14, distinct_keys: production * 14, runs: 1 });
    expect(proj.query<{ n: number }>(db, 'SELECT COUNT(*) AS n FROM predictions WHERE run_id = ?', againRun)[0]!.n).toBe(production * 14);
    for (const run of [scoreRun, againRun]) {
      expect(proj.query<{ n: number }>(db, 'SELECT COUNT(*) AS n FROM predictions_all WHERE run_id = ?', run)[0]!.n).toBe(production * 14);
    }
    expect(proj.query<{ n: number }>(db, 'SELECT COUNT(*) AS n FROM predictions_history WHERE run_id = ? AND superseded_by = ?', scoreRun, againRun)[0]!.n).toBe(production * 14);
  });

  it('lists runs and models, filtered by tags', async () => {
    const runs = await proj.run(['runs', 'list', '--json']);
    const list = JSON.parse(runs.stdout) as Array<{ stage: string; state: string }>;
    expect(list.map((r) => r.stage)).toEqual(['score', 'score', 'promote', 'promote', 'train']);
    const models = await proj.run(['models', 'list', '--tag', 'store_id=3', '--json', '--limit', '500']);
    const versions = JSON.parse(models.stdout) as Array<{ keys: Record<string, string> }>;
    expect(versions.length).toBeGreaterThan(0);
    expect(versions.every((v) => v.keys.store_id === '3')).toBe(true);
    const show = await proj.run(['runs', 'show', trainRun]);
    expect(show.stdout).toContain(`Run ${trainRun}`);
  });
});

describe('local engine when things go wrong', () => {
  it('isolates a failing group, fails the run past its budget, and resumes only what was not ok', async () => {
    // Given 2 stores × 10 items of daily sales, where item 7 carries a flag …
    const proj = kit.project();
    const lines = ['store_id,item_id,date,sales,flag'];
    for (let store = 1; store <= 2; store++) {
      for (let item = 1; item <= 10; item++) {
        for (let day = 0; day < 60; day++) {
          const date = new Date(Date.UTC(2024, 0, 1 + day)).toISOString().slice(0, 10);
          lines.push(`${store},${item},${date},${10 * item + store + (day % 7)},${item === 7 ? 1 : 0}`);
        }
      }
    }
    proj.write('data/sales.csv', `${lines.join('\n')}\n`);
    // … and a custom model that raises on flagged series until a marker file appears.
    proj.write('flaky.py',
      [
        'import os',
        'import numpy as np',
        '',
        'def train(pdf, params):',
        "    if not os.path.exists('healed') and pdf['flag'].max() == 1:",
        "        raise ValueError('flagged series are cursed')",
        "    return float(pdf['sales'].mean())",
        '',
        'def predict(model, pdf):',
        '    return np.full(len(pdf), model)',
        '',
      ].join('\n'),
    );
    proj.write('pipelines.yaml', pipelinesYaml({ model: '{ type: custom, path: flaky.py, holdout: 7 }', features: '[flag]', budget: '{ max_failed: 1 }' }).replace('holdout: 14', 'holdout: 7'));

    // When it trains, the two flagged groups fail, past a budget of one: exit 1, reasons shown.
    const train = await proj.run(['train']);
    expect(train.code, train.stderr).toBe(1);
    expect(train.stderr).toContain('Error MM501');
    expect(train.stdout).toContain('ValueError: flagged series are cursed');
    const failedRun = runIdOf(train.stdout);
    const first = JSON.parse(proj.read(`.manymodels/runs/${failedRun}/run-manifest.json`)) as { counts: { ok: number; failed: number } };
    expect(first.counts).toMatchObject({ ok: 18, failed: 2 });

    // Then a resume after the fix retrains just those two …
    proj.write('healed', '');
    const resumed = await proj.run(['train', '--resume', failedRun]);
    expect(resumed.code, resumed.stderr).toBe(0);
    const second = JSON.parse(proj.read(`.manymodels/runs/${runIdOf(resumed.stdout)}/run-manifest.json`)) as { counts: { total: number; ok: number } };
    expect(second.counts).toMatchObject({ total: 2, ok: 2 });

    // … and promotion takes the resumed run plus the ok groups of the run it resumed.
    const promote = await proj.run(['promote', '--json']);
    const report = JSON.parse(promote.stdout) as { summary: { candidates: number } };
    expect(report.summary.candidates).toBe(20);
  });

  it('fails the promotion gate with exit 1 and leaves production unchanged', async () => {
    const proj = project(pipelinesYaml({ rules: '[{ metric: wape, max: 0.0001 }]', gate: '{ min_promoted_fraction: 0.9 }' }));
    expect((await proj.run(['train'])).code).toBe(0);
    const promote = await proj.run(['promote']);
    expect(promote.code).toBe(1);
    expect(promote.stderr).toContain('Error MM506: promotion gate not met');
    expect(proj.query<{ n: number }>(PRODUCTION, 'SELECT COUNT(*) AS n FROM versions')[0]!.n).toBe(0);
    const score = await proj.run(['score']);
    expect(score.code).toBe(2);
    expect(score.stderr).toContain('Error MM504');
  });

  it('names every missing column up front, with exit 2', async () => {
    const proj = project(pipelinesYaml({ features: '[price, promo, weather, holiday]' }));
    const train = await proj.run(['train']);
    expect(train.code).toBe(2);
    expect(train.stderr).toMatch(/Error MM411: .*weather.*holiday/);
  });

  it('refuses to score with an artifact that changed after registration', async () => {
    const proj = project(pipelinesYaml());
    expect((await proj.run(['train'])).code).toBe(0);
    expect((await proj.run(['promote'])).code).toBe(0);
    const [victim] = proj.query<{ artifact: string }>(PRODUCTION, 'SELECT artifact FROM versions ORDER BY name LIMIT 1');
    proj.write(`.manymodels/production/${victim!.artifact}`, Buffer.from('not the model'));
    const score = await proj.run(['score', '--json']);
    const failures = score.stdout.split('\n').filter((l) => l.includes('"group_failed"')).map((l) => JSON.parse(l) as { errorClass: string });
    expect(failures).toHaveLength(1);
    expect(failures[0]!.errorClass).toBe('ArtifactIntegrityError');
  });

  it('stops on Ctrl-C with exit 130 and says how to resume', async () => {
    // the statsmodels engine: slow enough that the run is still going when Ctrl-C comes
    const proj = project(pipelinesYaml({ model: '{ type: ets, holdout: 14, params: { engine: statsmodels } }' }));
    const train = await proj.run(['train'], { interruptAfterMs: 1500 });
    expect(train.code).toBe(130);
    expect(train.stderr).toContain('--resume');
  });
});

describe('local engine, other tasks', () => {
  it('trains, promotes and scores a regression pipeline, one prediction per input row', async () => {
    const proj = kit.project({ sampleData: { stores: 10, items: 20, days: 120, seed: 7 } });
    proj.write('pipelines.yaml',
      `pipelines:
  - name: demand
    data: { format: csv, path: data/sales.csv }
    keys: [store_id]
    target: sales
    features: [price, promo]
    task: regression
    model: { type: gbm, holdout: 0.2, params: { max_iter: 20 } }
    metrics: [mae, rmse]
`,
    );
    for (const step of ['train', 'promote', 'score']) {
      const r = await proj.run([step]);
      expect(r.code, `${step}: ${r.stderr}`).toBe(0);
    }
    const rows = proj.read('data/sales.csv').trim().split('\n').length - 1;
    const [count] = proj.query<{ n: number; forecasts: number }>(PREDICTIONS, 'SELECT COUNT(*) AS n, COUNT(time) AS forecasts FROM predictions');
    expect(count).toEqual({ n: rows, forecasts: 0 });
  });
});
