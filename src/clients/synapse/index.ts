// Public surface of the Synapse client: the rest of the code imports from here only.
export { LIST_PAGE_SIZE, LIVY_API_VERSION, SynapseSparkClient, type SynapseSparkClientOptions } from './spark-batch-client.js';
export type * from './types.js';
export { BIG_DATA_POOLS_API_VERSION, BigDataPoolClient, type BigDataPool, type BigDataPoolClientOptions } from './big-data-pools.js';
