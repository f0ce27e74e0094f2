// `manymodels deploy --target azureml-online|aks`: a deployment bundle for Azure ML online
// endpoints (the scoring script over the runtime's online core, the runtime, an environment, the
// production models of each shard, the routing table, the ARM bodies) and, where a workspace is
// configured and not --dry-run, the code and model folders uploaded and registered as versions,
// then the endpoint and its deployments created through ARM. docs/serving.md#deployment.
import { createHash } from 'node:crypto';
import { copyFileSync, cpSync, existsSync, mkdirSync, readFileSync, readdirSync, rmSync, statSync, writeFileSync } from 'node:fs';
import path from 'node:path';
import type { AzureContext } from '../contracts/azure.js';
import { ManyModelsError, RemoteError, UsageError } from '../core/errors.js';
import { filesUnder } from '../core/folder-files.js';
import { runtimeDir } from '../core/package-root.js';
import type { Project } from '../pipeline/project.js';
import type { Pipeline } from '../pipeline/types.js';
import type { ModelRegistry, ModelVersion } from '../registry/model-registry.js';
import type { DeployStorage, OnlineDeploymentBody, OnlineEndpointBody, OnlineWorkspace } from '../registry/azureml/online-deployer.js';
import { contextOf } from './serve.js';
import { ROUTING_FORMAT, ROUTING_HEADER, type RoutingTable, planShards } from './shard-routing.js';

export const DEPLOY_TARGETS = ['azureml-online', 'aks'] as const;
export type DeployTarget = (typeof DEPLOY_TARGETS)[number];
export const BUNDLE_FORMAT = 1;
export const DEFAULT_CACHE_BYTES = 512 * 1024 * 1024;
/** The base image of the environment (Azure ML's curated Ubuntu image with conda). */
export const BASE_IMAGE = 'mcr.microsoft.com/azureml/openmpi4.1.0-ubuntu22.04:latest';
/** Azure ML's rule for endpoint and deployment names (stricter than the definitions' pattern). */
const AZUREML_NAME = /^[a-zA-Z][a-zA-Z0-9-]{1,30}[a-zA-Z0-9]$/;

export interface DeployOptions {
  project: Project;
  pipelines: Pipeline[];
  production: ModelRegistry;
  target: DeployTarget;
  outDir: string;
  endpoint?: string;
  shards?: number;
  memoryMb?: number;
  instanceType: string;
  instanceCount: number;
  location: string;
  /** aks: the Kubernetes compute attached to the workspace. */
  compute?: string;
  /** `--workspace sub/rg/name`; otherwise the production (then training) registry's workspace. */
  workspace?: string;
  dryRun: boolean;
  context: AzureContext;
  log?: (line: string) => void;
}

export interface DeployedShard {
  deployment: string;
  models: number;
  bytes: number;
}

export interface DeployResult {
  outDir: string;
  endpoint: string;
  shards: DeployedShard[];
  /** Set when a workspace was configured: where the endpoint is (or would be) created. */
  workspace?: string;
  created: boolean;
  scoringUri?: string;
  /** What was (or would be) sent to ARM, in order. */
  plan: string[];
  armRequests: number;
}

function fail(message: string, code: string, nextSteps: string[] = []): UsageError {
  return new UsageError(message, { code, nextSteps });
}

/** The workspace the endpoint goes into: --workspace, else the production then the training registry's. */
export function deployWorkspace(project: Project, flag: string | undefined, env: Record<string, string | undefined>): OnlineWorkspace | undefined {
  const registries = [project.target.productionRegistry, project.target.registry];
  const arm = registries.find((r) => r.type === 'azureml' && r.endpoint)?.endpoint ?? env.MANYMODELS_ARM_ENDPOINT ?? 'https://management.azure.com';
  if (flag !== undefined) {
    const parts = flag.split('/');
    if (parts.length !== 3 || parts.some((p) => !/^[A-Za-z0-9][A-Za-z0-9._()-]{0,89}$/.test(p))) {
      throw fail(`--workspace must be SUBSCRIPTION/RESOURCE_GROUP/WORKSPACE, got "${flag}"`, 'MM710');
    }
    return { subscriptionId: parts[0]!, resourceGroup: parts[1]!, workspace: parts[2]!, armEndpoint: arm };
  }
  for (const r of registries) {
    if (r.type === 'azureml' && r.workspace && r.subscriptionId && r.resourceGroup) {
      return { subscriptionId: r.subscriptionId, resourceGroup: r.resourceGroup, workspace: r.workspace, armEndpoint: r.endpoint ?? arm };
    }
  }
  return undefined;
}

