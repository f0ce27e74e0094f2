// The CLI entry: registers every command with its help, runs one, and is the only place
// that turns errors into output and an exit code. Command modules are imported lazily so
// `--help`, validate and compile never load Ink or the Azure SDKs.
import { Command, CommanderError, Option } from 'commander';
import { formatDiagnostics } from '../core/diagnostics.js';
import { ManyModelsError, storageErrorFrom } from '../core/errors.js';
import { ExitCode } from '../core/exit-codes.js';
import { redactSecrets } from '../core/redact.js';
import { enginesWhere } from '../contracts/engine-capabilities.js';
import { DiagnosticsError, redactDiagnostics } from './diagnostics-error.js';
import { redactingStream, type CliIo, type OutputStream } from './io.js';
import { createCiReporter } from './ui/ci/detect.js';
import { NO_CI, reportDiagnostics } from './ui/ci/reporter.js';

export const VERSION = '0.1.0';

type Handler = (args: unknown[], opts: Record<string, unknown>, io: CliIo) => Promise<number>;

function collectVar(value: string, previous: Record<string, string>): Record<string, string> {
  const eq = value.indexOf('=');
  if (eq <= 0) {
    throw new CommanderError(ExitCode.BadInput, 'MM318', `--var expects name=value, got "${value}"`);
  }
  return { ...previous, [value.slice(0, eq)]: value.slice(eq + 1) };
}

function withProjectOptions(cmd: Command, io: CliIo): Command {
  return cmd
    .addOption(new Option('-f, --file <path>', 'the pipelines file').default(io.env.MANYMODELS_FILE ?? 'pipelines.yaml'))
    .addOption(new Option('-t, --target <name>', 'target from the file (env MANYMODELS_TARGET)').default(io.env.MANYMODELS_TARGET))
    .option('--profile <name>', 'databricks: the ~/.databrickscfg profile to sign in with (env DATABRICKS_CONFIG_PROFILE)')
    .option('--var <name=value>', 'set a variable (repeatable)', collectVar, {})
    .option('--json', 'print results as JSON (NDJSON events for long runs) on stdout', false)
    .option('--verbose', 'show stack traces and debug detail', false);
}

interface CommandSpec {
  name: string;
  args?: string;
  summary: string;
  example: string;
  project?: boolean;
  configure?: (cmd: Command) => void;
  handler: Handler;
}

const lazy = (load: () => Promise<{ run: Handler }>): Handler => async (args, opts, io) => (await load()).run(args, opts, io);

