// Where `manymodels deploy` creates online endpoints: an Azure ML workspace reached through ARM
// with the same credentials and endpoint the Azure ML registry uses. Loaded only when a deploy
// has a workspace to create in.
import { ArmRequestPacer } from '../../clients/arm-pacer.js';
import { type AzureContext, AzureScopes, tokenProviderFor } from '../../clients/azure-context.js';
import { type EnvironmentVersionBody, OnlineEndpointsClient, type OnlineDeploymentBody, type OnlineEndpointBody, type OnlineResource, type WorkspaceScope } from '../../clients/azureml/index.js';

export type { EnvironmentVersionBody, OnlineDeploymentBody, OnlineEndpointBody, OnlineResource, WorkspaceScope };

export interface OnlineWorkspace {
  subscriptionId: string;
  resourceGroup: string;
  workspace: string;
  /** ARM's endpoint; https://management.azure.com unless a sovereign cloud or an emulator. */
  armEndpoint: string;
}

export interface OnlineDeployer {
  readonly scope: WorkspaceScope;
  endpointId(endpoint: string): string;
  getEndpoint(endpoint: string, signal?: AbortSignal): Promise<OnlineResource | undefined>;
  putEndpoint(endpoint: string, body: OnlineEndpointBody, signal?: AbortSignal): Promise<OnlineResource>;
  putDeployment(endpoint: string, deployment: string, body: OnlineDeploymentBody, signal?: AbortSignal): Promise<OnlineResource>;
  putEnvironmentVersion(name: string, version: string, body: EnvironmentVersionBody, signal?: AbortSignal): Promise<OnlineResource>;
  requestCount(): number;
}

export async function openOnlineDeployer(
  where: OnlineWorkspace,
  context: AzureContext,
  options: { lroPollIntervalMs?: number; onProgress?: (what: string, status: string) => void } = {},
): Promise<OnlineDeployer> {
  const scope: WorkspaceScope = { kind: 'workspace', subscriptionId: where.subscriptionId, resourceGroup: where.resourceGroup, workspace: where.workspace };
  const client = new OnlineEndpointsClient({
    tokenProvider: await tokenProviderFor(context, AzureScopes.resourceManager),
    baseUrl: where.armEndpoint,
    http: { pacer: new ArmRequestPacer() },
    ...(options.lroPollIntervalMs !== undefined ? { lroPollIntervalMs: options.lroPollIntervalMs } : {}),
    onProgress: (what, p) => options.onProgress?.(what, p.status),
  });
  return {
    scope,
    endpointId: (endpoint) => client.endpointPath(scope, endpoint),
    getEndpoint: (endpoint, signal) => client.getEndpoint(scope, endpoint, signal),
    putEndpoint: (endpoint, body, signal) => client.putEndpoint(scope, endpoint, body, signal),
    putDeployment: (endpoint, deployment, body, signal) => client.putDeployment(scope, endpoint, deployment, body, signal),
    putEnvironmentVersion: (name, version, body, signal) => client.putEnvironmentVersion(scope, name, version, body, signal),
    requestCount: () => client.http.stats.requests,
  };
}
