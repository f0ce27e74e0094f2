// Compiles one resolved pipeline into the canonical JobSpec the Python runtime reads, as an
// ordered list of small named steps, each filling its own part of the spec.
import { createHash } from 'node:crypto';
import { readFileSync } from 'node:fs';
import path from 'node:path';
import { canonicalJson } from '../core/canonical-json.js';
import { writeStateFile } from '../core/state-file.js';
import type { Project } from './project.js';
import { engineCapabilities } from '../contracts/engine-capabilities.js';
import type { JobSpec, ModelChoice, Stage } from '../contracts/job-spec.js';
import type { ResolvedTarget, SinkConfig } from '../contracts/targets.js';
import { DEFAULTS } from './defaults.js';
import { readPartitionPlan } from './partition.js';
import type { Pipeline, RawData } from './types.js';

export const SPEC_VERSION = 1 as const;

interface CompileInput {
  pipeline: Pipeline;
  target: ResolvedTarget;
  stage: Stage;
  projectRoot: string;
}

type Step = { name: string; build(input: CompileInput, spec: Partial<JobSpec>): void };

function dataSection(data: RawData): JobSpec['data'] {
  const out: JobSpec['data'] = { format: data.format, path: data.path ?? null, options: { ...(data.options ?? {}) } };
  if (data.jdbc) {
    out.jdbc = { url: data.jdbc.url, table: data.jdbc.table, userEnv: data.jdbc.user_env ?? null, passwordEnv: data.jdbc.password_env ?? null };
  }
  if (data.sql) {
    const s = data.sql;
    out.sql = {
      url: s.url,
      table: s.table ?? null,
      query: s.query ?? null,
      partition: s.partition ? { column: s.partition.column, lower: s.partition.lower ?? null, upper: s.partition.upper ?? null, count: s.partition.count } : null,
      userEnv: s.user_env ?? null,
      passwordEnv: s.password_env ?? null,
      secretScope: s.secret_scope ?? null,
      userKey: s.user_key ?? null,
      passwordKey: s.password_key ?? null,
    };
  }
  return out;
}

function sinkSection(sink: SinkConfig, table: string, engine: ResolvedTarget['engine']): Record<string, string | null> {
  switch (sink.type) {
    case 'sqlite':
      return { type: 'sqlite', path: sink.path ?? DEFAULTS.sink.path, table };
    case 'csv':
    case 'parquet':
      return { type: sink.type, path: sink.path ?? null, table };
    case 'synapse_sql':
      return {
        type: 'synapse_sql',
        flavor: engineCapabilities(engine).synapseSqlFlavor ?? 'databricks',
        url: sink.url ?? null,
        database: sink.database ?? null,
        schema: sink.schema ?? DEFAULTS.sink.schema,
        table,
        tempDir: sink.temp_dir ?? null,
        auth: sink.auth ?? DEFAULTS.sink.auth,
      };
    case 'delta':
      return { type: 'delta', path: sink.path ?? null, tableName: sink.table_name ?? null, table };
  }
}

