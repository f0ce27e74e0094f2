// The @azure/identity adapter: which credential CI gets, token caching with a refresh margin,
// one fetch shared by concurrent callers, and invalidation after a 401.
import { ClientSecretCredential, DefaultAzureCredential, type AccessToken, type TokenCredential } from '@azure/identity';
import { describe, expect, it } from 'vitest';
import { AzureScopes, createAzureCredential, createAzureTokenProvider } from '../../src/clients/azure-credential.js';

function fakeCredential(lifetimeMs: number, now: () => number): TokenCredential & { calls: string[] } {
  const calls: string[] = [];
  return {
    calls,
    async getToken(scopes: string | string[]): Promise<AccessToken> {
      calls.push(String(scopes));
      await new Promise((r) => setTimeout(r, 5));
      return { token: `token-${calls.length}`, expiresOnTimestamp: now() + lifetimeMs };
    },
  };
}

describe('createAzureCredential', () => {
  it('uses a client secret credential when CI sets all three variables, else the default chain', () => {
    const ci = createAzureCredential({ AZURE_TENANT_ID: '00000000-0000-0000-0000-000000000001', AZURE_CLIENT_ID: '00000000-0000-0000-0000-000000000002', AZURE_CLIENT_SECRET: 'not-a-real-secret' });
    expect(ci).toBeInstanceOf(ClientSecretCredential);
    expect(createAzureCredential({ AZURE_TENANT_ID: 'x' })).toBeInstanceOf(DefaultAzureCredential);
  });
});

describe('createAzureTokenProvider', () => {
  it('caches until shortly before expiry, shares one fetch, and refetches after invalidate', async () => {
    let clock = 1_000_000;
    const now = (): number => clock;
    const credential = fakeCredential(60 * 60_000, now);
    const provider = createAzureTokenProvider({ scope: AzureScopes.resourceManager, credential, now, refreshMarginMs: 5 * 60_000 });

    const [a, b] = await Promise.all([provider.getToken(), provider.getToken()]);
    expect([a, b]).toEqual(['token-1', 'token-1']);
    expect(credential.calls).toEqual(['https://management.azure.com/.default']);

    clock += 54 * 60_000;
    expect(await provider.getToken()).toBe('token-1');
    clock += 2 * 60_000; // inside the 5-minute margin
    expect(await provider.getToken()).toBe('token-2');

    provider.invalidate?.();
    expect(await provider.getToken()).toBe('token-3');
  });
});
