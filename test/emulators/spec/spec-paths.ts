// Where the official API definitions live: `../shared/api-specs` beside the repository,
// or MANYMODELS_API_SPECS. Every emulator resolves its Swagger files through here.
import { existsSync } from 'node:fs';
import { join, resolve } from 'node:path';
import { fileURLToPath } from 'node:url';

const repoRoot = fileURLToPath(new URL('../../../', import.meta.url));

/** The folder holding `azure-rest-api-specs/`, `databricks/` and the README summary. */
export function apiSpecsRoot(): string {
  const root = process.env.MANYMODELS_API_SPECS ?? resolve(repoRoot, '../shared/api-specs');
  if (!existsSync(join(root, 'azure-rest-api-specs'))) {
    throw new Error(
      `Official API definitions not found under ${root}. ` +
        'Set MANYMODELS_API_SPECS to the folder that holds azure-rest-api-specs/.',
    );
  }
  return root;
}

const spec = (...parts: string[]): string => join(apiSpecsRoot(), 'azure-rest-api-specs', 'specification', ...parts);

/** Azure ML 2024-04-01: mfe.json holds workspace AND registry model containers/versions. */
export const azureMlSpecDir = (): string =>
  spec('machinelearningservices', 'resource-manager', 'Microsoft.MachineLearningServices', 'stable', '2024-04-01');
export const azureMlMfeSpec = (): string => join(azureMlSpecDir(), 'mfe.json');
/** ARM common types v5: holds OperationStatusResult, the Azure-AsyncOperation poll body. */
export const commonTypesV5Spec = (): string => spec('common-types', 'resource-management', 'v5', 'types.json');
export const synapseSparkSpec = (): string =>
  spec('synapse', 'data-plane', 'Microsoft.Synapse', 'stable', '2020-12-01', 'sparkJob.json');
export const databricksArmSpec = (): string =>
  spec('databricks', 'resource-manager', 'Microsoft.Databricks', 'stable', '2024-05-01', 'databricks.json');
