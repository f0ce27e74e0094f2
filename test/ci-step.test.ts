// manymodels as a CI step: the built CLI (bin/manymodels.js, a child process) under Azure
// Pipelines (TF_BUILD=True) and GitHub Actions (GITHUB_ACTIONS=true). Every command line it
// prints is checked against the logging-command grammar of its system, escaping included; a
// diagnostic and a group error quote `;`, `]`, `%`, a newline, an injected command and a fake
// secret; the --junit files validate against docs/junit.xsd with xmllint.
import { execFileSync, spawnSync } from 'node:child_process';
import { existsSync, mkdirSync, readdirSync, readFileSync, statSync, writeFileSync } from 'node:fs';
import path from 'node:path';
import { beforeAll, describe, expect, it } from 'vitest';
import { azureCommand } from '../src/cli/ui/ci/azure.js';
import { githubCommand } from '../src/cli/ui/ci/github.js';
import { junitXml } from '../src/cli/ui/ci/junit.js';
import { projectKit } from './helpers/project.js';

const repo = path.resolve(import.meta.dirname, '..');
const bin = path.join(repo, 'bin/manymodels.js');
const scratch = projectKit('mm-ci-').tempDir;
const SECRET = 'hunter2';
/** A storage connection string's key, quoted by a group's error. */
const ACCOUNT_KEY = 'c2VjcmV0LWtleS12YWx1ZQ==';
/** A target name that is every escaping problem at once, plus a secret the redaction must catch. */
const NASTY = `x;]%\nq password=${SECRET}`;

// --- the CLI, built and run as a child process ------------------------------------------

function newestMtime(dir: string): number {
  let newest = 0;
  for (const entry of readdirSync(dir, { withFileTypes: true })) {
    const full = path.join(dir, entry.name);
    newest = Math.max(newest, entry.isDirectory() ? newestMtime(full) : statSync(full).mtimeMs);
  }
  return newest;
}

/** `npm run build` when dist/ is older than src/ (the test must see this worktree's code). */
function ensureBuilt(): void {
  const main = path.join(repo, 'dist/cli/main.js');
  if (existsSync(main) && statSync(main).mtimeMs >= newestMtime(path.join(repo, 'src'))) return;
  execFileSync(process.execPath, [path.join(repo, 'node_modules/typescript/bin/tsc'), '-p', 'tsconfig.build.json'], { cwd: repo, stdio: 'pipe' });
}

interface Run {
  code: number;
  stdout: string;
  stderr: string;
  lines: string[];
}

/** The CLI with a clean environment: only what is given, never the CI variables of the machine running the tests. */
function manymodels(args: string[], cwd: string, env: Record<string, string>): Run {
  const base: Record<string, string> = { PATH: process.env.PATH ?? '', HOME: process.env.HOME ?? cwd };
  if (process.env.MANYMODELS_PYTHON) base.MANYMODELS_PYTHON = process.env.MANYMODELS_PYTHON;
  const r = spawnSync(process.execPath, [bin, ...args], { cwd, env: { ...base, ...env }, encoding: 'utf8', timeout: 120_000 });
  if (r.error) throw r.error;
  const stdout = r.stdout ?? '';
  const stderr = r.stderr ?? '';
  return { code: r.status ?? -1, stdout, stderr, lines: `${stdout}\n${stderr}`.split(/\r?\n/) };
}

// --- Azure Pipelines logging-command grammar --------------------------------------------

/** A property value: no raw `;`, `]`, `%`, CR or LF; `%` only as the agent's escapes. */
const AZ_VALUE = String.raw`(?:[^;\]%\r\n]|%AZP25|%0D|%0A|%5D|%3B)*`;
/** The message: no raw CR or LF; `%` only as %AZP25, %0D, %0A. */
const AZ_DATA = String.raw`(?:[^%\r\n]|%AZP25|%0D|%0A)*`;
const AZURE_LINE = new RegExp(String.raw`^##vso\[(task\.[a-z]+)((?: (?:[A-Za-z]+=${AZ_VALUE};)+)?)\](${AZ_DATA})$`);

const unescapeAzure = (s: string): string =>
  s.replace(/%AZP25|%0D|%0A|%5D|%3B/g, (m) => ({ '%AZP25': '%', '%0D': '\r', '%0A': '\n', '%5D': ']', '%3B': ';' })[m]!);

interface AzureCommand {
  command: string;
  props: Record<string, string>;
  message: string;
  raw: string;
}

