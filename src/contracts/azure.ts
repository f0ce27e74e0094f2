// What a remote registry or engine needs from its caller: the environment (credentials,
// endpoints) and, optionally, a token provider per scope in place of @azure/identity — the
// seam in-process tests use to talk to the emulators.

/** Supplies bearer tokens; `invalidate` drops a cached token after a 401. */
export interface TokenProvider {
  getToken(): Promise<string>;
  invalidate?(): void;
}

export interface AzureContext {
  env: Record<string, string | undefined>;
  tokenProviderFor?: (scope: string) => TokenProvider;
  /** `--profile`: the ~/.databrickscfg profile a Databricks target signs in with. */
  databricksProfile?: string;
  /** A line for the person running the command (stderr), e.g. that it waits for a lock. */
  notice?: (line: string) => void;
}
