// Azure ML managed / Kubernetes online endpoints and their deployments over ARM (api-version
// 2024-04-01, mfe.json OnlineEndpoints_* / OnlineDeployments_*): create-or-update as the
// long-running operations the definitions declare (201 + Azure-AsyncOperation, final state read
// from the original URI), then the resource's provisioningState must be Succeeded. Also the
// workspace assets a deployment names: environment, code and model versions (synchronous PUTs).
import { RemoteError } from '../../core/errors.js';
import { type LroProgress, waitForArmOperation } from '../arm-lro.js';
import { type HttpClient, type HttpClientOptions, RemoteErrorCode, type TokenProvider, createHttpClient, isRecord } from '../http.js';
import { ARM_ENDPOINT, AZURE_ML_API_VERSION, type WorkspaceScope } from './types.js';
import { scopePath } from './azureml-client.js';

/** A body PUT to …/onlineEndpoints/{name} (OnlineEndpointTrackedResource). */
export interface OnlineEndpointBody {
  location: string;
  tags?: Record<string, string>;
  identity?: { type: string };
  properties: { authMode: 'Key' | 'AMLToken' | 'AADToken'; description?: string; compute?: string; traffic?: Record<string, number>; publicNetworkAccess?: 'Enabled' | 'Disabled' };
}

/** A body PUT to …/deployments/{name} (OnlineDeploymentTrackedResource). */
export interface OnlineDeploymentBody {
  location: string;
  tags?: Record<string, string>;
  sku?: { name: string; capacity?: number };
  properties: Record<string, unknown> & { endpointComputeType: 'Managed' | 'Kubernetes' };
}

/** A body PUT to …/environments/{name}/versions/{version} (EnvironmentVersion). */
export interface EnvironmentVersionBody {
  properties: { description?: string; tags?: Record<string, string>; image: string; condaFile?: string; osType?: 'Linux' | 'Windows' };
}

/** A body PUT to …/codes/{name}/versions/{version} (CodeVersionResource). */
export interface CodeVersionBody {
  properties: { codeUri: string; description?: string; tags?: Record<string, string>; properties?: Record<string, string>; isAnonymous?: boolean };
}

/** A body PUT to …/models/{name}/versions/{version} (ModelVersionResource). */
export interface ModelVersionBody {
  properties: { modelUri: string; modelType: string; description?: string; tags?: Record<string, string>; properties?: Record<string, string> };
}

/** The workspace asset versions a deployment refers to. */
export type AssetKind = 'codes' | 'models' | 'environments';

export interface OnlineResource {
  id?: string;
  name?: string;
  properties: Record<string, unknown> & { provisioningState?: string; scoringUri?: string | null; traffic?: Record<string, number> | null };
}

export interface OnlineEndpointsClientOptions {
  tokenProvider: TokenProvider;
  baseUrl?: string;
  http?: Omit<HttpClientOptions, 'service' | 'baseUrl' | 'tokenProvider'>;
  lroPollIntervalMs?: number;
  lroTimeoutMs?: number;
  onProgress?: (what: string, progress: LroProgress) => void;
}

const enc = encodeURIComponent;

function parseResource(data: unknown, what: string): OnlineResource {
  if (!isRecord(data) || !isRecord(data.properties)) throw new RemoteError(`Azure ML returned no properties for ${what}`, { code: RemoteErrorCode.UnexpectedResponse });
  return data as unknown as OnlineResource;
}

export class OnlineEndpointsClient {
  readonly http: HttpClient;
  private readonly options: OnlineEndpointsClientOptions;
  private readonly query = { 'api-version': AZURE_ML_API_VERSION };

  constructor(options: OnlineEndpointsClientOptions) {
    this.options = options;
    this.http = createHttpClient({ ...options.http, service: 'Azure ML', baseUrl: options.baseUrl ?? ARM_ENDPOINT, tokenProvider: options.tokenProvider });
  }

  endpointPath(scope: WorkspaceScope, endpoint: string): string {
    return `${scopePath(scope)}/onlineEndpoints/${enc(endpoint)}`;
  }

  deploymentPath(scope: WorkspaceScope, endpoint: string, deployment: string): string {
    return `${this.endpointPath(scope, endpoint)}/deployments/${enc(deployment)}`;
  }