const COMMANDS: CommandSpec[] = [
  {
    name: 'validate',
    args: '[file]',
    summary: 'check pipelines.yaml: syntax, schema and meaning; exit 0 when valid, 2 when not',
    example: 'manymodels validate pipelines.yaml --target databricks',
    project: true,
    configure: (c) =>
      c
        .option('--data', 'require the data: a local source that does not exist is an error, not a warning, and sql sources are read too')
        .option('--no-data', 'check only the file, not the data it names')
        .option('--remote', "also ask the target's service: Databricks runtime versions, node types, pools, policies, an existing cluster's state; the Synapse Spark pool through ARM"),
    handler: lazy(() => import('./commands/validate.js')),
  },
  {
    name: 'compile',
    args: '[pipeline]',
    summary: 'write the JobSpec JSON a run would submit, under .manymodels/compiled/',
    example: 'manymodels compile store-item-daily --target local --stage train --stdout',
    project: true,
    configure: (c) =>
      c
        .addOption(new Option('--stage <stage>', 'which job').choices(['train', 'score']).default('train'))
        .option('--stdout', 'print the spec instead of writing it', false)
        .addOption(new Option('--engine <engine>', "print the request the engine's run would submit (the target with this engine)").choices(enginesWhere((c) => c.remote))),
    handler: lazy(() => import('./commands/compile.js')),
  },
  {
    name: 'schema',
    summary: 'print the JSON Schema of pipelines.yaml, for editors',
    example: 'manymodels schema > pipelines.schema.json',
    handler: lazy(() => import('./commands/schema.js')),
  },
  {
    name: 'sample-data',
    summary: 'generate realistic store×item daily sales as CSV, at any size',
    example: 'manymodels sample-data --out data/sales.csv --stores 10 --items 20 --days 730',
    configure: (c) =>
      c
        .option('--out <path>', 'CSV file to write', 'data/sales.csv')
        .option('--stores <n>', 'number of stores', '10')
        .option('--items <n>', 'items per store', '20')
        .option('--days <n>', 'days of history', '730')
        .option('--start <date>', 'first day (YYYY-MM-DD)', '2022-01-01')
        .option('--seed <n>', 'random seed (same seed, same file)', '42')
        .option('--json', 'print the summary as JSON', false)
        .option('--verbose', 'show stack traces and debug detail', false),
    handler: lazy(() => import('./commands/sample-data.js')),
  },
  {
    name: 'train',
    args: '[pipeline]',
    summary: 'train, evaluate and register one model per group',
    example: 'manymodels train store-item-daily --target local',
    project: true,
    configure: (c) =>
      c
        .option('--resume <run>', 'retrain only the groups of RUN that are not ok')
        .option('--workers <n>', 'worker processes for the local engine (0 = every core)')
        .option('--no-wait', 'submit a remote run and return without watching it')
        .option('--junit <file>', 'also write one JUnit test case per group to FILE (for PublishTestResults@2)'),
    handler: lazy(() => import('./commands/train.js')),
  },
  {
    name: 'plan',
    args: '[pipeline]',
    summary: "profile the data, train a pilot sample of groups locally, and estimate a training run's wall time, vCPU-hours and cost on the local engine and the target",
    example: 'manymodels plan store-item-daily --target databricks --budget 30m',
    project: true,
    configure: (c) =>
      c
        .option('--budget <time>', 'a wall-time budget (30m, 2h, 1h30m): whether it is met, and the fewest nodes of a remote target that meet it')
        .option('--pilot <n>', 'groups the pilot trains (0: profile only)', '50')
        .option('--seed <n>', "the pilot sample's seed", '0'),
    handler: lazy(() => import('./commands/plan.js')),
  },
  {
    name: 'promote',
    args: '[pipeline]',
    summary: "apply the promotion rules to the latest run's models and copy the winners to production",
    example: 'manymodels promote store-item-daily --dry-run',
    project: true,
    configure: (c) =>
      c
        .option('--run <run>', 'promote the models of this training run (default: the latest successful one)')
        .option('--dry-run', 'decide and report, change nothing', false)
        .option('--report <path>', 'also write the JSON report to this file')
        .option('--junit <file>', 'also write one JUnit test case per group to FILE, rejections as failures'),
    handler: lazy(() => import('./commands/promote.js')),
  },
  {
    name: 'score',
    args: '[pipeline]',
    summary: "score every group with its production model and write the predictions to the target's sink",
    example: 'manymodels score store-item-daily',
    project: true,
    configure: (c) =>
      c
        .option('--workers <n>', 'worker processes for the local engine (0 = every core)')
        .option('--no-wait', 'submit a remote run and return without watching it')
        .option('--junit <file>', 'also write one JUnit test case per group to FILE (for PublishTestResults@2)'),
    handler: lazy(() => import('./commands/score.js')),
  },
  {
    name: 'runs',
    args: '[action] [run] [other]',
    summary: 'list runs, show one (--groups: per-group results), compare two, or follow or cancel a remote run (actions: list, show, compare, watch, cancel)',
    example: 'manymodels runs show 20261126-101500-train-ab12cd --groups --worst 10',
    project: true,
    configure: (c) =>
      c
        .option('--limit <n>', 'how many runs to list', '20')
        .option('--groups', 'show: the per-group table (keys, status, reason, metrics, model, fit seconds) and a summary of each metric', false)
        .option('--sort <metric>', 'show --groups: sort by a metric (best first), or by keys, status, fit_seconds')
        .option('--worst <n>', 'show --groups: the N worst groups by --sort (default: the first metric)')
        .option('--best <n>', 'show --groups: the N best groups by --sort (default: the first metric)')
        .option('--status <status>', 'show --groups: only ok, failed or skipped groups')
        .option('--output <format>', 'show --groups and compare: table, json or csv (default: table; json with --json)'),
    handler: lazy(() => import('./commands/runs.js')),
  },
  {
    name: 'models',
    args: '[action] [name]',
    summary: 'list registered models with tag filters, or show one (actions: list, show)',
    example: 'manymodels models list --tag store_id=3 --production',
    project: true,
    configure: (c) =>
      c
        .option('--tag <key=value>', 'only models with this tag (repeatable)', (v: string, prev: string[]) => [...prev, v], [] as string[])
        .option('--production', 'the production registry instead of the training one', false)
        .option('--pipeline <name>', 'only this pipeline')
        .option('--limit <n>', 'how many to list', '50'),
    handler: lazy(() => import('./commands/models.js')),
  },
  {
    name: 'report',
    args: '[run]',
    summary: "a training run's results: metric spread, worst groups, failures, promotion funnel, timings (--html: one self-contained page with charts)",
    example: 'manymodels report --html report.html',
    project: true,
    configure: (c) => c.option('--html <file>', 'write one self-contained HTML page (inline SVG, no network) instead of the terminal summary'),
    handler: lazy(() => import('./commands/report.js')),
  },
  {
    name: 'serve',
    args: '[pipelines...]',
    summary: 'real-time scoring over HTTP from the production registry, loading models on demand',
    example: 'manymodels serve --port 8080',
    project: true,
    configure: (c) =>
      c
        .option('--host <host>', 'address to listen on', '127.0.0.1')
        .option('--port <port>', 'port to listen on (0 = any free port)', '8080')
        .option('--workers <n>', 'Python scoring processes (each holds its share of the cache)', '2')
        .option('--cache-mb <n>', 'model cache budget across the workers, in MB of artifacts', '512')
        .option('--cache-models <n>', 'most models held in the cache across the workers', '1000')
        .option('--max-body-kb <n>', 'largest request body accepted (413 past it)', '1024')
        .option('--refresh <seconds>', 'how often the production registry is read again (also on SIGHUP)', '5'),
    handler: lazy(() => import('./commands/serve.js')),
  },
  {
    name: 'deploy',
    args: '[pipelines...]',
    summary: 'write an Azure ML online-endpoint bundle (scoring script, runtime, environment, models by shard, routing) and create it through ARM where a workspace is configured',
    example: 'manymodels deploy --target azureml-online --memory-mb 2048 --dry-run',
    configure: (c) =>
      c
        .requiredOption('--target <kind>', 'what to deploy to: azureml-online (managed online endpoint) or aks (Kubernetes online endpoint)')
        .option('--file-target <name>', 'target from the pipelines file (env MANYMODELS_TARGET)')
        .option('-f, --file <path>', 'the pipelines file (env MANYMODELS_FILE; default pipelines.yaml)')
        .option('--var <name=value>', 'set a variable (repeatable)', collectVar, {})
        .option('--out <dir>', 'where the bundle is written', 'deploy')
        .option('--endpoint <name>', 'the online endpoint name (default: <project>-online)')
        .option('--shards <n>', 'deployments, each owning a key range (default 1)')
        .option('--memory-mb <n>', "one container's memory: as many shards as the models need to fit it")
        .option('--instance-type <sku>', 'VM size (azureml-online) or instance type (aks)')
        .option('--instance-count <n>', 'instances per deployment', '1')
        .option('--location <region>', "the workspace's region", 'westeurope')
        .option('--compute <name>', 'aks: the Kubernetes compute attached to the workspace')
        .option('--workspace <sub/rg/name>', 'the workspace to create in (default: the azureml registry workspace of the target)')
        .option('--dry-run', 'write the bundle and say what would be created; create nothing', false)
        .option('--json', 'print the result as JSON on stdout', false)
        .option('--verbose', 'show stack traces and debug detail', false),
    handler: lazy(() => import('./commands/deploy.js')),
  },
  {
    name: 'dashboard',
    summary: 'the interactive terminal dashboard of runs, groups and models (q quits)',
    example: 'manymodels dashboard',
    project: true,
    configure: (c) => c.option('--refresh <seconds>', 'how often runs are read again', '1'),
    handler: lazy(() => import('./commands/dashboard.js')),
  },
];

