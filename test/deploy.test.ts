// `manymodels deploy --target azureml-online|aks`: the bundle's scoring script run through Azure
// ML's init()/run() contract in a real Python process (AZUREML_MODEL_DIR at a shard's model
// folder) gives the numbers `score` wrote; a tampered artifact is refused for its group only; a
// group sent to the wrong shard is told where it belongs; the TypeScript and Python routers agree;
// and the endpoint with sharded deployments is created over real HTTP against the Azure ML
// emulator, every request body valid against the official definitions: the code and each
// shard's model folder uploaded to blob storage (Azurite) and registered as the versions the
// deployments name, once — a second deploy reuses them.
import { spawn } from 'node:child_process';
import { createServer } from 'node:http';
import type { AddressInfo } from 'node:net';
import { appendFileSync, cpSync, mkdirSync, readFileSync, readdirSync, writeFileSync } from 'node:fs';
import path from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { type RoutingTable, deploymentFor, planShards, routeRequests, shardOf } from '../src/runs/shard-routing.js';
import { AzureMlEmulator } from './emulators/azureml/azureml-emulator.js';
import { RG, SUB, TOKEN, WORKSPACE } from './emulators/azureml/test-kit.js';
import { type AzuriteBlob, startAzuriteBlob } from './emulators/azurite.js';
import { blobContainer, containerWithSas } from './helpers/azureml-registry-kit.js';
import { cli } from './helpers/cli.js';
import { cliEnv, projectKit, sqliteQuery } from './helpers/project.js';
import { forecastProject, python, runBin } from './helpers/reliability-kit.js';

const scratch = projectKit('mm-deploy-').tempDir;

/** Imports the bundle's code/score.py, calls init(), then run() once per stdin line. */
const HARNESS = `
import importlib.util, json, os, sys
spec = importlib.util.spec_from_file_location("score", os.path.join(sys.argv[1], "code", "score.py"))
score = importlib.util.module_from_spec(spec)
spec.loader.exec_module(score)
try:
    score.init()
except Exception as e:
    print(json.dumps({"init_error": str(e)}))
    sys.exit(3)
for line in sys.stdin:
    print(json.dumps(score.run(line)), flush=True)
`;

interface Manifest {
  shard: number;
  shards: number;
  pipelines: Record<string, { models: Array<{ keys: Record<string, string>; sha256: string; artifact: string; version: string }> }>;
}

/** Runs the scoring script in a fresh Python process over one model folder. */
function runScoring(bundle: string, modelDir: string, requests: unknown[], env: Record<string, string> = {}): Promise<{ code: number | null; replies: any[]; stderr: string }> {
  const harness = path.join(bundle, '..', 'harness.py');
  writeFileSync(harness, HARNESS);
  return new Promise((resolve) => {
    const child = spawn(python, [harness, bundle], { env: { PATH: process.env.PATH ?? '', AZUREML_MODEL_DIR: modelDir, ...env }, stdio: ['pipe', 'pipe', 'pipe'] });
    let out = '';
    let err = '';
    child.stdout.on('data', (d: Buffer) => (out += d.toString()));
    child.stderr.on('data', (d: Buffer) => (err += d.toString()));
    child.on('close', (code) => resolve({ code, replies: out.split('\n').filter((l) => l.startsWith('{')).map((l) => JSON.parse(l)), stderr: err }));
    child.stdin.end(requests.map((r) => `${typeof r === 'string' ? r : JSON.stringify(r)}\n`).join(''));
  });
}

const manifestOf = (bundle: string, deployment: string): Manifest => JSON.parse(readFileSync(path.join(bundle, 'models', deployment, 'manymodels-bundle.json'), 'utf8')) as Manifest;

