// Checks that need more than the schema: references between fields, task/model/metric fit,
// targets that can actually run. Written defensively: it also runs on files the schema
// rejected, so every problem is reported in one pass.
import { existsSync, statSync } from 'node:fs';
import path from 'node:path';
import type { Diagnostic } from '../core/diagnostics.js';
import { didYouMean, expectedOneOf } from '../core/diagnostics.js';
import { AUTO_MODEL, DEFAULT_METRICS, describeParam, knownParams, METRICS_BY_TASK, MODEL_CATALOG, MODEL_TYPES_BY_TASK, paramMatches, paramSchema, SELECTABLE_MODEL_TYPES, TASKS, type Task } from './catalog.js';
import { DEFAULTS } from './defaults.js';
import { formatPath, type PathSegment } from './locate.js';
import { TIME_PARTS, type RawPipeline, type RawPipelineFile, type RawRegistry, type RawSink, type RawTarget } from './types.js';

export interface SemanticContext {
  projectRoot: string;
  at: (path: readonly PathSegment[], options?: { key?: boolean }) => { file: string; line: number; column: number };
}

const isRecord = (v: unknown): v is Record<string, unknown> => typeof v === 'object' && v !== null && !Array.isArray(v);
const showValue = (v: unknown): string => (v === undefined ? 'unset' : JSON.stringify(v) ?? String(v));
const isTask = (v: unknown): v is Task => typeof v === 'string' && (TASKS as readonly string[]).includes(v);

export function checkSemantics(file: RawPipelineFile, ctx: SemanticContext): Diagnostic[] {
  const out: Diagnostic[] = [];
  const report = (code: string, message: string, p: readonly PathSegment[], hint?: string, severity: 'error' | 'warning' = 'error'): void => {
    const d: Diagnostic = { code, severity, message, path: formatPath(p), ...ctx.at(p) };
    if (hint) d.hint = hint;
    out.push(d);
  };

  checkTargets(file, report);

  const pipelines = Array.isArray(file.pipelines) ? file.pipelines : [];
  const seen = new Map<string, number>();
  pipelines.forEach((p, i) => {
    if (!isRecord(p)) return;
    if (typeof p.name === 'string') {
      const first = seen.get(p.name);
      if (first !== undefined) {
        report('MM303', `duplicate pipeline name "${p.name}"`, ['pipelines', i, 'name'], `pipelines[${first}] already uses it; names must be unique.`);
      } else seen.set(p.name, i);
    }
    checkPipeline(p, i, ctx, report);
  });
  return out;
}

type Report = (code: string, message: string, p: readonly PathSegment[], hint?: string, severity?: 'error' | 'warning') => void;

/** A model type's params against the runtime's catalog: names (MM321) and values (MM322). */
function checkParams(type: string, params: Record<string, unknown>, at: PathSegment[], report: Report): void {
  const allowed = knownParams(type);
  if (!allowed) return;
  for (const [name, value] of Object.entries(params)) {
    if (!allowed.includes(name)) {
      const guess = didYouMean(name, allowed);
      report('MM321', `model type "${type}" has no parameter "${name}"`, [...at, name], `Parameters: ${allowed.join(', ')}.${guess ? ` Did you mean "${guess}"?` : ''} See docs/models.md.`);
      continue;
    }
    // Values the runtime would refuse in every group: the same schema, checked here first.
    const schema = paramSchema(type, name);
    if (schema && !paramMatches(schema, value)) {
      const fallback = MODEL_CATALOG[type]!.defaults[name];
      report('MM322', `parameter "${name}" of model type "${type}" must be ${describeParam(schema)}; got ${showValue(value)}`, [...at, name], `The default is ${showValue(fallback)}. See docs/models.md.`);
    }
  }
}

/** A model of an auto selection as written: its type and params, or undefined when the schema refused its shape. */
function choiceOf(c: unknown): { type: string; params: Record<string, unknown> | undefined } | undefined {
  if (typeof c === 'string') return { type: c, params: undefined };
  if (isRecord(c) && typeof c.type === 'string') return { type: c.type, params: isRecord(c.params) ? c.params : undefined };
  return undefined;
}

