// The files every remote run ships, planned the same way for every engine: the entry script,
// the runtime zip and the JobSpec — with a custom model file travelling beside it, its
// sha256 checked against the one compiled into the spec.
import { readFileSync } from 'node:fs';
import path from 'node:path';
import { canonicalJson } from '../../core/canonical-json.js';
import { UsageError } from '../../core/errors.js';
import type { JobSpec } from '../../contracts/job-spec.js';
import type { Submission } from '../backend.js';
import { runtimeArgs } from '../runtime-args.js';
import { casName, itemFromBytes, itemFromFile, type UploadItem } from './content-addressed-upload.js';
import type { RemoteLocation } from './remote-store.js';
import { EVENTS_FILE } from './run-outputs.js';
import { entryScript, RUNTIME_ZIP_NAME, runtimePackageZip } from './runtime-package.js';

export interface JobFiles {
  /** Everything to upload, content-addressed; callers may add more with `add`. */
  items: UploadItem[];
  add(item: UploadItem): string;
  /** Content-addressed names of the three files every run needs. */
  entry: string;
  runtimeZip: string;
  spec: string;
}

/** `where(name)` is how the job will address an uploaded file (a cluster path or an abfss:// URI). */
export async function planJobFiles(sub: Submission, where: (name: string) => string): Promise<JobFiles> {
  const items: UploadItem[] = [];
  const add = (item: UploadItem): string => {
    items.push(item);
    return item.remoteName;
  };
  const entry = add(itemFromBytes(sub.spec.entryScript, entryScript(sub.spec.entryScript)));
  const runtimeZip = add(itemFromBytes(RUNTIME_ZIP_NAME, runtimePackageZip()));
  const spec: JobSpec = JSON.parse(JSON.stringify(sub.spec)) as JobSpec;
  if (spec.model.custom) {
    // The cluster cannot see the project folder: the custom model file travels, its sha256 unchanged.
    const file = path.resolve(sub.projectRoot, spec.model.custom.path);
    const item = await itemFromFile(file, path.basename(file));
    if (item.sha256 !== spec.model.custom.sha256) {
      throw new UsageError(`${spec.model.custom.path} changed after the run was compiled`, { code: 'MM316', nextSteps: ['Start the run again.'] });
    }
    spec.model.custom.path = where(add(item));
  }
  const specName = add(itemFromBytes('jobspec.json', Buffer.from(canonicalJson(spec))));
  return { items, add, entry, runtimeZip, spec: specName };
}

/** The model manifest the job reads: the same models, their local artifacts uploaded and named by URI. */
export async function remoteModelManifest(localManifest: string, cas: RemoteLocation, items: UploadItem[]): Promise<UploadItem> {
  const doc = JSON.parse(readFileSync(localManifest, 'utf8')) as { models: Array<{ artifactUri: string; sha256: string }> };
  for (const model of doc.models) {
    const local = model.artifactUri.startsWith('file://') ? new URL(model.artifactUri).pathname : model.artifactUri;
    // Remote URIs (https://) are read by the job itself; local files travel.
    if (!path.isAbsolute(local)) continue;
    // Named by the sha256 the registry recorded; the job checks it again before unpickling.
    items.push(await itemFromFile(local, 'model.pkl', model.sha256));
    model.artifactUri = cas.uri(casName(model.sha256, 'model.pkl'));
  }
  return itemFromBytes('model-manifest.json', Buffer.from(canonicalJson(doc)));
}

/** Where a run's files go on a remote engine. */
export interface SubmissionLayout {
  /** The content-addressed folder every upload goes to. */
  cas: RemoteLocation;
  /** The run's own output folder (manifest, events, artifacts). */
  outputs: RemoteLocation;
  /** Where the entry script goes when not with the other uploads (Databricks with a volume: workspace files). */
  entryCas?: RemoteLocation;
  /** `--runtime-zip`: the entry script imports the zip from a path it opens (Databricks); else the engine puts it on the Python path (Synapse's py-files). */
  runtimeZipArgument: boolean;
}

/** What an engine turns into its request: the uploaded files by URI and the runtime's command line. */
export interface SubmissionInputs {
  runId: string;
  stage: 'train' | 'score';
  pipeline: string;
  /** URI of the uploaded entry script. */
  entry: string;
  /** URI of the uploaded runtime zip. */
  runtimeZip: string;
  arguments: string[];
  /** The JobSpec's execution.sparkConf. */
  sparkConf: Record<string, string>;
}

/**
 * Every remote run's files and command line, planned once: the job files, the model manifest
 * (scoring) with the artifacts it names, the groups to retrain (resume), and the runtime's
 * arguments as the cluster sees the paths.
 */
export async function planSubmission(
  sub: Submission,
  layout: SubmissionLayout,
  /** `compile --engine`: the model manifest is made when a scoring run starts; this names it instead. */
  placeholders: { models?: string } = {},
): Promise<{ items: UploadItem[]; entryItems: UploadItem[]; inputs: SubmissionInputs }> {
  const { cas, outputs } = layout;
  const { items, add, entry, runtimeZip, spec } = await planJobFiles(sub, (name) => cas.clusterPath(name));
  const args = runtimeArgs({
    spec: cas.clusterPath(spec),
    runId: sub.runId,
    out: outputs.clusterPath(),
    events: outputs.clusterPath(EVENTS_FILE),
    executor: 'spark',
    ...(layout.runtimeZipArgument ? { runtimeZip: cas.clusterPath(runtimeZip) } : {}),
    noCache: true,
    bundleArtifacts: sub.stage === 'train',
    ...(placeholders.models !== undefined ? { models: placeholders.models } : {}),
    ...(sub.modelManifestPath ? { models: cas.clusterPath(add(await remoteModelManifest(sub.modelManifestPath, cas, items))) } : {}),
    ...(sub.onlyGroupsPath ? { onlyGroups: cas.clusterPath(add(itemFromBytes('only-groups.json', readFileSync(sub.onlyGroupsPath)))) } : {}),
    ...(sub.skipGroupsPath ? { skipGroups: cas.clusterPath(add(itemFromBytes('skip-groups.json', readFileSync(sub.skipGroupsPath)))) } : {}),
  });
  // The entry script in its own folder when the layout has one; everything else in cas.
  const entryItems = layout.entryCas ? items.filter((i) => i.remoteName === entry) : [];
  return {
    items: layout.entryCas ? items.filter((i) => i.remoteName !== entry) : items,
    entryItems,
    inputs: { runId: sub.runId, stage: sub.stage, pipeline: sub.spec.pipeline, entry: (layout.entryCas ?? cas).uri(entry), runtimeZip: cas.uri(runtimeZip), arguments: args, sparkConf: sub.spec.execution.sparkConf },
  };
}
