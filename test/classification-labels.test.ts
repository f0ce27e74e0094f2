// Classification with text labels through the built CLI: train, promote and score a pipeline
// whose target is low / mid / high on generated data; the predictions carry the original labels
// and per-class probabilities that sum to 1, in the SQLite sink and from `manymodels serve`.
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { projectKit, runIdOf, type TestProject } from './helpers/project.js';
import { binEnv, startBin } from './helpers/reliability-kit.js';
import type { ChildProcess } from 'node:child_process';

const kit = projectKit('mm-labels-');
const LABELS = ['high', 'low', 'mid'];

/** Rows of 4 stores whose label follows x (a fixed generator: the same file every run). */
function labelledCsv(): string {
  let seed = 7;
  const rand = (): number => ((seed = (seed * 1_103_515_245 + 12_345) % 2_147_483_648) / 2_147_483_648);
  const lines = ['store_id,x,noise,level'];
  for (let s = 1; s <= 4; s++) {
    for (let i = 0; i < 120; i++) {
      const x = rand() * 4 - 2;
      const z = x + (rand() - 0.5) * 0.6;
      lines.push(`${s},${x.toFixed(4)},${rand().toFixed(4)},${z < -0.6 ? 'low' : z > 0.6 ? 'high' : 'mid'}`);
    }
  }
  return `${lines.join('\n')}\n`;
}

const yaml = (sink = ''): string => `pipelines:
  - name: levels
    data: { format: csv, path: data/levels.csv }
    keys: [store_id]
    target: level
    features: [x, noise]
    task: classification
    model: { type: logistic, holdout: 0.25 }
    metrics: [accuracy, f1]
    promotion:
      rules: [{ metric: accuracy, min: 0.5 }]
    scoring: { table: predictions${sink} }
`;

interface Row {
  store_id: string;
  row_index: number;
  prediction: number | null;
  label: string;
  probabilities: string;
}

describe('classification with text labels', () => {
  let project: TestProject;
  let trainRun = '';
  beforeAll(async () => {
    project = kit.project({ yaml: yaml(), files: { 'data/levels.csv': labelledCsv() } });
    for (const cmd of ['train', 'promote', 'score']) {
      const r = await project.run([cmd]);
      expect(r.code, r.stdout + r.stderr).toBe(0);
      if (cmd === 'train') trainRun = runIdOf(r.stdout);
    }
  }, 240_000);

  it('scores the original labels with probabilities that sum to 1', () => {
    const rows = project.query<Row>('.manymodels/predictions.db', 'SELECT store_id, row_index, prediction, label, probabilities FROM predictions ORDER BY row_index');
    expect(rows).toHaveLength(480);
    expect(new Set(rows.map((r) => r.label))).toEqual(new Set(LABELS));
    for (const r of rows) {
      expect(r.prediction).toBeNull();
      const p = JSON.parse(r.probabilities) as Record<string, number>;
      expect(Object.keys(p)).toEqual(LABELS);
      expect(Math.abs(Object.values(p).reduce((a, b) => a + b, 0) - 1)).toBeLessThan(1e-9);
      expect(Object.entries(p).sort((a, b) => b[1] - a[1])[0]![0]).toBe(r.label);
    }
    // The labels are mostly right: x decides them.
    const data = labelledCsv().trim().split('\n').slice(1).map((l) => l.split(',')[3]);
    const right = rows.filter((r) => r.label === data[r.row_index]).length;
    expect(right / rows.length).toBeGreaterThan(0.8);
  });

  it('computes the metrics against the labels', async () => {
    const r = await project.run(['runs', 'show', trainRun, '--groups', '--output', 'csv']);
    expect(r.code, r.stderr).toBe(0);
    expect(r.stdout).toMatch(/accuracy/);
    const header = r.stdout.trim().split('\n')[0]!.split(',');
    const acc = header.indexOf('accuracy');
    const values = r.stdout.trim().split('\n').slice(1).map((l) => Number(l.split(',')[acc]));
    expect(values).toHaveLength(4);
    for (const v of values) expect(v).toBeGreaterThan(0.7);
  });

  describe('manymodels serve', () => {
    let child: ChildProcess;
    let url = '';
    beforeAll(async () => {
      const started = startBin(['serve', '--port', '0'], { cwd: project.dir, env: binEnv() });
      child = started.child;
      let stderr = '';
      child.stderr!.on('data', (d: Buffer) => (stderr += d.toString()));
      const end = Date.now() + 60_000;
      while (!/ on (http:\/\/\S+)/.test(stderr)) {
        if (Date.now() > end || child.exitCode !== null) throw new Error(`serve did not start: ${stderr}`);
        await new Promise((r) => setTimeout(r, 50));
      }
      url = / on (http:\/\/\S+)/.exec(stderr)![1]!;
    }, 90_000);
    afterAll(() => {
      child?.kill('SIGKILL');
    });

    it('answers each row with its label and probabilities, as batch scoring wrote them', async () => {
      const rows = project.query<Row>('.manymodels/predictions.db', "SELECT store_id, row_index, prediction, label, probabilities FROM predictions WHERE store_id = '2' ORDER BY row_index LIMIT 5");
      const data = labelledCsv().trim().split('\n').slice(1).map((l) => l.split(','));
      const body = { keys: { store_id: '2' }, rows: rows.map((r) => ({ x: Number(data[r.row_index]![1]), noise: Number(data[r.row_index]![2]) })) };
      const res = await fetch(`${url}/v1/pipelines/levels/predict`, { method: 'POST', body: JSON.stringify(body), headers: { 'content-type': 'application/json' } });
      const json = (await res.json()) as { predictions: Array<{ prediction: string; probabilities: Record<string, number> }> };
      expect(res.status, JSON.stringify(json)).toBe(200);
      expect(json.predictions).toHaveLength(5);
      json.predictions.forEach((p, i) => {
        expect(p.prediction).toBe(rows[i]!.label);
        const batch = JSON.parse(rows[i]!.probabilities) as Record<string, number>;
        expect(Object.keys(p.probabilities)).toEqual(LABELS);
        for (const k of LABELS) expect(p.probabilities[k]).toBeCloseTo(batch[k]!, 12);
      });
    }, 60_000);
  });
});
