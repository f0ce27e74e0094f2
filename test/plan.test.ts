// `manymodels plan` through the built CLI: the --json line contract, the profile against the
// runtime's own checks, --budget on a local and a Synapse target, the saved partition plan,
// and each MM80x error with its exit code and no stack trace.
import { describe, expect, it } from 'vitest';
import { projectKit } from './helpers/project.js';

const kit = projectKit('mm-plan-');

const PIPELINE = `pipelines:
  - name: daily
    data: { format: csv, path: "\${var.data}" }
    keys: [store_id, item_id]
    time: { column: date, frequency: D }
    target: sales
    features: [price, promo]
    task: forecast
    model: { type: linear, holdout: 14 }
    metrics: [wape]
`;

const FILE = `version: 1
project: shop
variables:
  data: data/sales.csv
targets:
  local:
    default: true
    engine: local
    workers: 2
    prices: { node_hour: 0.5, currency: EUR }
  syn:
    engine: synapse
    variables:
      data: abfss://lake@acct.dfs.core.windows.net/sales.csv
    synapse:
      endpoint: https://ws.dev.azuresynapse.net
      spark_pool: pool
      storage: { account_url: "https://acct.dfs.core.windows.net", container: manymodels }
      executor_size: Medium
      executors: 3
    prices: { node_hour: 1.2, start_seconds: 120 }
    sink: { type: synapse_sql, database: retail }
  dbx:
    engine: databricks
    variables:
      data: abfss://lake@acct.dfs.core.windows.net/sales.csv
    databricks:
      host: https://adb-1.azuredatabricks.net
      artifacts: { location: dbfs, path: "dbfs:/manymodels" }
      compute:
        new_cluster: { spark_version: 15.4.x-scala2.12, node_type_id: Standard_D16s_v3, num_workers: 4 }
    sink: { type: delta, path: "abfss://lake@acct.dfs.core.windows.net/predictions" }
${PIPELINE}`;

interface PlanLine {
  event: string;
  estimate: Record<string, { wall_seconds: number; vcpu_hours: number; cost: number | null; currency: string | null; nodes?: number; vcpus_per_node?: number; slots?: number; parts: Record<string, number>; budget?: { meets: boolean; recommended_nodes?: number | null; budget_seconds: number; reason?: string } }>;
  profile: { pipeline: string; rows: number; groups: number; groups_by_check: Record<string, number>; rows_per_group: { min: number; max: number; histogram: unknown[] }; time_range: { start: string; end: string } | null; giants: { arrow_limit_bytes: number } };
}

const lastLine = (stdout: string): PlanLine => JSON.parse(stdout.trim().split('\n').pop()!) as PlanLine;

