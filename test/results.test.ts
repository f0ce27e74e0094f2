// Per-group results: `runs show RUN --groups` (table, CSV, JSON, worst/best, summary),
// `runs compare A B`, lists that say what they left out, and promotion's worst-first list —
// checked against the run manifests and promotion reports the real runtime wrote.
import { readFileSync, readdirSync, writeFileSync } from 'node:fs';
import path from 'node:path';
import { beforeAll, describe, expect, it } from 'vitest';
import type { GroupResult, RunManifest } from '../src/contracts/runs.js';
import { csvField } from '../src/cli/ui/results.js';
import { compareKeys, compareRuns, groupTable, keyOrder, quantile } from '../src/runs/results.js';
import { cli } from './helpers/cli.js';
import { projectKit, writeSampleData } from './helpers/project.js';

const scratch = projectKit('mm-results-').tempDir;

function group(id: string, keys: Record<string, string>, status: GroupResult['status'], metrics: Record<string, number> = {}, extra: Partial<GroupResult> = {}): GroupResult {
  return { groupId: id, modelName: `m__${id}`, keys, status, reason: null, errorClass: null, errorMessage: null, metrics, artifact: null, sha256: null, ...extra };
}

function manifest(runId: string, groups: GroupResult[]): RunManifest {
  return {
    specVersion: 1,
    runId,
    stage: 'train',
    pipeline: 'p',
    startedAt: '',
    finishedAt: '',
    dataFingerprint: null,
    counts: { total: groups.length, ok: groups.filter((g) => g.status === 'ok').length, failed: 0, skipped: 0 },
    groups,
  };
}

describe('groupTable and compareRuns', () => {
  const groups = [
    group('a', { store: '10' }, 'ok', { wape: 0.5, f1: 0.9 }),
    group('b', { store: '9' }, 'ok', { wape: 0.2, f1: 0.4 }),
    group('c', { store: '2' }, 'ok', { wape: 0.9, f1: 0.7 }),
    group('d', { store: '1' }, 'failed', {}, { errorClass: 'ValueError', errorMessage: 'line one\nthe fix is here' }),
  ];

  it('orders keys as numbers, ranks worst by the metric direction, leaves out groups without it', () => {
    expect(groupTable(manifest('r', groups)).rows.map((g) => g.keys.store)).toEqual(['1', '2', '9', '10']);
    expect(groupTable(manifest('r', groups), { worst: 2 }).rows.map((g) => g.groupId)).toEqual(['c', 'a']);
    expect(groupTable(manifest('r', groups), { sort: 'f1', worst: 1 }).rows.map((g) => g.groupId)).toEqual(['b']);
    expect(groupTable(manifest('r', groups), { sort: 'f1', best: 2 }).rows.map((g) => g.groupId)).toEqual(['a', 'c']);
    const failed = groupTable(manifest('r', groups), { status: 'failed' });
    expect([failed.matched, failed.total, failed.rows[0]!.groupId]).toEqual([1, 4, 'd']);
  });

  it('sorts many groups by keys in the order compareKeys gives, numbers as numbers', () => {
    const values = ['10', '9', '1', '01', '2', 'a10', 'a9', 'A2', 'b', '', 'ä1', 'x-3', '100'];
    const many: GroupResult[] = [];
    for (let i = 0; i < 600; i++) many.push(group(`g${i}`, { store: values[(i * 7) % values.length]!, item: values[(i * 11) % values.length]! }, 'ok'));
    const columns = ['store', 'item'];
    const expected = [...many].sort((a, b) => compareKeys(a.keys, b.keys, columns));
    expect([...many].sort(keyOrder(many, columns)).map((g) => g.groupId)).toEqual(expected.map((g) => g.groupId));
  });

  it('summarizes with numpy-style quantiles', () => {
    // numpy.quantile([0.2, 0.5, 0.9], [0.1, 0.5, 0.9]) = [0.26, 0.5, 0.82]
    const wape = groupTable(manifest('r', groups)).summary.find((s) => s.metric === 'wape')!;
    expect(wape.count).toBe(3);
    expect(wape.p10).toBeCloseTo(0.26, 12);
    expect(wape.p50).toBeCloseTo(0.5, 12);
    expect(wape.p90).toBeCloseTo(0.82, 12);
    expect(wape.mean).toBeCloseTo(1.6 / 3, 12);
    expect(quantile([], 0.5)).toBeNull();
  });

  it('counts better and worse per metric direction, new failures and fixes', () => {
    const after = [
      group('a', { store: '10' }, 'ok', { wape: 0.4, f1: 0.95 }),
      group('b', { store: '9' }, 'failed', {}, { errorClass: 'E', errorMessage: 'boom' }),
      group('c', { store: '2' }, 'ok', { wape: 1.2, f1: 0.7 }),
      group('d', { store: '1' }, 'ok', { wape: 0.3, f1: 0.5 }),
    ];
    const c = compareRuns(manifest('r1', groups), manifest('r2', after));
    const wape = c.metrics.find((m) => m.metric === 'wape')!;
    expect([wape.paired, wape.better, wape.worse, wape.unchanged]).toEqual([2, 1, 1, 0]);
    const f1 = c.metrics.find((m) => m.metric === 'f1')!;
    expect([f1.better, f1.worse, f1.unchanged]).toEqual([1, 0, 1]);
    expect(c.mostWorsened.map((g) => g.groupId)).toEqual(['c']);
    expect(c.mostImproved.map((g) => g.groupId)).toEqual(['a']);
    expect(c.newFailures.map((g) => g.groupId)).toEqual(['b']);
    expect(c.fixed.map((g) => g.groupId)).toEqual(['d']);
  });

  it('makes spreadsheet formulas inert and quotes per RFC 4180', () => {
    expect(csvField('=HYPERLINK("x")')).toBe(`"'=HYPERLINK(""x"")"`);
    expect(csvField('a,b')).toBe('"a,b"');
    expect(csvField(-1.5)).toBe('-1.5');
    expect(csvField(null)).toBe('');
  });
});

