// In-memory online endpoints, deployments, environment and code versions of the Azure ML emulator
// (mfe.json 2024-04-01 OnlineEndpoints_* / OnlineDeployments_* / EnvironmentVersions_* /
// CodeVersions_*): the rules the service applies beyond the schema — traffic naming existing
// deployments and summing to 100 (or all 0), mirror traffic at most 50, the compute type matching
// the endpoint's, create-only fields, no deleting a deployment that takes traffic, a deployment's
// environment, code and model naming versions that exist, versions that cannot be changed — and
// the resources as the definitions render them.
import { randomUUID } from 'node:crypto';
import { ArmFailure } from './arm-errors.js';
import type { Actor } from './model-store.js';

const PROVIDER = 'Microsoft.MachineLearningServices';
type Json = Record<string, unknown>;

export interface DeploymentRecord {
  name: string;
  body: Json;
  provisioningState: string;
  createdAt: string;
  createdBy: Actor;
  lastModifiedAt: string;
  lastModifiedBy: Actor;
}

export interface EndpointRecord {
  name: string;
  workspaceId: string;
  body: Json;
  provisioningState: string;
  principalId: string;
  tenantId: string;
  createdAt: string;
  createdBy: Actor;
  lastModifiedAt: string;
  lastModifiedBy: Actor;
  deployments: Map<string, DeploymentRecord>;
}

export interface WorkspaceRef {
  subscriptionId: string;
  resourceGroup: string;
  workspace: string;
}

const props = (body: Json): Json => (typeof body.properties === 'object' && body.properties !== null ? (body.properties as Json) : {});
const userError = (message: string, target: string): ArmFailure => new ArmFailure(400, 'UserError', message, { target, details: [{ code: 'InvalidRequestContent', message, target }] });

function checkTraffic(map: unknown, field: 'traffic' | 'mirrorTraffic', endpoint: EndpointRecord | undefined): void {
  if (map === undefined || map === null) return;
  const entries = Object.entries(map as Record<string, number>);
  for (const [name, value] of entries) {
    if (!endpoint?.deployments.has(name)) {
      throw userError(`${field} names deployment '${name}', which endpoint '${endpoint?.name ?? ''}' does not have.`, `properties.${field}.${name}`);
    }
    if (value < 0 || value > 100) throw userError(`${field} of '${name}' must be between 0 and 100, not ${value}.`, `properties.${field}.${name}`);
  }
  const sum = entries.reduce((a, [, v]) => a + v, 0);
  if (field === 'traffic' && entries.length > 0 && sum !== 100 && sum !== 0) {
    throw userError(`Traffic values need to sum to 100 (or all be 0); they sum to ${sum}.`, 'properties.traffic');
  }
  if (field === 'mirrorTraffic' && sum > 50) throw userError(`Mirror traffic values need to sum to at most 50; they sum to ${sum}.`, 'properties.mirrorTraffic');
}

/** A workspace environment version (EnvironmentVersions_*): what a deployment's environmentId names. */
export interface EnvironmentRecord {
  id: string;
  name: string;
  version: string;
  body: Json;
  createdAt: string;
  createdBy: Actor;
}

/** A workspace code version (CodeVersions_*): what a deployment's codeConfiguration.codeId names. */
export interface CodeRecord {
  id: string;
  name: string;
  version: string;
  codeUri: string | null;
  isAnonymous: boolean;
  isArchived: boolean;
  description: string | null;
  tags: Record<string, string | null>;
  properties: Record<string, string | null>;
  createdAt: string;
  createdBy: Actor;
  lastModifiedAt: string;
  lastModifiedBy: Actor;
}

/** The ARM id of a model version, split: `/subscriptions/…/(workspaces|registries)/{scope}/models/{name}/versions/{version}`. */
export interface ModelRef {
  kind: 'workspaces' | 'registries';
  subscriptionId: string;
  resourceGroup: string;
  scope: string;
  name: string;
  version: string;
}

const MODEL_ID = /^\/subscriptions\/([^/]+)\/resourceGroups\/([^/]+)\/providers\/Microsoft\.MachineLearningServices\/(workspaces|registries)\/([^/]+)\/models\/([^/]+)\/versions\/([^/]+)$/i;
const stringMap = (v: unknown): Record<string, string | null> =>
  typeof v === 'object' && v !== null && !Array.isArray(v) ? Object.fromEntries(Object.entries(v).map(([k, x]) => [k, typeof x === 'string' ? x : null])) : {};

