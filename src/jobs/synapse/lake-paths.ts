// A Synapse run's folders in the lake as the job sees them (abfss:// URIs) and as the Blob API
// names them (blob names), without a client: lake-storage.ts gives them their store;
// `compile --engine synapse` uses them as they are, with no store.
import type { SynapseLake } from '../../contracts/targets.js';
import type { RemoteFileStore, RemoteLocation } from '../remote/remote-store.js';

const join = (...parts: string[]): string => parts.filter(Boolean).join('/').replace(/\/{2,}/g, '/').replace(/^\/|\/$/g, '');

/** `abfss://<container>@<account>.dfs.core.windows.net/<blob name>`. */
export function abfssUri(lake: Pick<SynapseLake, 'container' | 'dfsHost'>, blobName: string): string {
  return `abfss://${lake.container}@${lake.dfsHost}/${blobName}`;
}

/** The folder `rel` of the lake's `path` (blob names under it), seen as the job sees it: abfss:// URIs. */
export function lakeLocation(store: RemoteFileStore, lake: Pick<SynapseLake, 'container' | 'dfsHost'>, folder: string): RemoteLocation {
  const api = (rel?: string): string => (rel ? join(folder, rel) : folder);
  return {
    store,
    apiPath: api,
    // The job opens these through the lake itself (the runtime resolves abfss:// URIs: paths.py).
    clusterPath: (rel) => abfssUri(lake, api(rel)),
    uri: (rel) => abfssUri(lake, api(rel)),
    child: (rel) => lakeLocation(store, lake, api(rel)),
  };
}

