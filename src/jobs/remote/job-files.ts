// The files every remote run ships, planned the same way for every engine: the entry script,
// the runtime zip and the JobSpec — with a custom model file travelling beside it, its
// sha256 checked against the one compiled into the spec.
import path from 'node:path';
import { canonicalJson } from '../../core/canonical-json.js';
import { UsageError } from '../../core/errors.js';
import type { JobSpec } from '../../contracts/job-spec.js';
import type { Submission } from '../backend.js';
import { itemFromBytes, itemFromFile, type UploadItem } from './content-addressed-upload.js';
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
