// model.type auto end to end through the built CLI with the real Python runtime: every group
// keeps the candidate best on its own holdout, a group no candidate can fit gets the fallback,
// and the chosen type and the fallback marker reach the registry, production and the
// predictions. Needs `npm run build`.
import { beforeAll, describe, expect, it } from 'vitest';
import { render } from 'ink-testing-library';
import { App } from '../../src/cli/ui/dashboard/app.js';
import { loadProject } from '../../src/pipeline/project.js';
import { dashboardSource } from '../../src/runs/dashboard.js';
import { autoSalesCsv } from '../helpers/auto-e2e.js';
import { binEnv, startBin } from '../helpers/reliability-kit.js';
import { projectKit, runIdOf, type TestProject } from '../helpers/project.js';

const kit = projectKit('mm-auto-');

const YAML = `version: 1
project: auto
pipelines:
  - name: daily
    data: { format: csv, path: data/sales.csv }
    keys: [store]
    time: { column: date, frequency: D }
    target: sales
    features: [promo]
    task: forecast
    model:
      type: auto
      candidates: [ets, { type: gbm, params: { min_samples_leaf: 5 } }]
      select_by: wape
      fallback: seasonal_naive
      holdout: 7
    metrics: [wape, mae]
    promotion:
      rules:
        - { metric: wape, max: 5.0 }
        - { metric: wape, compare: production, tolerance: 0.5 }
      gate: { min_promoted_fraction: 0.5 }
    scoring: { horizon: 14, table: predictions }
`;

const REGISTRY = '.manymodels/registry/registry.db';
const PRODUCTION = '.manymodels/production/registry.db';
const PREDICTIONS = '.manymodels/predictions.db';

interface Version {
  name: string;
  store: string;
  model_type: string;
}

