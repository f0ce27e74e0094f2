// `manymodels models list|show`: registered models, filtered by tags.
import { expectedOneOf, formatDiagnostics } from '../../core/diagnostics.js';
import { UsageError } from '../../core/errors.js';
import { ExitCode } from '../../core/exit-codes.js';
import { listModels, showModel, type ModelVersion, type VersionFilter } from '../../runs/models.js';
import { azureContext, type CliIo } from '../io.js';
import { loadProjectOrThrow, projectOptions } from '../options.js';

const ACTIONS = ['list', 'show'];
/** Tags we set ourselves; any other name given to --tag means a key column. */
const OWN_TAGS = /^(project|pipeline|model_type|run_id|data_fingerprint|group_id|key\..+|metric\..+|lineage\..+|selection\..+|candidate\..+)$/;

function parseTags(values: string[]): Record<string, string> {
  const tags: Record<string, string> = {};
  for (const v of values) {
    const eq = v.indexOf('=');
    if (eq <= 0) throw new UsageError(`--tag expects key=value, got "${v}"`, { code: 'MM318' });
    const key = v.slice(0, eq);
    tags[OWN_TAGS.test(key) ? key : `key.${key}`] = v.slice(eq + 1);
  }
  return tags;
}

/** A metric the runtime could not compute is stored as null (JSON has no NaN): shown as "—". */
function formatMetricCell(value: unknown): string {
  return typeof value === 'number' && Number.isFinite(value) ? String(Number(value.toPrecision(4))) : '—';
}

function row(v: ModelVersion): string {
  const keys = Object.entries(v.keys).map(([k, val]) => `${k}=${val}`).join(' ');
  const metrics = Object.entries(v.metrics).map(([k, val]) => `${k}=${formatMetricCell(val)}`).join(' ');
  return `${v.name.padEnd(48)} ${v.version.padStart(4)}  ${v.modelType.padEnd(14)} ${keys.padEnd(28)} ${metrics}`;
}

export async function run(args: unknown[], opts: Record<string, unknown>, io: CliIo): Promise<number> {
  const options = projectOptions(opts, io);
  const { project, warnings } = loadProjectOrThrow(options, io);
  if (warnings.length && !options.json) io.stderr.write(formatDiagnostics(warnings));
  const action = typeof args[0] === 'string' ? args[0] : 'list';
  if (!ACTIONS.includes(action)) throw new UsageError(`unknown models action "${action}"`, { code: 'MM318', nextSteps: [expectedOneOf(action, ACTIONS)] });
  const request = { project, production: Boolean(opts.production), context: azureContext(io) };
  if (action === 'show') {
    if (typeof args[1] !== 'string') throw new UsageError('models show needs a model name (and optionally name:version)', { code: 'MM318' });
    const [name, version] = args[1].split(':');
    const { value: v, registry } = await showModel(request, name!, version);
    if (!v) throw new UsageError(`no model "${args[1]}" in the ${registry}`, { code: 'MM507', nextSteps: ['List models with: manymodels models list'] });
    io.stdout.write(options.json ? `${JSON.stringify(v)}\n` : `${JSON.stringify(v, null, 2)}\n`);
    return ExitCode.Ok;
  }
  const filter: VersionFilter = { tags: parseTags((opts.tag as string[] | undefined) ?? []) };
  const limit = Number(opts.limit ?? 50);
  const shown = Number.isFinite(limit) && limit > 0 ? Math.floor(limit) : 50;
  // One more than shown, to say whether the list was cut.
  filter.limit = shown + 1;
  if (typeof opts.pipeline === 'string') filter.pipeline = opts.pipeline;
  const { value: found, registry } = await listModels(request, filter);
  const versions = found.slice(0, shown);
  if (options.json) io.stdout.write(`${JSON.stringify(versions)}\n`);
  else if (!versions.length) io.stdout.write(`No models match in the ${registry}.\n`);
  else {
    io.stdout.write(`${'NAME'.padEnd(48)} ${'VER'.padStart(4)}  ${'TYPE'.padEnd(14)} ${'KEYS'.padEnd(28)} METRICS\n${versions.map(row).join('\n')}\n`);
    if (found.length > shown) io.stdout.write(`Showing the first ${shown}; more match. See more with --limit ${shown * 2}, or narrow with --tag key=value\n`);
  }
  return ExitCode.Ok;
}
