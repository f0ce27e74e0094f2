// `manymodels serve`: real-time scoring over HTTP. A Node front (routing, validation, the
// production index, metrics, shutdown) over a pool of Python scoring workers that load each
// model on first use and keep it in an LRU (jobs/local/scoring-workers.ts). docs/serving.md.
import { createServer, type IncomingMessage, type Server, type ServerResponse } from 'node:http';
import type { AddressInfo } from 'node:net';
import path from 'node:path';
import { Counter, Gauge, Histogram, Registry } from 'prom-client';
import { WorkFailedError } from '../core/errors.js';
import { redactOutput } from '../core/redact.js';
import { ScoringWorkers, type ScoringContext, type ScoringReply } from '../jobs/local/scoring-workers.js';
import { compileJobSpec } from '../pipeline/compile.js';
import type { Project } from '../pipeline/project.js';
import type { Pipeline } from '../pipeline/types.js';
import { TAG, type ModelRegistry, type ModelVersion } from '../registry/model-registry.js';

export const MAX_HORIZON = 10_000;
export const MAX_ROWS = 10_000;
export const MAX_BATCH = 1_000;

export interface ServeOptions {
  project: Project;
  pipelines: Pipeline[];
  production: ModelRegistry;
  host: string;
  port: number;
  workers: number;
  cacheBytes: number;
  cacheModels: number;
  /** Largest request body accepted, in bytes (413 past it). */
  maxBodyBytes: number;
  /** How often the production index is read again (a promotion is picked up without a restart). */
  refreshSeconds: number;
  env: Record<string, string | undefined>;
  log?: (line: string) => void;
}

export interface RunningServer {
  url: string;
  models(): number;
  /** Reads the production index again now (SIGHUP). */
  refresh(): Promise<void>;
  /** Stops accepting, lets in-flight requests finish (up to `drainMs`), stops the workers. */
  close(drainMs?: number): Promise<void>;
}

/** An HTTP error with its status and MM code, answered as JSON. */
class HttpError extends Error {
  constructor(
    readonly status: number,
    readonly code: string,
    message: string,
  ) {
    super(message);
  }
}

interface PipelineIndex {
  pipeline: Pipeline;
  ctx: ScoringContext;
  byKeys: Map<string, ModelVersion>;
}

const keyString = (values: string[]): string => JSON.stringify(values);

/** What the Python scoring core needs of a pipeline (also written into deploy bundles). */
export function contextOf(project: Project, pipeline: Pipeline): ScoringContext {
  const spec = compileJobSpec({ pipeline, target: project.target, stage: 'score', projectRoot: project.file.projectRoot });
  return {
    task: spec.task,
    time: spec.columns.time,
    features: spec.columns.features,
    frequency: spec.frequency,
    horizon: spec.scoring.horizon,
    custom: spec.model.custom,
    timeKind: spec.timeKind,
  };
}

function metricsOf(registry: Registry) {
  return {
    requests: new Counter({ name: 'manymodels_requests_total', help: 'HTTP requests by route and status', labelNames: ['route', 'status'], registers: [registry] }),
    latency: new Histogram({
      name: 'manymodels_request_duration_seconds',
      help: 'Request latency by route',
      labelNames: ['route'],
      buckets: [0.001, 0.0025, 0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1, 2.5, 5],
      registers: [registry],
    }),
    hits: new Counter({ name: 'manymodels_cache_hits_total', help: 'Predictions served from a model already loaded', registers: [registry] }),
    misses: new Counter({ name: 'manymodels_cache_misses_total', help: 'Predictions that had to load their model first', registers: [registry] }),
    loads: new Counter({ name: 'manymodels_model_loads_total', help: 'Model artifacts loaded (sha256-checked)', registers: [registry] }),
    evictions: new Counter({ name: 'manymodels_cache_evictions_total', help: 'Models evicted from the cache', registers: [registry] }),
    refused: new Counter({ name: 'manymodels_artifacts_refused_total', help: 'Artifacts refused (sha256 mismatch or unreadable)', registers: [registry] }),
    bytes: new Gauge({ name: 'manymodels_cache_bytes', help: 'Bytes of model artifacts held in the cache', registers: [registry] }),
    cached: new Gauge({ name: 'manymodels_cache_models', help: 'Models held in the cache', registers: [registry] }),
    production: new Gauge({ name: 'manymodels_production_models', help: 'Production models known, by pipeline', labelNames: ['pipeline'], registers: [registry] }),
    restarts: new Counter({ name: 'manymodels_worker_restarts_total', help: 'Scoring workers started again after they stopped', registers: [registry] }),
  };
}

