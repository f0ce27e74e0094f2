// In-memory state of the Azure ML emulator: workspaces and registries holding model
// containers and versions, the immutability rules for versions, filters and ordering.
import { ArmFailure } from './arm-errors.js';

export type ScopeKind = 'workspaces' | 'registries';
type Str = string | null;
type StrMap = Record<string, Str>;

export interface Actor {
  name: string;
  type: 'User' | 'Application';
}

export interface VersionRecord {
  version: string;
  description: Str;
  tags: StrMap;
  properties: StrMap;
  isAnonymous: boolean;
  isArchived: boolean;
  flavors: Record<string, { data?: StrMap | null } | null> | null;
  jobName: Str;
  modelType: Str;
  modelUri: Str;
  stage: Str;
  provisioningState: string;
  createdAt: string;
  createdBy: Actor;
  lastModifiedAt: string;
  lastModifiedBy: Actor;
  /** Emulator bookkeeping: creation sequence (ordering) and publish source. */
  seq: number;
  publishedFrom?: string;
}

export interface ContainerRecord {
  name: string;
  description: Str;
  tags: StrMap;
  properties: StrMap;
  isArchived: boolean;
  provisioningState: string;
  createdAt: string;
  createdBy: Actor;
  lastModifiedAt: string;
  lastModifiedBy: Actor;
  seq: number;
  versions: Map<string, VersionRecord>;
}

export interface AssetScope {
  kind: ScopeKind;
  subscriptionId: string;
  resourceGroup: string;
  name: string;
  containers: Map<string, ContainerRecord>;
}

export interface ScopeRef {
  subscriptionId: string;
  resourceGroup: string;
  name: string;
}

const PROVIDER = 'Microsoft.MachineLearningServices';
/** Fields that cannot change once a version exists (the service refuses path changes). */
const IMMUTABLE_FIELDS = ['modelUri', 'modelType', 'jobName', 'isAnonymous', 'flavors'] as const;

const isObj = (v: unknown): v is Record<string, unknown> => typeof v === 'object' && v !== null && !Array.isArray(v);
const str = (v: unknown): Str => (typeof v === 'string' ? v : null);
function strMap(v: unknown): StrMap {
  const out: StrMap = {};
  if (isObj(v)) for (const [k, val] of Object.entries(v)) out[k] = typeof val === 'string' ? val : null;
  return out;
}
function canonical(v: unknown): string {
  if (v === undefined || v === null) return 'null';
  if (Array.isArray(v)) return `[${v.map(canonical).join(',')}]`;
  if (isObj(v)) return `{${Object.keys(v).sort().map((k) => `${JSON.stringify(k)}:${canonical(v[k])}`).join(',')}}`;
  return JSON.stringify(v);
}

/** Parses "a,b=v" into [name, value|undefined] pairs (AND semantics). */
export function parseFilterList(filter: string): Array<[string, string | undefined]> {
  return filter
    .split(',')
    .map((part) => part.trim())
    .filter((part) => part !== '')
    .map((part) => {
      const eq = part.indexOf('=');
      return eq === -1 ? [part, undefined] : [part.slice(0, eq), part.slice(eq + 1)];
    });
}

export function matchesFilterList(map: StrMap, filter: Array<[string, string | undefined]>): boolean {
  return filter.every(([name, value]) => name in map && (value === undefined || map[name] === value));
}

export class ModelStore {
  private readonly scopes = new Map<string, AssetScope>();
  private seq = 0;
  private readonly now: () => Date;
  /** Undefined = any workspace/registry exists on first use. */
  private readonly known: Record<ScopeKind, ScopeRef[] | undefined>;

  constructor(options: { workspaces?: ScopeRef[]; registries?: ScopeRef[]; now?: () => Date }) {
    this.now = options.now ?? (() => new Date());
    this.known = { workspaces: options.workspaces, registries: options.registries };
    for (const kind of ['workspaces', 'registries'] as const) {
      for (const ref of options[kind] ?? []) this.scopes.set(this.key(kind, ref), { kind, ...ref, containers: new Map() });
    }
  }

  private key(kind: ScopeKind, ref: ScopeRef): string {
    // ARM names (subscription, resource group, workspace, registry) are case-insensitive.
    return `${kind}/${ref.subscriptionId}/${ref.resourceGroup}/${ref.name}`.toLowerCase();
  }

  /** The workspace/registry, or ARM's ResourceNotFound for the parent resource. */
  scope(kind: ScopeKind, ref: ScopeRef): AssetScope {
    const key = this.key(kind, ref);
    let scope = this.scopes.get(key);
    if (!scope && this.known[kind] === undefined) {
      scope = { kind, ...ref, containers: new Map() };
      this.scopes.set(key, scope);
    }
    if (!scope) {
      throw new ArmFailure(
        404,
        'ResourceNotFound',
        `The Resource '${PROVIDER}/${kind}/${ref.name}' under resource group '${ref.resourceGroup}' was not found.`,
      );
    }
    return scope;
  }

