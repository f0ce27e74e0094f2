// What every run service opens for a project's target: its run history, its engine's backend
// and its two registries. One place, so a service never reaches for a backend or registry
// any other way.
import type { AzureContext } from '../contracts/azure.js';
import type { JobBackend } from '../jobs/backend.js';
import { openBackend } from '../jobs/open-backend.js';
import { RunStore } from '../jobs/run-store.js';
import type { Project } from '../pipeline/project.js';
import type { ModelRegistry } from '../registry/model-registry.js';
import { openRegistry } from '../registry/open-registry.js';

export function openRunStore(project: Project): RunStore {
  return new RunStore(project.target.stateDir);
}

export function openTargetBackend(project: Project, context: AzureContext): Promise<JobBackend> {
  return openBackend(project.target, context);
}

export function openTrainingRegistry(project: Project, context: AzureContext): Promise<ModelRegistry> {
  return openRegistry(project.target.registry, context, { field: 'registry', stateDir: project.target.stateDir });
}

export function openProductionRegistry(project: Project, context: AzureContext): Promise<ModelRegistry> {
  return openRegistry(project.target.productionRegistry, context, { field: 'production_registry', stateDir: project.target.stateDir, production: true });
}

/** Per pipeline of a multi-pipeline command: `start` returns its update handler, `done` sees its result (and may throw to stop the rest). */
export interface PipelineHooks<Update, Result> {
  start?(pipeline: { name: string }): ((update: Update) => void) | undefined;
  done(pipeline: { name: string }, result: Result): void;
}
