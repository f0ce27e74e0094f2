// `manymodels report`: the numbers against the run's own files, and the HTML page in a real
// headless Chromium (Debian's package, driven by playwright-core): it loads with no console
// error and no request, every section is there, and nothing from the data runs as markup.
import { existsSync, readFileSync, readdirSync, writeFileSync } from 'node:fs';
import path from 'node:path';
import { DatabaseSync } from 'node:sqlite';
import { beforeAll, describe, expect, it } from 'vitest';
import type { RunManifest } from '../src/contracts/runs.js';
import { renderReportHtml } from '../src/cli/ui/report-html.js';
import type { ReportData } from '../src/runs/report.js';
import { cli } from './helpers/cli.js';
import { projectKit, writeSampleData } from './helpers/project.js';

const scratch = projectKit('mm-report-').tempDir;
const CHROMIUM = '/usr/bin/chromium';
const haveChromium = existsSync(CHROMIUM);
if (!haveChromium && process.env.CI) throw new Error(`${CHROMIUM} is missing: scripts/bootstrap.sh installs Debian's chromium for the tests`);
if (!haveChromium) console.warn(`skipping the browser checks of the report: no ${CHROMIUM} (scripts/test.sh installs it)`);

const SECTIONS = ['overview', 'distribution', 'by-key', 'worst', 'forecasts', 'failures', 'promotion', 'timings'];

describe('report of a real run', () => {
  let dir: string;
  let train: string;
  beforeAll(async () => {
    dir = scratch();
    writeSampleData(path.join(dir, 'data/sales.csv'), { stores: 3, items: 6, days: 200, seed: 5 });
    writeFileSync(
      path.join(dir, 'pipelines.yaml'),
      `version: 1
project: report
pipelines:
  - name: daily
    data: { format: csv, path: data/sales.csv }
    keys: [store_id, item_id]
    time: { column: date, frequency: D }
    target: sales
    task: forecast
    model: { type: linear, holdout: 14 }
    metrics: [wape, rmse]
    promotion:
      rules: [{ metric: wape, max: 0.5 }]
      gate: { min_promoted_fraction: 0 }
    scoring: { horizon: 14, table: predictions }
`,
    );
    for (const cmd of ['train', 'promote', 'score']) expect((await cli([cmd], { cwd: dir })).code).toBe(0);
    train = readdirSync(path.join(dir, '.manymodels/runs')).find((n) => n.includes('-train-'))!;
  }, 240_000);

  it('summarizes in the terminal and as JSON, with holdout forecasts that reproduce the run’s metrics', async () => {
    const text = await cli(['report'], { cwd: dir });
    expect(text.code).toBe(0);
    expect(text.stdout).toContain(`Report on run ${train}`);
    expect(text.stdout).toMatch(/Promotion \S+: \d+ candidates → \d+ passed → \d+ promoted · gate met/);
    const r = await cli(['report', train, '--json'], { cwd: dir });
    const data = JSON.parse(r.stdout) as ReportData;
    const manifest = JSON.parse(readFileSync(path.join(dir, '.manymodels/runs', train, 'run-manifest.json'), 'utf8')) as RunManifest;
    expect(data.seriesNote).toBeNull();
    expect(data.series.length).toBe(6);
    for (const s of data.series) {
      const g = manifest.groups.find((x) => x.groupId === s.groupId)!;
      expect(s.holdout).toHaveLength(g.testRows!);
      // WAPE recomputed from the plotted holdout equals the run's own.
      const wape = s.holdout.reduce((a, p) => a + Math.abs(p.actual - p.predicted), 0) / s.holdout.reduce((a, p) => a + Math.abs(p.actual), 0);
      expect(wape).toBeCloseTo(g.metrics.wape!, 9);
      if (data.promotion && g.status === 'ok') expect(s.history.length).toBeGreaterThan(0);
    }
    // Groups in production carry the scored horizon.
    expect(data.series.some((s) => s.forecast.length === 14)).toBe(true);
    const worstByWape = manifest.groups.filter((g) => g.status === 'ok').sort((a, b) => b.metrics.wape! - a.metrics.wape!).map((g) => g.groupId);
    expect(data.worst.filter((g) => g.status === 'ok').map((g) => g.groupId)).toEqual(worstByWape.slice(0, data.worst.filter((g) => g.status === 'ok').length));
  });

  it('reads the scored horizon of a score run whose rows a later write moved to history', async () => {
    // Two scores at once finish in either order: the newer run's rows can end up superseded.
    const db = new DatabaseSync(path.join(dir, '.manymodels/predictions.db'));
    try {
      const cols = (db.prepare('PRAGMA table_info(predictions)').all() as Array<{ name: string }>).map((c) => `"${c.name}"`).join(', ');
      db.exec('BEGIN');
      db.exec(`INSERT INTO predictions_history (${cols}, superseded_at, superseded_by) SELECT ${cols}, '2026-12-01T00:00:00Z', 'another-run' FROM predictions`);
      db.exec('DELETE FROM predictions');
      db.exec('COMMIT');
    } finally {
      db.close();
    }
    const r = await cli(['report', train, '--json'], { cwd: dir });
    const data = JSON.parse(r.stdout) as ReportData;
    expect(data.seriesNote).toBeNull();
    expect(data.series.some((s) => s.forecast.length === 14)).toBe(true);
  });

  it.skipIf(!haveChromium)('the HTML page loads in Chromium with every section, no console error and no request', async () => {
    const file = path.join(dir, 'out/report.html');
    const r = await cli(['report', '--html', 'out/report.html'], { cwd: dir });
    expect([r.code, r.stdout]).toEqual([0, expect.stringContaining('written to out/report.html')]);
    const { chromium } = await import('playwright-core');
    const browser = await chromium.launch({ executablePath: CHROMIUM, args: ['--no-sandbox'] });
    try {
      for (const colorScheme of ['light', 'dark'] as const) {
        const page = await browser.newPage({ colorScheme });
        const errors: string[] = [];
        const requests: string[] = [];
        page.on('console', (m) => void (m.type() === 'error' && errors.push(m.text())));
        page.on('pageerror', (e) => void errors.push(e.message));
        page.on('request', (q) => void requests.push(q.url()));
        await page.goto(`file://${file}`);
        expect(errors).toEqual([]);
        expect(requests).toEqual([`file://${file}`]);
        for (const id of SECTIONS) expect(await page.locator(`section#${id}`).count(), id).toBe(1);
        // Six forecast charts, each with an actual line and a holdout forecast.
        expect(await page.locator('#forecasts svg path.actual').count()).toBe(6);
        expect(await page.locator('#forecasts svg path.predicted').count()).toBe(6);
        expect(await page.locator('#worst tbody tr').count()).toBeGreaterThan(0);
        const bg = await page.evaluate('getComputedStyle(document.body).backgroundColor');
        expect(bg).toBe(colorScheme === 'dark' ? 'rgb(21, 24, 28)' : 'rgb(255, 255, 255)');
        await page.close();
      }
    } finally {
      await browser.close();
    }
  }, 60_000);

  it('refuses a run that is not there with MM503', async () => {
    const r = await cli(['report', 'nope'], { cwd: dir });
    expect(r.code).toBe(2);
    expect(r.stderr).toContain('MM503');
  });
});