export class OnlineStore {
  private readonly endpoints = new Map<string, EndpointRecord>();
  private readonly environments = new Map<string, EnvironmentRecord>();
  private readonly codes = new Map<string, CodeRecord>();
  /** Whether a model version exists (the model store answers). */
  private readonly modelExists: (ref: ModelRef) => boolean;

  constructor(options: { modelExists?: (ref: ModelRef) => boolean } = {}) {
    this.modelExists = options.modelExists ?? (() => false);
  }

  /**
   * CodeVersions_CreateOrUpdate. `codeUriHasBlobs` is false when the emulator's blob storage
   * holds nothing under the codeUri (undefined: not checked, e.g. another account). A version's
   * codeUri and isAnonymous cannot change once created ("Asset paths cannot be updated." as for
   * models); its properties can only be added to; description, tags and isArchived update.
   */
  putCode(w: WorkspaceRef, name: string, version: string, body: Json, actor: Actor, codeUriHasBlobs: boolean | undefined): { record: CodeRecord; created: boolean } {
    const id = `${OnlineStore.workspaceId(w)}/codes/${name}/versions/${version}`;
    const p = props(body);
    const codeUri = typeof p.codeUri === 'string' ? p.codeUri : null;
    const existing = this.codes.get(id.toLowerCase());
    const now = new Date().toISOString();
    if (existing) {
      if (codeUri !== existing.codeUri) throw new ArmFailure(400, 'UserError', 'Asset paths cannot be updated.', { target: 'properties.codeUri' });
      if ((p.isAnonymous === true) !== existing.isAnonymous) throw userError(`Property 'isAnonymous' of code version ${name}:${version} cannot be changed; register a new version.`, 'properties.isAnonymous');
      const incoming = stringMap(p.properties);
      for (const [key, value] of Object.entries(incoming)) {
        if (key in existing.properties && existing.properties[key] !== value) {
          throw userError(`Property '${key}' of code version ${name}:${version} already has a value and cannot be changed; properties can only be added.`, `properties.properties.${key}`);
        }
      }
      existing.properties = { ...existing.properties, ...incoming };
      existing.description = typeof p.description === 'string' ? p.description : null;
      existing.tags = stringMap(p.tags);
      existing.isArchived = p.isArchived === true;
      existing.lastModifiedAt = now;
      existing.lastModifiedBy = actor;
      return { record: existing, created: false };
    }
    if (codeUriHasBlobs === false) throw userError(`The codeUri '${codeUri}' of code version ${name}:${version} names no blobs: upload the code first.`, 'properties.codeUri');
    const record: CodeRecord = {
      id,
      name,
      version,
      codeUri,
      isAnonymous: p.isAnonymous === true,
      isArchived: p.isArchived === true,
      description: typeof p.description === 'string' ? p.description : null,
      tags: stringMap(p.tags),
      properties: stringMap(p.properties),
      createdAt: now,
      createdBy: actor,
      lastModifiedAt: now,
      lastModifiedBy: actor,
    };
    this.codes.set(id.toLowerCase(), record);
    return { record, created: true };
  }

  code(w: WorkspaceRef, name: string, version: string): CodeRecord {
    const c = this.codes.get(`${OnlineStore.workspaceId(w)}/codes/${name}/versions/${version}`.toLowerCase());
    if (!c) throw new ArmFailure(404, 'ResourceNotFound', `Code version ${name}:${version} was not found in workspace '${w.workspace}'.`);
    return c;
  }

  renderCode(c: CodeRecord): Json {
    return {
      id: c.id,
      name: c.version,
      type: `${PROVIDER}/workspaces/codes/versions`,
      properties: { description: c.description, tags: c.tags, properties: c.properties, isAnonymous: c.isAnonymous, isArchived: c.isArchived, codeUri: c.codeUri, provisioningState: 'Succeeded' },
      systemData: { createdAt: c.createdAt, createdBy: c.createdBy.name, createdByType: c.createdBy.type, lastModifiedAt: c.lastModifiedAt, lastModifiedBy: c.lastModifiedBy.name, lastModifiedByType: c.lastModifiedBy.type },
    };
  }

  /** A deployment's codeConfiguration.codeId, when an ARM id, must name a code version of this workspace. */
  private checkCodeRef(w: WorkspaceRef, codeId: unknown): void {
    if (typeof codeId !== 'string' || !codeId.startsWith('/')) return;
    if (!this.codes.has(codeId.toLowerCase())) {
      throw userError(`The code '${codeId}' of the deployment was not found: register the code version first.`, 'properties.codeConfiguration.codeId');
    }
  }