/** model.type auto: candidates, select_by and fallback (MM323–MM326), each candidate's params (MM321/MM322). */
function checkSelection(listed: unknown, model: Record<string, unknown>, task: Task | undefined, at: PathSegment[], report: Report): void {
  const auto = model.type === AUTO_MODEL;
  if (!auto) {
    for (const field of ['candidates', 'select_by', 'fallback'] as const) {
      if (model[field] !== undefined) report('MM323', `${field} is only for model type auto`, [...at, field], 'Write type: auto to fit every candidate per group and keep the best, or remove the field.');
    }
    return;
  }
  if (model.candidates === undefined) {
    report('MM323', 'model type auto needs candidates: the models to fit and compare on every group', at, 'For example candidates: [seasonal_naive, ets, gbm].');
  }
  if (model.params !== undefined) {
    report('MM323', 'params are for one model type; with type auto each candidate carries its own', [...at, 'params'], 'Write candidates: [{type: gbm, params: {max_iter: 200}}] instead.');
  }
  if (model.path !== undefined) report('MM323', 'path is for custom models, which cannot be a candidate of type auto', [...at, 'path']);
  const allowed = task ? MODEL_TYPES_BY_TASK[task].filter((t) => t !== 'custom') : undefined;
  const seen = new Set<string>();
  (Array.isArray(model.candidates) ? model.candidates : []).forEach((c, i) => {
    const choice = choiceOf(c);
    if (!choice) return;
    const where = [...at, 'candidates', i];
    if (seen.has(choice.type)) {
      report('MM324', `candidate "${choice.type}" is listed twice`, where, 'Each model type may be a candidate once: its metrics are recorded under its type name.');
    }
    seen.add(choice.type);
    const typeAt = typeof c === 'string' ? where : [...where, 'type'];
    if (!SELECTABLE_MODEL_TYPES.includes(choice.type)) {
      report('MM324', choice.type === 'custom' || choice.type === AUTO_MODEL ? `"${choice.type}" cannot be a candidate of type auto` : `unknown candidate model type "${choice.type}"`, typeAt, expectedOneOf(choice.type, allowed ?? SELECTABLE_MODEL_TYPES));
    } else if (allowed && !allowed.includes(choice.type)) {
      report('MM324', `candidate "${choice.type}" does not do ${task}`, typeAt, `Candidates for ${task}: ${allowed.join(', ')}.`);
    }
    if (choice.params) checkParams(choice.type, choice.params, [...where, 'params'], report);
  });
  const metrics = Array.isArray(listed) ? listed.filter((m): m is string => typeof m === 'string') : task ? [...DEFAULT_METRICS[task]] : [];
  if (typeof model.select_by === 'string' && metrics.length && !metrics.includes(model.select_by)) {
    report('MM325', `select_by "${model.select_by}" is not one of the pipeline's metrics`, [...at, 'select_by'], `The metrics computed on every candidate's holdout: ${metrics.join(', ')}. Add it to metrics or pick one of them.`);
  }
  const fallback = choiceOf(model.fallback);
  if (fallback) {
    const where = [...at, 'fallback'];
    const typeAt = typeof model.fallback === 'string' ? where : [...where, 'type'];
    if (!SELECTABLE_MODEL_TYPES.includes(fallback.type)) {
      report('MM326', fallback.type === 'custom' || fallback.type === AUTO_MODEL ? `"${fallback.type}" cannot be the fallback of type auto` : `unknown fallback model type "${fallback.type}"`, typeAt, expectedOneOf(fallback.type, allowed ?? SELECTABLE_MODEL_TYPES));
    } else if (allowed && !allowed.includes(fallback.type)) {
      report('MM326', `fallback "${fallback.type}" does not do ${task}`, typeAt, `Fallbacks for ${task}: ${allowed.join(', ')}; a simple one that rarely fails (seasonal_naive, linear) serves best.`);
    }
    if (fallback.params) checkParams(fallback.type, fallback.params, [...where, 'params'], report);
  }
}

