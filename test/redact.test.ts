// One redaction point per side: what the CLI prints and keeps under .manymodels/ goes through
// core/redact.ts, what the Python runtime writes through manymodels_runtime/redact.py. Fake
// secrets given every way a user gives them (--var, ${env.X}, the YAML itself, the environment)
// go through real CLI processes on the local engine; then every byte printed and every file under
// .manymodels/ is searched for them.
import { execFileSync } from 'node:child_process';
import { readdirSync, readFileSync, statSync } from 'node:fs';
import path from 'node:path';
import { describe, expect, it } from 'vitest';
import { MIN_SECRET_LENGTH, redactOutput, redactSecrets, redactValue, registerSecret, SECRET_PATTERNS } from '../src/core/redact.js';
import { cliEnv, projectKit, PYTHON, REPO, writeSampleData, type RunResult } from './helpers/project.js';

const kit = projectKit('mm-redact-');

/** Runs Python's redact() on each sample and returns its pattern list too. */
function pythonRedaction(samples: string[]): { patterns: Array<[string, string, string]>; out: string[] } {
  const code = [
    'import json, sys',
    'from manymodels_runtime.redact import SECRET_PATTERNS, redact',
    'samples = json.loads(sys.stdin.read())',
    'print(json.dumps({"patterns": SECRET_PATTERNS, "out": [redact(s) for s in samples]}))',
  ].join('\n');
  const text = execFileSync(PYTHON, ['-c', code], { input: JSON.stringify(samples), env: { ...process.env, PYTHONPATH: path.join(REPO, 'pyspark-templates') }, encoding: 'utf8' });
  return JSON.parse(text) as { patterns: Array<[string, string, string]>; out: string[] };
}

const SAMPLES = [
  'https://acct.blob.core.windows.net/c/data.csv?sv=2024-01-01&ss=b&srt=co&sp=rl&se=2030-01-01T00:00:00Z&sig=abc%2Fdef%3D',
  'data/sales.csv?sig=FAKE123',
  'Authorization: Bearer eyJhbGciOiJIUzI1NiJ9.eyJzdWIiOiIxIn0.c2lnbmF0dXJlX2hlcmU',
  'authorization=basic dXNlcjpwYXNz',
  'token dapi0123456789abcdef0123456789abcdef-2 here',
  'DATABRICKS_CLIENT_SECRET dose0123456789abcdef0123456789abcdef in a message',
  'jdbc:sqlserver://h:1433;database=d;user=u;password=hunter2;encrypt=true',
  'DefaultEndpointsProtocol=https;AccountName=a;AccountKey=abc123==;EndpointSuffix=core.windows.net',
  'Endpoint=sb://x.servicebus.windows.net/;SharedAccessKeyName=k;SharedAccessKey=s3cr3t=',
  '{"client_secret": "abc", "password":"p\\"q"}',
  'PWD = "quoted value"',
  'nothing secret here: store=1&item=2',
  'BEARER short',
  'access_token:xyz,next',
];