  /** A deployment's model, when an ARM id, must name a model version of a workspace or registry. */
  private checkModelRef(model: unknown): void {
    if (typeof model !== 'string' || !model.startsWith('/')) return;
    const m = MODEL_ID.exec(model);
    const ref: ModelRef | undefined = m ? { subscriptionId: m[1]!, resourceGroup: m[2]!, kind: m[3]!.toLowerCase() as ModelRef['kind'], scope: m[4]!, name: m[5]!, version: m[6]! } : undefined;
    if (!ref || !this.modelExists(ref)) throw userError(`The model '${model}' of the deployment was not found: register the model version first.`, 'properties.model');
  }

  /**
   * EnvironmentVersions_CreateOrUpdate: a version is immutable once created (its image and conda
   * file); the same definition again is the same version (200), another one is refused (409).
   */
  putEnvironment(w: WorkspaceRef, name: string, version: string, body: Json, actor: Actor): { record: EnvironmentRecord; created: boolean } {
    const id = `${OnlineStore.workspaceId(w)}/environments/${name}/versions/${version}`;
    const p = props(body);
    if (p.image === undefined && p.build === undefined) throw userError('An environment version needs an image or a build context.', 'properties.image');
    if (p.image !== undefined && p.build !== undefined) throw userError('An environment version takes an image or a build context, not both.', 'properties.build');
    const existing = this.environments.get(id.toLowerCase());
    if (existing) {
      const before = props(existing.body);
      for (const field of ['image', 'condaFile', 'build', 'osType', 'inferenceConfig']) {
        if (JSON.stringify(before[field] ?? null) !== JSON.stringify(p[field] ?? null)) {
          throw new ArmFailure(409, 'Conflict', `Environment ${name} version ${version} exists with another ${field}; an environment version cannot be changed, create a new version.`);
        }
      }
      return { record: existing, created: false };
    }
    const record: EnvironmentRecord = { id, name, version, body, createdAt: new Date().toISOString(), createdBy: actor };
    this.environments.set(id.toLowerCase(), record);
    return { record, created: true };
  }

  environment(w: WorkspaceRef, name: string, version: string): EnvironmentRecord {
    const e = this.environments.get(`${OnlineStore.workspaceId(w)}/environments/${name}/versions/${version}`.toLowerCase());
    if (!e) throw new ArmFailure(404, 'ResourceNotFound', `Environment ${name} version ${version} was not found in workspace '${w.workspace}'.`);
    return e;
  }

  renderEnvironment(e: EnvironmentRecord): Json {
    const p = props(e.body);
    return {
      id: e.id,
      name: e.version,
      type: `${PROVIDER}/workspaces/environments/versions`,
      properties: {
        description: p.description ?? null,
        tags: p.tags ?? {},
        properties: p.properties ?? {},
        isAnonymous: p.isAnonymous ?? false,
        isArchived: p.isArchived ?? false,
        autoRebuild: p.autoRebuild ?? 'Disabled',
        ...(p.image !== undefined ? { image: p.image } : {}),
        ...(p.condaFile !== undefined ? { condaFile: p.condaFile } : {}),
        ...(p.build !== undefined ? { build: p.build } : {}),
        environmentType: 'UserCreated',
        osType: p.osType ?? 'Linux',
        ...(p.inferenceConfig !== undefined ? { inferenceConfig: p.inferenceConfig } : {}),
        provisioningState: 'Succeeded',
      },
      systemData: { createdAt: e.createdAt, createdBy: e.createdBy.name, createdByType: e.createdBy.type, lastModifiedAt: e.createdAt, lastModifiedBy: e.createdBy.name, lastModifiedByType: e.createdBy.type },
    };
  }

  /**
   * As the service does: a deployment's environmentId that is an ARM id in this workspace must
   * name an environment version that exists.
   */
  private checkEnvironmentRef(w: WorkspaceRef, environmentId: unknown): void {
    if (typeof environmentId !== 'string' || !environmentId.startsWith('/')) return;
    const m = /\/environments\/([^/]+)\/versions\/([^/]+)$/i.exec(environmentId);
    const known = m && environmentId.toLowerCase().startsWith(OnlineStore.workspaceId(w).toLowerCase() + '/') && this.environments.has(environmentId.toLowerCase());
    if (!known) throw userError(`The environment '${environmentId}' of the deployment was not found: register the environment version first.`, 'properties.environmentId');
  }

  static workspaceId(w: WorkspaceRef): string {
    return `/subscriptions/${w.subscriptionId}/resourceGroups/${w.resourceGroup}/providers/${PROVIDER}/workspaces/${w.workspace}`;
  }