function checkTargets(file: RawPipelineFile, report: Report): void {
  if (!isRecord(file.targets)) return;
  const defaults = Object.entries(file.targets).filter(([, t]) => isRecord(t) && t.default === true);
  if (defaults.length > 1) {
    for (const [name] of defaults.slice(1)) {
      report('MM311', `more than one default target: "${defaults[0]![0]}" and "${name}"`, ['targets', name, 'default'], 'Mark exactly one target with default: true.');
    }
  }
  for (const [name, t] of Object.entries(file.targets)) {
    if (!isRecord(t)) continue;
    const target = t as unknown as RawTarget;
    const base: PathSegment[] = ['targets', name];
    if (target.engine === 'databricks' && !isRecord(target.databricks)) {
      report('MM312', `target "${name}" uses engine databricks but has no databricks section`, [...base, 'engine'], 'Add databricks: {host: https://adb-….azuredatabricks.net} or workspace_resource_id.');
    }
    if (target.engine === 'synapse' && !isRecord(target.synapse)) {
      report('MM312', `target "${name}" uses engine synapse but has no synapse section`, [...base, 'engine'], 'Add synapse: {endpoint: https://<ws>.dev.azuresynapse.net, spark_pool: <pool>}.');
    }
    if (isRecord(target.databricks)) {
      const d = target.databricks;
      // Without host or workspace_resource_id the workspace is DATABRICKS_HOST or the profile's host (checked when a run starts, MM404).
      if (d.compute && isRecord(d.compute)) {
        const choices = ['new_cluster', 'existing_cluster_id', 'serverless'].filter((k) => (d.compute as Record<string, unknown>)[k] !== undefined && (d.compute as Record<string, unknown>)[k] !== false);
        if (choices.length !== 1) {
          report('MM312', `databricks.compute must choose exactly one of new_cluster, existing_cluster_id, serverless (found ${choices.length ? choices.join(', ') : 'none'})`, [...base, 'databricks', 'compute']);
        }
      }
    }
    const remote = target.engine === 'databricks' || target.engine === 'synapse';
    if (isRecord(target.sink)) {
      const sink = target.sink;
      if (sink.type === 'sqlite' && remote) {
        report('MM313', `a ${target.engine} job cannot write predictions to a local SQLite file`, [...base, 'sink', 'type'], 'Use sink type synapse_sql or delta for remote engines.');
      }
      if (sink.type === 'synapse_sql') {
        if (!remote) report('MM313', 'the Synapse SQL connector runs inside Spark: use it with engine databricks or synapse', [...base, 'sink', 'type']);
        if (target.engine === 'databricks' && (!sink.url || !sink.temp_dir)) {
          report('MM313', 'synapse_sql on Databricks needs url (JDBC) and temp_dir (abfss://…)', [...base, 'sink']);
        }
        if (target.engine === 'synapse' && !sink.database) {
          report('MM313', 'synapse_sql on Synapse needs database (the dedicated SQL pool)', [...base, 'sink']);
        }
        if (typeof sink.url === 'string' && /password\s*=/i.test(sink.url)) {
          report('MM313', 'the JDBC url contains a password', [...base, 'sink', 'url'], 'Use auth: managed_identity, or forward_storage_credentials with Azure AD; never put secrets in pipelines.yaml.');
        }
      }
      if (sink.type === 'csv' || sink.type === 'parquet') checkFileSink(sink, target.engine, base, report);
      if (sink.type === 'delta' && !sink.path && !sink.table_name) {
        report('MM313', 'a delta sink needs path or table_name', [...base, 'sink']);
      }
      if (sink.type === 'delta' && !remote && target.engine !== 'spark-local') {
        report('MM313', 'a delta sink needs Spark: use it with engine databricks, synapse or spark-local', [...base, 'sink', 'type']);
      }
    } else if (remote) {
      report('MM313', `target "${name}" runs on ${target.engine} and needs a sink for predictions`, [...base, 'engine'], 'Add sink: {type: synapse_sql, …} or {type: delta, path: abfss://…}.');
    }
    checkRegistry(target.registry, [...base, 'registry'], false, report);
    checkRegistry(target.production_registry, [...base, 'production_registry'], true, report);
    if (isRecord(target.registry) && isRecord(target.production_registry)) {
      const a = target.registry;
      const b = target.production_registry;
      const same =
        a.type === b.type &&
        (a.type === 'local' ? (a.path ?? '') === (b.path ?? '') && a.path !== undefined : a.workspace !== undefined && a.workspace === b.workspace && a.subscription_id === b.subscription_id && a.resource_group === b.resource_group);
      if (same) {
        report('MM314', 'the production registry must be separate from the training registry', [...base, 'production_registry'], 'Point production_registry at another folder, workspace or an Azure ML registry.');
      }
    }
  }
}

