// Builds an AzureMlRegistry from a target's registry settings: the scope, the ARM client (ARM
// pacing on), the artifact container and its credential. Loaded only when a target uses azureml.
import path from 'node:path';
import { ArmRequestPacer } from '../../clients/arm-pacer.js';
import { type AzureContext, AzureScopes, tokenProviderFor } from '../../clients/azure-context.js';
import { AzureMlClient, BlobArtifactStore, type BlobCredential, type ModelScope } from '../../clients/azureml/index.js';
import { Secret } from '../../clients/secret.js';
import { UsageError } from '../../core/errors.js';
import type { RegistryConfig } from '../../contracts/targets.js';
import { AzureMlRegistry } from './azureml-registry.js';

export interface OpenAzureMlOptions {
  /** Which YAML field this came from, for messages: `registry` or `production_registry`. */
  field: string;
  /** The target's state folder: registration journals go under it. */
  stateDir?: string;
}

/**
 * One pacer per ARM endpoint and subscription in this process: ARM's buckets are per
 * subscription and principal, so the training and production registries of one `promote`
 * draw on the same quota and must not each assume all of it.
 */
const pacers = new Map<string, ArmRequestPacer>();
function sharedPacer(endpoint: string, subscriptionId: string): ArmRequestPacer {
  const key = `${endpoint}|${subscriptionId.toLowerCase()}`;
  let pacer = pacers.get(key);
  if (!pacer) {
    pacer = new ArmRequestPacer();
    pacers.set(key, pacer);
  }
  return pacer;
}

function misconfigured(message: string, field: string, steps: string[]): UsageError {
  return new UsageError(`${field}: ${message}`, { code: 'MM403', nextSteps: steps });
}

/**
 * The blob container of an azureml registry's settings (storage_account_url, storage_container,
 * storage_sas_env) with its credential: a SAS from the environment, else an Azure AD token for
 * storage. Shared by the registry and by `deploy`, which uploads code and models there.
 */
export async function openArtifactStore(config: RegistryConfig, context: AzureContext, field: string): Promise<BlobArtifactStore> {
  let storageUrl: URL;
  try {
    storageUrl = new URL(config.storageAccountUrl ?? '');
    if (!/^https?:$/.test(storageUrl.protocol) || storageUrl.search) throw new Error('not a plain http(s) URL');
  } catch {
    throw misconfigured(
      config.storageAccountUrl ? `storage_account_url "${config.storageAccountUrl}" is not an https:// blob endpoint` : 'an azureml registry needs storage_account_url: artifacts are kept in blob storage',
      field,
      [`Set storage_account_url to the blob endpoint of the storage account (e.g. https://<account>.blob.core.windows.net), and storage_container to its container.`],
    );
  }
  const container = config.storageContainer ?? 'azureml';
  if (!/^[a-z0-9](?!.*--)[a-z0-9-]{1,61}[a-z0-9]$/.test(container)) {
    throw misconfigured(`storage_container "${container}" is not a valid blob container name`, field, ['Use 3–63 lower-case letters, digits and single hyphens.']);
  }

  if (storageUrl.protocol === 'http:' && !config.storageSasEnv) {
    // The storage SDK sends Azure AD tokens over TLS only; plain http is for emulators (Azurite).
    throw misconfigured(`storage_account_url "${config.storageAccountUrl}" is plain http, where Azure AD tokens are not sent`, field, [
      'Use the https:// endpoint, or (for an emulator such as Azurite) set storage_sas_env to a variable holding a SAS.',
    ]);
  }
  let credential: BlobCredential;
  if (config.storageSasEnv) {
    const sas = context.env[config.storageSasEnv];
    if (!sas) {
      throw misconfigured(`storage_sas_env names ${config.storageSasEnv}, which is not set`, field, [`Export ${config.storageSasEnv} with a SAS token for the container, or remove storage_sas_env to use an Azure AD token.`]);
    }
    credential = { kind: 'sas', sas: new Secret(sas) };
  } else {
    credential = { kind: 'token', tokenProvider: await tokenProviderFor(context, AzureScopes.storage) };
  }

  return new BlobArtifactStore({ containerUrl: `${storageUrl.origin}${storageUrl.pathname.replace(/\/+$/, '')}/${container}`, credential });
}

export async function openAzureMlRegistry(config: RegistryConfig, context: AzureContext, options: OpenAzureMlOptions): Promise<AzureMlRegistry> {
  const { field } = options;
  const missing = (['subscriptionId', 'resourceGroup'] as const).filter((k) => !config[k]);
  if (missing.length) {
    const names = missing.map((k) => (k === 'subscriptionId' ? 'subscription_id' : 'resource_group'));
    throw misconfigured(`an azureml registry needs ${names.join(' and ')}`, field, [`Add ${names.map((n) => `${n}: …`).join(', ')} under ${field}.`]);
  }
  const scope: ModelScope = config.registry
    ? { kind: 'registry', subscriptionId: config.subscriptionId!, resourceGroup: config.resourceGroup!, registry: config.registry }
    : { kind: 'workspace', subscriptionId: config.subscriptionId!, resourceGroup: config.resourceGroup!, workspace: config.workspace ?? '' };

  const artifacts = await openArtifactStore(config, context, field);
  const client = new AzureMlClient({
    tokenProvider: await tokenProviderFor(context, AzureScopes.resourceManager),
    ...(config.endpoint ? { baseUrl: config.endpoint } : {}),
    http: { pacer: sharedPacer(config.endpoint ?? 'https://management.azure.com', scope.subscriptionId) },
  });
  const registryOptions: ConstructorParameters<typeof AzureMlRegistry>[0] = {
    client,
    scope,
    granularity: config.granularity,
    artifacts,
    concurrency: config.concurrency,
  };
  if (options.stateDir) registryOptions.journalDir = path.join(options.stateDir, 'azureml', 'registrations');
  return new AzureMlRegistry(registryOptions);
}