function buildProgram(io: CliIo, setCode: (code: number) => void): Command {
  const program = new Command('manymodels')
    .description('Train, evaluate, promote and score thousands of per-group models from one pipelines.yaml.')
    .version(VERSION, '-V, --version')
    .showSuggestionAfterError(true)
    .exitOverride()
    .configureOutput({ writeOut: (s) => io.stdout.write(s), writeErr: (s) => io.stderr.write(s), outputError: (s, write) => write(s) })
    .addHelpText('after', '\nStart here: manymodels sample-data && manymodels train && manymodels promote && manymodels score\nDocs: docs/pipelines-yaml.md, docs/errors.md');
  for (const spec of COMMANDS) {
    const cmd = program.command(spec.args ? `${spec.name} ${spec.args}` : spec.name).description(spec.summary);
    if (spec.project) withProjectOptions(cmd, io);
    spec.configure?.(cmd);
    cmd.addHelpText('after', `\nExample:\n  ${spec.example}\n`);
    cmd.action(async (...received: unknown[]) => {
      // commander passes positional args, then the options object, then the command.
      const command = received[received.length - 1] as Command;
      const opts = command.opts();
      const args = received.slice(0, -2);
      setCode(await spec.handler(args, opts, io));
    });
  }
  return program;
}

function printError(thrown: unknown, io: CliIo, verbose: boolean, json: boolean): number {
  // A full disk, a read-only folder or an I/O error wherever we write is the machine's, not a bug.
  const err = storageErrorFrom(thrown) ?? thrown;
  const ci = io.ci ?? NO_CI;
  if (err instanceof DiagnosticsError) {
    reportDiagnostics(ci, err.diagnostics);
    const diagnostics = redactDiagnostics(err.diagnostics);
    if (json) io.stdout.write(`${JSON.stringify({ ok: false, diagnostics }, null, 2)}\n`);
    else io.stderr.write(formatDiagnostics(diagnostics));
    return err.exitCode;
  }
  if (err instanceof ManyModelsError) {
    ci.issue({ severity: 'error', code: err.code, message: [err.message, ...err.nextSteps].join('\n') });
  }
  if (err instanceof ManyModelsError && json) {
    // Machine readers get the error as data on stdout; people still see it on stderr.
    io.stdout.write(`${JSON.stringify({ ok: false, error: { code: err.code, message: redactSecrets(err.message), nextSteps: err.nextSteps.map(redactSecrets) } })}\n`);
  }
  if (err instanceof ManyModelsError) {
    const lines = [`Error ${err.code}: ${redactSecrets(err.message)}`];
    for (const step of err.nextSteps) lines.push(`  ${redactSecrets(step)}`);
    if (verbose && err.stack) lines.push(redactSecrets(err.stack));
    if (verbose && err.cause instanceof Error && err.cause.stack) lines.push(`Caused by: ${redactSecrets(err.cause.stack)}`);
    io.stderr.write(`${lines.join('\n')}\n`);
    return err.exitCode;
  }
  const e = err instanceof Error ? err : new Error(String(err));
  ci.issue({ severity: 'error', message: `Internal error: ${e.message} (a bug in manymodels; the log has the details)` });
  io.stderr.write(
    `Internal error: ${redactSecrets(e.message)}\nThis is a bug in manymodels; please report it with the output below.\n${redactSecrets(e.stack ?? '')}\n`,
  );
  return ExitCode.Bug;
}

