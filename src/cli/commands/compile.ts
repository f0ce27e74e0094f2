// `manymodels compile`: the JobSpec a run would submit, written where a user can open and diff it.
import path from 'node:path';
import { canonicalJson } from '../../core/canonical-json.js';
import { formatDiagnostics } from '../../core/diagnostics.js';
import { UsageError } from '../../core/errors.js';
import { ExitCode } from '../../core/exit-codes.js';
import type { Engine } from '../../contracts/engines.js';
import { compiledSpecPath, compileProject, writeJobSpec } from '../../pipeline/compile.js';
import type { Stage } from '../../contracts/job-spec.js';
import type { CliIo } from '../io.js';
import { selectPipelines } from '../../pipeline/project.js';
import { loadProjectOrThrow, projectOptions, type ProjectOptions } from '../options.js';

export async function run(args: unknown[], opts: Record<string, unknown>, io: CliIo): Promise<number> {
  const options = projectOptions(opts, io);
  const engine = typeof opts.engine === 'string' ? (opts.engine as Engine) : undefined;
  const { project, warnings } = engine ? loadForEngine(options, engine, io) : loadProjectOrThrow(options, io);
  if (warnings.length && !options.json) io.stderr.write(formatDiagnostics(warnings));
  const stage = (opts.stage as Stage | undefined) ?? 'train';
  const pipelines = selectPipelines(project, typeof args[0] === 'string' ? args[0] : undefined);
  if (engine) {
    // The exact body the engine would be sent; run ids and (scoring) the model manifest are placeholders.
    const { previewSubmitRequests } = await import('../../runs/preview.js');
    const requests = await previewSubmitRequests(project, pipelines, stage);
    io.stdout.write(canonicalJson(requests.length === 1 ? requests[0] : requests));
    return ExitCode.Ok;
  }
  const specs = compileProject(project, pipelines, stage);
  if (opts.stdout) {
    io.stdout.write(canonicalJson(specs.length === 1 ? specs[0] : specs));
    return ExitCode.Ok;
  }
  const written = specs.map((spec) => {
    const file = compiledSpecPath(project, spec);
    writeJobSpec(file, spec);
    return path.relative(io.cwd, file) || file;
  });
  if (options.json) io.stdout.write(`${JSON.stringify({ written }, null, 2)}\n`);
  else for (const f of written) io.stdout.write(`wrote ${f}\n`);
  return ExitCode.Ok;
}

/**
 * `--engine`: the selected target must run on that engine. Without --target, the one target
 * that does is selected (several: --target must say which).
 */
function loadForEngine(options: ProjectOptions, engine: Engine, io: CliIo): ReturnType<typeof loadProjectOrThrow> {
  const loaded = loadProjectOrThrow(options, io);
  if (loaded.project.target.engine === engine) return loaded;
  const candidates = Object.entries(loaded.project.raw.targets ?? {}).filter(([, t]) => t?.engine === engine).map(([name]) => name);
  if (options.target === undefined && candidates.length === 1) return loadProjectOrThrow({ ...options, target: candidates[0]! }, io);
  const t = loaded.project.target;
  throw new UsageError(`--engine ${engine}: target "${t.name}" runs on ${t.engine}`, {
    code: 'MM318',
    nextSteps: [candidates.length ? `Pick the target with --target (${candidates.join(', ')} run on ${engine}).` : `No target in the file runs on ${engine}.`],
  });
}