/**
 * The blob container the code and model folders are uploaded to: the storage settings
 * (storage_account_url, storage_container, storage_sas_env) of the target's azureml registry in
 * the deploy's workspace, else of its production then training azureml registry that has them.
 */
export function deployStorage(project: Project, w: OnlineWorkspace): DeployStorage | undefined {
  const candidates = [
    { config: project.target.productionRegistry, field: 'production_registry' },
    { config: project.target.registry, field: 'registry' },
  ].filter((c) => c.config.type === 'azureml' && c.config.storageAccountUrl);
  const same = (a: string | undefined, b: string): boolean => a?.toLowerCase() === b.toLowerCase();
  const here = candidates.find((c) => same(c.config.workspace, w.workspace) && same(c.config.resourceGroup, w.resourceGroup) && same(c.config.subscriptionId, w.subscriptionId));
  return here ?? candidates[0];
}

function workspaceId(w: OnlineWorkspace): string {
  return `/subscriptions/${w.subscriptionId}/resourceGroups/${w.resourceGroup}/providers/Microsoft.MachineLearningServices/workspaces/${w.workspace}`;
}

/** An asset reference: an ARM id in a known workspace, else the `azureml:name:version` form. */
function assetRef(w: OnlineWorkspace | undefined, kind: 'models' | 'codes' | 'environments', name: string, version: string): string {
  return w ? `${workspaceId(w)}/${kind}/${name}/versions/${version}` : `azureml:${name}:${version}`;
}

/** The folder must be new, empty, or an earlier bundle (which is replaced). */
function prepareOut(outDir: string): void {
  if (existsSync(outDir)) {
    if (!statSync(outDir).isDirectory()) throw fail(`--out ${outDir} is a file, not a folder`, 'MM716');
    const entries = readdirSync(outDir);
    if (entries.length && !entries.includes('routing.json')) {
      throw fail(`--out ${outDir} is not empty and holds no earlier bundle (routing.json); refusing to write into it`, 'MM716', ['Name a new or empty folder, or an earlier bundle to replace.']);
    }
    for (const sub of ['code', 'models', 'environment', 'azureml', 'kubernetes', 'routing.json', 'router.py']) rmSync(path.join(outDir, sub), { recursive: true, force: true });
  }
  mkdirSync(outDir, { recursive: true });
}

function copyRuntime(codeDir: string): void {
  const src = runtimeDir();
  mkdirSync(codeDir, { recursive: true });
  copyFileSync(path.join(src, 'azureml_score.py'), path.join(codeDir, 'score.py'));
  cpSync(path.join(src, 'manymodels_runtime'), path.join(codeDir, 'manymodels_runtime'), {
    recursive: true,
    filter: (p) => !p.includes('__pycache__') && !p.endsWith('.pyc'),
  });
}

/** conda.yaml of the environment: what the runtime imports, and Azure ML's inference server. */
export function condaYaml(): string {
  return [
    'name: manymodels-online',
    'channels: [conda-forge]',
    'dependencies:',
    '  - python=3.11',
    '  - pip',
    '  - pip:',
    '      - numpy>=1.21,<3',
    '      - pandas>=1.5,<3',
    '      - scikit-learn>=1.1',
    '      - statsmodels>=0.13',
    '      - azureml-inference-server-http>=1.0',
    '',
  ].join('\n');
}

const hashOf = (...parts: string[]): string => {
  const h = createHash('sha256');
  for (const p of parts) h.update(p).update('\0');
  return h.digest('hex');
};

