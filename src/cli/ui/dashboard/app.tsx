// `manymodels dashboard`: a full-screen Ink app over the project's runs. Views: runs (newest
// first, live counts for running ones), run detail (progress, throughput, ETA, failures by
// class, metric histogram, worst groups, promotion decisions), groups (every group of a run,
// sortable, searchable) and models (production vs candidate by group). Every list renders only
// the rows that fit, so a 10,000-group run costs what a screenful costs.
import { Box, Text, useApp, useInput, useStdout } from 'ink';
import { memo, useCallback, useEffect, useMemo, useState } from 'react';
import type { GroupResult, RunRecord } from '../../../contracts/runs.js';
import type { DashboardSource, GroupModels, LiveCounts, RunDetailView } from '../../../runs/dashboard.js';
import { compareKeys, failureClasses, groupTable, keyColumnsOf, metricsOf, selectionLine, selectionSummary } from '../../../runs/results.js';
import { choiceCell } from '../results.js';
import { LiveProgress, progressLines, type ProgressState } from '../live-progress.js';
import { cell, clock, fit, histogramRows, keysText, metricText, windowOf } from './format.js';

type View = 'runs' | 'detail' | 'groups' | 'models';

interface Confirm {
  /** Shown as the help line, y/n early in it so a narrow terminal cuts only the details. */
  question: string;
  action: () => Promise<string>;
}

const HELP: Record<View, string> = {
  runs: '↑↓/jk move · Enter open · / filter · m models · q quit',
  detail: 'g groups · f failures · c cancel · r retrain failed · Esc back · q quit',
  groups: '↑↓/jk move · s sort · / search · f failures only · Esc back · q quit',
  models: '↑↓/jk move · / search · Esc back · q quit',
};

function duration(r: RunRecord, now: number): string {
  if (r.timings.runSeconds !== undefined) return clock(r.timings.runSeconds);
  const start = Date.parse(r.createdAt);
  const end = r.finishedAt ? Date.parse(r.finishedAt) : now;
  return Number.isFinite(start) && Number.isFinite(end) ? clock((end - start) / 1000) : '';
}

/**
 * The open run read again, holding on to the manifest it had when that has not changed (the
 * source parses an unchanged file once, but a source may give an equal copy): the groups
 * table, its sort and the summary are computed again only when the results are new, so an
 * idle screen of 10,000 groups is cheap.
 */
function keepManifest(prev: RunDetailView | null, next: RunDetailView): RunDetailView {
  const a = prev?.manifest;
  const b = next.manifest;
  if (a === b) return next;
  if (!a || !b || a.runId !== b.runId || a.finishedAt !== b.finishedAt || a.groups.length !== b.groups.length) return next;
  const c = (m: typeof a): string => JSON.stringify(m.counts);
  return c(a) === c(b) ? { ...next, manifest: a } : next;
}

/** The runs, and the live counts of the running ones, as one refresh read them. */
interface RunsRead {
  runs: RunRecord[];
  live: Map<string, LiveCounts>;
}

function readRuns(source: DashboardSource): RunsRead {
  const runs = source.runs();
  const live = new Map<string, LiveCounts>();
  for (const r of runs) {
    const c = source.live(r);
    if (c) live.set(r.id, c);
  }
  return { runs, live };
}

/** One row of text; a row that did not change between frames is not rendered again. */
const Line = memo(function Line({ text }: { text: string }): React.JSX.Element {
  return <Text wrap="truncate">{text}</Text>;
});

export interface AppProps {
  source: DashboardSource;
  /** How often runs (and the open run) are read again. */
  refreshMs?: number;
  /** For tests: a fixed clock. */
  now?: () => number;
}