describe('model type auto end to end', () => {
  let proj: TestProject;
  let trainRun: string;

  beforeAll(() => {
    proj = kit.project({ yaml: YAML, files: { 'data/sales.csv': autoSalesCsv() } });
  });

  it('registers each group with the type it chose, every candidate and the fallback marker as tags', async () => {
    const train = await proj.run(['train']);
    expect(train.code, train.stderr + train.stdout).toBe(0);
    trainRun = runIdOf(train.stdout);
    const versions = proj.query<Version>(REGISTRY, "SELECT name, json_extract(keys_json, '$.store') AS store, model_type FROM versions WHERE run_id = ? ORDER BY store", trainRun);
    expect(versions.map((v) => [v.store, v.model_type])).toEqual([
      ['0', 'ets'], ['1', 'ets'], ['2', 'ets'], ['3', 'gbm'], ['4', 'gbm'], ['5', 'gbm'], ['6', 'seasonal_naive'],
    ]);
    const tags = (name: string): Record<string, string> =>
      Object.fromEntries(proj.query<{ key: string; value: string }>(REGISTRY, 'SELECT key, value FROM tags WHERE name = ?', name).map((t) => [t.key, t.value]));
    const trend = tags(versions[0]!.name);
    expect(trend).toMatchObject({ model_type: 'ets', 'selection.fallback': 'false', 'selection.select_by': 'wape' });
    expect(Object.keys(trend).filter((k) => k.startsWith('candidate.')).sort()).toEqual(['candidate.ets.mae', 'candidate.ets.wape', 'candidate.gbm.mae', 'candidate.gbm.wape']);
    expect(Number(trend['candidate.ets.wape'])).toBeLessThan(Number(trend['candidate.gbm.wape']));
    expect(trend['metric.wape']).toBe(trend['candidate.ets.wape']);
    const short = tags(versions[6]!.name);
    expect(short).toMatchObject({ model_type: 'seasonal_naive', 'selection.fallback': 'true', 'candidate.ets.error': 'ValueError', 'candidate.gbm.error': 'ValueError' });
    expect(Number.isFinite(Number(short['metric.wape']))).toBe(true);
    // The run manifest keeps every candidate's metrics on the group's row.
    const manifest = JSON.parse(proj.read(`.manymodels/runs/${trainRun}/run-manifest.json`)) as {
      modelType: string;
      groups: Array<{ keys: { store: string }; modelType: string; selection: { chosen: string; fallback: boolean; candidates: Record<string, { status: string }> } }>;
    };
    expect(manifest.modelType).toBe('auto');
    expect(manifest.groups.map((g) => [g.keys.store, g.selection.chosen, g.selection.fallback])).toEqual(versions.map((v) => [v.store, v.model_type, v.store === '6']));
  });

  it('runs show --groups says which type each group chose and which got the fallback: table, CSV, JSON, and a summary line', async () => {
    const summary = 'auto: ets 3, gbm 3, seasonal_naive 1 (fallback 1)';
    const table = await proj.run(['runs', 'show', trainRun, '--groups']);
    expect(table.code, table.stderr).toBe(0);
    const lines = table.stdout.split('\n');
    expect(lines[1]).toMatch(/^STORE\s+STATUS\s+WAPE\s+MAE\s+FIT S\s+TYPE\s+MODEL\s+REASON$/);
    const rowOf = (store: string): string[] => lines.find((l) => l.startsWith(`${store} `))!.split(/\s+/);
    expect(rowOf('0')[5]).toBe('ets');
    expect(rowOf('3')[5]).toBe('gbm');
    expect(rowOf('6')[5]).toBe('seasonal_naive*');
    expect(table.stdout).toContain('* the fallback model: none of the candidates could be used');
    expect(table.stdout).toContain(`\n${summary}\n`);

    const csv = await proj.run(['runs', 'show', trainRun, '--groups', '--output', 'csv']);
    const [header, ...rows] = csv.stdout.trim().split('\r\n').map((l) => l.split(','));
    expect(header).toEqual(['store', 'status', 'reason', 'model', 'model_type', 'fallback', 'fit_seconds', 'wape', 'mae', 'group_id']);
    expect(rows.map((r) => [r[0], r[4], r[5]])).toEqual([
      ['0', 'ets', 'false'], ['1', 'ets', 'false'], ['2', 'ets', 'false'], ['3', 'gbm', 'false'], ['4', 'gbm', 'false'], ['5', 'gbm', 'false'], ['6', 'seasonal_naive', 'true'],
    ]);

    const json = JSON.parse((await proj.run(['runs', 'show', trainRun, '--groups', '--json'])).stdout) as { selection: unknown; groups: Array<{ keys: { store: string }; modelType: string; fallback: boolean }> };
    expect(json.selection).toEqual({ chosen: { ets: 3, gbm: 3, seasonal_naive: 1 }, fallback: 1 });
    expect(json.groups.map((g) => [g.keys.store, g.modelType, g.fallback])).toEqual([
      ['0', 'ets', false], ['1', 'ets', false], ['2', 'ets', false], ['3', 'gbm', false], ['4', 'gbm', false], ['5', 'gbm', false], ['6', 'seasonal_naive', true],
    ]);

    // The run itself: the same summary line, and in JSON the same summary.
    const show = await proj.run(['runs', 'show', trainRun]);
    expect(show.stdout).toContain(`\n  ${summary}\n`);
    expect((JSON.parse((await proj.run(['runs', 'show', trainRun, '--json'])).stdout) as { selection: unknown }).selection).toEqual(json.selection);
  });

  it('the report shows the chosen types, the fallback count and each worst group\'s type: terminal, JSON and HTML', async () => {
    const text = await proj.run(['report', trainRun]);
    expect(text.code, text.stderr).toBe(0);
    expect(text.stdout).toContain('\n  auto: ets 3, gbm 3, seasonal_naive 1 (fallback 1)\n');
    expect(text.stdout).toMatch(/\n  store=6: wape \S+ · seasonal_naive \(fallback\)\n/);
    expect(text.stdout).toMatch(/\n  store=0: wape \S+ · ets\n/);
    const data = JSON.parse((await proj.run(['report', trainRun, '--json'])).stdout) as { selection: unknown };
    expect(data.selection).toEqual({ chosen: { ets: 3, gbm: 3, seasonal_naive: 1 }, fallback: 1 });
    const html = await proj.run(['report', trainRun, '--html', 'report.html']);
    expect(html.code, html.stderr).toBe(0);
    const page = proj.read('report.html');
    expect(page).toContain('<section id="selection">');
    expect(page).toContain('auto: ets 3, gbm 3, seasonal_naive 1 (fallback 1)');
    expect(page).toMatch(/<th>model<\/th>/);
    expect(page).toContain('<td>seasonal_naive (fallback)</td>');
  });

  it('the dashboard\'s groups table shows each group\'s type and the fallback marker within 80 columns', async () => {
    const { project } = loadProject({ file: 'pipelines.yaml', cwd: proj.dir, vars: {}, env: {} });
    const source = dashboardSource({ project: project!, context: { env: {} }, file: 'pipelines.yaml', cwd: proj.dir, env: {} });
    const app = render(<App source={source} refreshMs={60_000} />);
    try {
      Object.defineProperty(app.stdout, 'columns', { value: 80, configurable: true });
      Object.defineProperty(app.stdout, 'rows', { value: 24, configurable: true });
      app.stdout.emit('resize');
      const pause = (): Promise<void> => new Promise((r) => setTimeout(r, 80));
      const at = source.runs().findIndex((r) => r.id === trainRun);
      for (const k of [...'j'.repeat(at), '\r']) {
        app.stdin.write(k);
        await pause();
      }
      expect(app.lastFrame()).toContain('auto: ets 3, gbm 3, seasonal_naive 1 (fallback 1)');
      app.stdin.write('g');
      await pause();
      const lines = app.lastFrame()!.split('\n');
      for (const line of lines) expect(line.length, line).toBeLessThanOrEqual(80);
      expect(lines.find((l) => /^[▶ ] store/i.test(l)) ?? lines[2]).toMatch(/TYPE/);
      const row = (store: string): string => lines.find((l) => new RegExp(`^[▶ ] ${store}\\s`).test(l))!;
      expect(row('0')).toMatch(/\sets\s/);
      expect(row('3')).toMatch(/\sgbm\s/);
      expect(row('6')).toMatch(/\sseasonal_naive\*\s/);
    } finally {
      app.unmount();
    }
  });

  it('promotes the chosen models with their selection tags, and compares a later run with production', async () => {
    const first = await proj.run(['promote']);
    expect(first.code, first.stderr + first.stdout).toBe(0);
    const production = proj.query<Version & { fallback: string }>(
      PRODUCTION,
      "SELECT v.name, json_extract(v.keys_json, '$.store') AS store, v.model_type, t.value AS fallback FROM versions v JOIN tags t ON t.name = v.name AND t.version = v.version AND t.key = 'selection.fallback' ORDER BY store",
    );
    expect(production.map((v) => [v.store, v.model_type, v.fallback])).toEqual([
      ['0', 'ets', 'false'], ['1', 'ets', 'false'], ['2', 'ets', 'false'], ['3', 'gbm', 'false'], ['4', 'gbm', 'false'], ['5', 'gbm', 'false'], ['6', 'seasonal_naive', 'true'],
    ]);
    // A second run of the same data: the champion/challenger rule compares it with production per group.
    const again = await proj.run(['train']);
    expect(again.code, again.stderr).toBe(0);
    const second = await proj.run(['promote', '--dry-run', '--json']);
    expect(second.code, second.stderr).toBe(0);
    const report = JSON.parse(second.stdout) as { decisions: Array<{ reasons: string[] }> };
    expect(report.decisions).toHaveLength(7);
    expect(report.decisions.every((d) => d.reasons.some((r) => r.includes('production')))).toBe(true);
  });

  it('scores each group with its own model and marks the fallback in the predictions', async () => {
    const score = await proj.run(['score']);
    expect(score.code, score.stderr + score.stdout).toBe(0);
    const rows = proj.query<{ store: string; model_type: string; fallback: number; n: number }>(
      PREDICTIONS,
      'SELECT store, model_type, fallback, COUNT(*) AS n FROM predictions WHERE run_id = ? GROUP BY store, model_type, fallback ORDER BY store',
      runIdOf(score.stdout),
    );
    expect(rows).toEqual([
      { store: '0', model_type: 'ets', fallback: 0, n: 14 }, { store: '1', model_type: 'ets', fallback: 0, n: 14 },
      { store: '2', model_type: 'ets', fallback: 0, n: 14 }, { store: '3', model_type: 'gbm', fallback: 0, n: 14 },
      { store: '4', model_type: 'gbm', fallback: 0, n: 14 }, { store: '5', model_type: 'gbm', fallback: 0, n: 14 },
      { store: '6', model_type: 'seasonal_naive', fallback: 1, n: 14 },
    ]);
    // The scoring run's groups say which model predicted them.
    const groups = await proj.run(['runs', 'show', runIdOf(score.stdout), '--groups', '--output', 'csv']);
    const [header, ...csv] = groups.stdout.trim().split('\r\n').map((l) => l.split(','));
    const at = (name: string): number => header!.indexOf(name);
    expect(csv.map((r) => [r[0], r[at('model_type')], r[at('fallback')]])).toEqual(rows.map((r) => [r.store, r.model_type, String(r.fallback === 1)]));
    expect((await proj.run(['runs', 'show', runIdOf(score.stdout), '--groups'])).stdout).toContain('\nauto: ets 3, gbm 3, seasonal_naive 1 (fallback 1)\n');
  });

  it('serves each group from its own chosen model, saying which and whether it is the fallback', async () => {
    const { child } = startBin(['serve', '--port', '0'], { cwd: proj.path(), env: binEnv() });
    try {
      let stderr = '';
      child.stderr!.on('data', (d: Buffer) => (stderr += d.toString()));
      const end = Date.now() + 60_000;
      while (!/ on (http:\/\/\S+)/.test(stderr)) {
        if (Date.now() > end || child.exitCode !== null) throw new Error(`serve did not start: ${stderr}`);
        await new Promise((r) => setTimeout(r, 50));
      }
      const url = / on (http:\/\/\S+)/.exec(stderr)![1]!;
      for (const [store, type, fallback] of [['0', 'ets', false], ['3', 'gbm', false], ['6', 'seasonal_naive', true]] as const) {
        const res = await fetch(`${url}/v1/pipelines/daily/predict`, { method: 'POST', body: JSON.stringify({ keys: { store } }), headers: { 'content-type': 'application/json' } });
        const json = (await res.json()) as { model_type: string; fallback: boolean; predictions: Array<{ time: string; prediction: number }> };
        expect(res.status, JSON.stringify(json)).toBe(200);
        expect([json.model_type, json.fallback]).toEqual([type, fallback]);
        const batch = proj.query<{ time: string; prediction: number }>(PREDICTIONS, 'SELECT time, prediction FROM predictions WHERE store = ? ORDER BY time', store);
        expect(json.predictions).toEqual(batch);
      }
    } finally {
      child.kill('SIGKILL');
    }
  }, 120_000);
});