describe('manymodels deploy', () => {
  let dir: string;
  let production: Array<{ keys: Record<string, string>; version: string }>;

  beforeAll(async () => {
    dir = forecastProject(scratch(), { stores: 3, items: 4, days: 120 });
    for (const cmd of ['train', 'promote', 'score']) {
      const r = await runBin([cmd], { cwd: dir });
      expect(r.code, r.stderr).toBe(0);
    }
    production = sqliteQuery<{ keys: string; version: number }>(path.join(dir, '.manymodels/production/registry.db'), 'SELECT keys_json AS keys, max(version) AS version FROM versions GROUP BY name').map((v) => ({ keys: JSON.parse(v.keys), version: String(v.version) }));
    expect(production.length).toBeGreaterThan(5);
  }, 240_000);

  describe('a bundle of 3 shards, without a workspace', () => {
    let bundle: string;
    let routing: RoutingTable;
    beforeAll(async () => {
      const r = await runBin(['deploy', '--target', 'azureml-online', '--shards', '3', '--out', 'bundle'], { cwd: dir });
      expect(r.code, r.stderr).toBe(0);
      expect(r.stdout).toMatch(/Bundle written to bundle: endpoint rel-online, 3 deployments/);
      expect(r.stdout).toMatch(/No Azure ML workspace configured.*nothing created/);
      expect(r.stdout).toContain('PUT online endpoint rel-online with traffic {"shard-0":0,"shard-1":0,"shard-2":0}');
      bundle = path.join(dir, 'bundle');
      routing = JSON.parse(readFileSync(path.join(bundle, 'routing.json'), 'utf8')) as RoutingTable;
    }, 60_000);

    it('gives each shard only the groups the router sends it, all groups once', () => {
      expect(routing.deployments).toEqual(['shard-0', 'shard-1', 'shard-2']);
      const seen: string[] = [];
      for (const d of routing.deployments) {
        const m = manifestOf(bundle, d);
        for (const g of m.pipelines.daily!.models) {
          expect(deploymentFor(routing, 'daily', g.keys)).toBe(d);
          seen.push(JSON.stringify(g.keys));
          expect(readdirSync(path.join(bundle, 'models', d, 'artifacts'))).toContain(g.sha256);
        }
      }
      expect(seen.sort()).toEqual(production.map((p) => JSON.stringify(p.keys)).sort());
      expect(readdirSync(path.join(bundle, 'code'))).toEqual(expect.arrayContaining(['score.py', 'manymodels_runtime']));
      expect(readFileSync(path.join(bundle, 'environment', 'conda.yaml'), 'utf8')).toMatch(/pandas[\s\S]*azureml-inference-server-http/);
    });

    it("answers init()/run() in a real Python process with the numbers `score` wrote, each group from its own shard", async () => {
      for (const d of routing.deployments) {
        const groups = manifestOf(bundle, d).pipelines.daily!.models;
        // Azure ML mounts a model registered from a folder one level down: both layouts are read.
        const mount = path.join(dir, 'mounts', d);
        mkdirSync(mount, { recursive: true });
        cpSync(path.join(bundle, 'models', d), path.join(mount, d), { recursive: true });
        const { code, replies, stderr } = await runScoring(bundle, mount, groups.map((g) => ({ keys: g.keys, horizon: 14 })), { MANYMODELS_SHARD: String(routing.deployments.indexOf(d)) });
        expect(code, stderr).toBe(0);
        expect(replies).toHaveLength(groups.length);
        groups.forEach((g, i) => {
          const rows = sqliteQuery<{ time: string; prediction: number }>(path.join(dir, '.manymodels/predictions.db'), 'SELECT time, prediction FROM predictions WHERE store_id = ? AND item_id = ? ORDER BY time', g.keys.store_id!, g.keys.item_id!);
          expect(rows).toHaveLength(14);
          expect(replies[i]).toEqual({ pipeline: 'daily', keys: g.keys, model_version: g.version, predictions: rows.map((x) => ({ time: x.time, prediction: x.prediction })) });
        });
      }
    }, 60_000);

    it('tells a request sent to the wrong shard which deployment owns it, and refuses bad requests with serve’s codes', async () => {
      const own = manifestOf(bundle, 'shard-0').pipelines.daily!.models[0]!;
      const other = manifestOf(bundle, 'shard-1').pipelines.daily!.models[0]!;
      const { replies } = await runScoring(bundle, path.join(bundle, 'models', 'shard-0'), [
        { keys: other.keys, horizon: 2 },
        { requests: [{ keys: own.keys, horizon: 2 }, { keys: other.keys }] },
        '{not json',
        { keys: own.keys, horizon: 0 },
        { pipeline: 'weekly', keys: own.keys },
        { keys: own.keys, rows: [{ date: '2030-01-01', price: 'cheap', promo: 0 }] },
      ]);
      expect(replies[0].error).toMatchObject({ code: 'MM714', status: 421 });
      expect(replies[0].error.message).toContain('azureml-model-deployment: shard-1');
      expect(replies[1].results[0].predictions).toHaveLength(2);
      expect(replies[1].results[1].error.code).toBe('MM714');
      expect(replies.slice(2).map((r) => r.error.code)).toEqual(['MM703', 'MM703', 'MM701', 'MM704']);
      expect(JSON.stringify(replies)).not.toMatch(/Traceback|File "/);
    });

    it('refuses a tampered artifact for its group only; the shard still serves the others', async () => {
      const copy = path.join(dir, 'tampered');
      cpSync(path.join(bundle, 'models', 'shard-1'), copy, { recursive: true });
      const groups = (JSON.parse(readFileSync(path.join(copy, 'manymodels-bundle.json'), 'utf8')) as Manifest).pipelines.daily!.models;
      expect(groups.length).toBeGreaterThan(1);
      const file = path.join(copy, groups[0]!.artifact);
      const bytes = readFileSync(file);
      bytes[bytes.length - 1] = (bytes[bytes.length - 1] ?? 0) ^ 0xff;
      writeFileSync(file, bytes);
      const { replies } = await runScoring(bundle, copy, [...groups.map((g) => ({ keys: g.keys, horizon: 3 })), { keys: groups[0]!.keys, horizon: 3 }]);
      expect(replies[0].error).toMatchObject({ code: 'MM706', status: 503 });
      expect(replies[0].error.message).toMatch(/sha256/);
      for (const r of replies.slice(1, groups.length)) expect(r.predictions).toHaveLength(3);
      expect(replies.at(-1).error.code).toBe('MM706');
    });

    it('fails init() with MM715 when the model folder is another shard’s or not a bundle', async () => {
      const wrong = await runScoring(bundle, path.join(bundle, 'models', 'shard-2'), [], { MANYMODELS_SHARD: '0' });
      expect([wrong.code, wrong.replies[0]?.init_error]).toEqual([3, expect.stringMatching(/^MM715: this deployment is shard 0 but its model folder holds shard 2/)]);
      const none = await runScoring(bundle, path.join(bundle, 'code'), []);
      expect([none.code, none.replies[0]?.init_error]).toEqual([3, expect.stringMatching(/^MM715: no manymodels-bundle.json/)]);
    });

    it("ships router.py, which names a group's deployment and sends its request with the routing header", async () => {
      const run = (args: string[], env: Record<string, string> = {}) =>
        new Promise<{ code: number | null; out: string; err: string }>((resolve) => {
          const child = spawn(python, [path.join(bundle, 'router.py'), ...args], { env: { PATH: process.env.PATH ?? '', ...env } });
          let out = '';
          let err = '';
          child.stdout.on('data', (d: Buffer) => (out += d.toString()));
          child.stderr.on('data', (d: Buffer) => (err += d.toString()));
          child.on('close', (code) => resolve({ code, out, err }));
        });
      for (const p of production.slice(0, 4)) {
        const r = await run(['--pipeline', 'daily', '--keys', `store_id=${p.keys.store_id},item_id=${p.keys.item_id}`]);
        expect([r.code, r.out.trim()], r.err).toEqual([0, deploymentFor(routing, 'daily', p.keys)]);
      }
      // Against a stand-in scoring URI on 127.0.0.1: the header, the key and serve's body with "pipeline".
      const seen: Array<{ headers: Record<string, unknown>; body: unknown }> = [];
      const server = createServer((req, res) => {
        let text = '';
        req.on('data', (c: Buffer) => (text += c.toString()));
        req.on('end', () => {
          seen.push({ headers: req.headers, body: JSON.parse(text) });
          res.writeHead(200, { 'content-type': 'application/json' }).end('{"ok": true}');
        });
      });
      await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
      const { port } = server.address() as AddressInfo;
      const keys = production[0]!.keys;
      const r = await run(['--pipeline', 'daily', '--url', `http://127.0.0.1:${port}/score`, '--key-env', 'MY_KEY', '--body', JSON.stringify({ keys, horizon: 3 })], { MY_KEY: 'k-123' });
      server.close();
      expect([r.code, r.out.trim()], r.err).toEqual([0, '{"ok": true}']);
      expect(seen).toHaveLength(1);
      expect(seen[0]!.headers).toMatchObject({ 'azureml-model-deployment': deploymentFor(routing, 'daily', keys), authorization: 'Bearer k-123' });
      expect(seen[0]!.body).toEqual({ pipeline: 'daily', keys, horizon: 3 });
    });

    it('refuses to write into a folder that is not a bundle, and a --target it does not know', async () => {
      mkdirSync(path.join(dir, 'busy'), { recursive: true });
      writeFileSync(path.join(dir, 'busy', 'notes.txt'), 'mine');
      const busy = await cli(['deploy', '--target', 'azureml-online', '--out', 'busy'], { cwd: dir, env: cliEnv() });
      expect([busy.code, busy.stderr]).toEqual([2, expect.stringContaining('Error MM716')]);
      const bad = await cli(['deploy', '--target', 'azureml'], { cwd: dir, env: cliEnv() });
      expect([bad.code, bad.stderr]).toEqual([2, expect.stringContaining('Error MM710: --target must be one of azureml-online, aks')]);
      const aks = await cli(['deploy', '--target', 'aks', '--out', 'aks'], { cwd: dir, env: cliEnv() });
      expect([aks.code, aks.stderr]).toEqual([2, expect.stringContaining('Error MM710: --target aks needs --compute')]);
      const small = await cli(['deploy', '--target', 'azureml-online', '--memory-mb', '300', '--out', 'small'], { cwd: dir, env: cliEnv() });
      expect([small.code, small.stderr]).toEqual([2, expect.stringContaining('Error MM712')]);
    });
  });

  describe('against the Azure ML emulator over HTTP', () => {
    let emu: AzureMlEmulator;
    let azurite: AzuriteBlob;
    let sas: string;
    beforeAll(async () => {
      azurite = await startAzuriteBlob();
      sas = await containerWithSas(azurite, 'deploy');
      emu = new AzureMlEmulator({ minLatencyMs: 1, throttle: false, workspaces: [WORKSPACE], blobStorage: { connectionString: azurite.connectionString } });
      await emu.start();
      // A target whose training registry is the Azure ML workspace (with its blob storage) and
      // whose production registry is the local one the models were promoted to.
      appendFileSync(
        path.join(dir, 'pipelines.yaml'),
        `targets:
  local: { engine: local }
  aml:
    engine: local
    registry: { type: azureml, subscription_id: ${SUB}, resource_group: ${RG}, workspace: ${WORKSPACE.name}, storage_account_url: "${azurite.blobEndpoint}", storage_container: deploy, storage_sas_env: MM_DEPLOY_SAS }
    production_registry: { type: local, path: .manymodels/production }
`,
      );
    }, 60_000);
    afterAll(async () => {
      expect(emu.selfCheckFailures).toEqual([]);
      await emu.stop();
      await azurite.stop();
    });
    const env = () => cliEnv({ MANYMODELS_ARM_ENDPOINT: emu.baseUrl, MM_DEPLOY_SAS: sas });
    const tokenProviderFor = () => ({ getToken: async () => TOKEN });
    const workspace = `${SUB}/${RG}/${WORKSPACE.name}`;
    const ws = { subscriptionId: SUB, resourceGroup: RG, workspace: WORKSPACE.name };
    const wsId = `/subscriptions/${SUB}/resourceGroups/${RG}/providers/Microsoft.MachineLearningServices/workspaces/${WORKSPACE.name}`;
    /** Every blob under a folder URL of the deploy container, with its bytes. */
    async function blobsUnder(url: string): Promise<Map<string, Buffer>> {
      const prefix = decodeURIComponent(url.slice(`${azurite.blobEndpoint}/deploy/`.length));
      const container = blobContainer(azurite, 'deploy');
      const out = new Map<string, Buffer>();
      for await (const b of container.listBlobsFlat({ prefix: `${prefix}/` })) out.set(b.name.slice(prefix.length + 1), await container.getBlockBlobClient(b.name).downloadToBuffer());
      return out;
    }
    /** Every file under a folder, by its path from it. */
    function filesOf(folder: string, prefix = ''): Map<string, Buffer> {
      const out = new Map<string, Buffer>();
      for (const e of readdirSync(folder, { withFileTypes: true })) {
        const rel = prefix ? `${prefix}/${e.name}` : e.name;
        if (e.isDirectory()) for (const [k, v] of filesOf(path.join(folder, e.name), rel)) out.set(k, v);
        else out.set(rel, readFileSync(path.join(folder, e.name)));
      }
      return out;
    }

    it('--dry-run writes the bundle and sends nothing; the bodies are valid against the definitions', async () => {
      const r = await cli(['deploy', '--target', 'aks', '--compute', 'k8s-prod', '--shards', '2', '--workspace', workspace, '--out', 'aks-bundle', '--dry-run'], { cwd: dir, env: env(), tokenProviderFor });
      expect(r.code, r.stderr).toBe(0);
      expect(r.stdout).toContain(`--dry-run: nothing created in workspace ${WORKSPACE.name}`);
      expect(r.stdout).toMatch(/code rel-online-code version [0-9a-f]{12}: unless it exists, upload code\/ to blob storage/);
      expect(emu.requests).toHaveLength(0);
      const base = `${wsId}/onlineEndpoints/rel-online`;
      const endpoint = JSON.parse(readFileSync(path.join(dir, 'aks-bundle/azureml/endpoint.json'), 'utf8'));
      expect(endpoint.properties.compute).toBe(`${wsId}/computes/k8s-prod`);
      expect(emu.spec.validateRequest({ method: 'PUT', path: `${base}?api-version=2024-04-01`, body: endpoint }).errors).toEqual([]);
      for (const d of ['shard-0', 'shard-1']) {
        const body = JSON.parse(readFileSync(path.join(dir, 'aks-bundle/azureml/deployments', `${d}.json`), 'utf8'));
        expect(body.properties.endpointComputeType).toBe('Kubernetes');
        expect(body.properties.containerResourceRequirements.containerResourceRequests.memory).toMatch(/^\d+Mi$/);
        expect(emu.spec.validateRequest({ method: 'PUT', path: `${base}/deployments/${d}?api-version=2024-04-01`, body }).errors).toEqual([]);
      }
    });

    it('without blob storage for the code and models, refuses to create anything (MM718)', async () => {
      const r = await cli(['deploy', '--target', 'azureml-online', '--workspace', workspace, '--out', 'no-storage'], { cwd: dir, env: env(), tokenProviderFor });
      expect([r.code, r.stderr]).toEqual([2, expect.stringContaining('Error MM718: creating the endpoint in workspace ws-train')]);
      expect(emu.requests).toHaveLength(0);
    });

    it('registers the environment, the code and each shard\'s model, then creates the endpoint and its 2 shard deployments naming them', async () => {
      const r = await cli(['deploy', '--target', 'azureml-online', '--shards', '2', '--file-target', 'aml', '--out', 'aml-bundle'], { cwd: dir, env: env(), tokenProviderFor });
      expect(r.code, r.stderr).toBe(0);
      expect(r.stdout).toMatch(new RegExp(`Created in workspace ${WORKSPACE.name} .*: https://rel-online\\.westeurope\\.inference\\.ml\\.azure\\.com/score`));
      const puts = emu.requests.filter((q) => q.method === 'PUT').map((q) => `${q.operationId} ${q.path.split('/onlineEndpoints/')[1] ?? q.path.split('/workspaces/')[1]!.split('/').slice(1).join('/')} ${q.status}`);
      // The assets the deployments name are registered first (the service refuses a deployment
      // naming a missing one): the environment, the code, then each shard's model.
      expect(puts[0]).toMatch(/^EnvironmentVersions_CreateOrUpdate environments\/rel-online-env\/versions\/[0-9a-f]{12} 201$/);
      expect(puts[1]).toMatch(/^CodeVersions_CreateOrUpdate codes\/rel-online-code\/versions\/[0-9a-f]{12} 201$/);
      expect(puts[2]).toMatch(/^ModelVersions_CreateOrUpdate models\/rel-online-shard-0\/versions\/[0-9a-f]{12} 201$/);
      expect(puts[3]).toMatch(/^ModelVersions_CreateOrUpdate models\/rel-online-shard-1\/versions\/[0-9a-f]{12} 201$/);
      expect(puts[4]).toBe('OnlineEndpoints_CreateOrUpdate rel-online 201');
      expect(puts.slice(5, 7).sort()).toEqual(['OnlineDeployments_CreateOrUpdate rel-online/deployments/shard-0 201', 'OnlineDeployments_CreateOrUpdate rel-online/deployments/shard-1 201']);
      expect(puts[7]).toBe('OnlineEndpoints_CreateOrUpdate rel-online 200');
      expect(puts).toHaveLength(8);
      // Nothing refused; the 404s are the looks for what does not exist yet.
      expect(emu.requests.filter((q) => (q.status ?? 0) >= 400).map((q) => `${q.operationId} ${q.status}`)).toEqual(['CodeVersions_Get 404', 'ModelVersions_Get 404', 'ModelVersions_Get 404', 'OnlineEndpoints_Get 404']);
      // Each PUT was followed to its end through Azure-AsyncOperation before the next step.
      expect(emu.requests.filter((q) => q.path.includes('/mfeOperationsStatus/')).length).toBeGreaterThanOrEqual(4);
      const endpoint = emu.online.requireEndpoint(ws, 'rel-online');
      expect(endpoint.provisioningState).toBe('Succeeded');
      expect((endpoint.body.properties as { traffic: unknown }).traffic).toEqual({ 'shard-0': 0, 'shard-1': 0 });
      const codeIds = new Set<string>();
      for (const [i, d] of ['shard-0', 'shard-1'].entries()) {
        const rec = emu.online.requireDeployment(ws, 'rel-online', d);
        expect(rec.provisioningState).toBe('Succeeded');
        const props = rec.body.properties as { environmentVariables: Record<string, string>; model: string; codeConfiguration: { codeId: string; scoringScript: string }; environmentId: string };
        expect(props.environmentVariables).toMatchObject({ MANYMODELS_SHARD: String(i), MANYMODELS_SHARDS: '2' });
        expect(props.codeConfiguration.scoringScript).toBe('score.py');
        // The model: a version in the workspace whose folder in blob storage is this shard's model folder, byte for byte.
        const [, modelName, modelVersion] = new RegExp(`^${wsId}/models/(rel-online-${d})/versions/([0-9a-f]{12})$`).exec(props.model) ?? [];
        expect(modelName, props.model).toBeDefined();
        const model = emu.store.version(emu.store.scope('workspaces', WORKSPACE), modelName!, modelVersion!);
        expect([model.modelType, model.provisioningState]).toEqual(['custom_model', 'Succeeded']);
        expect(await blobsUnder(model.modelUri!)).toEqual(filesOf(path.join(dir, 'aml-bundle/models', d)));
        expect([...filesOf(path.join(dir, 'aml-bundle/models', d)).keys()]).toContain('manymodels-bundle.json');
        codeIds.add(props.codeConfiguration.codeId);
        const [, envName, envVersion] = /\/environments\/([^/]+)\/versions\/([^/]+)$/.exec(props.environmentId)!;
        const environment = emu.online.environment(ws, envName!, envVersion!);
        expect((environment.body.properties as { condaFile: string }).condaFile).toBe(readFileSync(path.join(dir, 'aml-bundle/environment/conda.yaml'), 'utf8'));
      }
      // One code version for both shards, its folder in blob storage the bundle's code/ folder.
      expect(codeIds.size).toBe(1);
      const [, codeName, codeVersion] = new RegExp(`^${wsId}/codes/(rel-online-code)/versions/([0-9a-f]{12})$`).exec([...codeIds][0]!) ?? [];
      const code = emu.online.code(ws, codeName!, codeVersion!);
      expect(await blobsUnder(code.codeUri!)).toEqual(filesOf(path.join(dir, 'aml-bundle/code')));
      expect(`${r.stdout}${r.stderr}`).not.toContain(new URLSearchParams(sas).get('sig')!);
    }, 180_000);

    it('a second deploy of the same models reuses the code and model versions: nothing uploaded, no version PUT again', async () => {
      const before = emu.requests.length;
      const blobs = async () => {
        const names: string[] = [];
        for await (const b of blobContainer(azurite, 'deploy').listBlobsFlat()) names.push(`${b.name} ${b.properties.lastModified?.toISOString()}`);
        return names.sort();
      };
      const stored = await blobs();
      const again = await cli(['deploy', '--target', 'azureml-online', '--shards', '2', '--file-target', 'aml', '--out', 'aml-bundle'], { cwd: dir, env: env(), tokenProviderFor });
      expect(again.code, again.stderr).toBe(0);
      expect(again.stderr).toMatch(/code rel-online-code version [0-9a-f]{12}: exists, reused/);
      const mine = emu.requests.slice(before);
      expect(mine.filter((q) => q.method === 'PUT').map((q) => q.operationId)).toEqual([
        'EnvironmentVersions_CreateOrUpdate', 'OnlineEndpoints_CreateOrUpdate', 'OnlineDeployments_CreateOrUpdate', 'OnlineDeployments_CreateOrUpdate', 'OnlineEndpoints_CreateOrUpdate',
      ]);
      expect(mine.filter((q) => (q.status ?? 0) >= 400)).toEqual([]);
      expect(await blobs()).toEqual(stored);
      expect(emu.online.list(ws)).toHaveLength(1);
      expect(emu.versionCount('workspaces', WORKSPACE, 'rel-online-shard-0')).toBe(1);
    }, 180_000);

    it('a deployment whose operation fails is an MM605 naming it, exit 3, without a stack trace', async () => {
      const fault = emu.faults.inject({ kind: 'lro-failure', operation: 'OnlineDeployments_CreateOrUpdate', code: 'ImageBuildFailure', message: 'conda could not solve the environment' });
      const r = await cli(['deploy', '--target', 'azureml-online', '--shards', '2', '--endpoint', 'broken-online', '--file-target', 'aml', '--out', 'broken-bundle'], { cwd: dir, env: env(), tokenProviderFor });
      expect(fault.hits()).toBe(1);
      expect(r.code).toBe(3);
      expect(r.stderr).toMatch(/Error MM605: shard-\d of endpoint broken-online could not be created: .*ImageBuildFailure: conda could not solve the environment/);
      expect(r.stderr).not.toMatch(/    at /);
      expect(r.stderr + r.stdout).not.toContain(TOKEN);
    }, 120_000);
  });
});

describe('shard routing', () => {
  it('TypeScript and the Python runtime put every group on the same shard', async () => {
    const keys = [['3', '7'], ['S1', 'I-02'], ['naïve', 'quote"s'], ['back\\slash', ''], ['tab\tnew\nline', '日本'], ['12', '3.5']];
    const shards = [1, 2, 3, 5, 8, 64];
    const script = `import json,sys
sys.path.insert(0, ${JSON.stringify(path.resolve('pyspark-templates'))})
from manymodels_runtime.shard_routing import shard_of
keys, shards = json.load(sys.stdin)
print(json.dumps([[shard_of(p, k, n) for n in shards] for p, k in keys]))`;
    const cases = keys.map((k, i) => [i % 2 ? 'daily' : 'weekly', k] as [string, string[]]);
    const out = await new Promise<string>((resolve, reject) => {
      const child = spawn(python, ['-c', script], { stdio: ['pipe', 'pipe', 'pipe'] });
      let s = '';
      let e = '';
      child.stdout.on('data', (d: Buffer) => (s += d.toString()));
      child.stderr.on('data', (d: Buffer) => (e += d.toString()));
      child.on('close', (code) => (code === 0 ? resolve(s) : reject(new Error(e))));
      child.stdin.end(JSON.stringify([cases, shards]));
    });
    expect(JSON.parse(out)).toEqual(cases.map(([p, k]) => shards.map((n) => shardOf(p, k, n))));
    // Not all on one shard: the hash spreads.
    expect(new Set(cases.map(([p, k]) => shardOf(p, k, 8))).size).toBeGreaterThan(2);
  });

  it('routes single and batch requests with the azureml-model-deployment header', () => {
    const table: RoutingTable = { format: 1, endpoint: 'e', shards: 4, deployments: ['shard-0', 'shard-1', 'shard-2', 'shard-3'], header: 'azureml-model-deployment', pipelines: { daily: { keys: ['store_id', 'item_id'] } } };
    const requests = Array.from({ length: 20 }, (_, i) => ({ keys: { store_id: String(i), item_id: 7 }, horizon: 3 }));
    const routed = routeRequests(table, 'daily', { requests });
    expect(routed.flatMap((r) => r.indexes).sort((a, b) => a - b)).toEqual(requests.map((_, i) => i));
    for (const r of routed) {
      expect(r.headers['azureml-model-deployment']).toBe(r.deployment);
      for (const i of r.indexes) expect(deploymentFor(table, 'daily', requests[i]!.keys)).toBe(r.deployment);
      expect(r.body).toMatchObject({ pipeline: 'daily' });
    }
    const one = routeRequests(table, 'daily', requests[0]!);
    expect(one).toHaveLength(1);
    expect(one[0]!.body).toEqual({ pipeline: 'daily', ...requests[0] });
    expect(() => deploymentFor(table, 'daily', { store_id: '1' })).toThrow(/lack "item_id"/);
  });

  it('plans the fewest shards whose fullest one fits the memory budget', () => {
    const models = Array.from({ length: 40 }, (_, i) => ({ pipeline: 'p', values: [String(i)], bytes: 100 * 1024 }));
    const plan = planShards(models, { memoryMb: 401, defaultCacheBytes: 1 });
    if (typeof plan === 'string') throw new Error(plan);
    expect(plan.cacheBytes).toBe(1024 * 1024);
    expect(plan.shards).toBeGreaterThanOrEqual(4); // 4,000 KB over 1,024 KB
    expect(Math.max(...plan.bytesPerShard)).toBeLessThanOrEqual(plan.cacheBytes);
    for (let n = 1; n < plan.shards; n++) {
      const fewer = planShards(models, { shards: n, defaultCacheBytes: 1 });
      if (typeof fewer === 'string') throw new Error(fewer);
      expect(Math.max(...fewer.bytesPerShard)).toBeGreaterThan(plan.cacheBytes);
    }
    expect(planShards(models, { memoryMb: 300, defaultCacheBytes: 1 })).toMatch(/leaves nothing for models/);
    expect(planShards([{ pipeline: 'p', values: ['x'], bytes: 2 * 1024 * 1024 }], { memoryMb: 401, defaultCacheBytes: 1 })).toMatch(/more than the 1048576 bytes/);
  });
});