describe('manymodels plan --json', () => {
  const project = kit.project({ yaml: FILE, sampleData: { stores: 2, items: 6, days: 120, seed: 3 } });

  it('ends with the plan line: a local estimate and the profile, as the runtime checks the groups', async () => {
    const r = await project.run(['plan', '--json', '--pilot', '5', '--seed', '1']);
    expect(r.stderr).not.toMatch(/at .*\.js:\d+/);
    expect(r.code).toBe(0);
    const lines = r.stdout.trim().split('\n').map((l) => JSON.parse(l) as { event: string });
    expect(lines.map((l) => l.event)).toEqual(['pilot', 'plan']);
    const plan = lastLine(r.stdout);
    expect(Object.keys(plan)).toEqual(['event', 'estimate', 'profile']);
    expect(Object.keys(plan.estimate)).toEqual(['local']);
    const local = plan.estimate.local!;
    expect(local.wall_seconds).toBeGreaterThan(0);
    expect(local.vcpu_hours).toBeCloseTo((2 * local.wall_seconds) / 3600, 3);
    expect(local.cost).toBeCloseTo((0.5 * local.wall_seconds) / 3600, 3);
    expect(local.currency).toBe('EUR');
    expect(Object.keys(local.parts)).toEqual(expect.arrayContaining(['cli_start', 'runtime_start', 'read', 'fit', 'register']));
    // The sample generator makes a few short, constant and late-starting series; the profile counts them as training would.
    expect(plan.profile.groups).toBe(12);
    const checks = plan.profile.groups_by_check;
    expect(Object.values(checks).reduce((a, b) => a + b, 0)).toBe(12);
    expect(plan.profile.time_range).toEqual({ start: '2015-01-01', end: '2015-04-30' });
    expect(plan.profile.giants.arrow_limit_bytes).toBe(2 ** 31);
    const pilot = lines[0] as unknown as { groups: number; seed: number; workers: number };
    expect(pilot).toMatchObject({ groups: 5, seed: 1, workers: 2 });
  });

  it('the profile agrees with what train then does', async () => {
    const plan = lastLine((await project.run(['plan', '--json', '--pilot', '0'])).stdout);
    const train = await project.run(['train', '--json']);
    expect(train.code).toBe(0);
    const summary = train.stdout.trim().split('\n').map((l) => JSON.parse(l) as { event: string; counts?: Record<string, number> }).find((e) => e.event === 'summary' && e.counts);
    const checks = plan.profile.groups_by_check;
    expect(summary?.counts).toMatchObject({ total: 12, ok: checks.ok, skipped: checks.short! + checks.constant! + checks.stale! + checks.empty! });
  });

  it('--budget on a Synapse target: the nodes that meet it, its cost, and the saved partition plan', async () => {
    const r = await project.run(['plan', '--json', '--target', 'syn', '--pilot', '4', '--budget', '1h']);
    expect(r.code).toBe(0);
    const plan = lastLine(r.stdout);
    expect(Object.keys(plan.estimate)).toEqual(['local', 'syn']);
    const syn = plan.estimate.syn!;
    expect(syn).toMatchObject({ nodes: 3, vcpus_per_node: 8, slots: 24, currency: 'USD' });
    expect(syn.parts.cluster_start).toBe(120);
    expect(syn.cost).toBeCloseTo((4 * 1.2 * syn.wall_seconds) / 3600, 3);
    expect(syn.vcpu_hours).toBeCloseTo((4 * 8 * syn.wall_seconds) / 3600, 3);
    expect(syn.budget).toMatchObject({ budget_seconds: 3600, meets: true, recommended_nodes: 1 });
    const saved = JSON.parse(project.read('.manymodels/plans/daily.json')) as { buckets: number; mapping: Array<{ keys: string[]; bucket: number }>; keys: string[] };
    expect(saved.buckets).toBe(24);
    expect(saved.keys).toEqual(['store_id', 'item_id']);
    expect(saved.mapping).toHaveLength(12);
    expect(new Set(saved.mapping.map((m) => m.bucket)).size).toBe(12); // fewer groups than buckets: one each

    // The compiled Spark training job carries it; scoring and the local engine do not.
    type Spec = { execution: { partition?: { buckets: number; mapping: Array<{ keys: string[]; bucket: number }> } } };
    const compiled = async (...flags: string[]): Promise<Spec> => JSON.parse((await project.run(['compile', '--stdout', ...flags])).stdout) as Spec;
    const train = await compiled('--target', 'syn', '--stage', 'train');
    expect(train.execution.partition?.buckets).toBe(24);
    expect(train.execution.partition?.mapping).toEqual(saved.mapping);
    expect((await compiled('--target', 'syn', '--stage', 'score')).execution.partition).toBeUndefined();
    expect((await compiled('--stage', 'train')).execution.partition).toBeUndefined();
    // A plan for other keys is not used: the job groups as it does without one.
    project.write('.manymodels/plans/daily.json', JSON.stringify({ ...saved, keys: ['store_id'] }));
    expect((await compiled('--target', 'syn', '--stage', 'train')).execution.partition).toBeUndefined();
  });

  it('a budget below the cluster start cannot be met by any node count, and says why', async () => {
    const r = await project.run(['plan', '--json', '--target', 'syn', '--pilot', '2', '--budget', '90s']);
    expect(r.code).toBe(0);
    const budget = lastLine(r.stdout).estimate.syn!.budget!;
    expect(budget).toMatchObject({ meets: false, recommended_nodes: null });
    expect(budget.reason).toMatch(/cluster start \(120 s\)/);
  });

  it('prints a compact table without --json', async () => {
    const r = await project.run(['plan', '--pilot', '3', '--budget', '2h']);
    expect(r.code).toBe(0);
    expect(r.stdout).toMatch(/^Pipeline daily: \d+ rows, 12 groups, 2015-01-01 to 2015-04-30$/m);
    expect(r.stdout).toMatch(/^estimate\s+wall\s+vCPU-h\s+cost\s+budget$/m);
    expect(r.stdout).toMatch(/^local \(2 workers\)\s+\d+\.\d s\s+\d+\.\d{3}\s+\d+\.\d{2} EUR\s+meets$/m);
  });
});