/** A csv or parquet sink: a file the local engine writes (MM331–MM333). */
function checkFileSink(sink: RawSink, engine: unknown, base: PathSegment[], report: Report): void {
  if (engine !== undefined && engine !== 'local') {
    report('MM331', `a ${sink.type} sink is a file written on this machine by the local engine, not by engine ${String(engine)}`, [...base, 'sink', 'type'], engine === 'spark-local' ? 'Use a sqlite or delta sink with spark-local, or engine local.' : 'Use sink type synapse_sql or delta for remote engines.');
  }
  if (typeof sink.path !== 'string' || !sink.path.trim()) {
    report('MM332', `a ${sink.type} sink needs path: the predictions file, or a folder ending in /`, [...base, 'sink'], `Add path: out/predictions.${sink.type}`);
    return;
  }
  const ext = /\.([A-Za-z0-9]+)$/.exec(sink.path)?.[1]?.toLowerCase();
  const other = sink.type === 'csv' ? 'parquet' : 'csv';
  if (ext === other || (ext === 'db' || ext === 'sqlite')) {
    report('MM333', `the ${sink.type} sink's path ${sink.path} names a .${ext} file`, [...base, 'sink', 'path'], `Name a .${sink.type} file (or a folder ending in /), or set type: ${ext === other ? other : 'sqlite'}.`);
  }
}

function checkRegistry(r: RawRegistry | undefined, p: PathSegment[], production: boolean, report: Report): void {
  if (!isRecord(r)) return;
  if (r.type === 'azureml') {
    if (!r.workspace && !r.registry) {
      report('MM314', 'an azureml registry needs workspace (or, for production, registry)', p);
    }
    if (r.workspace && r.registry) report('MM314', 'give either workspace or registry, not both', p);
    if (r.registry && !production) report('MM314', 'training registers into a workspace; an Azure ML registry can only be the production registry', [...p, 'registry']);
  }
  if (r.type === 'local') {
    for (const k of ['subscription_id', 'resource_group', 'workspace', 'registry', 'granularity'] as const) {
      if (r[k] !== undefined) report('MM314', `"${k}" applies to azureml registries, not local ones`, [...p, k]);
    }
  }
}