/**
 * Under CI, the reporter's command lines go to stdout (stderr with --json, whose stdout is
 * data), and every other write is neutralized so that text from data (a group's error, a
 * user string) cannot pose as a logging command.
 */
function withCi(io: CliIo, json: boolean): CliIo {
  const ci = createCiReporter(io.env, json ? io.stderr : io.stdout, io.cwd);
  if (ci.system === 'none') return { ...io, ci };
  const guard = (stream: OutputStream): OutputStream => {
    const guarded: OutputStream = { write: (chunk: string) => stream.write(ci.neutralize(String(chunk))) };
    if (stream.isTTY !== undefined) guarded.isTTY = stream.isTTY;
    if (stream.columns !== undefined) guarded.columns = stream.columns;
    return guarded;
  };
  return { ...io, stdout: guard(io.stdout), stderr: guard(io.stderr), ci };
}

/** Runs the CLI in-process and returns the exit code; the bin sets process.exitCode from it. */
export async function runCli(argv: readonly string[], processIo: CliIo): Promise<number> {
  // The one redaction point of everything printed: every command writes through these.
  const io = withCi({ ...processIo, stdout: redactingStream(processIo.stdout), stderr: redactingStream(processIo.stderr) }, argv.includes('--json'));
  let code: number = ExitCode.Ok;
  const program = buildProgram(io, (c) => {
    code = c;
  });
  const verbose = argv.includes('--verbose');
  try {
    if (argv.length === 0) {
      program.outputHelp();
      return ExitCode.Ok;
    }
    await program.parseAsync([...argv], { from: 'user' });
    return code;
  } catch (err) {
    if (err instanceof CommanderError) {
      if (err.code === 'commander.helpDisplayed' || err.code === 'commander.version' || err.code === 'commander.help') return ExitCode.Ok;
      if (err.code === 'MM318') {
        io.stderr.write(`Error MM318: ${err.message}\n`);
      }
      // commander has printed its message ("error: unknown option '--bogus'"); CI gets it as an issue.
      io.ci?.issue({ severity: 'error', code: 'MM318', message: err.message.replace(/^error: /, '') });
      return ExitCode.BadInput;
    }
    return printError(err, io, verbose, argv.includes('--json'));
  }
}
