// `manymodels serve`: real-time scoring over HTTP until Ctrl-C or SIGTERM (docs/serving.md).
// SIGHUP reads the production registry again at once.
import { UsageError } from '../../core/errors.js';
import { ExitCode } from '../../core/exit-codes.js';
import { selectPipelines } from '../../pipeline/project.js';
import type { Pipeline } from '../../pipeline/types.js';
import { openProductionRegistry } from '../../runs/open.js';
import { startServer } from '../../runs/serve.js';
import { azureContext, type CliIo } from '../io.js';
import { loadProjectOrThrow, projectOptions, showWarnings } from '../options.js';

function whole(flag: string, value: unknown, min: number, max: number): number {
  const n = Number(value);
  if (!Number.isInteger(n) || n < min || n > max) throw new UsageError(`--${flag} must be a whole number from ${min} to ${max}, got "${String(value)}"`, { code: 'MM318' });
  return n;
}

export async function run(args: unknown[], opts: Record<string, unknown>, io: CliIo): Promise<number> {
  const options = projectOptions(opts, io);
  const { project, warnings } = loadProjectOrThrow(options, io);
  showWarnings(warnings, options, io);
  const names = (Array.isArray(args[0]) ? (args[0] as string[]) : []).filter(Boolean);
  const pipelines: Pipeline[] = names.length ? [...new Map(names.flatMap((n) => selectPipelines(project, n)).map((p) => [p.name, p])).values()] : selectPipelines(project, undefined);
  const port = whole('port', opts.port ?? 8080, 0, 65_535);
  const workers = whole('workers', opts.workers ?? 2, 1, 64);
  const cacheMb = Number(opts.cacheMb ?? 512);
  if (!Number.isFinite(cacheMb) || cacheMb <= 0 || cacheMb > 1_048_576) throw new UsageError(`--cache-mb must be a number of MB above 0 (0.5 is 512 KB), got "${String(opts.cacheMb)}"`, { code: 'MM318' });
  const cacheModels = whole('cache-models', opts.cacheModels ?? 1000, 1, 10_000_000);
  const maxBodyKb = whole('max-body-kb', opts.maxBodyKb ?? 1024, 1, 1_048_576);
  const refresh = Number(opts.refresh ?? 5);
  if (!Number.isFinite(refresh) || refresh < 0.2 || refresh > 86_400) throw new UsageError(`--refresh must be a number of seconds from 0.2 to 86400, got "${String(opts.refresh)}"`, { code: 'MM318' });
  const host = String(opts.host ?? '127.0.0.1');

  const production = await openProductionRegistry(project, azureContext(io));
  const log = (line: string): void => void io.stderr.write(`serve: ${line}\n`);
  let server: Awaited<ReturnType<typeof startServer>>;
  try {
    server = await startServer({ project, pipelines, production, host, port, workers, cacheBytes: Math.floor(cacheMb * 1024 * 1024), cacheModels, maxBodyBytes: maxBodyKb * 1024, refreshSeconds: refresh, env: io.env, log });
  } catch (err) {
    await production.close();
    const e = err as NodeJS.ErrnoException;
    if (e.code === 'EADDRINUSE' || e.code === 'EACCES' || e.code === 'EADDRNOTAVAIL') {
      throw new UsageError(`cannot listen on ${host}:${port}: ${e.code === 'EADDRINUSE' ? 'the port is in use' : e.message}`, { code: 'MM709', nextSteps: ['Choose another --port (or --port 0 for any free one), or stop what holds it.'] });
    }
    throw err;
  }
  io.stderr.write(`Serving ${pipelines.map((p) => p.name).join(', ')} (${server.models().toLocaleString('en-US')} production models, ${production.description}) on ${server.url}\n`);
  io.stderr.write(`  POST ${server.url}/v1/pipelines/${pipelines[0]!.name}/predict · GET /health /ready /metrics · Ctrl-C stops\n`);

  const onHup = (): void => void server.refresh().then(() => log(`production registry read again: ${server.models()} models`));
  process.on('SIGHUP', onHup);
  await new Promise<void>((resolve) => {
    const stop = (): void => resolve();
    if (io.signal?.aborted) resolve();
    io.signal?.addEventListener('abort', stop, { once: true });
    process.once('SIGTERM', stop);
  });
  process.off('SIGHUP', onHup);
  io.stderr.write('serve: stopping — finishing the requests in flight\n');
  await server.close();
  await production.close();
  io.stderr.write('serve: stopped\n');
  return ExitCode.Ok;
}