export async function deployPipelines(options: DeployOptions): Promise<DeployResult> {
  const { project, production } = options;
  const log = options.log ?? (() => undefined);
  const endpoint = options.endpoint ?? `${project.name}-online`.toLowerCase().replace(/[^a-z0-9-]/g, '-').slice(0, 32).replace(/-+$/, '');
  if (!AZUREML_NAME.test(endpoint)) {
    throw fail(`the endpoint name "${endpoint}" is not one Azure ML accepts: 3–32 letters, digits and hyphens, starting with a letter and not ending with a hyphen`, 'MM710', ['Give one with --endpoint.']);
  }
  if (options.target === 'aks' && !options.compute) throw fail('--target aks needs --compute NAME: the Kubernetes compute attached to the workspace', 'MM710');
  for (const p of options.pipelines) {
    if (p.model.type === 'custom') throw fail(`pipeline ${p.name} uses a custom model, whose code a deployment bundle does not carry yet`, 'MM713', ['Deploy the pipelines with built-in models, or serve this one with `manymodels serve`.']);
  }
  const workspace = deployWorkspace(project, options.workspace, options.context.env);

  // Every production model of the pipelines, its artifact on this machine (downloaded, checked).
  const cacheDir = path.join(project.target.stateDir, 'cache', 'artifacts');
  const groups: Array<{ pipeline: Pipeline; version: ModelVersion; file: string; bytes: number }> = [];
  for (const pipeline of options.pipelines) {
    const latest = [...(await production.latestByGroup(pipeline.name)).values()];
    const files = await production.localArtifacts(latest, cacheDir);
    for (const v of latest) {
      const file = files.get(v.name) ?? v.artifactUri;
      groups.push({ pipeline, version: v, file, bytes: statSync(file).size });
    }
  }
  if (!groups.length) {
    throw fail(`no production models for ${options.pipelines.map((p) => p.name).join(', ')} in ${production.description}`, 'MM711', ['Train and promote first: manymodels train && manymodels promote.']);
  }
  groups.sort((a, b) => (a.pipeline.name === b.pipeline.name ? a.version.name.localeCompare(b.version.name) : a.pipeline.name.localeCompare(b.pipeline.name)));

  const plan = planShards(
    groups.map((g) => ({ pipeline: g.pipeline.name, values: g.pipeline.keys.map((k) => g.version.keys[k] ?? ''), bytes: g.bytes })),
    { ...(options.shards !== undefined ? { shards: options.shards } : {}), ...(options.memoryMb !== undefined ? { memoryMb: options.memoryMb } : {}), defaultCacheBytes: DEFAULT_CACHE_BYTES },
  );
  if (typeof plan === 'string') throw fail(plan, 'MM712', ['Give larger containers (--memory-mb), or a shard count (--shards).']);
  const deployments = Array.from({ length: plan.shards }, (_, i) => `shard-${i}`);

  const outDir = path.resolve(options.outDir);
  prepareOut(outDir);
  copyRuntime(path.join(outDir, 'code'));
  mkdirSync(path.join(outDir, 'environment'), { recursive: true });
  writeFileSync(path.join(outDir, 'environment', 'conda.yaml'), condaYaml());
  copyFileSync(path.join(runtimeDir(), 'online_router.py'), path.join(outDir, 'router.py'));

  const contexts = Object.fromEntries(options.pipelines.map((p) => [p.name, contextOf(project, p)]));
  const routing: RoutingTable = {
    format: ROUTING_FORMAT,
    endpoint,
    shards: plan.shards,
    deployments,
    header: ROUTING_HEADER,
    pipelines: Object.fromEntries(options.pipelines.map((p) => [p.name, { keys: p.keys }])),
  };
  writeFileSync(path.join(outDir, 'routing.json'), `${JSON.stringify(routing, null, 2)}\n`);

  // One model folder per shard, holding that shard's groups only.
  const shards: DeployedShard[] = [];
  const modelVersions: string[] = [];
  for (let s = 0; s < plan.shards; s++) {
    const dir = path.join(outDir, 'models', deployments[s]!);
    mkdirSync(path.join(dir, 'artifacts'), { recursive: true });
    const mine = groups.filter((_, i) => plan.assignment[i] === s);
    const pipelines: Record<string, unknown> = {};
    for (const p of options.pipelines) {
      pipelines[p.name] = {
        keys: p.keys,
        ctx: contexts[p.name],
        models: mine
          .filter((g) => g.pipeline.name === p.name)
          .map((g) => {
            const artifact = `artifacts/${g.version.sha256.toLowerCase()}`;
            copyFileSync(g.file, path.join(dir, artifact));
            return { name: g.version.name, version: g.version.version, groupId: g.version.groupId, keys: g.version.keys, sha256: g.version.sha256.toLowerCase(), artifact };
          }),
      };
    }
    const manifest = { format: BUNDLE_FORMAT, endpoint, deployment: deployments[s], shard: s, shards: plan.shards, deployments, cache: { bytes: plan.cacheBytes, models: Math.max(1, mine.length) }, pipelines };
    const text = `${JSON.stringify(manifest, null, 2)}\n`;
    writeFileSync(path.join(dir, 'manymodels-bundle.json'), text);
    modelVersions.push(hashOf(text).slice(0, 12));
    shards.push({ deployment: deployments[s]!, models: mine.length, bytes: plan.bytesPerShard[s]! });
  }

  // The ARM bodies (mfe.json 2024-04-01) and their az ml twins.
  const codeVersion = hashOf(...walkFiles(path.join(outDir, 'code'))).slice(0, 12);
  const envVersion = hashOf(condaYaml(), BASE_IMAGE).slice(0, 12);
  const codeName = `${endpoint}-code`;
  const modelName = (s: number): string => `${endpoint}-${deployments[s]}`;
  const kubernetes = options.target === 'aks';
  const tags = { 'manymodels.project': project.name, 'manymodels.pipelines': options.pipelines.map((p) => p.name).join(',') };
  const endpointBody = (traffic: Record<string, number>): OnlineEndpointBody => ({
    location: options.location,
    tags,
    identity: { type: 'SystemAssigned' },
    properties: {
      authMode: 'Key',
      description: `manymodels: ${options.pipelines.map((p) => p.name).join(', ')} (${plan.shards} shard${plan.shards === 1 ? '' : 's'})`,
      ...(kubernetes ? { compute: workspace ? `${workspaceId(workspace)}/computes/${options.compute}` : `azureml:${options.compute}` } : {}),
      traffic,
    },
  });
  // One deployment takes all traffic; shards take none and are reached by the routing header
  // alone, so a request without it is refused instead of landing on a shard without its group.
  const traffic = plan.shards === 1 ? { [deployments[0]!]: 100 } : Object.fromEntries(deployments.map((d) => [d, 0]));
  const memoryMb = options.memoryMb ?? Math.ceil(plan.cacheBytes / 1024 / 1024) + 400;
  const deploymentBody = (s: number): OnlineDeploymentBody => ({
    location: options.location,
    tags,
    sku: { name: 'Default', capacity: options.instanceCount },
    properties: {
      endpointComputeType: kubernetes ? 'Kubernetes' : 'Managed',
      description: `shard ${s} of ${plan.shards}: ${shards[s]!.models} models`,
      instanceType: options.instanceType,
      model: assetRef(workspace, 'models', modelName(s), modelVersions[s]!),
      codeConfiguration: { codeId: assetRef(workspace, 'codes', codeName, codeVersion), scoringScript: 'score.py' },
      environmentId: assetRef(workspace, 'environments', `${endpoint}-env`, envVersion),
      environmentVariables: {
        MANYMODELS_SHARD: String(s),
        MANYMODELS_SHARDS: String(plan.shards),
        MANYMODELS_CACHE_BYTES: String(plan.cacheBytes),
        MANYMODELS_CACHE_MODELS: String(Math.max(1, shards[s]!.models)),
      },
      appInsightsEnabled: false,
      requestSettings: { requestTimeout: 'PT5S', maxConcurrentRequestsPerInstance: 1 },
      livenessProbe: { initialDelay: 'PT30S', period: 'PT10S', timeout: 'PT2S', failureThreshold: 30, successThreshold: 1 },
      readinessProbe: { initialDelay: 'PT10S', period: 'PT10S', timeout: 'PT2S', failureThreshold: 30, successThreshold: 1 },
      scaleSettings: kubernetes ? { scaleType: 'TargetUtilization', minInstances: options.instanceCount, maxInstances: options.instanceCount } : { scaleType: 'Default' },
      ...(kubernetes ? { containerResourceRequirements: { containerResourceRequests: { cpu: '1', memory: `${memoryMb}Mi` }, containerResourceLimits: { memory: `${memoryMb}Mi` } } } : {}),
    },
  });
  const armDir = path.join(outDir, 'azureml');
  mkdirSync(path.join(armDir, 'deployments'), { recursive: true });
  writeFileSync(path.join(armDir, 'endpoint.json'), `${JSON.stringify(endpointBody(traffic), null, 2)}\n`);
  for (let s = 0; s < plan.shards; s++) {
    writeFileSync(path.join(armDir, 'deployments', `${deployments[s]}.json`), `${JSON.stringify(deploymentBody(s), null, 2)}\n`);
    writeFileSync(path.join(armDir, `${deployments[s]}.yml`), azCliDeploymentYaml(endpoint, deployments[s]!, deploymentBody(s), kubernetes));
  }
  writeFileSync(path.join(armDir, 'endpoint.yml'), azCliEndpointYaml(endpoint, kubernetes ? options.compute : undefined));

  const where = workspace ? `workspace ${workspace.workspace} (resource group ${workspace.resourceGroup})` : undefined;
  const steps = [
    `PUT environment ${endpoint}-env version ${envVersion} (${BASE_IMAGE} + environment/conda.yaml)`,
    `code ${codeName} version ${codeVersion}: unless it exists, upload code/ to blob storage, then PUT it with that folder as codeUri`,
    ...deployments.map((d, s) => `model ${modelName(s)} version ${modelVersions[s]}: unless it exists, upload models/${d}/ to blob storage, then PUT it with that folder as modelUri`),
    `PUT online endpoint ${endpoint}${where ? ` in ${where}` : ''} (${kubernetes ? 'Kubernetes compute ' + options.compute : 'managed'}, auth Key), wait for Succeeded`,
    ...deployments.map((d, s) => `PUT online deployment ${endpoint}/${d}: ${shards[s]!.models} models, ${shards[s]!.bytes} bytes of artifacts, ${options.instanceCount} × ${options.instanceType}, wait for Succeeded`),
    `PUT online endpoint ${endpoint} with traffic ${JSON.stringify(traffic)}`,
  ];
  const result: DeployResult = { outDir, endpoint, shards, created: false, plan: steps, armRequests: 0 };
  if (where) result.workspace = where;
  if (!workspace || options.dryRun) return result;
  const storage = deployStorage(project, workspace);
  if (!storage) {
    throw fail(
      `creating the endpoint in ${where} uploads its scoring code and models to blob storage first, and this target names none: no azureml registry with storage_account_url`,
      'MM718',
      ['Give the target\'s registry (or production_registry) of type azureml the blob storage of the workspace\'s default datastore: storage_account_url, storage_container (and storage_sas_env for a SAS), or deploy with --dry-run and register the assets with az ml.'],
    );
  }

  const { openOnlineDeployer } = await import('../registry/azureml/online-deployer.js');
  const deployer = await openOnlineDeployer(workspace, options.context, { storage, onProgress: (what, status) => log(`${what}: ${status}`) });
  // The endpoint first, keeping the traffic it has (none when new: its deployments do not exist
  // yet, and ARM refuses traffic to a deployment it does not have), then every deployment at
  // once, then the traffic. A redeploy so never takes a serving endpoint's traffic away.
  // The environment the deployments name, registered first (its version is its content's hash,
  // so a redeploy PUTs the same body again); the service refuses a deployment naming a missing one.
  log(steps[0]!);
  await deployer.putEnvironmentVersion(`${endpoint}-env`, envVersion, { properties: { description: `manymodels runtime for endpoint ${endpoint}`, tags, image: BASE_IMAGE, condaFile: condaYaml(), osType: 'Linux' } });
  // The code and each shard's model folder, as versions named by their content's hash: one that
  // exists already is left as it is (a version's files cannot change), so a redeploy sends none.
  const assetTags = { ...tags, 'manymodels.endpoint': endpoint };
  log(steps[1]!);
  const code = await deployer.registerCode({ name: codeName, version: codeVersion, folder: path.join(outDir, 'code'), description: `manymodels scoring code for endpoint ${endpoint}`, tags: assetTags });
  log(`code ${codeName} version ${codeVersion}: ${describeAsset(code)}`);
  for (let s = 0; s < plan.shards; s++) {
    log(steps[2 + s]!);
    const model = await deployer.registerModel({ name: modelName(s), version: modelVersions[s]!, folder: path.join(outDir, 'models', deployments[s]!), description: `manymodels shard ${s} of ${plan.shards} for endpoint ${endpoint}: ${shards[s]!.models} models`, tags: assetTags });
    log(`model ${modelName(s)} version ${modelVersions[s]}: ${describeAsset(model)}`);
  }
  const assetSteps = 2 + plan.shards;
  log(steps[assetSteps]!);
  const existing = await deployer.getEndpoint(endpoint);
  await deployer.putEndpoint(endpoint, endpointBody({ ...(existing?.properties.traffic ?? {}) }));
  for (const step of steps.slice(assetSteps + 1, -1)) log(step);
  const outcomes = await Promise.allSettled(deployments.map((d, s) => deployer.putDeployment(endpoint, d, deploymentBody(s))));
  const failed = outcomes.map((o, i) => [o, deployments[i]] as const).filter(([o]) => o.status === 'rejected');
  if (failed.length) {
    const first = (failed[0]![0] as PromiseRejectedResult).reason as unknown;
    if (!(first instanceof ManyModelsError)) throw first;
    // The service's reason (a failed operation, a refused body), with the deployments it hit.
    throw new RemoteError(`${failed.map(([, d]) => d).join(', ')} of endpoint ${endpoint} could not be created: ${first.message}`, { code: first.code, nextSteps: first.nextSteps, cause: first });
  }
  log(steps.at(-1)!);
  const final = await deployer.putEndpoint(endpoint, endpointBody(traffic));
  result.created = true;
  if (typeof final.properties.scoringUri === 'string') result.scoringUri = final.properties.scoringUri;
  result.armRequests = deployer.requestCount();
  return result;
}