/** RFC 4180 rows (the fields we write have no embedded newlines). */
function parseCsv(text: string): string[][] {
  return text
    .trimEnd()
    .split('\r\n')
    .map((line) => {
      const out: string[] = [];
      let cell = '';
      let quoted = false;
      for (let i = 0; i < line.length; i += 1) {
        const ch = line[i]!;
        if (quoted) {
          if (ch === '"' && line[i + 1] === '"') (cell += '"'), (i += 1);
          else if (ch === '"') quoted = false;
          else cell += ch;
        } else if (ch === '"') quoted = true;
        else if (ch === ',') out.push(cell), (cell = '');
        else cell += ch;
      }
      out.push(cell);
      return out;
    });
}

describe('results of real runs', () => {
  let dir: string;
  let first: string;
  let second: string;
  const yaml = (model: string, rules: string): string => `version: 1
project: results
pipelines:
  - name: daily
    data: { format: csv, path: data/sales.csv }
    keys: [store_id, item_id]
    time: { column: date, frequency: D }
    target: sales
    task: forecast
    model: ${model}
    metrics: [wape, rmse]
    promotion:
      rules: ${rules}
      gate: { min_promoted_fraction: 0 }
    failure_budget: { max_failed_fraction: 0.5 }
    scoring: { horizon: 14, table: predictions }
`;
  const read = (id: string): RunManifest => JSON.parse(readFileSync(path.join(dir, '.manymodels/runs', id, 'run-manifest.json'), 'utf8')) as RunManifest;
  const trainRuns = (): string[] => readdirSync(path.join(dir, '.manymodels/runs')).filter((n) => n.includes('-train-')).sort();

  beforeAll(async () => {
    dir = scratch();
    writeSampleData(path.join(dir, 'data/sales.csv'), { stores: 3, items: 8, days: 200, seed: 11 });
    writeFileSync(path.join(dir, 'pipelines.yaml'), yaml('{ type: linear, holdout: 14 }', '[{ metric: wape, max: 0.3 }]'));
    expect((await cli(['train'], { cwd: dir })).code).toBe(0);
    writeFileSync(path.join(dir, 'pipelines.yaml'), yaml('{ type: seasonal_naive, holdout: 14 }', '[{ metric: wape, max: 0.3 }]'));
    expect((await cli(['train'], { cwd: dir })).code).toBe(0);
    [first, second] = trainRuns() as [string, string];
  }, 180_000);

  it('CSV has one row per group with the manifest metrics', async () => {
    const r = await cli(['runs', 'show', first, '--groups', '--output', 'csv'], { cwd: dir });
    expect(r.code).toBe(0);
    const [header, ...rows] = parseCsv(r.stdout);
    expect(header).toEqual(['store_id', 'item_id', 'status', 'reason', 'model', 'fit_seconds', 'wape', 'rmse', 'group_id']);
    const m = read(first);
    expect(rows).toHaveLength(m.groups.length);
    for (const row of rows) {
      const g = m.groups.find((x) => x.groupId === row[8])!;
      expect([row[0], row[1], row[2]]).toEqual([g.keys.store_id, g.keys.item_id, g.status]);
      expect(row[6] === '' ? undefined : Number(row[6])).toBe(g.metrics.wape);
    }
  });

  it('--worst N lists the N largest wape values, worst first, and a summary', async () => {
    const r = await cli(['runs', 'show', first, '--groups', '--worst', '3'], { cwd: dir });
    expect(r.code).toBe(0);
    const m = read(first);
    const worst = m.groups.filter((g) => Number.isFinite(g.metrics.wape)).sort((a, b) => b.metrics.wape! - a.metrics.wape!).slice(0, 3);
    const lines = r.stdout.split('\n');
    expect(lines[0]).toBe(`3 of ${m.groups.length} groups, sorted by wape`);
    expect(lines.slice(2, 5).map((l) => l.split(/\s+/).slice(0, 2).join(' '))).toEqual(worst.map((g) => `${g.keys.store_id} ${g.keys.item_id}`));
    expect(r.stdout).toMatch(/Summary over \d+ groups:\nMETRIC\s+BETTER\s+GROUPS\s+MEAN\s+P10\s+P50\s+P90/);
    const json = JSON.parse((await cli(['runs', 'show', first, '--groups', '--worst', '3', '--json'], { cwd: dir })).stdout) as { groups: GroupResult[] };
    expect(json.groups.map((g) => g.groupId)).toEqual(worst.map((g) => g.groupId));
  });

  it('refuses an unknown sort metric and a bad --output with MM318', async () => {
    const bad = await cli(['runs', 'show', first, '--groups', '--sort', 'mape'], { cwd: dir });
    expect([bad.code, bad.stderr]).toEqual([2, expect.stringContaining('MM318')]);
    expect(bad.stderr).toContain('Expected one of: wape, rmse');
    const out = await cli(['runs', 'show', first, '--groups', '--output', 'xlsx'], { cwd: dir });
    expect([out.code, out.stderr]).toEqual([2, expect.stringContaining('--output must be one of table, json, csv')]);
  });

  it('compare counts the groups that got better and worse', async () => {
    const r = await cli(['runs', 'compare', first, second, '--json'], { cwd: dir });
    expect(r.code).toBe(0);
    const c = JSON.parse(r.stdout) as ReturnType<typeof compareRuns>;
    const a = read(first);
    const b = read(second);
    const paired = b.groups.filter((g) => Number.isFinite(g.metrics.wape) && Number.isFinite(a.groups.find((x) => x.groupId === g.groupId)?.metrics.wape));
    const worse = paired.filter((g) => g.metrics.wape! > a.groups.find((x) => x.groupId === g.groupId)!.metrics.wape! + 1e-9).length;
    const wape = c.metrics.find((m) => m.metric === 'wape')!;
    expect([wape.paired, wape.worse]).toEqual([paired.length, worse]);
    const text = await cli(['runs', 'compare', first, second], { cwd: dir });
    expect(text.stdout).toContain(`Compare ${first}`);
    expect(text.stdout).toMatch(/wape\s+\S+ → \S+/);
  });

  it('promotion lists the worst rejections first, with "… and N more"', async () => {
    const r = await cli(['promote', '--dry-run', '--run', first], { cwd: dir });
    expect(r.code).toBe(0);
    const reportFile = /Report: (\S+)/.exec(r.stdout)![1]!;
    const report = JSON.parse(readFileSync(path.join(dir, reportFile), 'utf8')) as { decisions: Array<{ outcome: string; keys: Record<string, string>; shortfall: number | null }> };
    const rejected = report.decisions.filter((d) => d.outcome === 'reject');
    expect(rejected.length).toBeGreaterThan(5);
    const listed = r.stdout.split('\n').filter((l) => l.startsWith('  ✗ ')).map((l) => l.slice(4, l.indexOf(':')));
    const expected = [...rejected].sort((x, y) => (y.shortfall ?? Infinity) - (x.shortfall ?? Infinity)).slice(0, 5);
    expect(listed).toEqual(expected.map((d) => `store_id=${d.keys.store_id} item_id=${d.keys.item_id}`));
    expect(r.stdout).toContain(`… and ${rejected.length - 5} more rejected`);
  });

  it('lists say how many rows they left out', async () => {
    const runs = await cli(['runs', 'list', '--limit', '1'], { cwd: dir });
    const all = readdirSync(path.join(dir, '.manymodels/runs')).length;
    expect(runs.stdout).toContain(`… and ${all - 1} older runs: manymodels runs list --limit ${all}`);
    const models = await cli(['models', 'list', '--limit', '3'], { cwd: dir });
    expect(models.stdout.trimEnd().split('\n')).toHaveLength(5);
    expect(models.stdout).toContain('Showing the first 3; more match.');
  });
});
