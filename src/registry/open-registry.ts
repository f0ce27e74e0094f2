// Opens the registry a target names. Azure ML is loaded only when a target uses it, so
// validate and compile never load axios or an Azure SDK.
import type { AzureContext } from '../clients/azure-context.js';
import type { RegistryConfig } from '../contracts/targets.js';
import { DEFAULT_LOCK_WAIT_SECONDS, LocalRegistry } from './local-registry.js';
import type { ModelRegistry } from './model-registry.js';

export interface OpenRegistryOptions {
  /** The YAML field it came from (`registry` or `production_registry`), for messages. */
  field?: string;
  /** The target's state folder (`.manymodels/`): remote registries keep resume journals there. */
  stateDir?: string;
  /** The production registry: a local one keeps its own copy of every artifact. */
  production?: boolean;
}

export async function openRegistry(config: RegistryConfig, context: AzureContext, options: OpenRegistryOptions = {}): Promise<ModelRegistry> {
  if (config.type === 'local') {
    const wait = Number(context.env.MANYMODELS_LOCK_WAIT);
    const local: ConstructorParameters<typeof LocalRegistry>[1] = { copyArtifacts: options.production === true };
    if (context.env.MANYMODELS_LOCK_WAIT !== undefined && Number.isFinite(wait) && wait >= 0) local.lockWaitSeconds = wait;
    const notice = context.notice;
    if (notice) {
      const seconds = local.lockWaitSeconds ?? DEFAULT_LOCK_WAIT_SECONDS;
      local.onLockWait = (holder) =>
        notice(`Waiting for the registry ${config.path}: in use by ${holder.purpose}${holder.runId ? ` (run ${holder.runId})` : ''}, pid ${holder.pid} on ${holder.host} since ${holder.acquiredAt}; waiting up to ${seconds} s (MANYMODELS_LOCK_WAIT)`);
    }
    return new LocalRegistry(config.path!, local);
  }
  const { openAzureMlRegistry } = await import('./azureml/open-azureml-registry.js');
  const open: Parameters<typeof openAzureMlRegistry>[2] = { field: options.field ?? 'registry' };
  if (options.stateDir) open.stateDir = options.stateDir;
  return openAzureMlRegistry(config, context, open);
}
