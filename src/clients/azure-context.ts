// What a remote registry or engine needs from its caller: the environment (for credentials
// and endpoints) and, optionally, a token provider per scope in place of @azure/identity —
// the seam in-process tests use to talk to the emulators. Also the AAD scopes we ask for.
import type { AzureContext, TokenProvider } from '../contracts/azure.js';

export type { AzureContext } from '../contracts/azure.js';

/** AAD scopes of the services we call. */
export const AzureScopes = {
  resourceManager: 'https://management.azure.com/.default',
  storage: 'https://storage.azure.com/.default',
  synapse: 'https://dev.azuresynapse.net/.default',
  // The AzureDatabricks first-party application id.
  databricks: '2ff814a6-3304-4ab8-85cb-cd0e6f879c1d/.default',
} as const;

/** The token provider for a scope: the injected one, else @azure/identity's chain (loaded lazily). */
export async function tokenProviderFor(context: AzureContext, scope: string): Promise<TokenProvider> {
  if (context.tokenProviderFor) return context.tokenProviderFor(scope);
  const { createAzureCredential, createAzureTokenProvider } = await import('./azure-credential.js');
  return createAzureTokenProvider({ scope, credential: createAzureCredential(context.env as NodeJS.ProcessEnv) });
}