function checkPipeline(p: RawPipeline, i: number, ctx: SemanticContext, report: Report): void {
  const base: PathSegment[] = ['pipelines', i];
  const task = isTask(p.task) ? p.task : undefined;
  const keys = Array.isArray(p.keys) ? p.keys.filter((k): k is string => typeof k === 'string') : [];
  const features = Array.isArray(p.features) ? p.features.filter((k): k is string => typeof k === 'string') : [];
  const rawParts = isRecord(p.time) && isRecord(p.time.parts) ? p.time.parts : undefined;
  const timeCol = isRecord(p.time) && typeof p.time.column === 'string' ? p.time.column : rawParts ? DEFAULTS.time.partsColumn : undefined;
  // time.parts: [part, column] for each part given as a column name.
  const parts = rawParts ? TIME_PARTS.flatMap((part) => (typeof rawParts[part] === 'string' ? [[part, rawParts[part] as string] as const] : [])) : [];

  // Columns play one role each.
  if (typeof p.target === 'string') {
    const ki = keys.indexOf(p.target);
    if (ki >= 0) report('MM302', `column "${p.target}" is both a group key and the target`, [...base, 'keys', ki], 'A key identifies a group; the target is what the model predicts. Pick another target or key.');
    const fi = features.indexOf(p.target);
    if (fi >= 0) report('MM310', `the target "${p.target}" is also listed as a feature`, [...base, 'features', fi], 'A model cannot use its own answer as an input.');
    if (timeCol === p.target) report('MM310', `the target "${p.target}" is also the time column`, [...base, 'time', 'column']);
  }
  features.forEach((f, fi) => {
    if (keys.includes(f)) report('MM310', `feature "${f}" is also a group key: it is constant within a group`, [...base, 'features', fi], 'Remove it from features.');
    if (f === timeCol) report('MM310', `feature "${f}" is the time column; calendar features are derived from it already`, [...base, 'features', fi]);
  });
  if (timeCol !== undefined && keys.includes(timeCol)) {
    report('MM310', `the time column "${timeCol}" is also a group key`, [...base, 'time', rawParts && !(isRecord(p.time) && p.time.column !== undefined) ? 'parts' : 'column']);
  }
  // The columns a time is built from are read for the time only: not keys, features or the target.
  parts.forEach(([part, column]) => {
    const at = [...base, 'time', 'parts', part];
    if (keys.includes(column)) report('MM310', `time part ${part} "${column}" is also a group key`, at, 'A part column builds the time; it cannot also make the groups.');
    if (features.includes(column)) report('MM310', `time part ${part} "${column}" is also a feature; calendar features are derived from the composed time already`, [...base, 'features', features.indexOf(column)], 'Remove it from features.');
    if (column === p.target) report('MM310', `time part ${part} "${column}" is also the target`, at);
    const first = parts.find(([, c]) => c === column)![0];
    if (first !== part) report('MM334', `time.parts names column "${column}" for both ${first} and ${part}`, at, 'Each part is its own column: year, month, day, hour, minute.');
    if (isRecord(p.time) && p.time.column === column) report('MM334', `time.column "${column}" is the name of the time composed from time.parts; it cannot be the ${part} column as well`, [...base, 'time', 'column'], 'Give the composed time another name (or leave time.column out: it is then "time").');
  });
  if (rawParts && isRecord(p.time) && p.time.kind === 'period') {
    report('MM334', 'time.parts build dates; kind: period is for a column of period numbers', [...base, 'time', 'kind'], 'Remove kind: period (a time built from parts is a date axis with a frequency such as h or D).');
  }
  if (rawParts) {
    // Parts below the finest one given are fixed (day 1, hour 0): a day without a month is no date.
    const given = new Set(parts.map(([part]) => part));
    const gap = TIME_PARTS.findIndex((part, pi) => !given.has(part) && TIME_PARTS.slice(pi + 1).some((finer) => given.has(finer)));
    if (gap > 0) {
      const missingPart = TIME_PARTS[gap]!;
      const finer = TIME_PARTS.slice(gap + 1).find((f) => given.has(f))!;
      report('MM334', `time.parts has ${finer} but no ${missingPart}`, [...base, 'time', 'parts', finer], `Name the ${missingPart} column too: a ${finer} is only a time within a ${missingPart}.`);
    }
  }

  if (task === 'forecast' && !timeCol && !isRecord(p.time)) {
    report('MM309', 'a forecast pipeline needs a time column', [...base, 'task'], 'Add time: {column: date, frequency: D}.');
  }

  // The time axis: integer periods take no frequency; a season length is theirs only.
  const periodAxis = isRecord(p.time) && p.time.kind === 'period';
  if (isRecord(p.time)) {
    if (periodAxis && p.time.frequency !== undefined) {
      report('MM327', 'time.frequency is for dates; with kind: period one period is one step', [...base, 'time', 'frequency'], 'Remove frequency (set time.season_length for a seasonal period axis, e.g. 52 for week numbers).');
    }
    if (!periodAxis && p.time.season_length !== undefined) {
      report('MM327', 'time.season_length is for kind: period; a date axis takes its season from the frequency', [...base, 'time', 'season_length'], 'Set the model\'s own parameter instead (season_length, seasonal_periods), or add kind: period.');
    }
  }

  // Model type and task.
  const model = isRecord(p.model) ? p.model : undefined;
  if (task && model && typeof model.type === 'string') {
    const allowed = MODEL_TYPES_BY_TASK[task];
    if (!allowed.includes(model.type) && [...Object.values(MODEL_TYPES_BY_TASK)].some((l) => l.includes(model.type))) {
      report('MM307', `model type "${model.type}" does not do ${task}`, [...base, 'model', 'type'], expectedOneOf(model.type, allowed));
    }
    if (model.type === 'custom') {
      if (typeof model.path !== 'string') {
        report('MM316', 'a custom model needs path: the Python file with train(pdf, params) and predict(model, pdf)', [...base, 'model']);
      } else {
        const abs = path.resolve(ctx.projectRoot, model.path);
        if (!existsSync(abs) || !statSync(abs).isFile()) {
          report('MM316', `custom model file "${model.path}" does not exist`, [...base, 'model', 'path'], 'The path is relative to pipelines.yaml.');
        } else if (!abs.endsWith('.py')) {
          report('MM316', `custom model file "${model.path}" is not a .py file`, [...base, 'model', 'path']);
        }
      }
    } else if (model.path !== undefined) {
      report('MM316', 'path is only for custom models', [...base, 'model', 'path']);
    }
  }
  if (model && typeof model.type === 'string' && isRecord(model.params)) {
    checkParams(model.type, model.params, [...base, 'model', 'params'], report);
  }
  if (model) checkSelection(p.metrics, model, task, [...base, 'model'], report);

  // Holdout: periods for forecasts, a fraction otherwise; and no longer than the horizon.
  if (task && model && typeof model.holdout === 'number') {
    if (task === 'forecast') {
      if (!Number.isInteger(model.holdout)) {
        report('MM306', `holdout ${model.holdout} is not a whole number of periods`, [...base, 'model', 'holdout'], 'For forecasts, holdout is the number of final periods kept for evaluation, e.g. 28.');
      } else {
        const horizon = isRecord(p.scoring) && typeof p.scoring.horizon === 'number' ? p.scoring.horizon : DEFAULTS.scoring.horizon;
        if (model.holdout > horizon) {
          report(
            'MM306',
            `holdout of ${model.holdout} periods is longer than the forecast horizon of ${horizon}`,
            [...base, 'model', 'holdout'],
            'Metrics past the horizon measure lead times the forecasts never use, and lag models cannot see that far. Set holdout ≤ scoring.horizon.',
          );
        }
      }
    } else if (model.holdout >= 1) {
      report('MM306', `holdout ${model.holdout} must be a fraction between 0 and 1 for ${task}`, [...base, 'model', 'holdout'], `For example holdout: ${DEFAULTS.model.holdoutFraction} keeps the last ${DEFAULTS.model.holdoutFraction * 100}% of each group for evaluation.`);
    }
  }

  // holdout: {from}: a forecast's first holdout period, a date or a period number.
  if (task && model && isRecord(model.holdout)) {
    const from = model.holdout.from;
    const where = [...base, 'model', 'holdout', 'from'];
    if (task !== 'forecast') {
      report('MM327', `holdout: {from} is for forecasts; a ${task} pipeline holds out a fraction of each group`, [...base, 'model', 'holdout'], `Write holdout: ${DEFAULTS.model.holdoutFraction}.`);
    } else if (periodAxis ? !isPeriodNumber(from) : !isDateText(from)) {
      report('MM327', `holdout.from ${JSON.stringify(from)} is not ${periodAxis ? 'a whole period number' : 'a date'}`, where, periodAxis ? 'With time.kind period, write the first holdout period, e.g. from: 150.' : 'Write the first holdout date as ISO 8601, e.g. from: 2024-01-01.');
    }
  }
  if (model && model.stale !== undefined && task && task !== 'forecast') {
    report('MM327', `model.stale is for forecasts; a ${task} pipeline has no holdout window in time`, [...base, 'model', 'stale']);
  }

  // Metrics fit the task; rules name computed metrics.
  const metrics = Array.isArray(p.metrics) ? p.metrics.filter((m): m is string => typeof m === 'string') : undefined;
  if (task && metrics) {
    metrics.forEach((m, mi) => {
      if (!METRICS_BY_TASK[task].includes(m) && (METRICS_BY_TASK.forecast.includes(m) || METRICS_BY_TASK.classification.includes(m))) {
        report('MM308', `metric "${m}" does not apply to ${task}`, [...base, 'metrics', mi], expectedOneOf(m, METRICS_BY_TASK[task]));
      }
    });
  }
  const computed = metrics ?? (task ? [...DEFAULT_METRICS[task]] : []);
  const rules = isRecord(p.promotion) && Array.isArray(p.promotion.rules) ? p.promotion.rules : [];
  rules.forEach((r, ri) => {
    if (!isRecord(r) || typeof r.metric !== 'string') return;
    const rp: PathSegment[] = [...base, 'promotion', 'rules', ri];
    if (!computed.includes(r.metric)) {
      const guess = didYouMean(r.metric, computed);
      report('MM301', `rule uses metric "${r.metric}", which this pipeline does not compute`, [...rp, 'metric'], `Computed: ${computed.join(', ')}.${guess ? ` Did you mean "${guess}"?` : ` Add it to metrics.`}`);
    }
    const hasThreshold = r.min !== undefined || r.max !== undefined;
    if (r.compare === undefined && !hasThreshold) {
      report('MM301', 'a rule needs min, max or compare: production', rp);
    }
    if (r.compare !== undefined && hasThreshold) {
      report('MM301', 'a rule compares with production or sets min/max, not both', rp, 'Write two rules: one with min/max, one with compare: production.');
    }
    if (r.compare === undefined && (r.tolerance !== undefined || r.when_no_production !== undefined)) {
      report('MM301', 'tolerance and when_no_production apply only to compare: production rules', rp);
    }
    if (typeof r.min === 'number' && typeof r.max === 'number' && r.min > r.max) {
      report('MM301', `min ${r.min} is greater than max ${r.max}: no model can pass`, rp);
    }
  });
  const gate = isRecord(p.promotion) && isRecord(p.promotion.gate) ? p.promotion.gate : undefined;
  if (gate && gate.min_promoted !== undefined && gate.min_promoted_fraction !== undefined) {
    report('MM301', 'give the gate as min_promoted or min_promoted_fraction, not both', [...base, 'promotion', 'gate']);
  }
  const budget = isRecord(p.failure_budget) ? p.failure_budget : undefined;
  if (budget && budget.max_failed !== undefined && budget.max_failed_fraction !== undefined) {
    report('MM301', 'give the failure budget as max_failed or max_failed_fraction, not both', [...base, 'failure_budget']);
  }

  // Data sources: the training data, and the scoring data when it differs.
  const sources: Array<[unknown, PathSegment[]]> = [[p.data, [...base, 'data']]];
  if (isRecord(p.scoring) && p.scoring.data !== undefined) sources.push([p.scoring.data, [...base, 'scoring', 'data']]);
  for (const [source, where] of sources) {
    if (!isRecord(source)) continue;
    if (source.format === 'jdbc' && !isRecord(source.jdbc)) report('MM319', 'a jdbc source needs jdbc: {url, table}', where);
    if (source.format !== 'jdbc' && source.format !== 'sql' && typeof source.path !== 'string') report('MM319', `a ${String(source.format)} source needs path`, where);
    if (source.format === 'sql') checkSqlSource(source.sql, where, report);
    const jdbc = source.jdbc;
    if (isRecord(jdbc) && typeof jdbc.url === 'string' && /password\s*=/i.test(jdbc.url)) {
      report('MM319', 'the JDBC url contains a password', [...where, 'jdbc', 'url'], 'Name an environment variable with password_env instead.');
    }
  }
  // Only a known task can say what scoring does; a missing or unknown one is its own error.
  if (task !== undefined && task !== 'forecast' && isRecord(p.scoring) && p.scoring.horizon !== undefined) {
    report('MM306', `scoring.horizon applies to forecasts only; ${task} pipelines score each input row`, [...base, 'scoring', 'horizon'], undefined, 'warning');
  }
}


