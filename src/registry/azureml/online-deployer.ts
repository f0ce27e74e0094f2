// Where `manymodels deploy` creates online endpoints: an Azure ML workspace reached through ARM
// with the same credentials and endpoint the Azure ML registry uses, and the blob container of an
// azureml registry's settings, where the code and model folders a deployment names are uploaded
// before their versions are registered. Loaded only when a deploy has a workspace to create in.
import path from 'node:path';
import { ArmRequestPacer } from '../../clients/arm-pacer.js';
import { type AzureContext, AzureScopes, tokenProviderFor } from '../../clients/azure-context.js';
import { filesUnder } from '../../core/folder-files.js';
import type { RegistryConfig } from '../../contracts/targets.js';
import {
  type AssetKind, type BlobArtifactStore, forEachLimit, type CodeVersionBody, type EnvironmentVersionBody, type ModelVersionBody, OnlineEndpointsClient, type OnlineDeploymentBody, type OnlineEndpointBody, type OnlineResource,
  type WorkspaceScope,
} from '../../clients/azureml/index.js';

import { openArtifactStore } from './open-azureml-registry.js';

export type { AssetKind, CodeVersionBody, EnvironmentVersionBody, ModelVersionBody, OnlineDeploymentBody, OnlineEndpointBody, OnlineResource, WorkspaceScope };

export interface OnlineWorkspace {
  subscriptionId: string;
  resourceGroup: string;
  workspace: string;
  /** ARM's endpoint; https://management.azure.com unless a sovereign cloud or an emulator. */
  armEndpoint: string;
}

/** The registry settings whose blob container takes the uploads, and their YAML field (messages). */
export interface DeployStorage {
  config: RegistryConfig;
  field: string;
}

/** A code or model version `deploy` made sure of. */
export interface RegisteredAsset {
  /** False when the version was there already (nothing uploaded, nothing PUT). */
  created: boolean;
  /** Where its files are: the folder's URL in the container (no SAS). */
  uri: string;
  files: number;
  uploadedFiles: number;
  bytes: number;
}

export interface FolderAsset {
  name: string;
  version: string;
  folder: string;
  description: string;
  tags: Record<string, string>;
}

export interface OnlineDeployer {
  readonly scope: WorkspaceScope;
  endpointId(endpoint: string): string;
  getEndpoint(endpoint: string, signal?: AbortSignal): Promise<OnlineResource | undefined>;
  putEndpoint(endpoint: string, body: OnlineEndpointBody, signal?: AbortSignal): Promise<OnlineResource>;
  putDeployment(endpoint: string, deployment: string, body: OnlineDeploymentBody, signal?: AbortSignal): Promise<OnlineResource>;
  putEnvironmentVersion(name: string, version: string, body: EnvironmentVersionBody, signal?: AbortSignal): Promise<OnlineResource>;
  getAssetVersion(kind: AssetKind, name: string, version: string, signal?: AbortSignal): Promise<OnlineResource | undefined>;
  putCodeVersion(name: string, version: string, body: CodeVersionBody, signal?: AbortSignal): Promise<OnlineResource>;
  putModelVersion(name: string, version: string, body: ModelVersionBody, signal?: AbortSignal): Promise<OnlineResource>;
  /**
   * The code version, registered from `folder` unless it exists: its files uploaded under
   * manymodels/deploy/codes/{name}/{version}/ (a blob holding the same sha256 is not sent
   * again), then PUT with that folder as codeUri. An existing version is not PUT again: its
   * codeUri cannot change, and the version names its content.
   */
  registerCode(asset: FolderAsset, signal?: AbortSignal): Promise<RegisteredAsset>;
  /** The same for a model version (modelType custom_model, the folder as modelUri). */
  registerModel(asset: FolderAsset, signal?: AbortSignal): Promise<RegisteredAsset>;
  requestCount(): number;
}

/** Uploads a folder under `prefix`, at most 8 files at a time. */
async function uploadFolder(store: BlobArtifactStore, folder: string, prefix: string, signal?: AbortSignal): Promise<{ files: number; uploadedFiles: number; bytes: number }> {
  const files = filesUnder(folder);
  let uploadedFiles = 0;
  let bytes = 0;
  await forEachLimit(files, 8, async (rel) => {
    const r = await store.put({ blobName: `${prefix}/${rel}`, filePath: path.join(folder, ...rel.split('/')), ...(signal ? { signal } : {}) });
    bytes += r.bytes;
    if (r.uploaded) uploadedFiles++;
  });
  return { files: files.length, uploadedFiles, bytes };
}

export async function openOnlineDeployer(
  where: OnlineWorkspace,
  context: AzureContext,
  options: { storage: DeployStorage; lroPollIntervalMs?: number; onProgress?: (what: string, status: string) => void },
): Promise<OnlineDeployer> {
  const scope: WorkspaceScope = { kind: 'workspace', subscriptionId: where.subscriptionId, resourceGroup: where.resourceGroup, workspace: where.workspace };
  const client = new OnlineEndpointsClient({
    tokenProvider: await tokenProviderFor(context, AzureScopes.resourceManager),
    baseUrl: where.armEndpoint,
    http: { pacer: new ArmRequestPacer() },
    ...(options.lroPollIntervalMs !== undefined ? { lroPollIntervalMs: options.lroPollIntervalMs } : {}),
    onProgress: (what, p) => options.onProgress?.(what, p.status),
  });
  const store = await openArtifactStore(options.storage.config, context, options.storage.field);
  const register = async (kind: 'codes' | 'models', asset: FolderAsset, signal?: AbortSignal): Promise<RegisteredAsset> => {
    const prefix = `manymodels/deploy/${kind}/${asset.name}/${asset.version}`;
    const uri = store.blobUrl(prefix);
    const existing = await client.getAssetVersion(scope, kind, asset.name, asset.version, signal);
    if (existing) return { created: false, uri, files: 0, uploadedFiles: 0, bytes: 0 };
    const sent = await uploadFolder(store, asset.folder, prefix, signal);
    const common = { description: asset.description, tags: asset.tags, properties: {} };
    if (kind === 'codes') await client.putCodeVersion(scope, asset.name, asset.version, { properties: { ...common, codeUri: uri, isAnonymous: false } }, signal);
    else await client.putModelVersion(scope, asset.name, asset.version, { properties: { ...common, modelUri: uri, modelType: 'custom_model' } }, signal);
    return { created: true, uri, ...sent };
  };
  return {
    scope,
    endpointId: (endpoint) => client.endpointPath(scope, endpoint),
    getEndpoint: (endpoint, signal) => client.getEndpoint(scope, endpoint, signal),
    putEndpoint: (endpoint, body, signal) => client.putEndpoint(scope, endpoint, body, signal),
    putDeployment: (endpoint, deployment, body, signal) => client.putDeployment(scope, endpoint, deployment, body, signal),
    putEnvironmentVersion: (name, version, body, signal) => client.putEnvironmentVersion(scope, name, version, body, signal),
    getAssetVersion: (kind, name, version, signal) => client.getAssetVersion(scope, kind, name, version, signal),
    putCodeVersion: (name, version, body, signal) => client.putCodeVersion(scope, name, version, body, signal),
    putModelVersion: (name, version, body, signal) => client.putModelVersion(scope, name, version, body, signal),
    registerCode: (asset, signal) => register('codes', asset, signal),
    registerModel: (asset, signal) => register('models', asset, signal),
    requestCount: () => client.http.stats.requests,
  };
}