function describeAsset(a: { created: boolean; files: number; uploadedFiles: number; bytes: number }): string {
  return a.created ? `registered (${a.files} files, ${a.uploadedFiles} uploaded, ${a.bytes} bytes)` : 'exists, reused';
}

/** Every file under `root` as its path from `root` (forward slashes) and its sha256, sorted: what a code version's hash covers. */
function walkFiles(root: string): string[] {
  return filesUnder(root).flatMap((rel) => [rel, createHash('sha256').update(readFileSync(path.join(root, ...rel.split('/')))).digest('hex')]);
}

const yamlString = (s: string): string => JSON.stringify(s);

function azCliEndpointYaml(endpoint: string, compute: string | undefined): string {
  return [
    `$schema: https://azuremlschemas.azureedge.net/latest/${compute ? 'kubernetesOnlineEndpoint' : 'managedOnlineEndpoint'}.schema.json`,
    `name: ${yamlString(endpoint)}`,
    'auth_mode: key',
    ...(compute ? [`compute: ${yamlString(`azureml:${compute}`)}`] : []),
    '',
  ].join('\n');
}

/** The same deployment for `az ml online-deployment create -f`, which uploads code, model and environment itself. */
function azCliDeploymentYaml(endpoint: string, deployment: string, body: OnlineDeploymentBody, kubernetes: boolean): string {
  const p = body.properties as unknown as Record<string, unknown> & { environmentVariables: Record<string, string> };
  const lines = [
    `$schema: https://azuremlschemas.azureedge.net/latest/${kubernetes ? 'kubernetesOnlineDeployment' : 'managedOnlineDeployment'}.schema.json`,
    `name: ${yamlString(deployment)}`,
    `endpoint_name: ${yamlString(endpoint)}`,
    'model:',
    `  path: ../models/${deployment}`,
    'code_configuration:',
    '  code: ../code',
    '  scoring_script: score.py',
    'environment:',
    `  image: ${yamlString(BASE_IMAGE)}`,
    '  conda_file: ../environment/conda.yaml',
    `instance_type: ${yamlString(String(p.instanceType))}`,
    `instance_count: ${body.sku?.capacity ?? 1}`,
    'environment_variables:',
    ...Object.entries(p.environmentVariables).map(([k, v]) => `  ${k}: ${yamlString(v)}`),
  ];
  if (kubernetes) {
    const req = (p.containerResourceRequirements as { containerResourceRequests: { cpu: string; memory: string } }).containerResourceRequests;
    lines.push('resources:', '  requests:', `    cpu: ${yamlString(req.cpu)}`, `    memory: ${yamlString(req.memory)}`, '  limits:', `    memory: ${yamlString(req.memory)}`);
  }
  return `${lines.join('\n')}\n`;
}