describe('manymodels plan errors', () => {
  const project = kit.project({ yaml: FILE, sampleData: { stores: 1, items: 2, days: 60, seed: 1 } });
  const noStack = (stderr: string): void => {
    expect(stderr).not.toMatch(/\n\s+at .*:\d+:\d+/);
    expect(stderr).not.toMatch(/Internal error/);
  };

  it.each([
    [['--budget', '30'], 'MM801', /--budget must be a wall time such as 30m/],
    [['--budget', '0m'], 'MM801', /more than zero/],
    [['--budget', 'soon'], 'MM801', /got "soon"/],
    [['--pilot', '-3'], 'MM802', /--pilot must be a whole number from 0 to 100000, got "-3"/],
    [['--seed', '1.5'], 'MM802', /--seed must be a whole number/],
    [['--target', 'nope'], 'MM304', /unknown target "nope"/],
  ])('plan %j: %s, exit 2', async (flags, code, message) => {
    const r = await project.run(['plan', ...flags]);
    expect(r.code).toBe(2);
    expect(r.stderr).toContain(`Error ${code}`);
    expect(r.stderr).toMatch(message);
    noStack(r.stderr);
  });

  it('a Databricks node type without prices.node_vcpus is MM805, before any pilot', async () => {
    const r = await project.run(['plan', '--target', 'dbx']);
    expect(r.code).toBe(2);
    expect(r.stderr).toContain('Error MM805');
    expect(r.stderr).toMatch(/vCPUs of node type Standard_D16s_v3/);
    expect(r.stderr).toMatch(/prices: \{ node_vcpus: 16/);
    noStack(r.stderr);
  });

  it('data on a cluster path with no local target to read it through is MM804', async () => {
    const remoteOnly = kit.project({
      yaml: FILE.replace(/  local:\n    default: true\n    engine: local\n    workers: 2\n    prices: \{ node_hour: 0.5, currency: EUR \}\n/, '').replace('  syn:\n', '  syn:\n    default: true\n'),
    });
    const r = await remoteOnly.run(['plan', '--target', 'syn']);
    expect(r.code).toBe(2);
    expect(r.stderr).toContain('Error MM804');
    expect(r.stderr).toMatch(/is at abfss:\/\/lake@acct\.dfs\.core\.windows\.net\/sales\.csv; the profile and the pilot read the data on this machine/);
    noStack(r.stderr);
  });

  it('a local data path that is a cluster path is MM804 too', async () => {
    const r = await project.run(['plan', '--var', 'data=dbfs:/mnt/sales.csv']);
    expect(r.code).toBe(2);
    expect(r.stderr).toContain('Error MM804');
    expect(r.stderr).toMatch(/which this machine cannot read/);
    noStack(r.stderr);
  });

  it("data with a header and no rows: the runtime reader's own code (MM413), as train gives it", async () => {
    project.write('data/empty.csv', 'store_id,item_id,date,sales,price,promo\n');
    const r = await project.run(['plan', '--var', 'data=data/empty.csv']);
    expect(r.code).toBe(2);
    expect(r.stderr).toMatch(/Error MM413: .*empty\.csv has a header but no data rows/);
    noStack(r.stderr);
  });
});