export function App({ source, refreshMs = 1000, now = Date.now }: AppProps): React.JSX.Element {
  const { exit } = useApp();
  const stdout = useStdout().stdout as NodeJS.WriteStream;
  const [size, setSize] = useState({ columns: stdout.columns || 80, rows: stdout.rows || 24 });
  const [view, setView] = useState<View>('runs');
  const [{ runs, live: liveById }, setRuns] = useState<RunsRead>(() => readRuns(source));
  const [tick, setTick] = useState(0);
  const [cursor, setCursor] = useState(0);
  const [filter, setFilter] = useState('');
  const [typing, setTyping] = useState<string | null>(null);
  const [openId, setOpenId] = useState<string | null>(null);
  const [detail, setDetail] = useState<RunDetailView | null>(null);
  const [groupCursor, setGroupCursor] = useState(0);
  const [sortIndex, setSortIndex] = useState(0);
  const [search, setSearch] = useState('');
  const [failuresOnly, setFailuresOnly] = useState(false);
  const [models, setModels] = useState<GroupModels[] | null>(null);
  const [modelCursor, setModelCursor] = useState(0);
  const [confirm, setConfirm] = useState<Confirm | null>(null);
  const [message, setMessage] = useState('');

  useEffect(() => {
    const onResize = (): void => setSize({ columns: stdout.columns || 80, rows: stdout.rows || 24 });
    stdout.on('resize', onResize);
    return () => void stdout.off('resize', onResize);
  }, [stdout]);

  const refresh = useCallback(() => {
    try {
      setRuns(readRuns(source));
      if (openId) setDetail((prev) => keepManifest(prev, source.detail(openId)));
    } catch (e) {
      setMessage(`could not read the runs: ${(e as Error).message}`);
    }
    setTick((t) => t + 1);
  }, [source, openId]);

  useEffect(() => {
    const timer = setInterval(refresh, refreshMs);
    return () => clearInterval(timer);
  }, [refresh, refreshMs]);

  const width = size.columns;
  const bodyRows = Math.max(3, size.rows - 4);
  const shownRuns = useMemo(() => {
    const f = filter.toLowerCase();
    return f ? runs.filter((r) => `${r.id} ${r.pipeline} ${r.stage} ${r.engine} ${r.state}`.toLowerCase().includes(f)) : runs;
  }, [runs, filter]);
  const selected = shownRuns[Math.min(cursor, shownRuns.length - 1)];

  const manifest = detail?.manifest;
  const metrics = useMemo(() => (manifest ? metricsOf(manifest.groups) : []), [manifest]);
  const keyCols = useMemo(() => (manifest ? keyColumnsOf(manifest.groups) : []), [manifest]);
  // What the run detail shows of the manifest, computed when the run is read again, not per frame.
  const summary = useMemo(() => {
    const m = manifest;
    if (!m) return null;
    const metric = metrics[0];
    return {
      classes: failureClasses(m.groups).filter((f) => f.status === 'failed'),
      metric,
      values: metric ? m.groups.map((g) => g.metrics?.[metric]).filter((v): v is number => typeof v === 'number' && Number.isFinite(v)) : [],
      worst: metric ? groupTable(m, { sort: metric, worst: 3 }).rows : [],
      selection: selectionSummary(m),
    };
  }, [manifest, metrics]);
  const sorts = ['keys', ...metrics, 'status', 'fit_seconds'];
  const sortBy = sorts[sortIndex % sorts.length]!;
  // What a search looks in, per group, once per manifest rather than once per key typed.
  const searchText = useMemo(() => new Map((manifest?.groups ?? []).map((g) => [g, keysText(g.keys).toLowerCase()])), [manifest]);
  // The groups table is sorted when it is shown (and when its sort, filter or search change),
  // not at every refresh or key press, nor while the run detail is on screen.
  const inGroups = view === 'groups';
  const groups: GroupResult[] = useMemo(() => {
    if (!manifest || !inGroups) return [];
    const rows = groupTable(manifest, failuresOnly ? { sort: sortBy, status: 'failed' } : { sort: sortBy }).rows;
    const s = search.toLowerCase();
    return s ? rows.filter((g) => searchText.get(g)!.includes(s)) : rows;
  }, [manifest, inGroups, sortBy, failuresOnly, search, searchText]);
  const shownModels = useMemo(() => {
    const s = search.toLowerCase();
    return (models ?? [])
      .filter((m) => !s || keysText(m.keys).toLowerCase().includes(s) || m.name.toLowerCase().includes(s))
      .sort((a, b) => compareKeys(a.keys, b.keys, Object.keys(a.keys)) || (a.name < b.name ? -1 : 1));
  }, [models, search]);

  const open = (r: RunRecord | undefined): void => {
    if (!r) return;
    setOpenId(r.id);
    setDetail(source.detail(r.id));
    setView('detail');
  };

  const move = (delta: number): void => {
    if (view === 'runs') setCursor((c) => Math.max(0, Math.min(shownRuns.length - 1, c + delta)));
    else if (view === 'groups') setGroupCursor((c) => Math.max(0, Math.min(groups.length - 1, c + delta)));
    else if (view === 'models') setModelCursor((c) => Math.max(0, Math.min(shownModels.length - 1, c + delta)));
  };

  const ask = (question: string, action: () => Promise<string>): void => setConfirm({ question, action });

  useInput((input, key) => {
    if (confirm) {
      if (input === 'y' || input === 'Y') {
        const { action } = confirm;
        setConfirm(null);
        setMessage('working…');
        action().then(setMessage, (e: Error) => setMessage(e.message));
      } else if (input === 'n' || input === 'N' || key.escape) {
        setConfirm(null);
        setMessage('nothing done');
      }
      return;
    }
    if (typing !== null) {
      if (key.return || key.escape) {
        if (key.escape) {
          if (view === 'runs') setFilter('');
          else setSearch('');
        }
        setTyping(null);
      } else if (key.backspace || key.delete) {
        const next = typing.slice(0, -1);
        setTyping(next);
        if (view === 'runs') setFilter(next);
        else setSearch(next);
      } else if (input && !key.ctrl && !key.meta) {
        const next = typing + input;
        setTyping(next);
        if (view === 'runs') {
          setFilter(next);
          setCursor(0);
        } else {
          setSearch(next);
          setGroupCursor(0);
          setModelCursor(0);
        }
      }
      return;
    }
    if (input === 'q') {
      exit();
      return;
    }
    if (key.upArrow || input === 'k') move(-1);
    else if (key.downArrow || input === 'j') move(1);
    else if (key.pageDown) move(bodyRows);
    else if (key.pageUp) move(-bodyRows);
    else if (key.escape) {
      setMessage('');
      if (view === 'groups') setView('detail');
      else if (view === 'detail' || view === 'models') {
        setView('runs');
        setOpenId(null);
        setDetail(null);
        setSearch('');
      }
    } else if (input === '/') {
      setTyping('');
      if (view === 'runs') setFilter('');
      else setSearch('');
    } else if (key.return && view === 'runs') open(selected);
    else if (input === 'm' && view === 'runs') {
      setView('models');
      setSearch('');
      setModels(null);
      source.models().then(setModels, (e: Error) => setMessage(`models: ${e.message}`));
    } else if (input === 'g' && view === 'detail' && detail?.manifest) {
      setView('groups');
      setGroupCursor(0);
      setSearch('');
    } else if (input === 'f' && (view === 'detail' || view === 'groups') && detail?.manifest) {
      setView('groups');
      setFailuresOnly((v) => (view === 'groups' ? !v : true));
      setGroupCursor(0);
    } else if (input === 's' && view === 'groups') {
      setSortIndex((i) => i + 1);
      setGroupCursor(0);
    } else if (input === 'c' && view === 'detail' && detail) {
      const r = detail.run;
      if (r.state !== 'running' && r.state !== 'queued') setMessage(`run ${r.id} is ${r.state}: nothing to cancel`);
      else if (!r.external) setMessage('a local run stops with Ctrl-C in the terminal that runs it');
      else ask(`Cancel remote run ${r.external.id}? y/n · runs cancel ${r.id}`, async () => `runs cancel ${r.id}: exit ${await source.cancel(r)}`);
    } else if (input === 'r' && view === 'detail' && detail) {
      const r = detail.run;
      const failed = detail.manifest?.groups.filter((g) => g.status !== 'ok').length ?? 0;
      if (r.stage !== 'train') setMessage('only a training run can be retrained');
      else if (r.state === 'running' || r.state === 'queued') setMessage(`run ${r.id} is still ${r.state}`);
      else if (!failed) setMessage('every group of this run is ok');
      else ask(`Retrain the ${failed} groups that are not ok? y/n · train ${r.pipeline} --resume ${r.id}`, async () => `train --resume ${r.id}: exit ${await source.retrain(r)}`);
    }
  });

  let body: string[];
  let title: string;
  let progress: ProgressState | undefined;
  const t = now();
  if (view === 'runs') {
    title = `Runs (${shownRuns.length}${filter ? ` matching "${filter}"` : ''})`;
    // At 80 columns the stage and engine columns go and the pipeline narrows, so counts stay in view.
    const wide = width >= 110;
    // (The stage is in the run id too.)
    const pw = wide ? 18 : 12;
    const gw = wide ? 24 : 16;
    const cols = (id: string, pipeline: string, stage: string, engine: string, state: string, counts: string, time: string): string =>
      `${cell(id, 30)} ${cell(pipeline, pw)} ${wide ? `${cell(stage, 7)} ${cell(engine, 10)} ` : ''}${cell(state, 11)} ${cell(counts, gw)} ${time}`;
    const header = `  ${cols('RUN', 'PIPELINE', 'STAGE', 'ENGINE', 'STATE', 'GROUPS', 'TIME')}`;
    const { start, rows } = windowOf(shownRuns, cursor, bodyRows - 1);
    body = [
      header,
      ...rows.map((r, i) => {
        const live = liveById.get(r.id);
        const c = live ?? r.counts;
        const counts = !c ? '' : live ? `${live.done}/${live.total} ${live.failed} failed` : `${c.ok}/${c.total} ok${c.failed ? ` ${c.failed} failed` : ''}`;
        return `${start + i === cursor ? '▶ ' : '  '}${cols(r.id, r.pipeline, r.stage, r.engine, r.state, counts, duration(r, t))}`;
      }),
    ];
    if (!shownRuns.length) body.push(filter ? '  no run matches the filter' : '  no runs yet: start one with manymodels train');
  } else if (view === 'detail' && detail) {
    const r = detail.run;
    title = `Run ${r.id} · ${r.stage} ${r.pipeline} · ${r.target} (${r.engine}) · ${r.state}`;
    body = [];
    const live = detail.live;
    const c = live ?? (detail.manifest ? { done: detail.manifest.counts.total, ...detail.manifest.counts } : r.counts ? { done: r.counts.total, ...r.counts } : null);
    if (c) {
      const elapsed = live?.startedAt ? ((live.updatedAt ?? t) - live.startedAt) / 1000 : (r.timings.runSeconds ?? 0);
      progress = { counts: c, elapsedSeconds: elapsed, running: !!live && (r.state === 'running' || r.state === 'queued') };
    }
    if (r.external?.url) progress = { ...(progress ?? { counts: { done: 0, failed: 0, skipped: 0, total: 0 }, elapsedSeconds: 0, running: false }), url: r.external.url };
    if (r.error) body.push(`error ${r.error.code}: ${r.error.message}`);
    if (detail.promotion) {
      const s = detail.promotion.summary;
      body.push('', `promotion: ${s.candidates} candidates · ${s.promoted} promoted · ${s.unchanged} kept (already in production) · ${s.rejected} rejected · gate ${s.gate.met ? 'met' : 'NOT met'}`);
      for (const [rule, n] of Object.entries(s.rejectedBy)) body.push(`  rejected by "${rule}": ${n}`);
    }
    const m = detail.manifest;
    if (m) {
      const { classes, metric, values, worst, selection } = summary!;
      if (selection) body.push('', selectionLine(selection));
      if (classes.length) {
        body.push('', 'failures by class:');
        for (const f of classes.slice(0, 4)) body.push(`  ${f.count} × ${f.label}: ${f.example.split('\n')[0] ?? ''}`, `      ${f.groups.map(keysText).join(' · ')}${f.count > f.groups.length ? ' …' : ''}`);
      }
      if (metric) {
        body.push('', `${metric} across ${values.length} groups:`, ...histogramRows(values, 6, width));
        if (worst.length) body.push('', `worst by ${metric}: ${worst.map((g) => `${keysText(g.keys)} (${metricText(g.metrics?.[metric])})`).join(' · ')}`);
      }
    } else if (!live) body.push('', 'no per-group results (the run wrote no manifest)');
    body = body.slice(0, bodyRows - (progress ? progressLines(progress, width).length : 0));
  } else if (view === 'groups' && detail?.manifest) {
    title = `Groups of ${detail.run.id} (${groups.length}${failuresOnly ? ' failed' : ''}${search ? ` matching "${search}"` : ''}) · sorted by ${sortBy}`;
    // model.type auto: the type each group kept (15 columns: seasonal_naive and the fallback mark), before the model name.
    const auto = summary?.selection != null;
    const typeCell = (text: string): string => (auto ? ` ${cell(text, 15)}` : '');
    const header = `  ${keyCols.map((k) => cell(k, 12)).join(' ')} ${cell('STATUS', 8)} ${metrics.map((mm) => cell(mm, 9, true)).join(' ')}${typeCell('TYPE')}  MODEL / REASON`;
    const { start, rows } = windowOf(groups, groupCursor, bodyRows - 1);
    body = [
      header,
      ...rows.map((g, i) => {
        const what = g.status === 'ok' ? g.modelName : g.status === 'failed' ? `${g.errorClass ?? 'Error'}: ${g.errorMessage ?? ''}` : (g.reason ?? '');
        return `${start + i === groupCursor ? '▶ ' : '  '}${keyCols.map((k) => cell(g.keys[k] ?? '', 12)).join(' ')} ${cell(g.status, 8)} ${metrics.map((mm) => cell(metricText(g.metrics?.[mm]), 9, true)).join(' ')}${typeCell(g.status === 'ok' ? choiceCell(g) : '')}  ${what.replace(/\s+/g, ' ')}`;
      }),
    ];
  } else if (view === 'models') {
    title = `Models: production vs latest candidate (${models ? shownModels.length : '…'} groups${search ? ` matching "${search}"` : ''})`;
    if (!models) body = ['reading the registries…'];
    else {
      const vw = width >= 100 ? 22 : 16;
      const kw = width >= 100 ? 30 : 24;
      const header = `  ${cell('GROUP', kw)} ${cell('CANDIDATE', vw)} ${cell('PRODUCTION', vw)} STATE`;
      const { start, rows } = windowOf(shownModels, modelCursor, bodyRows - 1);
      const metricOf = (v: GroupModels['candidate']): string => {
        if (!v) return '-';
        const [name, value] = Object.entries(v.metrics)[0] ?? [];
        return `v${v.version}${name ? ` ${name} ${metricText(value)}` : ''}`;
      };
      body = [
        header,
        ...rows.map((g, i) => {
          const state = !g.production ? 'not in production' : g.candidate && g.production.runId === g.candidate.runId ? 'champion is latest' : 'newer candidate';
          return `${start + i === modelCursor ? '▶ ' : '  '}${cell(keysText(g.keys) || g.name, kw)} ${cell(metricOf(g.candidate), vw)} ${cell(metricOf(g.production), vw)} ${state}`;
        }),
      ];
      if (!shownModels.length) body.push('  no models registered yet');
    }
  } else {
    title = 'manymodels';
    body = [];
  }

  const footer = confirm ? confirm.question : typing !== null ? `${view === 'runs' ? 'filter' : 'search'}: ${typing}▌ (Enter keep · Esc clear)` : HELP[view];
  void tick;
  return (
    <Box flexDirection="column" width={width}>
      <Text bold>{fit(`manymodels · ${source.title}`, width)}</Text>
      <Text color="cyan">{fit(title, width)}</Text>
      <Box flexDirection="column" height={bodyRows}>
        {progress && <LiveProgress width={width} {...progress} />}
        {body.map((line, i) => (
          <Line key={i} text={fit(line, width)} />
        ))}
      </Box>
      <Text color={confirm ? 'yellow' : 'gray'}>{fit(message && !confirm && typing === null ? `${message} · ${footer}` : footer, width)}</Text>
    </Box>
  );
}