/** Every `##vso[` line, parsed; fails the test on a line that breaks the grammar or on any `##[` line. */
function azureCommands(run: Run): AzureCommand[] {
  const out: AzureCommand[] = [];
  for (const line of run.lines) {
    expect(line.startsWith('##['), `formatting command: ${line}`).toBe(false);
    if (!line.includes('##vso[')) continue;
    const m = AZURE_LINE.exec(line);
    expect(m, `not a logging command: ${line}`).not.toBeNull();
    // One command per line: a quoted `##vso[` (from a group's error) must have been broken up.
    expect(line.indexOf('##vso[', 1), `second command in: ${line}`).toBe(-1);
    const props: Record<string, string> = {};
    for (const part of m![2]!.trim().split(';').filter(Boolean)) {
      const eq = part.indexOf('=');
      props[part.slice(0, eq)] = unescapeAzure(part.slice(eq + 1));
    }
    const cmd = { command: m![1]!, props, message: unescapeAzure(m![3]!), raw: line };
    checkAzureCommand(cmd);
    out.push(cmd);
  }
  return out;
}

const VARIABLE = /^[A-Za-z][A-Za-z0-9_]*$/;

function checkAzureCommand(c: AzureCommand): void {
  const keys = Object.keys(c.props).sort();
  switch (c.command) {
    case 'task.logissue':
      expect(['error', 'warning']).toContain(c.props.type);
      for (const k of keys) expect(['code', 'columnnumber', 'linenumber', 'sourcepath', 'type']).toContain(k);
      if (c.props.code !== undefined) expect(c.props.code).toMatch(/^MM\d{3}$/);
      if (c.props.linenumber !== undefined) expect(c.props.linenumber).toMatch(/^[1-9]\d*$/);
      if (c.props.columnnumber !== undefined) expect(c.props.columnnumber).toMatch(/^[1-9]\d*$/);
      break;
    case 'task.setprogress':
      expect(keys).toEqual(['value']);
      expect(Number(c.props.value)).toBeGreaterThanOrEqual(0);
      expect(Number(c.props.value)).toBeLessThanOrEqual(100);
      expect(c.props.value).toMatch(/^\d+$/);
      break;
    case 'task.setvariable':
      expect(keys).toEqual(['isOutput', 'variable']);
      expect(c.props.isOutput).toBe('true');
      expect(c.props.variable).toMatch(VARIABLE);
      break;
    case 'task.uploadsummary':
      expect(keys).toEqual([]);
      expect(path.isAbsolute(c.message), c.message).toBe(true);
      expect(existsSync(c.message), c.message).toBe(true);
      break;
    case 'task.complete':
      expect(c.props).toEqual({ result: 'SucceededWithIssues' });
      break;
    default:
      throw new Error(`unexpected logging command ${c.command}`);
  }
}

// --- GitHub Actions workflow-command grammar ---------------------------------------------

const GH_VALUE = String.raw`(?:[^%\r\n:,]|%25|%0D|%0A|%3A|%2C)*`;
const GH_DATA = String.raw`(?:[^%\r\n]|%25|%0D|%0A)*`;
const GH_PROP = String.raw`(?:file|line|col|endLine|endColumn|title)=${GH_VALUE}`;
const GITHUB_LINE = new RegExp(String.raw`^::(error|warning|notice)(?: (${GH_PROP}(?:,${GH_PROP})*))?::(${GH_DATA})$`);

const unescapeGithub = (s: string): string =>
  s.replace(/%25|%0D|%0A|%3A|%2C/g, (m) => ({ '%25': '%', '%0D': '\r', '%0A': '\n', '%3A': ':', '%2C': ',' })[m]!);

interface GithubCommand {
  command: string;
  props: Record<string, string>;
  message: string;
}

function githubCommands(run: Run): GithubCommand[] {
  const out: GithubCommand[] = [];
  for (const line of run.lines) {
    expect(line.includes('##['), `legacy command: ${line}`).toBe(false);
    if (!line.trimStart().startsWith('::')) continue;
    const m = GITHUB_LINE.exec(line);
    expect(m, `not a workflow command: ${line}`).not.toBeNull();
    const props: Record<string, string> = {};
    for (const part of (m![2] ?? '').split(',').filter(Boolean)) {
      const eq = part.indexOf('=');
      props[part.slice(0, eq)] = unescapeGithub(part.slice(eq + 1));
    }
    if (props.line !== undefined) expect(props.line).toMatch(/^[1-9]\d*$/);
    if (props.col !== undefined) expect(props.col).toMatch(/^[1-9]\d*$/);
    if (props.title !== undefined) expect(props.title).toMatch(/^MM\d{3}$/);
    out.push({ command: m![1]!, props, message: unescapeGithub(m![3]!) });
  }
  return out;
}

