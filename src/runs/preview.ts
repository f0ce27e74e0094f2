// `compile --engine`: the submit request each selected pipeline's run would send to the
// target's remote engine (jobs/remote/preview.ts), for users to read and diff.
import type { Stage } from '../contracts/job-spec.js';
import { previewSubmitRequest } from '../jobs/remote/preview.js';
import { compileProject } from '../pipeline/compile.js';
import type { Project } from '../pipeline/project.js';
import type { Pipeline } from '../pipeline/types.js';

export { MODEL_MANIFEST_PLACEHOLDER, RUN_ID_PLACEHOLDER } from '../jobs/remote/preview.js';

export async function previewSubmitRequests(project: Project, pipelines: Pipeline[], stage: Stage): Promise<unknown[]> {
  const specs = compileProject(project, pipelines, stage);
  const out: unknown[] = [];
  for (const spec of specs) out.push(await previewSubmitRequest({ target: project.target, spec, projectRoot: project.file.projectRoot }));
  return out;
}
