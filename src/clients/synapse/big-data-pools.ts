// The Synapse Spark pool as Azure Resource Manager describes it (Microsoft.Synapse
// workspaces/bigDataPools, api-version 2021-06-01): node size, how many nodes, Spark version —
// what a target's executor_size and executors must fit in. Read only.
import { HttpClient, parseArmError, type HttpClientOptions, type TokenProvider } from '../http.js';

export const BIG_DATA_POOLS_API_VERSION = '2021-06-01';

export interface BigDataPool {
  name: string;
  properties?: {
    provisioningState?: string;
    nodeSize?: string;
    nodeSizeFamily?: string;
    nodeCount?: number;
    autoScale?: { enabled?: boolean; minNodeCount?: number; maxNodeCount?: number };
    sparkVersion?: string;
    dynamicExecutorAllocation?: { enabled?: boolean; minExecutors?: number; maxExecutors?: number };
  };
}

export interface BigDataPoolClientOptions {
  /** https://management.azure.com, or a sovereign cloud's (MANYMODELS_ARM_ENDPOINT). */
  endpoint: string;
  tokenProvider: TokenProvider;
  http?: Partial<Omit<HttpClientOptions, 'service' | 'baseUrl' | 'tokenProvider' | 'parseServiceError'>>;
}

export class BigDataPoolClient {
  private readonly http: HttpClient;

  constructor(options: BigDataPoolClientOptions) {
    this.http = new HttpClient({ ...options.http, service: 'Azure Resource Manager', baseUrl: options.endpoint, tokenProvider: options.tokenProvider, parseServiceError: parseArmError });
  }

  /** The pool, `undefined` when the workspace has none of that name. */
  async get(workspaceResourceId: string, pool: string, signal?: AbortSignal): Promise<BigDataPool | undefined> {
    const res = await this.http.request({
      method: 'GET', url: `${workspaceResourceId}/bigDataPools/${encodeURIComponent(pool)}`, query: { 'api-version': BIG_DATA_POOLS_API_VERSION }, acceptStatus: [404], signal,
    });
    return res.status === 404 ? undefined : (res.data as BigDataPool);
  }

  /** Every pool's name (for a did-you-mean). */
  async list(workspaceResourceId: string, signal?: AbortSignal): Promise<string[]> {
    const res = await this.http.request({ method: 'GET', url: `${workspaceResourceId}/bigDataPools`, query: { 'api-version': BIG_DATA_POOLS_API_VERSION }, acceptStatus: [404], signal });
    const value = (res.data as { value?: BigDataPool[] } | undefined)?.value;
    return res.status === 404 || !Array.isArray(value) ? [] : value.map((p) => p.name);
  }
}
