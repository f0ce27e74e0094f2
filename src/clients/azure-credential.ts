// Adapts @azure/identity credentials to our TokenProvider: one scope per service, the token
// cached until shortly before it expires, concurrent callers sharing one fetch.
import { ClientSecretCredential, DefaultAzureCredential, type TokenCredential } from '@azure/identity';
import type { TokenProvider } from './http.js';

// The scopes live beside the context so that naming one does not load @azure/identity.
export { AzureScopes } from './azure-context.js';

/**
 * ClientSecretCredential when AZURE_TENANT_ID, AZURE_CLIENT_ID and AZURE_CLIENT_SECRET are all
 * set (CI: explicit, no probing of other sources); otherwise the DefaultAzureCredential chain
 * (environment, workload identity, managed identity, Azure CLI, ...).
 */
export function createAzureCredential(env: NodeJS.ProcessEnv = process.env): TokenCredential {
  const { AZURE_TENANT_ID: tenant, AZURE_CLIENT_ID: client, AZURE_CLIENT_SECRET: secret } = env;
  if (tenant && client && secret) return new ClientSecretCredential(tenant, client, secret);
  return new DefaultAzureCredential();
}

export interface AzureTokenProviderOptions {
  scope: string;
  credential?: TokenCredential;
  now?: () => number;
  /** Refresh this long before expiry so a token never expires mid-request. */
  refreshMarginMs?: number;
}

export function createAzureTokenProvider(options: AzureTokenProviderOptions): TokenProvider {
  const credential = options.credential ?? createAzureCredential();
  const now = options.now ?? Date.now;
  const margin = options.refreshMarginMs ?? 5 * 60_000;
  let cached: { token: string; expiresAt: number } | undefined;
  let inflight: Promise<string> | undefined;

  const fetchToken = async (): Promise<string> => {
    const access = await credential.getToken(options.scope);
    if (!access) throw new Error(`no token was returned for scope ${options.scope}`);
    cached = { token: access.token, expiresAt: access.expiresOnTimestamp };
    return access.token;
  };

  return {
    getToken(): Promise<string> {
      if (cached && cached.expiresAt - margin > now()) return Promise.resolve(cached.token);
      inflight ??= fetchToken().finally(() => {
        inflight = undefined;
      });
      return inflight;
    },
    invalidate(): void {
      cached = undefined;
    },
  };
}
