// Weekly series with missing weeks just before the holdout, through the built CLI with the
// real Python runtime (issue 12: gbm failed every such group, blaming model.params.horizon).
// Needs `npm run build`.
import { describe, expect, it } from 'vitest';
import { projectKit, runIdOf } from '../helpers/project.js';

const kit = projectKit('mm-gaps-');

/** 12 weekly series of 120 weeks; in every other one the two weeks before the holdout are missing. */
function gappyCsv(): string {
  const lines = ['store,week,sales'];
  const start = Date.UTC(2022, 0, 2); // a Sunday
  for (let s = 0; s < 12; s += 1) {
    for (let w = 0; w < 120; w += 1) {
      if (s % 2 === 0 && (w === 110 || w === 111)) continue; // holdout = weeks 112..119
      const day = new Date(start + w * 7 * 86_400_000).toISOString().slice(0, 10);
      const sales = (s - 6 + 10 * Math.sin((w * 2 * Math.PI) / 52) + ((w * 7 + s * 3) % 5)).toFixed(2);
      lines.push(`${s},${day},${sales}`);
    }
  }
  return `${lines.join('\n')}\n`;
}

const yaml = (model: string): string => `version: 1
project: gaps
pipelines:
  - name: weekly
    data: { format: csv, path: data/weekly.csv }
    keys: [store]
    time: { column: week, frequency: W-SUN }
    target: sales
    task: forecast
    model: { type: ${model}, holdout: 8 }
    metrics: [mae]
    scoring: { horizon: 8, table: predictions }
`;

describe('gappy weekly series end to end', () => {
  it.each(['gbm', 'seasonal_naive', 'ets', 'linear'])('%s trains every group, gaps before the holdout included', async (model) => {
    const proj = kit.project({ yaml: yaml(model), files: { 'data/weekly.csv': gappyCsv() } });
    const train = await proj.run(['train']);
    expect(train.code, train.stderr + train.stdout).toBe(0);
    const manifest = JSON.parse(proj.read(`.manymodels/runs/${runIdOf(train.stdout)}/run-manifest.json`)) as {
      counts: { total: number; ok: number; failed: number; skipped: number };
      groups: Array<{ status: string; testRows: number; metrics: Record<string, number | null> }>;
    };
    expect(manifest.counts).toMatchObject({ total: 12, ok: 12, failed: 0, skipped: 0 });
    expect(manifest.groups.every((g) => g.testRows === 8 && Number.isFinite(g.metrics.mae))).toBe(true);
  });
});
