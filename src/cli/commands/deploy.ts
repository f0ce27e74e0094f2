// `manymodels deploy --target azureml-online|aks`: writes an online-endpoint bundle and, with an
// Azure ML workspace configured (and not --dry-run), creates the endpoint and its deployments
// through ARM (docs/serving.md#deployment). Its --target is the deployment kind; the pipelines
// file's target is --file-target (env MANYMODELS_TARGET).
import path from 'node:path';
import { UsageError } from '../../core/errors.js';
import { ExitCode } from '../../core/exit-codes.js';
import { selectPipelines } from '../../pipeline/project.js';
import type { Pipeline } from '../../pipeline/types.js';
import { DEPLOY_TARGETS, type DeployTarget, deployPipelines } from '../../runs/deploy.js';
import { openProductionRegistry } from '../../runs/open.js';
import { azureContext, type CliIo } from '../io.js';
import { loadProjectOrThrow, projectOptions, showWarnings } from '../options.js';

function whole(flag: string, value: unknown, min: number, max: number): number {
  const n = Number(value);
  if (!Number.isInteger(n) || n < min || n > max) throw new UsageError(`--${flag} must be a whole number from ${min} to ${max}, got "${String(value)}"`, { code: 'MM710' });
  return n;
}

export async function run(args: unknown[], opts: Record<string, unknown>, io: CliIo): Promise<number> {
  const kind = String(opts.target ?? '');
  if (!(DEPLOY_TARGETS as readonly string[]).includes(kind)) {
    throw new UsageError(`--target must be one of ${DEPLOY_TARGETS.join(', ')}, got "${kind || '(none)'}"`, {
      code: 'MM710',
      nextSteps: ['manymodels deploy --target azureml-online (a managed online endpoint) or --target aks (a Kubernetes online endpoint); the pipelines file target is --file-target.'],
    });
  }
  if (opts.shards !== undefined && opts.memoryMb !== undefined) throw new UsageError('give --shards or --memory-mb, not both', { code: 'MM710' });
  const options = projectOptions({ ...opts, target: opts.fileTarget ?? io.env.MANYMODELS_TARGET }, io);
  const { project, warnings } = loadProjectOrThrow(options, io);
  showWarnings(warnings, options, io);
  const names = (Array.isArray(args[0]) ? (args[0] as string[]) : []).filter(Boolean);
  const pipelines: Pipeline[] = names.length ? [...new Map(names.flatMap((n) => selectPipelines(project, n)).map((p) => [p.name, p])).values()] : selectPipelines(project, undefined);
  const deploy: Parameters<typeof deployPipelines>[0] = {
    project,
    pipelines,
    production: await openProductionRegistry(project, azureContext(io)),
    target: kind as DeployTarget,
    outDir: path.resolve(io.cwd, String(opts.out ?? 'deploy')),
    instanceType: String(opts.instanceType ?? (kind === 'aks' ? 'defaultinstancetype' : 'Standard_DS3_v2')),
    instanceCount: whole('instance-count', opts.instanceCount ?? 1, 1, 100),
    location: String(opts.location ?? 'westeurope'),
    dryRun: Boolean(opts.dryRun),
    context: azureContext(io),
    log: (line) => void io.stderr.write(`deploy: ${line}\n`),
  };
  if (opts.endpoint !== undefined) deploy.endpoint = String(opts.endpoint);
  if (opts.shards !== undefined) deploy.shards = whole('shards', opts.shards, 1, 64);
  if (opts.memoryMb !== undefined) deploy.memoryMb = whole('memory-mb', opts.memoryMb, 1, 1_048_576);
  if (opts.compute !== undefined) deploy.compute = String(opts.compute);
  if (opts.workspace !== undefined) deploy.workspace = String(opts.workspace);
  let result: Awaited<ReturnType<typeof deployPipelines>>;
  try {
    result = await deployPipelines(deploy);
  } finally {
    await deploy.production.close();
  }
  if (options.json) {
    io.stdout.write(`${JSON.stringify({ ok: true, ...result })}\n`);
    return ExitCode.Ok;
  }
  const rel = path.relative(io.cwd, result.outDir) || '.';
  io.stdout.write(`Bundle written to ${rel}: endpoint ${result.endpoint}, ${result.shards.length} deployment${result.shards.length === 1 ? '' : 's'}\n`);
  for (const s of result.shards) io.stdout.write(`  ${s.deployment}: ${s.models} models, ${s.bytes.toLocaleString('en-US')} bytes of artifacts (${rel}/models/${s.deployment})\n`);
  if (result.shards.length > 1) io.stdout.write(`  Clients route each group to its shard with the azureml-model-deployment header: ${rel}/routing.json, ${rel}/router.py\n`);
  if (result.created) {
    io.stdout.write(`Created in ${result.workspace} (${result.armRequests} ARM requests)${result.scoringUri ? `: ${result.scoringUri}` : ''}\n`);
  } else {
    io.stdout.write(`${result.workspace ? (deploy.dryRun ? `--dry-run: nothing created in ${result.workspace}` : '') : 'No Azure ML workspace configured (an azureml registry with a workspace, or --workspace): nothing created'}. It would:\n`);
    for (const step of result.plan) io.stdout.write(`  ${step}\n`);
    io.stdout.write(`  (or: az ml online-endpoint create -f ${rel}/azureml/endpoint.yml, then az ml online-deployment create -f ${rel}/azureml/<deployment>.yml for each)\n`);
  }
  return ExitCode.Ok;
}
