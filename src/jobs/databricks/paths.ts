// Where a Databricks path lives and how each side names it, without a client: DBFS (API `/x`,
// cluster `/dbfs/x`, URI `dbfs:/x`), Unity Catalog volumes (`/Volumes/…` everywhere) and workspace
// files (API `/Users/…`, cluster `/Workspace/Users/…`). storage.ts gives these locations their stores;
// `compile --engine databricks` uses them as they are, with no store.
import path from 'node:path';
import { UsageError } from '../../core/errors.js';
import { databricksPathKind, type DatabricksLocationKind, type DatabricksTarget } from '../../contracts/targets.js';
import type { SubmissionLayout } from '../remote/job-files.js';
import type { RemoteFileStore, RemoteLocation } from '../remote/remote-store.js';

/** What kind of location a path names: `dbfs:/…` or `/dbfs/…`, `/Volumes/…`, or a workspace path. */
export const kindOfPath = databricksPathKind;

const clean = (p: string): string => {
  const normal = path.posix.normalize(p);
  return normal.length > 1 && normal.endsWith('/') ? normal.slice(0, -1) : normal;
};

function location(store: RemoteFileStore, kind: DatabricksLocationKind, apiRoot: string): RemoteLocation {
  const api = (rel?: string): string => (rel ? clean(`${apiRoot}/${rel}`) : apiRoot);
  const cluster = (rel?: string): string => {
    const p = api(rel);
    if (kind === 'dbfs') return p === '/' ? '/dbfs' : `/dbfs${p}`;
    if (kind === 'workspace') return `/Workspace${p}`;
    return p;
  };
  return {
    store,
    apiPath: api,
    clusterPath: cluster,
    uri: (rel) => (kind === 'dbfs' ? `dbfs:${api(rel)}` : cluster(rel)),
    child: (rel) => location(store, kind, api(rel)),
  };
}

/** A location for a path; a relative path or a volume path above the volume is refused (MM404). */
export function databricksLocation(p: string, field: string, storeFor: (kind: DatabricksLocationKind) => RemoteFileStore): RemoteLocation {
  const kind = kindOfPath(p);
  const bad = (why: string, hint: string): UsageError => new UsageError(`${field}: ${why}`, { code: 'MM404', nextSteps: [hint] });
  if (kind === 'dbfs') {
    const api = clean(p.startsWith('dbfs:') ? p.slice('dbfs:'.length) : p.slice('/dbfs'.length) || '/');
    if (!api.startsWith('/') || api.split('/').includes('..')) throw bad(`"${p}" is not an absolute DBFS path`, 'Use dbfs:/folder/….');
    return location(storeFor('dbfs'), 'dbfs', api);
  }
  if (kind === 'volume') {
    const api = clean(p);
    if (!/^\/Volumes\/[^/]+\/[^/]+\/[^/]+(\/|$)/.test(api) || api.split('/').includes('..')) {
      throw bad(`"${p}" is not inside a volume`, 'Use /Volumes/<catalog>/<schema>/<volume>/….');
    }
    return location(storeFor('volume'), 'volume', api);
  }
  if (!p.startsWith('/') || p.split('/').includes('..')) throw bad(`"${p}" is not an absolute workspace path`, 'Use /Workspace/Users/<you>/manymodels or /Shared/manymodels.');
  const api = clean(p === '/Workspace' ? '/' : p.replace(/^\/Workspace\//, '/'));
  return location(storeFor('workspace'), 'workspace', api);
}

/** Where a Databricks run's files go: `<artifacts.path>/cas` for uploads, `<runs_path>/<run id>` for outputs. */
export function databricksLayout(
  settings: Pick<DatabricksTarget, 'artifactsPath' | 'runsPath' | 'entryPath'>,
  runId: string,
  storeFor: (kind: DatabricksLocationKind) => RemoteFileStore,
): SubmissionLayout {
  return {
    cas: databricksLocation(settings.artifactsPath, 'databricks.artifacts.path', storeFor).child('cas'),
    outputs: databricksLocation(settings.runsPath, 'databricks.runs_path', storeFor).child(runId),
    ...(settings.entryPath ? { entryCas: databricksLocation(settings.entryPath, 'databricks.artifacts.entry_path', storeFor).child('cas') } : {}),
    // The entry script imports the runtime from the zip itself (spark_python_task has no py-files).
    runtimeZipArgument: true,
  };
}