function readBody(req: IncomingMessage, limit: number): Promise<string> {
  return new Promise((resolve, reject) => {
    const declared = Number(req.headers['content-length'] ?? 0);
    if (declared > limit) {
      reject(new HttpError(413, 'MM705', `the request body is ${declared} bytes; at most ${limit} are accepted (--max-body-kb)`));
      req.resume();
      return;
    }
    const chunks: Buffer[] = [];
    let size = 0;
    req.on('data', (c: Buffer) => {
      size += c.length;
      if (size > limit) {
        reject(new HttpError(413, 'MM705', `the request body is over ${limit} bytes (--max-body-kb)`));
        req.resume();
        return;
      }
      chunks.push(c);
    });
    req.on('end', () => resolve(Buffer.concat(chunks).toString('utf8')));
    req.on('error', reject);
  });
}

const isObject = (v: unknown): v is Record<string, unknown> => typeof v === 'object' && v !== null && !Array.isArray(v);

interface ParsedRequest {
  keys: Record<string, string>;
  version: ModelVersion;
  horizon?: number;
  rows?: Array<Record<string, unknown>>;
}

/** One prediction request checked against its pipeline; throws HttpError 400/404. */
function parseOne(index: PipelineIndex, body: unknown, where: string): ParsedRequest {
  const { pipeline, ctx } = index;
  if (!isObject(body)) throw new HttpError(400, 'MM703', `${where} must be a JSON object with "keys"`);
  const allowed = new Set(['keys', 'horizon', 'rows']);
  const extra = Object.keys(body).filter((k) => !allowed.has(k));
  if (extra.length) throw new HttpError(400, 'MM703', `${where} has unknown field(s) ${extra.map((k) => JSON.stringify(k)).join(', ')}; expected keys, horizon, rows`);
  const keys = body.keys;
  if (!isObject(keys)) throw new HttpError(400, 'MM703', `${where}.keys must be an object naming ${pipeline.keys.join(', ')}`);
  const values: string[] = [];
  for (const k of pipeline.keys) {
    const v = keys[k];
    if (typeof v === 'string') values.push(v);
    else if (typeof v === 'number' && Number.isFinite(v)) values.push(String(v));
    else throw new HttpError(400, 'MM703', v === undefined ? `${where}.keys lacks "${k}" (the pipeline's keys are ${pipeline.keys.join(', ')})` : `${where}.keys.${k} must be a string, not ${JSON.stringify(v)}`);
  }
  const unknownKeys = Object.keys(keys).filter((k) => !pipeline.keys.includes(k));
  if (unknownKeys.length) throw new HttpError(400, 'MM703', `${where}.keys has ${unknownKeys.join(', ')}, which are not keys of pipeline ${pipeline.name} (${pipeline.keys.join(', ')})`);
  const out: Partial<ParsedRequest> = { keys: Object.fromEntries(pipeline.keys.map((k, i) => [k, values[i]!])) };

  if (body.horizon !== undefined) {
    if (ctx.task !== 'forecast') throw new HttpError(400, 'MM703', `${where}.horizon is for forecasts; pipeline ${pipeline.name} is ${ctx.task}: send "rows"`);
    const h = body.horizon;
    if (typeof h !== 'number' || !Number.isInteger(h) || h < 1 || h > MAX_HORIZON) throw new HttpError(400, 'MM703', `${where}.horizon must be a whole number from 1 to ${MAX_HORIZON}, not ${JSON.stringify(h)}`);
    out.horizon = h;
  }
  if (body.rows !== undefined) {
    if (!Array.isArray(body.rows)) throw new HttpError(400, 'MM703', `${where}.rows must be an array of objects`);
    if (body.rows.length > MAX_ROWS) throw new HttpError(413, 'MM705', `${where}.rows has ${body.rows.length} rows; at most ${MAX_ROWS} per request`);
    out.rows = body.rows.map((r, i) => checkRow(ctx, r, `${where}.rows[${i}]`));
  }
  if (ctx.task !== 'forecast' && !out.rows?.length) throw new HttpError(400, 'MM703', `${where} needs "rows": pipeline ${pipeline.name} (${ctx.task}) predicts one value per row of features (${ctx.features.join(', ') || 'none'})`);

  const version = index.byKeys.get(keyString(values));
  if (!version) throw new HttpError(404, 'MM702', `pipeline ${pipeline.name} has no production model for ${pipeline.keys.map((k, i) => `${k}=${values[i]}`).join(', ')}`);
  out.version = version;
  return out as ParsedRequest;
}