  private key(w: WorkspaceRef, endpoint: string): string {
    return `${OnlineStore.workspaceId(w)}/onlineEndpoints/${endpoint}`.toLowerCase();
  }

  endpoint(w: WorkspaceRef, name: string): EndpointRecord | undefined {
    return this.endpoints.get(this.key(w, name));
  }

  /** Every endpoint of a workspace, oldest first. */
  list(w: WorkspaceRef): EndpointRecord[] {
    const prefix = `${OnlineStore.workspaceId(w)}/onlineEndpoints/`.toLowerCase();
    return [...this.endpoints].filter(([k]) => k.startsWith(prefix)).map(([, e]) => e);
  }

  resourceKey(w: WorkspaceRef, endpoint: string, deployment?: string): string {
    return deployment === undefined ? this.key(w, endpoint) : `${this.key(w, endpoint)}/deployments/${deployment.toLowerCase()}`;
  }

  requireEndpoint(w: WorkspaceRef, name: string): EndpointRecord {
    const e = this.endpoint(w, name);
    if (!e || e.provisioningState === 'Deleting') throw new ArmFailure(404, 'ResourceNotFound', `Online endpoint '${name}' was not found in workspace '${w.workspace}'.`);
    return e;
  }

  requireDeployment(w: WorkspaceRef, endpoint: string, name: string): DeploymentRecord {
    const d = this.requireEndpoint(w, endpoint).deployments.get(name);
    if (!d || d.provisioningState === 'Deleting') throw new ArmFailure(404, 'ResourceNotFound', `Deployment '${name}' of online endpoint '${endpoint}' was not found.`);
    return d;
  }

  /** Create or update; `created` says which. The caller finishes the operation. */
  putEndpoint(w: WorkspaceRef, name: string, body: Json, actor: Actor): { record: EndpointRecord; created: boolean } {
    const existing = this.endpoint(w, name);
    const p = props(body);
    if (existing && (existing.provisioningState === 'Creating' || existing.provisioningState === 'Updating' || existing.provisioningState === 'Deleting')) {
      throw new ArmFailure(409, 'Conflict', `Online endpoint '${name}' is ${existing.provisioningState}; wait for its operation to finish.`);
    }
    checkTraffic(p.traffic, 'traffic', existing);
    checkTraffic(p.mirrorTraffic, 'mirrorTraffic', existing);
    const now = new Date().toISOString();
    if (existing) {
      const before = props(existing.body);
      if ((before.compute ?? null) !== (p.compute ?? null)) throw userError('The compute of an online endpoint cannot be changed.', 'properties.compute');
      existing.body = body;
      existing.provisioningState = 'Updating';
      existing.lastModifiedAt = now;
      existing.lastModifiedBy = actor;
      return { record: existing, created: false };
    }
    const record: EndpointRecord = {
      name,
      workspaceId: OnlineStore.workspaceId(w),
      body,
      provisioningState: 'Creating',
      principalId: randomUUID(),
      tenantId: randomUUID(),
      createdAt: now,
      createdBy: actor,
      lastModifiedAt: now,
      lastModifiedBy: actor,
      deployments: new Map(),
    };
    this.endpoints.set(this.key(w, name), record);
    return { record, created: true };
  }

  putDeployment(w: WorkspaceRef, endpointName: string, name: string, body: Json, actor: Actor): { record: DeploymentRecord; created: boolean } {
    const endpoint = this.requireEndpoint(w, endpointName);
    if (endpoint.provisioningState !== 'Succeeded') {
      throw new ArmFailure(409, 'Conflict', `Online endpoint '${endpointName}' is ${endpoint.provisioningState}; a deployment can be created once it has Succeeded.`);
    }
    const p = props(body);
    const kubernetes = props(endpoint.body).compute !== undefined && props(endpoint.body).compute !== null;
    const expected = kubernetes ? 'Kubernetes' : 'Managed';
    if (p.endpointComputeType !== expected) {
      throw userError(`Endpoint '${endpointName}' is ${kubernetes ? 'a Kubernetes' : 'a managed'} online endpoint: its deployments must have endpointComputeType ${expected}, not ${String(p.endpointComputeType)}.`, 'properties.endpointComputeType');
    }
    if (expected === 'Managed' && (typeof p.instanceType !== 'string' || !p.instanceType)) throw userError('A managed online deployment needs instanceType.', 'properties.instanceType');
    this.checkEnvironmentRef(w, p.environmentId);
    this.checkCodeRef(w, (p.codeConfiguration as Json | undefined)?.codeId);
    this.checkModelRef(p.model);
    const sku = body.sku as { capacity?: number } | undefined;
    if (sku?.capacity !== undefined && sku.capacity < 1) throw userError(`sku.capacity must be at least 1, not ${sku.capacity}.`, 'sku.capacity');
    const existing = endpoint.deployments.get(name);
    const now = new Date().toISOString();
    if (existing) {
      if (existing.provisioningState !== 'Succeeded' && existing.provisioningState !== 'Failed') {
        throw new ArmFailure(409, 'Conflict', `Deployment '${name}' is ${existing.provisioningState}; wait for its operation to finish.`);
      }
      const before = props(existing.body);
      // x-ms-mutability create/read: fixed once the deployment exists.
      for (const field of ['endpointComputeType', 'instanceType', 'codeConfiguration']) {
        if (JSON.stringify(before[field] ?? null) !== JSON.stringify(p[field] ?? null)) throw userError(`${field} of deployment '${name}' cannot be changed after it is created.`, `properties.${field}`);
      }
      existing.body = body;
      existing.provisioningState = 'Updating';
      existing.lastModifiedAt = now;
      existing.lastModifiedBy = actor;
      return { record: existing, created: false };
    }
    const record: DeploymentRecord = { name, body, provisioningState: 'Creating', createdAt: now, createdBy: actor, lastModifiedAt: now, lastModifiedBy: actor };
    endpoint.deployments.set(name, record);
    return { record, created: true };
  }