/** A table, schema or column name the runtime quotes as an identifier (case matters once quoted). */
export const SQL_IDENTIFIER = /^[A-Za-z_][A-Za-z0-9_$]{0,62}$/;
const SQL_URL = /^postgres(?:ql)?:\/\/([^/?#]*)(\/[^?#]*)?(\?[^#]*)?$/i;
const CREDENTIAL_PARAM = /(?:^|&)(?:user|password|passfile)=/i;

/**
 * Whether a query is more than one statement: a `;` before its end (trailing `;` and blanks
 * aside) outside quoted text, dollar-quoted text and comments. The runtime refuses such a query
 * the same way (sql_source.py one_statement, MM452); validate says so first.
 */
export function sqlStatementCount(query: string): number {
  const q = query.replace(/[\s;]+$/, '');
  let count = 1;
  for (let i = 0; i < q.length; ) {
    const c = q[i]!;
    if (c === "'" || c === '"') {
      let end = q.indexOf(c, i + 1);
      while (end !== -1 && q[end + 1] === c) end = q.indexOf(c, end + 2);
      i = end === -1 ? q.length : end + 1;
    } else if (q.startsWith('--', i)) {
      const end = q.indexOf('\n', i);
      i = end === -1 ? q.length : end + 1;
    } else if (q.startsWith('/*', i)) {
      const end = q.indexOf('*/', i + 2);
      i = end === -1 ? q.length : end + 2;
    } else if (c === '$') {
      const tag = /^\$([A-Za-z_][A-Za-z0-9_]*)?\$/.exec(q.slice(i))?.[0];
      if (tag) {
        const end = q.indexOf(tag, i + tag.length);
        i = end === -1 ? q.length : end + tag.length;
      } else i++;
    } else {
      if (c === ';') count++;
      i++;
    }
  }
  return count;
}

/** `format: sql`: a PostgreSQL URL without credentials, a table (a checked name) or a query, a sound partitioning. */
function checkSqlSource(sql: unknown, where: PathSegment[], report: Report): void {
  if (!isRecord(sql)) {
    report('MM319', 'a sql source needs sql: {url, table or query}', where);
    return;
  }
  const at = [...where, 'sql'];
  const noSecrets = 'Name environment variables with user_env and password_env (or, on Databricks, secret_scope with user_key and password_key); never put credentials in pipelines.yaml.';
  if (typeof sql.url === 'string') {
    const m = SQL_URL.exec(sql.url);
    if (!m) report('MM319', 'the sql url is not a PostgreSQL URL', [...at, 'url'], 'Write it as postgresql://host[:port]/database, optionally with ?sslmode=require.');
    else if (m[1]!.includes('@') || CREDENTIAL_PARAM.test((m[3] ?? '').slice(1))) report('MM319', 'the sql url contains a user name or password', [...at, 'url'], noSecrets);
  }
  const hasTable = typeof sql.table === 'string';
  const hasQuery = typeof sql.query === 'string';
  if (hasTable === hasQuery) report('MM319', hasTable ? 'give sql.table or sql.query, not both' : 'a sql source needs sql.table or sql.query', at);
  if (hasQuery && sqlStatementCount(sql.query as string) > 1) report('MM319', 'sql.query holds more than one statement (a ; before its end)', [...at, 'query'], 'Give one SELECT (WITH …, VALUES and TABLE work too); a ; inside quotes or comments is fine.');
  if (hasTable) {
    const parts = (sql.table as string).split('.');
    if (parts.length > 2 || !parts.every((p) => SQL_IDENTIFIER.test(p))) {
      report('MM319', `sql.table ${JSON.stringify(sql.table)} is not a table name`, [...at, 'table'], 'Give a name or schema.name of letters, digits and _ (not starting with a digit); for anything else, write sql.query.');
    }
  }
  const part = sql.partition;
  if (isRecord(part)) {
    if (typeof part.column === 'string' && !SQL_IDENTIFIER.test(part.column)) report('MM319', `sql.partition.column ${JSON.stringify(part.column)} is not a column name`, [...at, 'partition', 'column']);
    if ((part.lower === undefined) !== (part.upper === undefined)) report('MM319', 'give sql.partition.lower and upper together, or neither (the column\'s MIN and MAX)', [...at, 'partition']);
    if (typeof part.lower === 'number' && typeof part.upper === 'number' && part.lower >= part.upper) report('MM319', `sql.partition.lower ${part.lower} must be below upper ${part.upper}`, [...at, 'partition']);
  }
  const scoped = typeof sql.secret_scope === 'string';
  if (scoped && typeof sql.password_key !== 'string') report('MM319', 'sql.secret_scope needs password_key (and user_key for the user name)', at);
  if (!scoped && (sql.user_key !== undefined || sql.password_key !== undefined)) report('MM319', 'sql.user_key and sql.password_key name secrets of a secret_scope: give secret_scope too', at);
}

/** A whole period number within the runtime's ±100,000 (periods.py MAX_PERIOD). */
export function isPeriodNumber(v: unknown): boolean {
  const n = typeof v === 'number' ? v : typeof v === 'string' && /^\s*[+-]?\d+(\.0*)?\s*$/.test(v) ? Number(v) : NaN;
  return Number.isInteger(n) && Math.abs(n) <= 100_000;
}

/** An ISO 8601 date or date-time (month 1–12, day 1–31), as the runtime parses holdout.from. */
export function isDateText(v: unknown): boolean {
  const m = typeof v === 'string' ? /^(\d{4})-(\d{1,2})-(\d{1,2})([ T]\d{1,2}:\d{2}(:\d{2}(\.\d+)?)?)?$/.exec(v.trim()) : null;
  return m !== null && Number(m[2]) >= 1 && Number(m[2]) <= 12 && Number(m[3]) >= 1 && Number(m[3]) <= 31;
}