describe('redaction: one list of patterns, the same on both sides', () => {
  it('Python has the same patterns as TypeScript and gives the same text on every sample', () => {
    const py = pythonRedaction(SAMPLES);
    expect(py.patterns).toEqual(SECRET_PATTERNS.map(([re, replacement]) => [re.source, re.flags, replacement]));
    expect(py.out).toEqual(SAMPLES.map(redactSecrets));
    // The samples do exercise every pattern.
    for (const [re] of SECRET_PATTERNS) expect(SAMPLES.some((s) => new RegExp(re.source, re.flags).test(s)), re.source).toBe(true);
  });

  it('a registered secret value is redacted wherever it appears, on both sides, as written and JSON-escaped', () => {
    const secret = 'pg"Pa55\\word';
    const text = `connect failed (a tab) for ${secret}; ${JSON.stringify({ message: `auth ${secret}` })}`;
    expect(redactSecrets(text)).toContain('Pa55');
    registerSecret(secret);
    // shorter than MIN_SECRET_LENGTH: refused with MM453, without the value in the message
    expect(() => registerSecret('zq', 'the password in data.sql.password_env (P)')).toThrow(
      expect.objectContaining({ code: 'MM453', message: expect.not.stringContaining('zq') }),
    );
    expect(MIN_SECRET_LENGTH).toBe(4);
    const out = redactOutput(text);
    expect(out).not.toContain('Pa55');
    expect(out).toContain('ab');
    const code = ['import json, sys', 'from manymodels_runtime.redact import register_secret, redact, redact_json, MIN_SECRET_LENGTH',
      'd = json.loads(sys.stdin.read())', 'register_secret(d["secret"])',
      'print(json.dumps([redact(d["text"]), redact_json({"m": d["secret"]}, json.dumps), MIN_SECRET_LENGTH]))'].join('\n');
    const py = JSON.parse(execFileSync(PYTHON, ['-c', code], { input: JSON.stringify({ secret, text }), env: { ...process.env, PYTHONPATH: path.join(REPO, 'pyspark-templates') }, encoding: 'utf8' })) as [string, string, number];
    expect(py[0]).toBe(redactSecrets(text));
    expect(py[1]).toBe('{"m": "***"}');
    expect(py[2]).toBe(MIN_SECRET_LENGTH);
  });

  it('JSON is redacted value by value and stays JSON, in the same layout', () => {
    const doc = { message: 'open "data.csv?sig=XYZ" failed: password="p\\"w"', n: 1 };
    for (const text of [JSON.stringify(doc), `${JSON.stringify(doc, null, 2)}\n`]) {
      const out = redactOutput(text);
      expect(JSON.parse(out)).toEqual(redactValue(doc));
      expect(out).not.toContain('XYZ');
      expect(out.includes('\n  "message"')).toBe(text.includes('\n  "message"'));
    }
    const ndjson = `${JSON.stringify({ event: 'error', message: 'x?sig=ABC' })}\n[manymodels] read data.csv?sig=DEF\n`;
    const out = redactOutput(ndjson).split('\n');
    expect(JSON.parse(out[0]!)).toEqual({ event: 'error', message: 'x?sig=***' });
    expect(out[1]).toBe('[manymodels] read data.csv?sig=***');
    // Nothing to redact: the very same text (no re-serialising).
    const plain = '{ "a":  1 }\n';
    expect(redactOutput(plain)).toBe(plain);
  });
});

/** Every file under `dir`, recursively, read as latin1 (SQLite databases and pickles too). */
function allFiles(dir: string): Array<{ file: string; text: string }> {
  const out: Array<{ file: string; text: string }> = [];
  for (const name of readdirSync(dir)) {
    const full = path.join(dir, name);
    const st = statSync(full);
    if (st.isDirectory()) out.push(...allFiles(full));
    else if (st.isFile()) out.push({ file: full, text: readFileSync(full, 'latin1') });
  }
  return out;
}

const SIG_VAR = 'FAKESIGvar0123456789abcdef';
const SIG_ENV = 'FAKESIGenv9876543210fedcba';
const PASSWORD = 'FAKEPWDyaml77hunter';
const BEARER = 'FAKEBEARERtoken0123456789';
const PAT = 'dapi0123456789abcdef0123456789abcdef';
const SECRETS = [SIG_VAR, SIG_ENV, PASSWORD, BEARER, PAT.slice(4)];

const pipeline = (name: string, dataPath: string): string => `  - name: ${name}
    data: { format: csv, path: "${dataPath}" }
    keys: [store_id, item_id]
    time: { column: date, frequency: D }
    target: sales
    features: [price, promo]
    task: forecast
    model: { type: linear, holdout: 7 }
    metrics: [wape, rmse]
    promotion:
      rules: [{ metric: wape, max: 5.0 }]
      gate: { min_promoted_fraction: 0.1 }
    scoring: { horizon: 7, table: predictions }
`;

