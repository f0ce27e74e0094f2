// Shared fixtures for Azure ML emulator and client tests: scopes, tokens, a raw ARM fetch
// and a sleep that records what the client asked for while waiting only a fraction of it.
import type { RegistryScope, WorkspaceScope } from '../../../src/clients/azureml/index.js';
import { type AzureMlEmulator, fakeBearerToken } from './azureml-emulator.js';

export const SUB = '00000000-1111-2222-3333-444444444444';
export const RG = 'rg-manymodels';
export const WORKSPACE = { subscriptionId: SUB, resourceGroup: RG, name: 'ws-train' };
export const REGISTRY = { subscriptionId: SUB, resourceGroup: RG, name: 'prod-registry' };
export const workspaceScope: WorkspaceScope = { kind: 'workspace', subscriptionId: SUB, resourceGroup: RG, workspace: WORKSPACE.name };
export const registryScope: RegistryScope = { kind: 'registry', subscriptionId: SUB, resourceGroup: RG, registry: REGISTRY.name };
export const WS_PATH = `/subscriptions/${SUB}/resourceGroups/${RG}/providers/Microsoft.MachineLearningServices/workspaces/${WORKSPACE.name}`;
export const REG_PATH = `/subscriptions/${SUB}/resourceGroups/${RG}/providers/Microsoft.MachineLearningServices/registries/${REGISTRY.name}`;
export const API = 'api-version=2024-04-01';

export const TOKEN = fakeBearerToken({ oid: 'ci-principal', name: 'manymodels-ci', app: true });

export interface ArmReply {
  status: number;
  headers: Headers;
  body: unknown;
}

/** One raw request to the emulator (no retries): for protocol-level assertions. */
export async function armFetch(emulator: AzureMlEmulator, method: string, pathAndQuery: string, options: { body?: unknown; token?: string | null } = {}): Promise<ArmReply> {
  const url = /^https?:/.test(pathAndQuery) ? pathAndQuery : `${emulator.baseUrl}${pathAndQuery}`;
  const headers: Record<string, string> = {};
  const token = options.token === undefined ? TOKEN : options.token;
  if (token !== null) headers.Authorization = `Bearer ${token}`;
  if (options.body !== undefined) headers['Content-Type'] = 'application/json';
  const res = await fetch(url, { method, headers, body: options.body === undefined ? undefined : JSON.stringify(options.body) });
  const text = await res.text();
  return { status: res.status, headers: res.headers, body: text === '' ? undefined : (JSON.parse(text) as unknown) };
}

/** Sleep that records requested delays and waits `scale` of each (LRO Retry-After is >= 10 s). */
export function recordingSleep(scale = 1 / 200): { sleep: (ms: number) => Promise<void>; delays: number[] } {
  const delays: number[] = [];
  return {
    delays,
    sleep: (ms: number) => {
      delays.push(ms);
      return new Promise((resolve) => setTimeout(resolve, Math.ceil(ms * scale)));
    },
  };
}

export function modelVersionBody(uri: string, tags: Record<string, string> = {}): { properties: Record<string, unknown> } {
  return { properties: { modelUri: uri, modelType: 'CustomModel', tags, properties: {}, description: null } };
}

/**
 * Every string reachable from a value through own properties (enumerable or not), the way a
 * naive logger or serializer could find it; stricter than util.inspect, which SDK errors
 * customise.
 */
export function reachableStrings(value: unknown, maxDepth = 10): string[] {
  const out: string[] = [];
  const seen = new Set<unknown>();
  const walk = (v: unknown, depth: number): void => {
    if (typeof v === 'string') {
      out.push(v);
      return;
    }
    if (typeof v !== 'object' || v === null || seen.has(v) || depth > maxDepth) return;
    seen.add(v);
    if (v instanceof Map) for (const [k, x] of v) {
      walk(k, depth + 1);
      walk(x, depth + 1);
    }
    for (const key of Object.getOwnPropertyNames(v)) {
      let child: unknown;
      try {
        child = (v as Record<string, unknown>)[key];
      } catch {
        continue;
      }
      walk(child, depth + 1);
    }
  };
  walk(value, 0);
  return out;
}
