// What a remote registry or engine needs from its caller: the environment (for credentials
// and endpoints) and, optionally, a token provider per scope in place of @azure/identity —
// the seam in-process tests use to talk to the emulators.
import type { TokenProvider } from './http.js';

export interface AzureContext {
  env: Record<string, string | undefined>;
  tokenProviderFor?: (scope: string) => TokenProvider;
}

/** The token provider for a scope: the injected one, else @azure/identity's chain (loaded lazily). */
export async function tokenProviderFor(context: AzureContext, scope: string): Promise<TokenProvider> {
  if (context.tokenProviderFor) return context.tokenProviderFor(scope);
  const { createAzureCredential, createAzureTokenProvider } = await import('./azure-credential.js');
  return createAzureTokenProvider({ scope, credential: createAzureCredential(context.env as NodeJS.ProcessEnv) });
}