  async getEndpoint(scope: WorkspaceScope, endpoint: string, signal?: AbortSignal): Promise<OnlineResource | undefined> {
    const res = await this.http.request({ method: 'GET', url: this.endpointPath(scope, endpoint), query: this.query, acceptStatus: [404], signal });
    return res.status === 404 ? undefined : parseResource(res.data, `online endpoint ${endpoint}`);
  }

  /** PUT the endpoint and wait for its operation; the endpoint as it then is. */
  putEndpoint(scope: WorkspaceScope, endpoint: string, body: OnlineEndpointBody, signal?: AbortSignal): Promise<OnlineResource> {
    return this.put(this.endpointPath(scope, endpoint), body, `online endpoint ${endpoint}`, signal);
  }

  putDeployment(scope: WorkspaceScope, endpoint: string, deployment: string, body: OnlineDeploymentBody, signal?: AbortSignal): Promise<OnlineResource> {
    return this.put(this.deploymentPath(scope, endpoint, deployment), body, `online deployment ${endpoint}/${deployment}`, signal);
  }

  /**
   * PUT an environment version (synchronous: 200 or 201, no operation). A version is immutable:
   * the same body again is accepted, another one refused, so its version names its content.
   */
  async putEnvironmentVersion(scope: WorkspaceScope, name: string, version: string, body: EnvironmentVersionBody, signal?: AbortSignal): Promise<OnlineResource> {
    const res = await this.http.request({ method: 'PUT', url: `${scopePath(scope)}/environments/${enc(name)}/versions/${enc(version)}`, query: this.query, body, signal });
    return parseResource(res.data, `environment ${name} version ${version}`);
  }

  assetVersionPath(scope: WorkspaceScope, kind: AssetKind, name: string, version: string): string {
    return `${scopePath(scope)}/${kind}/${enc(name)}/versions/${enc(version)}`;
  }

  /** GET a code, model or environment version; undefined when it does not exist (404). */
  async getAssetVersion(scope: WorkspaceScope, kind: AssetKind, name: string, version: string, signal?: AbortSignal): Promise<OnlineResource | undefined> {
    const res = await this.http.request({ method: 'GET', url: this.assetVersionPath(scope, kind, name, version), query: this.query, acceptStatus: [404], signal });
    return res.status === 404 ? undefined : parseResource(res.data, `${kind} ${name} version ${version}`);
  }

  /**
   * PUT a code version (synchronous: 200 or 201). Its codeUri cannot change once created, so the
   * caller names the version by the code's content and PUTs only a version that does not exist.
   */
  async putCodeVersion(scope: WorkspaceScope, name: string, version: string, body: CodeVersionBody, signal?: AbortSignal): Promise<OnlineResource> {
    const res = await this.http.request({ method: 'PUT', url: this.assetVersionPath(scope, 'codes', name, version), query: this.query, body, signal });
    return parseResource(res.data, `code ${name} version ${version}`);
  }

  /** PUT a model version (synchronous: 200 or 201); immutable like a code version. */
  async putModelVersion(scope: WorkspaceScope, name: string, version: string, body: ModelVersionBody, signal?: AbortSignal): Promise<OnlineResource> {
    const res = await this.http.request({ method: 'PUT', url: this.assetVersionPath(scope, 'models', name, version), query: this.query, body, signal });
    return parseResource(res.data, `model ${name} version ${version}`);
  }

  private async put(url: string, body: object, what: string, signal?: AbortSignal): Promise<OnlineResource> {
    // A PUT of a fixed name and body is idempotent: the HTTP layer may resend it after a lost reply.
    const res = await this.http.request({ method: 'PUT', url, query: this.query, body, signal });
    const final = await waitForArmOperation(this.http, res, {
      finalStateVia: 'original-uri',
      originalUrl: this.http.resolveUrl(url, this.query).toString(),
      description: `create or update ${what}`,
      pollIntervalMs: this.options.lroPollIntervalMs,
      timeoutMs: this.options.lroTimeoutMs,
      signal,
      onProgress: (p) => this.options.onProgress?.(what, p),
    });
    const resource = parseResource(final?.data ?? res.data, what);
    const state = resource.properties.provisioningState;
    if (state !== undefined && state !== 'Succeeded') {
      throw new RemoteError(`${what} is ${state} after its operation ended`, { code: RemoteErrorCode.OperationFailed });
    }
    return resource;
  }
}