  /** A registry by name (publish names only the registry): same subscription first. */
  registryByName(name: string, near: ScopeRef): AssetScope {
    const candidates = [...this.scopes.values()].filter((s) => s.kind === 'registries' && s.name.toLowerCase() === name.toLowerCase());
    const found = candidates.find((s) => s.subscriptionId.toLowerCase() === near.subscriptionId.toLowerCase()) ?? candidates[0];
    if (found) return found;
    return this.scope('registries', { subscriptionId: near.subscriptionId, resourceGroup: near.resourceGroup, name });
  }

  allScopes(): AssetScope[] {
    return [...this.scopes.values()];
  }

  private stamp(): string {
    return this.now().toISOString();
  }

  container(scope: AssetScope, name: string): ContainerRecord {
    const c = scope.containers.get(name);
    if (!c) throw new ArmFailure(404, 'ResourceNotFound', `Model container '${name}' was not found in ${scope.kind === 'workspaces' ? 'workspace' : 'registry'} '${scope.name}'.`);
    return c;
  }

  version(scope: AssetScope, name: string, version: string): VersionRecord {
    const v = this.container(scope, name).versions.get(version);
    if (!v) throw new ArmFailure(404, 'ResourceNotFound', `Model version '${name}:${version}' was not found in ${scope.kind === 'workspaces' ? 'workspace' : 'registry'} '${scope.name}'.`);
    return v;
  }

  /** Creates or updates a container; returns whether it was created. */
  putContainer(scope: AssetScope, name: string, props: Record<string, unknown>, actor: Actor, provisioningState = 'Succeeded'): { record: ContainerRecord; created: boolean } {
    const at = this.stamp();
    const existing = scope.containers.get(name);
    if (existing) {
      existing.description = str(props.description);
      existing.tags = strMap(props.tags);
      existing.properties = strMap(props.properties);
      existing.isArchived = props.isArchived === true;
      existing.lastModifiedAt = at;
      existing.lastModifiedBy = actor;
      return { record: existing, created: false };
    }
    const record: ContainerRecord = {
      name,
      description: str(props.description),
      tags: strMap(props.tags),
      properties: strMap(props.properties),
      isArchived: props.isArchived === true,
      provisioningState,
      createdAt: at,
      createdBy: actor,
      lastModifiedAt: at,
      lastModifiedBy: actor,
      seq: ++this.seq,
      versions: new Map(),
    };
    scope.containers.set(name, record);
    return { record, created: true };
  }

  /**
   * Creates or updates a version. An existing version keeps its immutable fields: a change to
   * modelUri gets the service's "Asset paths cannot be updated." (the message the azure-ai-ml
   * SDK matches on); mutable fields (description, tags, stage, isArchived) update; properties
   * can only be added to (a changed value is a 400 UserError; one left out is kept).
   */
  putVersion(scope: AssetScope, name: string, version: string, props: Record<string, unknown>, actor: Actor, provisioningState = 'Succeeded'): { record: VersionRecord; created: boolean; containerCreated: boolean } {
    const at = this.stamp();
    let containerCreated = false;
    let container = scope.containers.get(name);
    if (!container) {
      // Creating a version creates its container implicitly.
      container = this.putContainer(scope, name, {}, actor).record;
      containerCreated = true;
    }
    const existing = container.versions.get(version);
    if (existing) {
      for (const field of IMMUTABLE_FIELDS) {
        const incoming = field === 'isAnonymous' ? props[field] === true : props[field];
        if (canonical(incoming) !== canonical(existing[field])) {
          const message = field === 'modelUri' ? 'Asset paths cannot be updated.' : `Property '${field}' of model version ${name}:${version} cannot be changed; register a new version.`;
          throw new ArmFailure(400, 'UserError', message, { target: `properties.${field}` });
        }
      }
      // Properties of a version can only be added to on the service: a key it has may be sent
      // again with the same value, or left out (kept), never changed.
      const incomingProps = strMap(props.properties);
      for (const [key, value] of Object.entries(incomingProps)) {
        if (key in existing.properties && existing.properties[key] !== value) {
          throw new ArmFailure(400, 'UserError', `Property '${key}' of model version ${name}:${version} already has a value and cannot be changed; properties can only be added.`, { target: `properties.properties.${key}` });
        }
      }
      existing.description = str(props.description);
      existing.tags = strMap(props.tags);
      existing.properties = { ...existing.properties, ...incomingProps };
      existing.stage = str(props.stage);
      existing.isArchived = props.isArchived === true;
      existing.lastModifiedAt = at;
      existing.lastModifiedBy = actor;
      return { record: existing, created: false, containerCreated };
    }
    const record: VersionRecord = {
      version,
      description: str(props.description),
      tags: strMap(props.tags),
      properties: strMap(props.properties),
      isAnonymous: props.isAnonymous === true,
      isArchived: props.isArchived === true,
      flavors: isObj(props.flavors) ? (JSON.parse(JSON.stringify(props.flavors)) as VersionRecord['flavors']) : null,
      jobName: str(props.jobName),
      modelType: str(props.modelType),
      modelUri: str(props.modelUri),
      stage: str(props.stage),
      provisioningState,
      createdAt: at,
      createdBy: actor,
      lastModifiedAt: at,
      lastModifiedBy: actor,
      seq: ++this.seq,
    };
    container.versions.set(version, record);
    return { record, created: true, containerCreated };
  }