export const COMPILE_STEPS: readonly Step[] = [
  {
    name: 'identity',
    build({ pipeline, target, stage }, spec) {
      spec.specVersion = SPEC_VERSION;
      spec.stage = stage;
      spec.entryScript = stage === 'train' ? 'train_entry.py' : 'score_entry.py';
      spec.project = pipeline.project;
      spec.pipeline = pipeline.name;
      spec.target = target.name;
      spec.engine = target.engine;
      spec.task = pipeline.task;
    },
  },
  {
    name: 'data-source',
    build({ pipeline, stage }, spec) {
      spec.data = dataSection(stage === 'score' && pipeline.scoring.data ? pipeline.scoring.data : pipeline.data);
    },
  },
  {
    name: 'columns',
    build({ pipeline }, spec) {
      spec.columns = { keys: pipeline.keys, time: pipeline.time?.column ?? null, target: pipeline.target, features: pipeline.features };
      // Only a time built from parts carries timeParts: every other JobSpec reads as before.
      if (pipeline.time?.parts) spec.columns.timeParts = pipeline.time.parts;
      spec.frequency = pipeline.time?.frequency ?? null;
      spec.timeKind = pipeline.time?.kind ?? 'date';
      spec.seasonLength = pipeline.time?.seasonLength ?? null;
    },
  },
  {
    name: 'model',
    build({ pipeline, projectRoot }, spec) {
      const m = pipeline.model;
      let custom: JobSpec['model']['custom'] = null;
      if (m.customPath) {
        // The hash travels with the job: the runtime refuses to import a file that changed since.
        const sha256 = createHash('sha256').update(readFileSync(path.resolve(projectRoot, m.customPath))).digest('hex');
        custom = { path: m.customPath, sha256 };
      }
      // Lag-based forecasters must know how far ahead they will be asked to predict.
      const withHorizon = (type: string, given: Record<string, unknown>): Record<string, unknown> => {
        const params = { ...given };
        if (pipeline.task === 'forecast' && type === 'gbm' && params.horizon === undefined) params.horizon = pipeline.scoring.horizon;
        return params;
      };
      const params = withHorizon(m.type, m.params);
      spec.model = { type: m.type, params, holdout: m.holdout, minTrainRows: m.minTrainRows, refit: m.refit, stale: m.stale, custom };
      if (m.selection) {
        const choice = (c: ModelChoice): ModelChoice => ({ type: c.type, params: withHorizon(c.type, c.params) });
        spec.model.selection = { candidates: m.selection.candidates.map(choice), selectBy: m.selection.selectBy, fallback: m.selection.fallback ? choice(m.selection.fallback) : null };
      }
    },
  },
  {
    name: 'evaluation',
    build({ pipeline }, spec) {
      spec.metrics = pipeline.metrics;
      spec.failureBudget = pipeline.failureBudget;
    },
  },
  {
    name: 'scoring',
    build({ pipeline, target }, spec) {
      spec.scoring = {
        horizon: pipeline.scoring.horizon,
        sink: sinkSection(target.sink, pipeline.scoring.table, target.engine),
        writeMode: pipeline.scoring.writeMode,
      };
    },
  },
  {
    name: 'execution',
    build({ pipeline, target, stage }, spec) {
      // Every Spark engine gets the default Spark settings first (see DEFAULTS.spark.conf).
      const sparkConf: Record<string, string> = engineCapabilities(target.engine).executor === 'spark' ? { ...DEFAULTS.spark.conf } : {};
      Object.assign(sparkConf, pipeline.spark.conf);
      spec.execution = { workers: target.workers, shufflePartitions: pipeline.spark.shufflePartitions, sparkConf };
      // A Spark training job places its groups by `manymodels plan`'s saved plan, when there is one.
      if (stage === 'train' && engineCapabilities(target.engine).executor === 'spark') {
        const partition = readPartitionPlan(target.stateDir, pipeline.name, target.name, pipeline.keys);
        if (partition) spec.execution.partition = partition;
      }
    },
  },
];

export function compileJobSpec(input: CompileInput): JobSpec {
  const spec: Partial<JobSpec> = {};
  for (const step of COMPILE_STEPS) step.build(input, spec);
  return spec as JobSpec;
}

export function compileProject(project: Project, pipelines: Pipeline[], stage: Stage): JobSpec[] {
  return pipelines.map((pipeline) => compileJobSpec({ pipeline, target: project.target, stage, projectRoot: project.file.projectRoot }));
}

/** Where `manymodels compile` writes a spec: .manymodels/compiled/<target>/<pipeline>.<stage>.json */
export function compiledSpecPath(project: Project, spec: JobSpec): string {
  return path.join(project.target.stateDir, 'compiled', spec.target, `${spec.pipeline}.${spec.stage}.json`);
}

/**
 * Writes the spec atomically, redacted (core/state-file.ts): the copy kept under .manymodels/
 * never holds a secret. What runs gets the spec itself (the local engine on the runtime's stdin,
 * a remote engine in its upload), so it still reads the data its path names.
 */
export function writeJobSpec(file: string, spec: JobSpec): void {
  writeStateFile(file, canonicalJson(spec));
}
