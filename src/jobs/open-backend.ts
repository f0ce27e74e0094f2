// Picks the job backend for a target's engine. Remote backends load only when used.
import type { AzureContext } from '../clients/azure-context.js';
import { UsageError } from '../core/errors.js';
import type { ResolvedTarget } from '../contracts/targets.js';
import type { JobBackend } from './backend.js';
import { LocalBackend } from './local/local-backend.js';

export async function openBackend(target: ResolvedTarget, context: AzureContext): Promise<JobBackend> {
  const env = context.env;
  switch (target.engine) {
    case 'local':
      return new LocalBackend(env, 'local');
    case 'spark-local':
      return new LocalBackend(env, 'spark');
    case 'databricks': {
      // Loaded only here: validate and compile never load axios or an Azure SDK.
      const { openDatabricksBackend } = await import('./databricks/databricks-backend.js');
      return openDatabricksBackend(target, context);
    }
    case 'synapse': {
      // Loaded only here, like databricks: @azure/synapse-spark and @azure/storage-blob stay unloaded otherwise.
      const { openSynapseBackend } = await import('./synapse/synapse-backend.js');
      return openSynapseBackend(target, context);
    }
    default:
      throw new UsageError(`the ${target.engine} engine is not available yet`, {
        code: 'MM402',
        nextSteps: ['Run on a target whose engine is local, spark-local, databricks or synapse.'],
      });
  }
}
