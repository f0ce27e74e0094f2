// Queries over a target's registries for `manymodels models list|show`: registered versions
// filtered by tags, and one version by name.
import type { AzureContext } from '../contracts/azure.js';
import type { Project } from '../pipeline/project.js';
import type { ModelVersion, VersionFilter } from '../registry/model-registry.js';
import { openProductionRegistry, openTrainingRegistry } from './open.js';

export type { ModelVersion, VersionFilter } from '../registry/model-registry.js';

export interface ModelsRequest {
  project: Project;
  /** The production registry instead of the training one. */
  production: boolean;
  context: AzureContext;
}

export interface ModelsAnswer<T> {
  value: T;
  /** The registry asked, for messages ("the local training registry at …"). */
  registry: string;
}

async function withRegistry<T>(request: ModelsRequest, ask: (registry: Awaited<ReturnType<typeof openTrainingRegistry>>) => Promise<T>): Promise<ModelsAnswer<T>> {
  const registry = await (request.production ? openProductionRegistry : openTrainingRegistry)(request.project, request.context);
  try {
    return { value: await ask(registry), registry: registry.description };
  } finally {
    await registry.close();
  }
}

export function listModels(request: ModelsRequest, filter: VersionFilter): Promise<ModelsAnswer<ModelVersion[]>> {
  return withRegistry(request, (r) => r.listVersions(filter));
}

/** A version by name, the newest one when `version` is absent. */
export function showModel(request: ModelsRequest, name: string, version?: string): Promise<ModelsAnswer<ModelVersion | undefined>> {
  return withRegistry(request, (r) => r.getVersion(name, version));
}
