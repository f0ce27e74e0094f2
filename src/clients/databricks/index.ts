// Public surface of the Databricks clients: the rest of the code imports from here only.
export { DatabricksClient, DBFS_BLOCK_BYTES, WORKSPACE_IMPORT_MAX_BYTES, parseDatabricksError, type DatabricksClientOptions } from './databricks-client.js';
export { lookupWorkspaceUrl, parseWorkspaceResourceId, WORKSPACES_API_VERSION, type WorkspaceLookupOptions } from './workspace-lookup.js';
export type * from './types.js';
export { OAuthM2MTokenProvider, DATABRICKS_TOKEN_PATH, parseOAuthError, type OAuthM2MOptions } from './oauth-m2m.js';
export {
  databricksConfigFile, parseDatabricksConfigFile, resolveDatabricksConfig,
  type DatabricksAuthType, type DatabricksCredential, type ExplicitDatabricksConfig, type ResolvedDatabricksConfig,
} from './unified-auth.js';