  /** Before a deployment is deleted: the service refuses while it takes traffic. */
  checkDeploymentDelete(endpoint: EndpointRecord, name: string): void {
    const traffic = (props(endpoint.body).traffic ?? {}) as Record<string, number>;
    if ((traffic[name] ?? 0) > 0) throw userError(`Deployment '${name}' takes ${traffic[name]}% of the traffic of endpoint '${endpoint.name}'; set its traffic to 0 first.`, 'traffic');
  }

  deleteEndpoint(w: WorkspaceRef, name: string): void {
    this.endpoints.delete(this.key(w, name));
  }

  renderEndpoint(e: EndpointRecord, location: string): Json {
    const p = props(e.body);
    const identity = (e.body.identity ?? { type: 'SystemAssigned' }) as Json;
    return {
      id: `${e.workspaceId}/onlineEndpoints/${e.name}`,
      name: e.name,
      type: `${PROVIDER}/workspaces/onlineEndpoints`,
      location: (e.body.location as string | undefined) ?? location,
      tags: (e.body.tags as Json | undefined) ?? {},
      ...(e.body.kind !== undefined ? { kind: e.body.kind } : {}),
      identity: String(identity.type).includes('SystemAssigned') ? { ...identity, principalId: e.principalId, tenantId: e.tenantId } : identity,
      properties: {
        authMode: p.authMode,
        description: p.description ?? null,
        properties: p.properties ?? {},
        ...(p.compute !== undefined ? { compute: p.compute } : {}),
        traffic: p.traffic ?? {},
        mirrorTraffic: p.mirrorTraffic ?? {},
        publicNetworkAccess: p.publicNetworkAccess ?? 'Enabled',
        provisioningState: e.provisioningState,
        scoringUri: `https://${e.name}.${(e.body.location as string | undefined) ?? location}.inference.ml.azure.com/score`,
        swaggerUri: `https://${e.name}.${(e.body.location as string | undefined) ?? location}.inference.ml.azure.com/swagger.json`,
        keys: null,
      },
      systemData: { createdAt: e.createdAt, createdBy: e.createdBy.name, createdByType: e.createdBy.type, lastModifiedAt: e.lastModifiedAt, lastModifiedBy: e.lastModifiedBy.name, lastModifiedByType: e.lastModifiedBy.type },
    };
  }

  renderDeployment(e: EndpointRecord, d: DeploymentRecord, location: string): Json {
    const p = props(d.body);
    return {
      id: `${e.workspaceId}/onlineEndpoints/${e.name}/deployments/${d.name}`,
      name: d.name,
      type: `${PROVIDER}/workspaces/onlineEndpoints/deployments`,
      location: (d.body.location as string | undefined) ?? location,
      tags: (d.body.tags as Json | undefined) ?? {},
      ...(d.body.sku !== undefined ? { sku: d.body.sku } : {}),
      properties: { ...p, provisioningState: d.provisioningState },
      systemData: { createdAt: d.createdAt, createdBy: d.createdBy.name, createdByType: d.createdBy.type, lastModifiedAt: d.lastModifiedAt, lastModifiedBy: d.lastModifiedBy.name, lastModifiedByType: d.lastModifiedBy.type },
    };
  }
}
