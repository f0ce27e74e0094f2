// Azure ML model container/version resources as the 2024-04-01 definitions (mfe.json) shape
// them, only the fields we use, and the guards that turn `unknown` replies into these types.
import { RemoteError } from '../../core/errors.js';
import { RemoteErrorCode, isRecord } from '../http.js';

export const AZURE_ML_API_VERSION = '2024-04-01';
export const ARM_ENDPOINT = 'https://management.azure.com';

export interface WorkspaceScope {
  kind: 'workspace';
  subscriptionId: string;
  resourceGroup: string;
  workspace: string;
}

export interface RegistryScope {
  kind: 'registry';
  subscriptionId: string;
  resourceGroup: string;
  registry: string;
}

/** Where models live: a workspace (synchronous writes) or a registry (writes are LROs). */
export type ModelScope = WorkspaceScope | RegistryScope;

/** AssetProvisioningState; a string because the service may add values. */
export type AssetProvisioningState = 'Succeeded' | 'Failed' | 'Canceled' | 'Creating' | 'Updating' | 'Deleting' | (string & {});
export type ListViewType = 'ActiveOnly' | 'ArchivedOnly' | 'All';
/** Tag and property dictionaries allow null values in the definitions. */
export type StringMap = Record<string, string | null>;

export interface SystemData {
  createdAt?: string;
  createdBy?: string;
  createdByType?: string;
  lastModifiedAt?: string;
  lastModifiedBy?: string;
  lastModifiedByType?: string;
}

export interface ModelContainerProperties {
  description?: string | null;
  tags?: StringMap | null;
  properties?: StringMap | null;
  isArchived?: boolean;
  /** Read-only. */
  latestVersion?: string | null;
  /** Read-only. */
  nextVersion?: string | null;
  /** Read-only. */
  provisioningState?: AssetProvisioningState;
}

export interface ModelVersionProperties {
  description?: string | null;
  tags?: StringMap | null;
  properties?: StringMap | null;
  isAnonymous?: boolean;
  isArchived?: boolean;
  flavors?: Record<string, { data?: StringMap | null } | null> | null;
  jobName?: string | null;
  modelType?: string | null;
  modelUri?: string | null;
  stage?: string | null;
  /** Read-only. */
  provisioningState?: AssetProvisioningState;
}

export interface ArmEnvelope<P> {
  id?: string;
  name?: string;
  type?: string;
  systemData?: SystemData;
  properties: P;
}

export type ModelContainerResource = ArmEnvelope<ModelContainerProperties>;
export type ModelVersionResource = ArmEnvelope<ModelVersionProperties>;

/** What a caller may set on a version (read-only fields excluded). */
export type ModelVersionInput = Omit<ModelVersionProperties, 'provisioningState'>;
export type ModelContainerInput = Pick<ModelContainerProperties, 'description' | 'tags' | 'properties' | 'isArchived'>;

export interface Page<T> {
  value: T[];
  nextLink: string | undefined;
}

function bad(what: string): RemoteError {
  return new RemoteError(`Azure ML returned an unexpected ${what}`, { code: RemoteErrorCode.UnexpectedResponse });
}

const optString = (v: unknown): string | null | undefined => (typeof v === 'string' || v === null ? v : undefined);

function stringMap(v: unknown): StringMap | null | undefined {
  if (v === null) return null;
  if (!isRecord(v)) return undefined;
  const out: StringMap = {};
  for (const [k, val] of Object.entries(v)) if (typeof val === 'string' || val === null) out[k] = val;
  return out;
}

function systemData(v: unknown): SystemData | undefined {
  if (!isRecord(v)) return undefined;
  const out: SystemData = {};
  for (const key of ['createdAt', 'createdBy', 'createdByType', 'lastModifiedAt', 'lastModifiedBy', 'lastModifiedByType'] as const) {
    const val = v[key];
    if (typeof val === 'string') out[key] = val;
  }
  return out;
}

function envelope<P>(data: unknown, what: string, props: (p: Record<string, unknown>) => P): ArmEnvelope<P> {
  if (!isRecord(data) || !isRecord(data.properties)) throw bad(what);
  return {
    id: typeof data.id === 'string' ? data.id : undefined,
    name: typeof data.name === 'string' ? data.name : undefined,
    type: typeof data.type === 'string' ? data.type : undefined,
    systemData: systemData(data.systemData),
    properties: props(data.properties),
  };
}

function dropUndefined<T extends object>(o: T): T {
  for (const k of Object.keys(o) as Array<keyof T>) if (o[k] === undefined) delete o[k];
  return o;
}

export function parseModelContainer(data: unknown): ModelContainerResource {
  return envelope(data, 'model container', (p) =>
    dropUndefined<ModelContainerProperties>({
      description: optString(p.description),
      tags: stringMap(p.tags),
      properties: stringMap(p.properties),
      isArchived: typeof p.isArchived === 'boolean' ? p.isArchived : undefined,
      latestVersion: optString(p.latestVersion),
      nextVersion: optString(p.nextVersion),
      provisioningState: typeof p.provisioningState === 'string' ? p.provisioningState : undefined,
    }),
  );
}

export function parseModelVersion(data: unknown): ModelVersionResource {
  return envelope(data, 'model version', (p) => {
    let flavors: ModelVersionProperties['flavors'];
    if (p.flavors === null) flavors = null;
    else if (isRecord(p.flavors)) {
      flavors = {};
      for (const [k, f] of Object.entries(p.flavors)) flavors[k] = isRecord(f) ? { data: stringMap(f.data) } : null;
    }
    return dropUndefined<ModelVersionProperties>({
      description: optString(p.description),
      tags: stringMap(p.tags),
      properties: stringMap(p.properties),
      isAnonymous: typeof p.isAnonymous === 'boolean' ? p.isAnonymous : undefined,
      isArchived: typeof p.isArchived === 'boolean' ? p.isArchived : undefined,
      flavors,
      jobName: optString(p.jobName),
      modelType: optString(p.modelType),
      modelUri: optString(p.modelUri),
      stage: optString(p.stage),
      provisioningState: typeof p.provisioningState === 'string' ? p.provisioningState : undefined,
    });
  });
}

export function parsePage<T>(data: unknown, item: (d: unknown) => T, what: string): Page<T> {
  if (!isRecord(data)) throw bad(`${what} page`);
  const value = Array.isArray(data.value) ? data.value.map(item) : [];
  const nextLink = typeof data.nextLink === 'string' && data.nextLink !== '' ? data.nextLink : undefined;
  return { value, nextLink };
}
