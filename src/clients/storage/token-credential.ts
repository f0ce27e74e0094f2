// Our TokenProvider (an injected test provider, or @azure/identity behind a cache) as the
// TokenCredential the Azure SDK clients take. Shared by the blob clients and the Synapse client.
import type { AccessToken, TokenCredential } from '@azure/identity';
import type { TokenProvider } from '../http.js';

/**
 * The provider caches and refreshes its own token (always valid for minutes more); the expiry
 * claimed here only tells the SDK to come back to us within a few minutes.
 */
export function asTokenCredential(provider: TokenProvider): TokenCredential {
  return {
    async getToken(): Promise<AccessToken> {
      return { token: await provider.getToken(), expiresOnTimestamp: Date.now() + 4 * 60_000 };
    },
  };
}
