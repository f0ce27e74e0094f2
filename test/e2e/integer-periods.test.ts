// Integer week numbers (time.kind: period) with gaps, a stale series and holdout: {from},
// through the built CLI with the real Python runtime (issue 12). Needs `npm run build`.
import { describe, expect, it } from 'vitest';
import { projectKit, runIdOf, sqliteQuery } from '../helpers/project.js';

const kit = projectKit('mm-periods-');

/** 6 series over weeks 40–159; even stores miss weeks 148–149; store 5 stops at week 129. */
function weeksCsv(): string {
  const lines = ['store,week,sales'];
  for (let s = 0; s < 6; s += 1) {
    const end = s === 5 ? 130 : 160;
    for (let w = 40; w < end; w += 1) {
      if (s % 2 === 0 && (w === 148 || w === 149)) continue;
      lines.push(`${s},${w},${(s + 10 + 5 * Math.sin(w / 8.3) + ((w * 7 + s) % 3)).toFixed(2)}`);
    }
  }
  return `${lines.join('\n')}\n`;
}

const yaml = (model: string): string => `version: 1
project: periods
pipelines:
  - name: weekly
    data: { format: csv, path: data/weekly.csv }
    keys: [store]
    time: { column: week, kind: period }
    target: sales
    task: forecast
    model: { type: ${model}, holdout: { from: 152 }, stale: forecast_from_origin }
    metrics: [mae]
    scoring: { horizon: 8, table: predictions }
`;

describe('integer period indexes end to end', () => {
  it.each(['gbm', 'seasonal_naive', 'ets', 'linear'])('%s trains, scores and writes period numbers', async (model) => {
    const proj = kit.project({ yaml: yaml(model), files: { 'data/weekly.csv': weeksCsv() } });
    const validate = await proj.run(['validate']);
    expect(validate.code, validate.stderr + validate.stdout).toBe(0);
    const train = await proj.run(['train']);
    expect(train.code, train.stderr + train.stdout).toBe(0);
    const manifest = JSON.parse(proj.read(`.manymodels/runs/${runIdOf(train.stdout)}/run-manifest.json`)) as {
      counts: { ok: number; failed: number; skipped: number };
      groups: Array<{ keys: { store: string }; status: string; testRows: number; reason: string | null }>;
    };
    expect(manifest.counts).toMatchObject({ ok: 6, failed: 0, skipped: 0 });
    const stale = manifest.groups.find((g) => g.keys.store === '5')!;
    expect(stale.testRows).toBe(0);
    expect(stale.reason).toContain('stale: its last observation (129)');
    expect(stale.reason).toContain('forecast from 159');
    expect(manifest.groups.filter((g) => g.keys.store !== '5').every((g) => g.testRows === 8)).toBe(true);
    expect((await proj.run(['promote'])).code).toBe(0);
    const score = await proj.run(['score']);
    expect(score.code, score.stderr + score.stdout).toBe(0);
    const rows = sqliteQuery<{ store: string; time: string; forecast_origin: string }>(proj.path('.manymodels/predictions.db'), 'SELECT store, time, forecast_origin FROM predictions ORDER BY store, CAST(time AS INTEGER)');
    expect(rows).toHaveLength(48);
    expect(new Set(rows.map((r) => r.forecast_origin))).toEqual(new Set(['159']));
    expect(rows.filter((r) => r.store === '5').map((r) => r.time)).toEqual(['160', '161', '162', '163', '164', '165', '166', '167']);
  });

  it('refuses a holdout.from outside the data, at its YAML line', async () => {
    const proj = kit.project({ yaml: yaml('linear').replace('from: 152', 'from: 400'), files: { 'data/weekly.csv': weeksCsv() } });
    const validate = await proj.run(['validate']);
    expect(validate.code).toBe(2);
    expect(validate.stdout + validate.stderr).toContain('MM437');
  });

  it('says a period axis takes no frequency, and a holdout.from must be a period number (MM327)', async () => {
    const bad = yaml('linear').replace('kind: period }', 'kind: period, frequency: W }').replace('from: 152', 'from: 2024-01-01');
    const proj = kit.project({ yaml: bad, files: { 'data/weekly.csv': weeksCsv() } });
    const validate = await proj.run(['validate']);
    expect(validate.code).toBe(2);
    const out = validate.stdout + validate.stderr;
    expect(out).toContain('MM327: time.frequency is for dates');
    expect(out).toContain('MM327: holdout.from "2024-01-01" is not a whole period number');
  });
});