describe('report HTML escaping', () => {
  it('keeps keys and reasons from the data as text', () => {
    const evil = '<script>alert(1)</script>';
    const group = { groupId: 'g', modelName: 'm', keys: { store: evil }, status: 'failed' as const, reason: null, errorClass: 'E"<', errorMessage: evil, metrics: {}, artifact: null, sha256: null };
    const html = renderReportHtml({
      project: evil,
      generatedAt: 'now',
      run: { id: 'r', stage: 'train', pipeline: 'p', project: evil, target: 'local', engine: 'local', state: 'failed', createdAt: '', finishedAt: null, counts: null, timings: {}, resumeOf: null, sourceRun: null, external: null, error: null, summary: {} },
      manifest: { specVersion: 1, runId: 'r', stage: 'train', pipeline: evil, startedAt: '', finishedAt: '', dataFingerprint: null, counts: { total: 1, ok: 0, failed: 1, skipped: 0 }, groups: [group] },
      keyColumns: ['store'],
      metric: null,
      higherIsBetter: false,
      summary: [],
      selection: null,
      values: [],
      byKey: [],
      worst: [group],
      failures: [{ status: 'failed', label: evil, count: 1, example: evil, groups: [{ store: evil }] }],
      promotion: null,
      score: null,
      timings: [],
      timeUnit: 'ms',
      series: [{ groupId: 'g', keys: { store: evil }, why: 'worst', metric: null, history: [{ time: 0, value: 1 }], holdout: [], forecast: [] }],
      seriesNote: evil,
    });
    expect(html).not.toContain('<script');
    expect(html).toContain('&lt;script&gt;alert(1)&lt;/script&gt;');
  });
});