function checkRow(ctx: ScoringContext, row: unknown, where: string): Record<string, unknown> {
  if (!isObject(row)) throw new HttpError(400, 'MM704', `${where} must be an object of feature values`);
  const out: Record<string, unknown> = {};
  for (const f of ctx.features) {
    const v = row[f];
    if (v === undefined) throw new HttpError(400, 'MM704', `${where} lacks the feature "${f}" (features: ${ctx.features.join(', ')})`);
    if (v !== null && (typeof v !== 'number' || !Number.isFinite(v))) throw new HttpError(400, 'MM704', `${where}.${f} must be a finite number or null, not ${JSON.stringify(v)}`);
    out[f] = v;
  }
  if (ctx.task === 'forecast' && ctx.time) {
    const t = row[ctx.time];
    if (typeof t !== 'string' || !/^\d{4}-\d{2}-\d{2}([T ]\d{2}:\d{2}(:\d{2}(\.\d+)?)?)?Z?$/.test(t) || Number.isNaN(Date.parse(t.replace(' ', 'T')))) {
      throw new HttpError(400, 'MM704', `${where}.${ctx.time} must be an ISO date or date-time (2024-03-01 or 2024-03-01T10:00:00), not ${JSON.stringify(t)}`);
    }
    out[ctx.time] = t.replace(' ', 'T');
  }
  return out;
}