// --- JUnit against docs/junit.xsd ----------------------------------------------------------

const haveXmllint = spawnSync('xmllint', ['--version'], { stdio: 'ignore' }).error === undefined;
const skipXml = !haveXmllint && !process.env.CI;
if (skipXml) console.warn('ci-step.test.ts: xmllint not found, so the JUnit schema checks are skipped; install it with scripts/bootstrap.sh (Debian: libxml2-utils). Under CI=true they fail instead.');

function validateJunit(file: string): string {
  expect(haveXmllint, 'xmllint is needed to validate the JUnit reports (scripts/bootstrap.sh installs libxml2-utils)').toBe(true);
  const r = spawnSync('xmllint', ['--noout', '--schema', path.join(repo, 'docs/junit.xsd'), file], { encoding: 'utf8' });
  expect(r.status, r.stderr).toBe(0);
  return readFileSync(file, 'utf8');
}

const testcases = (xml: string): Array<{ classname: string; name: string; body: string }> =>
  [...xml.matchAll(/<testcase classname="([^"]*)" name="([^"]*)" time="[^"]*"(?:\/>|>([\s\S]*?)<\/testcase>)/g)].map((m) => ({ classname: m[1]!, name: m[2]!, body: m[3] ?? '' }));

// --- the project: 2 stores × 10 items; item 7 raises an error that quotes everything at once ---

const RULES_PASS = '[{ metric: wape, max: 0.5 }]';
const RULES_FAIL = '[{ metric: wape, max: 0.0000001 }]';

function pipelinesYaml(rules: string): string {
  return `version: 1
project: ci
pipelines:
  - name: daily
    data: { format: csv, path: data/sales.csv }
    keys: [store_id, item_id]
    time: { column: date, frequency: D }
    target: sales
    features: [flag]
    task: forecast
    model: { type: custom, path: flaky.py, holdout: 7 }
    metrics: [wape, rmse]
    promotion:
      rules: ${rules}
      gate: { min_promoted_fraction: 0.5 }
    failure_budget: { max_failed: 2 }
    scoring: { horizon: 7, table: predictions }
`;
}

function project(): string {
  const dir = scratch();
  const lines = ['store_id,item_id,date,sales,flag'];
  for (let store = 1; store <= 2; store++) {
    for (let item = 1; item <= 10; item++) {
      for (let day = 0; day < 60; day++) {
        const date = new Date(Date.UTC(2024, 0, 1 + day)).toISOString().slice(0, 10);
        lines.push(`${store},${item},${date},${10 * item + store + (day % 7)},${item === 7 ? 1 : 0}`);
      }
    }
  }
  mkdirSync(path.join(dir, 'data'));
  writeFileSync(path.join(dir, 'data/sales.csv'), `${lines.join('\n')}\n`);
  writeFileSync(
    path.join(dir, 'flaky.py'),
    [
      'import numpy as np',
      '',
      'def train(pdf, params):',
      "    if pdf['flag'].max() == 1:",
      `        raise ValueError('cursed; 100% ] ##vso[task.setvariable variable=evil]pwned password=${SECRET} AccountKey=${ACCOUNT_KEY}\\n::error::injected')`,
      "    return float(pdf['sales'].mean())",
      '',
      'def predict(model, pdf):',
      '    return np.full(len(pdf), model)',
      '',
    ].join('\n'),
  );
  writeFileSync(path.join(dir, 'pipelines.yaml'), pipelinesYaml(RULES_PASS));
  return dir;
}

const AZURE = { TF_BUILD: 'True' };

function noSecret(...texts: string[]): void {
  for (const t of texts) {
    expect(t).not.toContain(SECRET);
    expect(t).not.toContain(ACCOUNT_KEY);
  }
}

beforeAll(ensureBuilt, 120_000);

describe('under Azure Pipelines (TF_BUILD=True)', () => {
  let dir: string;
  let trainRun = '';

  beforeAll(() => {
    dir = project();
  });

  it('reports a diagnostic as task.logissue at its file:line:col, escaped and redacted', () => {
    const run = manymodels(['validate', '--target', NASTY], dir, AZURE);
    expect(run.code).toBe(2);
    const issues = azureCommands(run).filter((c) => c.command === 'task.logissue');
    expect(issues).toHaveLength(1);
    const [issue] = issues;
    expect(issue!.props).toEqual({ type: 'error', sourcepath: 'pipelines.yaml', linenumber: '1', columnnumber: '1', code: 'MM304' });
    expect(issue!.message).toBe('unknown target "x;]%\nq password=***"\nExpected one of: local.');
    expect(issue!.raw).toContain('x;]%AZP25%0Aq');
    noSecret(run.stdout, run.stderr);
  });

  it('puts the commands on stderr with --json, leaving stdout the JSON result', () => {
    const run = manymodels(['validate', '--json', '--target', NASTY], dir, AZURE);
    expect(run.code).toBe(2);
    expect(JSON.parse(run.stdout)).toMatchObject({ ok: false });
    expect(run.stdout).not.toContain('##vso[');
    expect(azureCommands({ ...run, lines: run.stderr.split('\n') }).map((c) => c.props.code)).toEqual(['MM304']);
    noSecret(run.stdout, run.stderr);
  });

  it('reports a command-line mistake (unknown flag) as an MM318 error', () => {
    const run = manymodels(['validate', '--frobnicate'], dir, AZURE);
    expect(run.code).toBe(2);
    const issues = azureCommands(run);
    expect(issues.map((c) => [c.command, c.props.type, c.props.code, c.message])).toEqual([['task.logissue', 'error', 'MM318', "unknown option '--frobnicate'"]]);
  });

  it.skipIf(skipXml)('trains with progress, output variables, an MM510 warning, a summary, SucceededWithIssues and a valid JUnit file', () => {
    const run = manymodels(['train', '--junit', 'out/train.xml'], dir, AZURE);
    expect(run.code, run.stderr).toBe(0);
    const commands = azureCommands(run);
    trainRun = /Run (\d{8}-\d{6}-train-[0-9a-f]{6})/.exec(run.stdout)![1]!;

    const progress = commands.filter((c) => c.command === 'task.setprogress').map((c) => Number(c.props.value));
    expect(progress.length).toBeGreaterThan(0);
    expect(progress).toEqual([...progress].sort((a, b) => a - b));
    expect(progress.at(-1)).toBe(100);

    const vars = Object.fromEntries(commands.filter((c) => c.command === 'task.setvariable').map((c) => [c.props.variable, c.message]));
    expect(vars).toMatchObject({ trainRunId: trainRun, trainRunId_daily: trainRun, trainGroupsTotal: '20', trainGroupsOk: '18', trainGroupsFailed: '2', trainGroupsSkipped: '0', trainModelsRegistered: '18', trainState: 'succeeded' });
    expect(Object.keys(vars)).not.toContain('evil');

    const warning = commands.find((c) => c.command === 'task.logissue' && c.props.code === 'MM510');
    expect(warning?.props.type).toBe('warning');
    expect(warning!.message).toContain('2 of 20 groups of daily failed within the failure budget');
    expect(warning!.message).toContain('\n  store_id=1 item_id=7: ValueError: cursed; 100% ]');
    expect(warning!.raw).toContain('100%AZP25 ]');

    // The text output quotes the group's error too: the command in it is broken up.
    expect(run.stdout).toContain('##vso [task.setvariable variable=evil]');
    expect(commands.at(-1)).toMatchObject({ command: 'task.complete', props: { result: 'SucceededWithIssues' } });

    const summaryFile = commands.find((c) => c.command === 'task.uploadsummary')!.message;
    const summary = readFileSync(summaryFile, 'utf8');
    expect(summary).toContain('## manymodels train');
    expect(summary).toContain(`| ${trainRun} | local | succeeded | 20 | 18 | 2 | 0 | 18 |`);
    expect(summary).toMatch(/\*\*Failed groups\*\* \(2\)[\s\S]*\| store_id=1 item_id=7 \| ValueError: cursed; 100% \] ##vso\[task.setvariable/);
    expect(summary).toContain('**Worst groups by wape**');

    const xml = validateJunit(path.join(dir, 'out/train.xml'));
    const cases = testcases(xml);
    expect(cases).toHaveLength(20);
    expect(new Set(cases.map((c) => c.classname))).toEqual(new Set(['daily']));
    const failed = cases.filter((c) => c.body.includes('<failure'));
    expect(failed.map((c) => c.name).sort()).toEqual(['store_id=1 item_id=7', 'store_id=2 item_id=7']);
    expect(failed[0]!.body).toContain('type="ValueError"');
    noSecret(run.stdout, run.stderr, summary, xml);
  });

  it.skipIf(skipXml)('fails the promotion gate with an MM506 error, and every rejected group is a JUnit failure with its reason', () => {
    writeFileSync(path.join(dir, 'pipelines.yaml'), pipelinesYaml(RULES_FAIL));
    const run = manymodels(['promote', '--run', trainRun, '--junit', 'out/promote-rejected.xml'], dir, AZURE);
    expect(run.code).toBe(1);
    const commands = azureCommands(run);
    expect(commands.find((c) => c.command === 'task.logissue' && c.props.code === 'MM506')?.props.type).toBe('error');
    expect(commands.some((c) => c.command === 'task.complete')).toBe(false);
    const vars = Object.fromEntries(commands.filter((c) => c.command === 'task.setvariable').map((c) => [c.props.variable, c.message]));
    expect(vars).toMatchObject({ promotionSourceRunId: trainRun, promotedCount: '0', rejectedCount: '18', gateMet: 'false' });
    const summary = readFileSync(commands.find((c) => c.command === 'task.uploadsummary')!.message, 'utf8');
    expect(summary).toContain('**Decision**: Gate not met: production was not changed.');
    expect(summary).toContain('**Rejected groups** (18, first 10)');

    const cases = testcases(validateJunit(path.join(dir, 'out/promote-rejected.xml')));
    expect(cases).toHaveLength(18);
    for (const c of cases) expect(c.body).toMatch(/<failure type="PromotionRejected" message="rejected: [^"]*wape[^"]*">/);
  });

  it.skipIf(skipXml)('promotes and scores, the skipped groups skipped in JUnit', () => {
    writeFileSync(path.join(dir, 'pipelines.yaml'), pipelinesYaml(RULES_PASS));
    const promote = manymodels(['promote', '--run', trainRun, '--junit', 'out/promote.xml'], dir, AZURE);
    expect(promote.code, promote.stderr).toBe(0);
    const vars = Object.fromEntries(azureCommands(promote).filter((c) => c.command === 'task.setvariable').map((c) => [c.props.variable, c.message]));
    expect(vars).toMatchObject({ promotedCount: '18', rejectedCount: '0', gateMet: 'true' });
    expect(testcases(validateJunit(path.join(dir, 'out/promote.xml'))).filter((c) => c.body)).toEqual([]);

    const score = manymodels(['score', '--junit', 'out/score.xml'], dir, AZURE);
    expect(score.code, score.stderr).toBe(0);
    const commands = azureCommands(score);
    expect(commands.find((c) => c.props.variable === 'scorePredictionsWritten')?.message).toMatch(/^[1-9]\d*$/);
    expect(commands.some((c) => c.command === 'task.complete')).toBe(false);
    const cases = testcases(validateJunit(path.join(dir, 'out/score.xml')));
    expect(cases).toHaveLength(20);
    expect(cases.filter((c) => c.body.includes('<skipped')).map((c) => c.name).sort()).toEqual(['store_id=1 item_id=7', 'store_id=2 item_id=7']);
  });
});

describe('under GitHub Actions (GITHUB_ACTIONS=true)', () => {
  let dir: string;
  let env: Record<string, string>;

  beforeAll(() => {
    dir = project();
    env = { GITHUB_ACTIONS: 'true', GITHUB_STEP_SUMMARY: path.join(dir, 'step-summary.md'), GITHUB_OUTPUT: path.join(dir, 'step-output.txt'), GITHUB_WORKSPACE: dir };
  });

  it('reports a diagnostic as an ::error annotation, escaped and redacted', () => {
    const run = manymodels(['validate', '--target', NASTY], dir, env);
    expect(run.code).toBe(2);
    const [annotation, ...rest] = githubCommands(run);
    expect(rest).toEqual([]);
    expect(annotation).toEqual({ command: 'error', props: { file: 'pipelines.yaml', line: '1', col: '1', title: 'MM304' }, message: 'unknown target "x;]%\nq password=***"\nExpected one of: local.' });
    expect(run.stdout).toContain('x;]%25%0Aq');
    noSecret(run.stdout, run.stderr);
  });

  it('reports an unknown flag as an MM318 error', () => {
    const run = manymodels(['train', '--frobnicate'], dir, env);
    expect(run.code).toBe(2);
    expect(githubCommands(run)).toEqual([{ command: 'error', props: { title: 'MM318' }, message: "unknown option '--frobnicate'" }]);
  });

  it('trains with an MM510 warning, the step summary and the step outputs', () => {
    const run = manymodels(['train'], dir, env);
    expect(run.code, run.stderr).toBe(0);
    const commands = githubCommands(run);
    expect(commands.map((c) => [c.command, c.props.title])).toEqual([['warning', 'MM510']]);
    expect(commands[0]!.message).toContain('store_id=2 item_id=7: ValueError: cursed; 100% ]');
    const summary = readFileSync(env.GITHUB_STEP_SUMMARY!, 'utf8');
    expect(summary).toContain('## manymodels train');
    expect(summary).toContain('**Failed groups** (2)');
    const outputs = readFileSync(env.GITHUB_OUTPUT!, 'utf8');
    expect(outputs).toMatch(/^trainRunId=\d{8}-\d{6}-train-[0-9a-f]{6}$/m);
    expect(outputs).toMatch(/^trainGroupsFailed=2$/m);
    for (const line of outputs.trim().split('\n')) expect(line).toMatch(/^[A-Za-z][A-Za-z0-9_]*=[^\r\n]*$/);
    noSecret(run.stdout, run.stderr, summary, outputs);
  });

  it('still exits 0 when the step summary cannot be written, with a warning', () => {
    const run = manymodels(['promote'], dir, { ...env, GITHUB_STEP_SUMMARY: dir });
    expect(run.code, run.stderr).toBe(0);
    expect(run.stderr).toContain('Warning: could not write the CI summary');
    expect(githubCommands(run)).toEqual([]);
    expect(readFileSync(env.GITHUB_OUTPUT!, 'utf8')).toMatch(/^gateMet=true$/m);
  });
});

describe('the escaping, on strings made of every awkward character', () => {
  // Characters that are syntax in one system or the other, and the letters of their escapes.
  const ALPHABET = [';', ']', '[', '%', '\n', '\r', ':', ',', '=', ' ', 'A', 'Z', 'P', '2', '5', '0', 'D', 'x'];
  let seed = 7;
  const random = (): number => ((seed = (seed * 1103515245 + 12345) % 2 ** 31) / 2 ** 31);
  const samples = Array.from({ length: 300 }, () => Array.from({ length: 1 + Math.floor(random() * 24) }, () => ALPHABET[Math.floor(random() * ALPHABET.length)]).join(''));

  it('keeps every Azure logging command on one grammatical line that unescapes to the input', () => {
    for (const value of samples) {
      const line = azureCommand('task.logissue', { type: 'warning', sourcepath: value, code: 'MM510' }, value);
      const [command] = azureCommands({ code: 0, stdout: line, stderr: '', lines: [line] });
      expect(command!.props.sourcepath).toBe(value);
      expect(command!.message).toBe(value);
    }
  });

  it('keeps every GitHub workflow command on one grammatical line that unescapes to the input', () => {
    for (const value of samples) {
      const line = githubCommand('error', { file: value, title: 'MM304' }, value);
      const [command] = githubCommands({ code: 0, stdout: line, stderr: '', lines: [line] });
      expect(command!.props.file).toBe(value);
      expect(command!.message).toBe(value);
    }
  });

  it.skipIf(skipXml)('writes JUnit that stays valid whatever the group keys and errors hold', () => {
    const nasty = 'a&b <c> "d" \'e\' \u0001\u001f\ttab\r\nline ]]> &amp;';
    const xml = junitXml('manymodels train', [
      { name: nasty, timestamp: '2026-12-07T03:04:05.123Z', properties: { [nasty]: nasty }, cases: [
        { classname: nasty, name: nasty, seconds: 0.5, failure: { type: nasty, message: nasty, detail: nasty } },
        { classname: nasty, name: nasty, skipped: nasty },
        { classname: nasty, name: '' },
      ] },
    ]);
    const file = path.join(scratch(), 'nasty.xml');
    writeFileSync(file, xml);
    validateJunit(file);
    expect(xml).toContain('timestamp="2026-12-07T03:04:05"');
  });
});

describe('outside CI', () => {
  it('prints no logging or workflow command', () => {
    const dir = project();
    const run = manymodels(['validate', '--target', NASTY], dir, {});
    expect(run.code).toBe(2);
    expect(run.lines.filter((l) => l.includes('##vso[') || l.startsWith('::'))).toEqual([]);
    expect(run.stderr).toContain('Error MM304');
    noSecret(run.stderr);
  });
});
