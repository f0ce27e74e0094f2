// The engine-neutral remote-run file handling, against the Databricks emulator's DBFS, volumes
// and workspace files: content-addressed uploads (an unchanged file is never sent twice, large
// ones go in blocks, a torn one is sent again), tailing the events file as it grows, and
// bringing a run's manifest and artifacts bundle home with every sha256 checked.
import { execFileSync } from 'node:child_process';
import { appendFileSync, existsSync, mkdirSync, mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { DatabricksClient } from '../../src/clients/databricks/index.js';
import { locationFor } from '../../src/jobs/databricks/storage.js';
import { casName, itemFromBytes, planUploads, uploadContentAddressed } from '../../src/jobs/remote/content-addressed-upload.js';
import { collectRunOutputs, EventTail } from '../../src/jobs/remote/run-outputs.js';
import { startDatabricksEmulator, type DatabricksEmulator } from '../emulators/databricks/server.js';

const python = process.env.MANYMODELS_PYTHON ?? 'python3';
const runtime = path.resolve(import.meta.dirname, '../../pyspark-templates');
let emu: DatabricksEmulator;
let db: DatabricksClient;
const dirs: string[] = [];

beforeAll(async () => {
  emu = await startDatabricksEmulator({ minLatencyMs: 1 });
  db = new DatabricksClient({ host: emu.url, tokenProvider: { getToken: async () => 'dapi-test-token' }, http: { sleep: async () => undefined } });
});

afterAll(async () => {
  await emu.stop();
  for (const d of dirs) rmSync(d, { recursive: true, force: true });
});

const count = (operation: string): number => emu.requests.filter((r) => r.operation === operation).length;

describe('content-addressed uploads', () => {
  it('plans each missing file once; a file of the wrong size is sent again', () => {
    const a = itemFromBytes('a.py', Buffer.from('a'));
    const b = itemFromBytes('b.py', Buffer.from('bb'));
    const plan = planUploads([a, b, a], new Map([[a.remoteName, 1], [b.remoteName, 1]]));
    expect(plan.present.map((i) => i.remoteName)).toEqual([a.remoteName]);
    expect(plan.upload.map((i) => i.remoteName)).toEqual([b.remoteName]);
    expect(a.remoteName).toBe(casName(a.sha256, 'a.py'));
    expect(a.remoteName).toMatch(/^[0-9a-f]{64}-a\.py$/);
  });

  it('on DBFS: sends what is missing (large files in 1 MiB blocks), then nothing the second time', async () => {
    const cas = locationFor(db, 'dbfs:/mm-test', 'test').child('cas');
    const big = Buffer.alloc(2.5 * 1024 * 1024, 3);
    const items = [itemFromBytes('entry.py', Buffer.from('print(1)\n')), itemFromBytes('spec.json', Buffer.from('{}')), itemFromBytes('runtime.zip', big)];
    const first = await uploadContentAddressed(cas, items);
    expect(first).toMatchObject({ uploaded: 3, skipped: 0 });
    expect(count('DbfsAddBlock')).toBe(3);
    expect(readFileSync(emu.localPathFor(cas.uri(items[2]!.remoteName))!).equals(big)).toBe(true);

    const writes = count('DbfsPut') + count('DbfsAddBlock');
    const listings = count('DbfsList');
    const second = await uploadContentAddressed(cas, items);
    expect(second).toMatchObject({ uploaded: 0, skipped: 3 });
    expect(count('DbfsPut') + count('DbfsAddBlock')).toBe(writes);
    // One listing decides for every file, not one request per file.
    expect(count('DbfsList')).toBe(listings + 1);

    // A torn upload under a content address is not trusted.
    writeFileSync(emu.localPathFor(cas.uri(items[1]!.remoteName))!, '{');
    expect(await uploadContentAddressed(cas, items)).toMatchObject({ uploaded: 1, skipped: 2 });
    expect(readFileSync(emu.localPathFor(cas.uri(items[1]!.remoteName))!, 'utf8')).toBe('{}');
  });

  it('on a volume and on workspace files (which are asked per file) alike', async () => {
    const volume = locationFor(db, '/Volumes/main/mm/files/manymodels', 'test').child('cas');
    const items = [itemFromBytes('entry.py', Buffer.from('print(2)\n'))];
    expect(await uploadContentAddressed(volume, items)).toMatchObject({ uploaded: 1 });
    expect(await uploadContentAddressed(volume, items)).toMatchObject({ uploaded: 0, skipped: 1 });
    expect(volume.clusterPath(items[0]!.remoteName)).toBe(`/Volumes/main/mm/files/manymodels/cas/${items[0]!.remoteName}`);

    const workspace = locationFor(db, '/Workspace/Shared/manymodels', 'test').child('cas');
    expect(workspace.apiPath()).toBe('/Shared/manymodels/cas');
    expect(workspace.uri('x.py')).toBe('/Workspace/Shared/manymodels/cas/x.py');
    const stats = count('WorkspaceGetStatus');
    expect(await uploadContentAddressed(workspace, items)).toMatchObject({ uploaded: 1 });
    expect(await uploadContentAddressed(workspace, items)).toMatchObject({ uploaded: 0, skipped: 1 });
    expect(count('WorkspaceGetStatus') - stats).toBe(3); // before, after the upload, and the second time
    expect(emu.invalidRequests()).toEqual([]);
  });

  it('refuses a path outside a volume, or not absolute (a path of the wrong kind is MM406, when the target is resolved)', () => {
    expect(() => locationFor(db, '/Volumes/main', 'databricks.artifacts.path')).toThrow(/MM404|not inside a volume/);
    expect(() => locationFor(db, '/Shared/../x', 'databricks.runs_path')).toThrow(/absolute workspace path/);
    expect(locationFor(db, '/dbfs/a/b', 'x').uri('c')).toBe('dbfs:/a/b/c');
  });
});

describe('run outputs', () => {
  it('tails a growing events file, keeping a torn last line for the next poll', async () => {
    const out = locationFor(db, 'dbfs:/mm-test/runs/r1', 'test');
    const remote = emu.localPathFor(out.uri('events.ndjson'))!;
    const local = path.join(mkdtempSync(path.join(tmpdir(), 'mm-tail-')), 'events.ndjson');
    dirs.push(path.dirname(local));
    const tail = new EventTail(out.store, out.apiPath('events.ndjson'), local);
    expect(await tail.poll()).toEqual([]); // not written yet
    mkdirSync(path.dirname(remote), { recursive: true });
    appendFileSync(remote, '{"event":"start","total":2}\n{"event":"progr');
    expect((await tail.poll()).map((e) => e.event)).toEqual(['start']);
    appendFileSync(remote, 'ess","done":1}\n{"event":"summary"}\n');
    expect((await tail.poll()).map((e) => e.event)).toEqual(['progress', 'summary']);
    expect(readFileSync(local, 'utf8')).toBe(readFileSync(remote, 'utf8'));
    // A new watcher (re-attach) starts where the local copy ends.
    appendFileSync(remote, '{"event":"late"}\n');
    expect((await new EventTail(out.store, out.apiPath('events.ndjson'), local).poll()).map((e) => e.event)).toEqual(['late']);
  });

  it("brings the manifest and the bundle's artifacts home, each checked against its sha256", async () => {
    // The runtime's own bundle writer makes the archive, as on a cluster.
    const out = locationFor(db, 'dbfs:/mm-test/runs/r2', 'test');
    const remoteDir = emu.localPathFor(out.uri())!;
    mkdirSync(path.join(remoteDir, 'artifacts'), { recursive: true });
    const longName = `p__${'x'.repeat(110)}__0123456789ab`;
    const groups = ['a', longName].map((name, i) => {
      const bytes = Buffer.from(`model ${i}`);
      writeFileSync(path.join(remoteDir, 'artifacts', `${name}.pkl`), bytes);
      const sha256 = execFileSync(python, ['-c', 'import hashlib,sys; print(hashlib.sha256(sys.stdin.buffer.read()).hexdigest())'], { input: bytes }).toString().trim();
      return { groupId: `g${i}`, modelName: name, keys: { k: String(i) }, status: 'ok', reason: null, errorClass: null, errorMessage: null, metrics: {}, artifact: `artifacts/${name}.pkl`, sha256 };
    });
    const manifest = { specVersion: 1, runId: 'r2', stage: 'train', pipeline: 'p', startedAt: '', finishedAt: '', dataFingerprint: 'x', counts: { total: 2, ok: 2, failed: 0, skipped: 0 }, groups };
    writeFileSync(path.join(remoteDir, 'run-manifest.json'), JSON.stringify(manifest));
    execFileSync(python, ['-c', `import sys; sys.path.insert(0, ${JSON.stringify(runtime)}); from manymodels_runtime.manifest import bundle_artifacts; print(bundle_artifacts(${JSON.stringify(remoteDir)}))`]);
    expect(existsSync(path.join(remoteDir, 'artifacts.tar.gz'))).toBe(true);

    const runDir = mkdtempSync(path.join(tmpdir(), 'mm-collect-'));
    dirs.push(runDir);
    const collected = await collectRunOutputs({ store: out.store, remoteDir: out.apiPath(), runDir, stage: 'train' });
    expect(collected.artifacts).toBe(2);
    expect(readFileSync(path.join(runDir, 'artifacts', `${longName}.pkl`), 'utf8')).toBe('model 1');
    // Again: what is already there and matching is not written twice.
    expect((await collectRunOutputs({ store: out.store, remoteDir: out.apiPath(), runDir, stage: 'train' })).artifacts).toBe(0);

    // Bytes that are not what the job hashed are refused.
    groups[0]!.sha256 = '0'.repeat(64);
    writeFileSync(path.join(remoteDir, 'run-manifest.json'), JSON.stringify(manifest));
    const fresh = mkdtempSync(path.join(tmpdir(), 'mm-collect-'));
    dirs.push(fresh);
    await expect(collectRunOutputs({ store: out.store, remoteDir: out.apiPath(), runDir: fresh, stage: 'train' })).rejects.toMatchObject({ code: 'MM508' });
    expect(existsSync(path.join(fresh, 'artifacts', 'a.pkl'))).toBe(false);

    // No manifest (the job stopped before writing one) is not an error here.
    expect(await collectRunOutputs({ store: out.store, remoteDir: '/mm-test/runs/none', runDir: fresh, stage: 'train' })).toEqual({ artifacts: 0 });
  });
});
