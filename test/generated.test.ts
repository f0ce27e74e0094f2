// Every generated file must equal what `npm run generate` would write from its source today:
// the model catalog (from the Python zoo), the schema validator (from schema.ts) and the
// JobSpec schema the runtime checks specs with (from contracts/job-spec-schema.ts).
import { execFileSync } from 'node:child_process';
import { readFileSync } from 'node:fs';
import path from 'node:path';
import { describe, expect, it } from 'vitest';
import { generatedFiles, modelCatalogJson, OUTPUTS, root, staleFiles } from '../scripts/generate.mjs';
import { jobSpecSchema } from '../src/contracts/job-spec-schema.js';
import { pipelinesFileSchema } from '../src/pipeline/schema.js';

describe('generated files', () => {
  it('are current (run npm run generate when this fails)', () => {
    const files = generatedFiles({ catalogJson: modelCatalogJson(), pipelinesSchema: pipelinesFileSchema, jobSpecSchema });
    expect(Object.keys(files).sort()).toEqual(Object.values(OUTPUTS).sort());
    expect(staleFiles(files)).toEqual([]);
  });

  it('notices a stale file', () => {
    const files = generatedFiles({ catalogJson: modelCatalogJson(), pipelinesSchema: { ...pipelinesFileSchema, required: ['version'] }, jobSpecSchema: { ...jobSpecSchema, title: 'x' } });
    expect(staleFiles(files).sort()).toEqual([OUTPUTS.validator, OUTPUTS.jobSpecSchema].sort());
  });

  it('is what package.json runs as npm run generate', () => {
    const pkg = JSON.parse(readFileSync(path.join(root, 'package.json'), 'utf8')) as { scripts: Record<string, string> };
    expect(pkg.scripts.generate).toBe('node scripts/generate.mjs');
    // Imported, the script only exports its pieces (run, it rebuilds dist/, which other tests read).
    execFileSync(process.execPath, ['-e', `import(${JSON.stringify(path.join(root, 'scripts/generate.mjs'))})`], { cwd: root, stdio: 'pipe' });
  });
});
