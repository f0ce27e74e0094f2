// The local registry against a real SQLite file and real artifact files.
import { readFileSync, writeFileSync } from 'node:fs';
import path from 'node:path';
import { describe, expect, it } from 'vitest';
import { LocalRegistry } from '../../src/registry/local-registry.js';
import type { NewModelVersion } from '../../src/registry/model-registry.js';
import { projectKit } from '../helpers/project.js';

const tempDir = projectKit('mm-reg-').tempDir;

function entries(dir: string, runId: string, n: number): NewModelVersion[] {
  return Array.from({ length: n }, (_, i) => {
    const artifactPath = path.join(dir, `${runId}-${i}.pkl`);
    writeFileSync(artifactPath, `model ${runId} ${i}`);
    return {
      name: `p__s${i}__${String(i).padStart(12, '0')}`,
      pipeline: 'p',
      project: 'demo',
      groupId: `g${i}`,
      keys: { store: String(i % 3), item: String(i) },
      modelType: 'linear',
      runId,
      dataFingerprint: 'sha256:abc',
      metrics: { wape: 0.1 * (i % 5), rmse: 1.23456789123 },
      artifactPath,
      sha256: 'f'.repeat(64),
    };
  });
}

describe('LocalRegistry', () => {
  it('registers versions with tags, idempotently per run', async () => {
    const dir = tempDir();
    const registry = new LocalRegistry(path.join(dir, 'registry'));
    const first = await registry.registerVersions(entries(dir, 'run1', 30));
    const again = await registry.registerVersions(entries(dir, 'run1', 30));
    expect(again.map((v) => v.version)).toEqual(first.map((v) => v.version));
    expect((await registry.listVersions({ pipeline: 'p' })).length).toBe(30);
    const second = await registry.registerVersions(entries(dir, 'run2', 30));
    expect(second.every((v) => v.version === '2')).toBe(true);
    const v = second[4]!;
    expect(v.tags).toMatchObject({ pipeline: 'p', project: 'demo', model_type: 'linear', run_id: 'run2', data_fingerprint: 'sha256:abc', 'key.store': '1', 'key.item': '4', 'metric.wape': '0.4', 'metric.rmse': '1.2345679' });
    expect(readFileSync(v.artifactUri, 'utf8')).toBe('model run2 4');
    await registry.close();
  });

  it('finds every group’s newest version in one lookup and filters by tags', async () => {
    const dir = tempDir();
    const registry = new LocalRegistry(path.join(dir, 'registry'));
    await registry.registerVersions(entries(dir, 'run1', 10));
    await registry.registerVersions(entries(dir, 'run2', 5));
    const latest = await registry.latestByGroup('p');
    expect(latest.size).toBe(10);
    expect(latest.get('g3')!.runId).toBe('run2');
    expect(latest.get('g7')!.runId).toBe('run1');
    const store2 = await registry.listVersions({ tags: { 'key.store': '2' }, runIds: ['run1'] });
    expect(store2.map((v) => v.keys.item).sort()).toEqual(['2', '5', '8']);
    await registry.close();
  });

  it('refuses a model name that could become a path', async () => {
    const dir = tempDir();
    const registry = new LocalRegistry(path.join(dir, 'registry'));
    const [bad] = entries(dir, 'run1', 1);
    await expect(registry.registerVersions([{ ...bad!, name: '../../etc/x' }])).rejects.toThrow(/unsafe model name/);
    await registry.close();
  });
});