describe('no secret in any output or under .manymodels/', () => {
  it('SAS tokens from --var and ${env.X}, a password in the YAML, a bearer token in the environment', async () => {
    const sasVar = `sv=2024-01-01&sp=rl&sig=${SIG_VAR}`;
    const sasEnv = `sv=2024-01-01&sr=c&sig=${SIG_ENV}`;
    const yaml = `version: 1
project: secrets
variables:
  data: { default: data/sales.csv }
pipelines:
${pipeline('daily', '${var.data}')}${pipeline('weekly', 'data/env.csv?${env.MM_FAKE_SAS}')}${pipeline('broken', `data/missing.csv?user=u&password=${PASSWORD}`)}${pipeline('gone', 'data/gone.csv#${env.MM_FAKE_AUTH}')}`;
    const project = kit.project({
      yaml,
      env: cliEnv({ MM_FAKE_SAS: sasEnv, MM_FAKE_AUTH: `Bearer ${BEARER}`, DATABRICKS_TOKEN: PAT, AZURE_STORAGE_SAS: `?${sasEnv}` }),
    });
    // The data files are really named so: a local path keeps its query part.
    writeSampleData(project.path(`data/sales.csv?${sasVar}`), { stores: 2, items: 2, days: 90 });
    writeSampleData(project.path(`data/env.csv?${sasEnv}`), { stores: 2, items: 2, days: 90 });
    const v = ['--var', `data=data/sales.csv?${sasVar}`];

    const results: Array<{ argv: string[]; r: RunResult }> = [];
    const run = async (argv: string[], expected: number): Promise<RunResult> => {
      const r = await project.run(argv);
      results.push({ argv, r });
      expect(r.code, `${argv.join(' ')}\n${r.stderr}`).toBe(expected);
      return r;
    };
    await run(['validate', ...v], 0);
    await run(['validate', ...v, '--json'], 0);
    await run(['compile', ...v], 0);
    await run(['compile', ...v, '--stdout'], 0);
    await run(['compile', 'daily', ...v, '--stage', 'score', '--json'], 0);
    for (const name of ['daily', 'weekly']) {
      await run(['train', name, ...v], 0);
      await run(['train', name, ...v, '--json'], 0);
    }
    await run(['train', 'broken', ...v], 2);
    await run(['train', 'broken', ...v, '--json'], 2);
    await run(['train', 'gone', ...v, '--json'], 2);
    await run(['promote', 'daily', ...v], 0);
    await run(['promote', 'weekly', ...v, '--json'], 0);
    await run(['promote', 'broken', ...v, '--json'], 2);
    for (const name of ['daily', 'weekly']) {
      await run(['score', name, ...v], 0);
      await run(['score', name, ...v, '--json'], 0);
    }
    const list = await run(['runs', 'list', ...v, '--json'], 0);
    const runs = JSON.parse(list.stdout) as Array<{ id: string; pipeline: string; stage: string; state: string }>;
    for (const r of runs) {
      await run(['runs', 'show', r.id, ...v], 0);
      await run(['runs', 'show', r.id, ...v, '--json'], 0);
    }
    await run(['runs', 'list', ...v], 0);
    await run(['models', 'list', ...v, '--json'], 0);
    const daily = runs.find((r) => r.pipeline === 'daily' && r.stage === 'train' && r.state === 'succeeded')!;
    const report = await run(['report', daily.id, ...v, '--json'], 0);
    await run(['report', daily.id, ...v, '--html', 'report.html'], 0);
    await run(['report', daily.id, '--html', 'no-var.html'], 0);

    // It all still worked: the runtime read the data behind each secret path, the report too.
    expect(runs.filter((r) => r.stage === 'score' && r.state === 'succeeded').length).toBe(4);
    expect(project.query<{ n: number }>('.manymodels/predictions.db', 'SELECT COUNT(*) AS n FROM predictions')[0]!.n).toBeGreaterThan(0);
    const data = JSON.parse(report.stdout) as { seriesNote: string | null; series: Array<{ history: unknown[] }> };
    expect(data.seriesNote).toBeNull();
    expect(data.series.some((s) => s.history.length > 0)).toBe(true);
    // What was redacted says so: the error names the file, without its secret.
    const broken = results.find((x) => x.argv.includes('broken') && x.argv.includes('--json'))!.r;
    expect(broken.stdout).toContain('data/missing.csv?user=u&password=***');

    const leaks: string[] = [];
    const search = (where: string, text: string): void => {
      for (const secret of SECRETS) if (text.includes(secret)) leaks.push(`${where}: ${secret}`);
    };
    for (const { argv, r } of results) {
      search(`stdout of ${argv.join(' ')}`, r.stdout);
      search(`stderr of ${argv.join(' ')}`, r.stderr);
    }
    const kept = allFiles(project.path('.manymodels'));
    expect(kept.some((f) => f.file.endsWith('jobspec.json'))).toBe(true);
    expect(kept.some((f) => f.file.endsWith('runtime.log'))).toBe(true);
    expect(kept.some((f) => f.file.endsWith('registry.db'))).toBe(true);
    for (const { file, text } of kept) search(path.relative(project.dir, file), text);
    search('report.html', readFileSync(project.path('report.html'), 'latin1'));
    search('no-var.html', readFileSync(project.path('no-var.html'), 'latin1'));
    expect(leaks).toEqual([]);
  }, 300_000);
});
