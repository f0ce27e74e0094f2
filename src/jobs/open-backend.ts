// Picks the job backend for a target's engine. Remote backends load only when used.
import type { AzureContext } from '../clients/azure-context.js';
import { UsageError } from '../core/errors.js';
import { engineCapabilities } from '../contracts/engine-capabilities.js';
import type { ResolvedTarget } from '../contracts/targets.js';
import type { JobBackend } from './backend.js';
import { LocalBackend } from './local/local-backend.js';

export async function openBackend(target: ResolvedTarget, context: AzureContext): Promise<JobBackend> {
  const env = context.env;
  const caps = engineCapabilities(target.engine);
  // Every engine that runs on this machine is the runtime in a child process, with its executor.
  if (!caps.remote) return new LocalBackend(env, caps.executor);
  switch (target.engine) {
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
