// Finds a workspace's URL from its ARM resource id through @azure/arm-databricks
// (Workspaces_Get), mapping the SDK's errors to a RemoteError once, here.
import { AzureDatabricksManagementClient } from '@azure/arm-databricks';
import { RemoteError } from '../../core/errors.js';
import { redactSecrets } from '../../core/redact.js';
import { RemoteErrorCode, type TokenProvider } from '../http.js';

/** The api-version whose definition the project keeps (README §4); the 4.x SDK would default to a newer one. */
export const WORKSPACES_API_VERSION = '2024-05-01';

const RESOURCE_ID = /^\/subscriptions\/([^/]+)\/resourceGroups\/([^/]+)\/providers\/Microsoft\.Databricks\/workspaces\/([^/]+)$/i;

export interface WorkspaceLookupOptions {
  /** An ARM token provider (scope https://management.azure.com/.default). */
  tokenProvider: TokenProvider;
  /** ARM endpoint; default https://management.azure.com. */
  endpoint?: string;
  /** Extra CA certificate for the ARM endpoint (tests against a local HTTPS emulator). */
  tlsCa?: string;
}

export function parseWorkspaceResourceId(id: string): { subscriptionId: string; resourceGroup: string; name: string } | undefined {
  const m = RESOURCE_ID.exec(id);
  return m ? { subscriptionId: m[1]!, resourceGroup: m[2]!, name: m[3]! } : undefined;
}

/** `https://adb-….azuredatabricks.net` for a workspace ARM id. */
export async function lookupWorkspaceUrl(resourceId: string, options: WorkspaceLookupOptions): Promise<string> {
  const parts = parseWorkspaceResourceId(resourceId);
  if (!parts) {
    throw new RemoteError(`"${resourceId}" is not a Databricks workspace resource id`, { code: RemoteErrorCode.UnexpectedResponse });
  }
  // The SDK wants a TokenCredential; ours caches and refreshes behind the same seam tests use.
  const credential = {
    getToken: async () => ({ token: await options.tokenProvider.getToken(), expiresOnTimestamp: Date.now() + 5 * 60_000 }),
  };
  const client = new AzureDatabricksManagementClient(credential, parts.subscriptionId, {
    apiVersion: WORKSPACES_API_VERSION,
    ...(options.endpoint ? { endpoint: options.endpoint } : {}),
    ...(options.tlsCa ? { tlsOptions: { ca: options.tlsCa } } : {}),
  });
  let workspace: { workspaceUrl?: string; provisioningState?: string };
  try {
    workspace = await client.workspaces.get(parts.resourceGroup, parts.name);
  } catch (err) {
    throw armError(err, resourceId);
  }
  if (!workspace.workspaceUrl) {
    throw new RemoteError(`the workspace ${parts.name} has no workspaceUrl (provisioning state ${workspace.provisioningState ?? 'unknown'})`, {
      code: RemoteErrorCode.UnexpectedResponse,
      nextSteps: ['Wait until the workspace is provisioned, or give databricks.host directly.'],
    });
  }
  // ARM gives the host without a scheme (README §4).
  return /^https?:\/\//i.test(workspace.workspaceUrl) ? workspace.workspaceUrl : `https://${workspace.workspaceUrl}`;
}

function armError(err: unknown, resourceId: string): RemoteError {
  const e = err as { statusCode?: number; code?: string; message?: string };
  const status = typeof e.statusCode === 'number' ? e.statusCode : undefined;
  const first = redactSecrets(String(e.message ?? err).split('\n')[0] ?? '');
  const auth = status === 401 || status === 403;
  const details: ConstructorParameters<typeof RemoteError>[1] = {
    code: auth ? RemoteErrorCode.Auth : status === 429 ? RemoteErrorCode.Throttled : status === undefined ? RemoteErrorCode.Network : RemoteErrorCode.Http,
    cause: err,
    nextSteps:
      status === 404 ? ['Check databricks.workspace_resource_id: subscription, resource group and workspace name.']
      : auth ? ['The identity needs the Reader role (or more) on the workspace resource to look up its URL, or give databricks.host directly.']
      : [],
  };
  if (status !== undefined) details.status = status;
  if (typeof e.code === 'string') details.serviceCode = e.code;
  return new RemoteError(`Azure Resource Manager: looking up ${resourceId} failed${status ? `: HTTP ${status}` : ''}${e.code ? ` ${e.code}` : ''}: ${first}`, details);
}
