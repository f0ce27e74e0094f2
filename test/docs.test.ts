// Keeps docs/ honest: every complete example in docs/pipelines-yaml.md loads without a
// diagnostic through the real loader, and docs/errors.md lists exactly the MM codes the
// CLI and the Python runtime can print.
import { mkdirSync, readdirSync, readFileSync, writeFileSync } from 'node:fs';
import path from 'node:path';
import { describe, expect, it } from 'vitest';
import { parse, parseDocument } from 'yaml';
import { loadProject } from '../src/pipeline/project.js';
import { projectKit } from './helpers/project.js';

const repo = path.join(import.meta.dirname, '..');
const read = (rel: string): string => readFileSync(path.join(repo, rel), 'utf8');

const kit = projectKit('mm-docs-');

const VALID = '# example: valid';
const FRAGMENT = '# fragment';

/** Every ```yaml block of a markdown text, with the line its body starts on. */
function yamlBlocks(markdown: string): Array<{ line: number; body: string }> {
  const blocks: Array<{ line: number; body: string }> = [];
  const lines = markdown.split('\n');
  for (let i = 0; i < lines.length; i++) {
    if (lines[i]!.trim() !== '```yaml') continue;
    const start = i + 1;
    let end = start;
    while (end < lines.length && lines[end]!.trim() !== '```') end++;
    blocks.push({ line: start + 1, body: `${lines.slice(start, end).join('\n')}\n` });
    i = end;
  }
  return blocks;
}

/** `# target: x`, `# var: a=b`, `# env: A=B` lines directly under the marker. */
function exampleSettings(body: string): { target?: string; vars: Record<string, string>; env: Record<string, string> } {
  const out: { target?: string; vars: Record<string, string>; env: Record<string, string> } = { vars: {}, env: {} };
  for (const line of body.split('\n').slice(1)) {
    const m = /^# (target|var|env): (.+)$/.exec(line);
    if (!m) break;
    const [, kind, value] = m as unknown as [string, 'target' | 'var' | 'env', string];
    if (kind === 'target') {
      out.target = value.trim();
      continue;
    }
    const eq = value.indexOf('=');
    (kind === 'var' ? out.vars : out.env)[value.slice(0, eq)] = value.slice(eq + 1);
  }
  return out;
}

/** Source files that may print a code: TypeScript under src/, Python under pyspark-templates/. */
function sourceFiles(dir: string, exts: string[]): string[] {
  const out: string[] = [];
  for (const entry of readdirSync(dir, { withFileTypes: true })) {
    if (entry.name === '__pycache__' || entry.name === 'node_modules') continue;
    const full = path.join(dir, entry.name);
    if (entry.isDirectory()) out.push(...sourceFiles(full, exts));
    else if (exts.some((e) => entry.name.endsWith(e))) out.push(full);
  }
  return out;
}

const codesIn = (text: string): Set<string> => new Set(text.match(/\bMM\d{3}\b/g) ?? []);

describe('docs/pipelines-yaml.md', () => {
  const blocks = yamlBlocks(read('docs/pipelines-yaml.md'));
  const examples = blocks.filter((b) => b.body.startsWith(VALID));

  it('marks every yaml block as a complete example or a fragment', () => {
    const unmarked = blocks.filter((b) => !b.body.startsWith(VALID) && !b.body.startsWith(FRAGMENT)).map((b) => `line ${b.line}`);
    expect(unmarked).toEqual([]);
    expect(examples.length).toBeGreaterThanOrEqual(10);
  });

  it('has fragments that are at least well-formed YAML', () => {
    for (const b of blocks.filter((x) => x.body.startsWith(FRAGMENT))) {
      expect(parseDocument(b.body).errors.map((e) => e.message), `fragment at line ${b.line}`).toEqual([]);
    }
  });

  for (const example of examples) {
    it(`loads the example at line ${example.line} without diagnostics`, () => {
      // Given the example as pipelines.yaml in a fresh project folder, with its custom model files
      const dir = kit.project({ yaml: example.body }).dir;
      const raw = parse(example.body) as { pipelines?: Array<{ model?: { type?: string; path?: string } }> };
      for (const p of raw.pipelines ?? []) {
        if (p.model?.type === 'custom' && typeof p.model.path === 'string') {
          const file = path.join(dir, p.model.path);
          mkdirSync(path.dirname(file), { recursive: true });
          writeFileSync(file, 'def train(pdf, params):\n    return None\n\n\ndef predict(model, pdf):\n    return [0] * len(pdf)\n');
        }
      }
      // When the real loader reads it with the example's target, --var values and environment
      const settings = exampleSettings(example.body);
      const options: Parameters<typeof loadProject>[0] = { file: 'pipelines.yaml', cwd: dir, vars: settings.vars, env: settings.env };
      if (settings.target !== undefined) options.target = settings.target;
      const { project, diagnostics } = loadProject(options);
      // Then there is not a single diagnostic, and the target is the one the example names
      expect(diagnostics.map((d) => `${d.code} ${d.path}: ${d.message}`)).toEqual([]);
      expect(project).toBeDefined();
      if (settings.target !== undefined) expect(project!.target.name).toBe(settings.target);
    });
  }
});

describe('docs/errors.md', () => {
  const doc = read('docs/errors.md');
  const inSource = new Set<string>();
  for (const file of [...sourceFiles(path.join(repo, 'src'), ['.ts', '.tsx']), ...sourceFiles(path.join(repo, 'pyspark-templates'), ['.py'])]) {
    for (const code of codesIn(readFileSync(file, 'utf8'))) inSource.add(code);
  }
  // A code is documented by a heading that starts with it: `### MM305 …`.
  const documented = new Set([...doc.matchAll(/^#{2,5} (MM\d{3})\b/gm)].map((m) => m[1]!));

  it('documents every code the source can print', () => {
    expect(inSource.size).toBeGreaterThan(40);
    expect([...inSource].filter((c) => !documented.has(c)).sort()).toEqual([]);
  });

  it('documents no code the source does not have, headings or prose', () => {
    expect([...codesIn(doc)].filter((c) => !inSource.has(c)).sort()).toEqual([]);
  });
});