  deleteVersion(scope: AssetScope, name: string, version: string): boolean {
    return scope.containers.get(name)?.versions.delete(version) ?? false;
  }

  deleteContainer(scope: AssetScope, name: string): boolean {
    return scope.containers.delete(name);
  }

  /** latestVersion = most recently created active version; nextVersion = max integer + 1. */
  versionSummary(container: ContainerRecord): { latestVersion: string | null; nextVersion: string | null } {
    const active = [...container.versions.values()].filter((v) => !v.isArchived && v.provisioningState === 'Succeeded');
    const latest = active.sort((a, b) => b.seq - a.seq)[0];
    const ints = [...container.versions.keys()].filter((v) => /^\d+$/.test(v)).map(Number);
    return { latestVersion: latest?.version ?? null, nextVersion: ints.length > 0 ? String(Math.max(...ints) + 1) : '1' };
  }

  resourceId(scope: AssetScope, name?: string, version?: string): string {
    let id = `/subscriptions/${scope.subscriptionId}/resourceGroups/${scope.resourceGroup}/providers/${PROVIDER}/${scope.kind}/${scope.name}`;
    if (name !== undefined) id += `/models/${name}`;
    if (version !== undefined) id += `/versions/${version}`;
    return id;
  }

  renderContainer(scope: AssetScope, c: ContainerRecord): Record<string, unknown> {
    const summary = this.versionSummary(c);
    return {
      id: this.resourceId(scope, c.name),
      name: c.name,
      type: `${PROVIDER}/${scope.kind}/models`,
      systemData: systemData(c),
      properties: {
        description: c.description,
        tags: c.tags,
        properties: c.properties,
        isArchived: c.isArchived,
        latestVersion: summary.latestVersion,
        nextVersion: summary.nextVersion,
        provisioningState: c.provisioningState,
      },
    };
  }

  renderVersion(scope: AssetScope, name: string, v: VersionRecord): Record<string, unknown> {
    return {
      id: this.resourceId(scope, name, v.version),
      name: v.version,
      type: `${PROVIDER}/${scope.kind}/models/versions`,
      systemData: systemData(v),
      properties: {
        description: v.description,
        tags: v.tags,
        properties: v.properties,
        isAnonymous: v.isAnonymous,
        isArchived: v.isArchived,
        flavors: v.flavors,
        jobName: v.jobName,
        modelType: v.modelType,
        modelUri: v.modelUri,
        stage: v.stage,
        provisioningState: v.provisioningState,
      },
    };
  }
}

function systemData(r: { createdAt: string; createdBy: Actor; lastModifiedAt: string; lastModifiedBy: Actor }): Record<string, string> {
  return {
    createdAt: r.createdAt,
    createdBy: r.createdBy.name,
    createdByType: r.createdBy.type,
    lastModifiedAt: r.lastModifiedAt,
    lastModifiedBy: r.lastModifiedBy.name,
    lastModifiedByType: r.lastModifiedBy.type,
  };
}

/** Applies listViewType (default ActiveOnly). */
export function byListView<T extends { isArchived: boolean }>(items: T[], view: string | undefined): T[] {
  if (view === 'All') return items;
  if (view === 'ArchivedOnly') return items.filter((i) => i.isArchived);
  return items.filter((i) => !i.isArchived);
}

/** "createdtime|version [asc|desc]"; anything else is refused (400) rather than ignored. */
export function orderVersions(items: VersionRecord[], orderBy: string | undefined): VersionRecord[] {
  const sorted = [...items].sort((a, b) => a.seq - b.seq);
  if (!orderBy) return sorted;
  const m = /^\s*(createdtime|createdat|version)\s*(asc|desc)?\s*$/i.exec(orderBy);
  if (!m) throw new ArmFailure(400, 'UserError', `Unsupported $orderBy '${orderBy}'. Use 'createdtime desc' or 'version asc'.`, { target: '$orderBy' });
  const field = (m[1] ?? '').toLowerCase();
  if (field === 'version') {
    sorted.sort((a, b) => a.version.localeCompare(b.version, 'en', { numeric: true }));
  }
  return (m[2] ?? 'asc').toLowerCase() === 'desc' ? sorted.reverse() : sorted;
}
