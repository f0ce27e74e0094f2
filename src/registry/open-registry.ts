// Opens the registry a target names. Azure ML is loaded only when a target uses it.
import type { AzureContext } from '../clients/azure-context.js';
import { UsageError } from '../core/errors.js';
import type { RegistryConfig } from '../pipeline/types.js';
import { LocalRegistry } from './local-registry.js';
import type { ModelRegistry } from './model-registry.js';

export async function openRegistry(config: RegistryConfig, _context: AzureContext): Promise<ModelRegistry> {
  if (config.type === 'local') return new LocalRegistry(config.path!);
  throw new UsageError('the azureml registry is not available yet', {
    code: 'MM402',
    nextSteps: ['Use a local registry for now: registry: {type: local}.'],
  });
}