export async function startServer(options: ServeOptions): Promise<RunningServer> {
  const { project, production } = options;
  const log = options.log ?? (() => undefined);
  const registry = new Registry();
  const m = metricsOf(registry);
  const indexes = new Map<string, PipelineIndex>();
  for (const p of options.pipelines) indexes.set(p.name, { pipeline: p, ctx: contextOf(project, p), byKeys: new Map() });

  let lastRefresh = 0;
  let refreshError: string | null = null;
  let refreshing: Promise<void> | null = null;
  const refresh = (): Promise<void> => {
    refreshing ??= (async () => {
      try {
        for (const index of indexes.values()) {
          const latest = await production.latestByGroup(index.pipeline.name);
          const byKeys = new Map<string, ModelVersion>();
          for (const v of latest.values()) byKeys.set(keyString(index.pipeline.keys.map((k) => v.keys[k] ?? '')), v);
          index.byKeys = byKeys;
          m.production.set({ pipeline: index.pipeline.name }, byKeys.size);
        }
        lastRefresh = Date.now();
        refreshError = null;
      } catch (err) {
        refreshError = redactOutput(err instanceof Error ? err.message : String(err));
        log(`could not read the production registry again: ${refreshError}`);
      } finally {
        refreshing = null;
      }
    })();
    return refreshing;
  };
  await refresh();
  if (refreshError) throw new Error(refreshError);

  const workers = new ScoringWorkers({
    workers: options.workers,
    cacheBytes: options.cacheBytes,
    cacheModels: options.cacheModels,
    projectRoot: project.file.projectRoot,
    env: options.env,
    pipelines: new Map([...indexes].map(([name, i]) => [name, i.ctx])),
    onRestart: () => {
      m.restarts.inc();
      log('a scoring worker stopped and was started again');
    },
  });

  // No listening before every worker has imported the runtime: one that cannot (a syntax error,
  // a missing package) would otherwise have every prediction answered 503 behind a ready server.
  try {
    await workers.started();
  } catch (err) {
    await workers.close();
    throw new WorkFailedError(`the scoring workers could not start: ${redactOutput((err as Error).message)}`, {
      code: 'MM717',
      nextSteps: ['The message names the error and the runtime file it is in: finish the edit (or merge) of that file, or reinstall manymodels.', 'A missing Python package: run scripts/bootstrap.sh, or set MANYMODELS_PYTHON to an interpreter that has it.'],
    });
  }

  // A remote registry's artifact is downloaded (sha256 checked) on first use, once.
  const files = new Map<string, Promise<string>>();
  const cacheDir = path.join(project.target.stateDir, 'cache', 'artifacts');
  const localFile = (v: ModelVersion): Promise<string> => {
    const key = `${v.name}@${v.version}`;
    let p = files.get(key);
    if (!p) {
      p = production.localArtifacts([v], cacheDir).then((map) => map.get(v.name) ?? v.artifactUri);
      p.catch(() => files.delete(key));
      files.set(key, p);
    }
    return p;
  };

  // Whether each answered request had to load its model: the x-manymodels-cache header.
  const loadedFor = new WeakMap<object, boolean>();
  const predictOne = async (index: PipelineIndex, r: ParsedRequest): Promise<Record<string, unknown>> => {
    const v = r.version;
    let artifactUri: string;
    try {
      artifactUri = await localFile(v);
    } catch (err) {
      throw new HttpError(503, 'MM706', `the model ${v.name} version ${v.version} could not be fetched: ${redactOutput(err instanceof Error ? err.message : String(err))}`);
    }
    const request: Parameters<ScoringWorkers['predict']>[0] = {
      pipeline: index.pipeline.name,
      model: { name: v.name, version: v.version, artifactUri, sha256: v.sha256, groupId: v.groupId, keys: v.keys },
    };
    if (r.horizon !== undefined) request.horizon = r.horizon;
    if (r.rows) request.rows = r.rows;
    const reply: ScoringReply = await workers.predict(request);
    if (reply.loaded) (m.loads.inc(), m.misses.inc());
    else if (reply.ok || reply.kind === 'failed') m.hits.inc();
    if (reply.evicted) m.evictions.inc(reply.evicted);
    const cached = workers.cached();
    m.bytes.set(cached.bytes);
    m.cached.set(cached.models);
    if (!reply.ok) {
      if (reply.kind === 'integrity') {
        m.refused.inc();
        throw new HttpError(503, 'MM706', `the model ${v.name} version ${v.version} was refused: ${reply.message}`);
      }
      if (reply.kind === 'worker') throw new HttpError(503, 'MM707', reply.message);
      throw new HttpError(500, 'MM707', `the model ${v.name} version ${v.version} could not predict: ${reply.errorClass}: ${reply.message}`);
    }
    const forecast = index.ctx.task === 'forecast';
    const answer = {
      pipeline: index.pipeline.name,
      keys: r.keys,
      model_version: v.version,
      // model.type auto: the type chosen for this group, and whether it is the fallback.
      ...(v.tags[TAG.fallback] !== undefined ? { model_type: v.modelType, fallback: v.tags[TAG.fallback] === 'true' } : {}),
      // Classification: the prediction is the class as the data wrote it, with {class: probability}.
      predictions: reply.predictions.map((p, i) => {
        const item: Record<string, unknown> = forecast ? { time: reply.times[i], prediction: p } : { prediction: p };
        if (reply.probabilities?.[i]) item.probabilities = reply.probabilities[i];
        return item;
      }),
    };
    loadedFor.set(answer, reply.loaded);
    return answer;
  };

  const errorBody = (e: HttpError): object => ({ error: { code: e.code, status: e.status, message: e.message } });
  const send = (res: ServerResponse, status: number, body: unknown, type = 'application/json'): void => {
    const text = type === 'application/json' ? `${JSON.stringify(body)}\n` : String(body);
    res.writeHead(status, { 'content-type': type === 'application/json' ? 'application/json; charset=utf-8' : type, 'content-length': Buffer.byteLength(text) });
    res.end(text);
  };

  const PREDICT = /^\/v1\/pipelines\/([^/]+)\/predict$/;
  let inFlight = 0;
  let idle: (() => void) | null = null;
  const routeOf = (url: string | undefined): string => {
    const p = (url ?? '/').split('?')[0]!;
    return p === '/health' || p === '/ready' || p === '/metrics' ? p.slice(1) : PREDICT.test(p) ? 'predict' : 'other';
  };
  const handle = async (req: IncomingMessage, res: ServerResponse): Promise<void> => {
    const url = new URL(req.url ?? '/', 'http://localhost');
    if (url.pathname === '/health') {
      if (req.method !== 'GET') throw new HttpError(405, 'MM703', 'use GET /health');
      send(res, 200, { status: 'ok' });
      return;
    }
    if (url.pathname === '/ready') {
      if (req.method !== 'GET') throw new HttpError(405, 'MM703', 'use GET /ready');
      const stale = Date.now() - lastRefresh > Math.max(3 * options.refreshSeconds * 1000, 30_000);
      const down = workers.problems();
      if (down.length) send(res, 503, { status: 'not ready', error: { code: 'MM717', status: 503, message: `the scoring workers cannot score now: ${down.join('; ')}` } });
      else if (refreshError || stale) send(res, 503, { status: 'not ready', error: { code: 'MM708', status: 503, message: `the production registry (${production.description}) could not be read${refreshError ? `: ${refreshError}` : ' recently'}` } });
      else send(res, 200, { status: 'ready', models: [...indexes.values()].reduce((a, i) => a + i.byKeys.size, 0) });
      return;
    }
    if (url.pathname === '/metrics') {
      if (req.method !== 'GET') throw new HttpError(405, 'MM703', 'use GET /metrics');
      send(res, 200, await registry.metrics(), registry.contentType);
      return;
    }
    const match = PREDICT.exec(url.pathname);
    if (!match) throw new HttpError(404, 'MM701', `no route ${url.pathname}: POST /v1/pipelines/{pipeline}/predict, GET /health, /ready, /metrics`);
    let name: string;
    try {
      name = decodeURIComponent(match[1]!);
    } catch {
      throw new HttpError(400, 'MM703', 'the pipeline name in the path is not valid URL encoding');
    }
    const index = indexes.get(name);
    if (!index) throw new HttpError(404, 'MM701', `no pipeline "${name}" is served here (served: ${[...indexes.keys()].join(', ')})`);
    if (req.method !== 'POST') throw new HttpError(405, 'MM703', `use POST /v1/pipelines/${name}/predict`);
    const text = await readBody(req, options.maxBodyBytes);
    let body: unknown;
    try {
      body = JSON.parse(text);
    } catch (err) {
      throw new HttpError(400, 'MM703', `the request body is not JSON: ${(err as Error).message}`);
    }
    if (isObject(body) && 'requests' in body) {
      const list = body.requests;
      if (!Array.isArray(list) || list.length === 0) throw new HttpError(400, 'MM703', '"requests" must be a non-empty array of {keys, horizon?, rows?}');
      if (list.length > MAX_BATCH) throw new HttpError(413, 'MM705', `"requests" has ${list.length} entries; at most ${MAX_BATCH} per request`);
      if (Object.keys(body).length > 1) throw new HttpError(400, 'MM703', 'a batch request has "requests" only');
      // Each entry stands alone: one unknown group does not fail the others.
      const results = await Promise.all(
        list.map(async (entry, i) => {
          try {
            return await predictOne(index, parseOne(index, entry, `requests[${i}]`));
          } catch (err) {
            if (err instanceof HttpError) return { keys: isObject(entry) && isObject(entry.keys) ? entry.keys : null, ...errorBody(err) };
            throw err;
          }
        }),
      );
      send(res, 200, { pipeline: name, results });
      return;
    }
    const answer = await predictOne(index, parseOne(index, body, 'the body'));
    res.setHeader('x-manymodels-cache', loadedFor.get(answer) ? 'miss' : 'hit');
    send(res, 200, answer);
    return;
  };

  const server: Server = createServer((req, res) => {
    inFlight += 1;
    const end = m.latency.startTimer();
    const route = routeOf(req.url);
    handle(req, res)
      .catch((err: unknown) => {
        if (err instanceof HttpError) {
          send(res, err.status, errorBody(err));
        } else {
          const message = redactOutput(err instanceof Error ? err.message : String(err));
          log(`internal error: ${message}`);
          send(res, 500, { error: { code: 'MM707', status: 500, message: `internal error: ${message}` } });
        }
      })
      .finally(() => {
        end({ route });
        m.requests.inc({ route, status: String(res.statusCode) });
        inFlight -= 1;
        if (inFlight === 0 && idle) idle();
      });
  });
  server.keepAliveTimeout = 5_000;

  try {
    await new Promise<void>((resolve, reject) => {
      server.once('error', reject);
      server.listen(options.port, options.host, () => (server.off('error', reject), resolve()));
    });
  } catch (err) {
    await workers.close();
    throw err;
  }
  const address = server.address() as AddressInfo;
  const host = address.family === 'IPv6' ? `[${address.address}]` : address.address;
  const timer = setInterval(() => void refresh(), Math.max(1, options.refreshSeconds) * 1000);
  timer.unref();

  return {
    url: `http://${host}:${address.port}`,
    models: () => [...indexes.values()].reduce((a, i) => a + i.byKeys.size, 0),
    refresh,
    async close(drainMs = 10_000) {
      clearInterval(timer);
      const closed = new Promise<void>((resolve) => server.close(() => resolve()));
      server.closeIdleConnections();
      if (inFlight > 0) {
        let timeout: NodeJS.Timeout | undefined;
        await Promise.race([new Promise<void>((resolve) => (idle = resolve)), new Promise<void>((resolve) => (timeout = setTimeout(resolve, drainMs)))]);
        clearTimeout(timeout);
      }
      server.closeAllConnections();
      await closed;
      await workers.close();
    },
  };
}
