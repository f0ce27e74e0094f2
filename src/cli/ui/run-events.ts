// Renders a run's updates for a terminal (the live progress view on stderr), a log (a line per change) or as NDJSON on stdout
// with --json; both read the same runtime events.
import type { RunManifest, RunUpdate } from '../../contracts/runs.js';
import { redactSecrets } from '../../core/redact.js';
import type { CliIo } from '../io.js';
import type { CiReporter } from './ci/reporter.js';
import { LiveRunView } from './live-run.js';
import { ProgressLine, type ProgressCounts } from './progress-line.js';

export interface RunEventView {
  started(runId: string): void;
  update(u: RunUpdate): void;
  phase(text: string, data?: object): void;
  /** Progress that is not a runtime event (promote copying versions to production). */
  progress(c: ProgressCounts): void;
  end(): void;
}

/** Done/total of a runtime event that carries them, for progress displays. */
function progressOf(u: RunUpdate): { done: number; failed: number; skipped: number; total: number } | undefined {
  if (u.kind !== 'event') return undefined;
  const e = u.event;
  if (e.event === 'progress' || e.event === 'summary') {
    const counts = (e.event === 'summary' ? e.counts : e) as Record<string, number>;
    const total = Number(counts.total ?? 0);
    const done = e.event === 'summary' ? total : Number(counts.done ?? 0);
    return { done, failed: Number(counts.failed ?? 0), skipped: Number(counts.skipped ?? 0), total };
  }
  if (e.event === 'start' && typeof e.total === 'number') return { done: 0, failed: 0, skipped: 0, total: e.total };
  return undefined;
}

/** The CI system's progress bar (Azure Pipelines), moved once per whole percent. */
function ciProgress(ci: CiReporter | undefined, label: string): (u: RunUpdate) => void {
  let last = -1;
  return (u) => {
    const p = ci && ci.system !== 'none' ? progressOf(u) : undefined;
    if (!p || !p.total) return;
    const pct = Math.floor((p.done / p.total) * 100);
    if (pct === last) return;
    last = pct;
    ci!.progress(pct, `${label}: ${p.done}/${p.total} groups, ${p.failed} failed`);
  };
}

export function renderRunEvents(io: CliIo, json: boolean, label: string): RunEventView {
  const view = renderView(io, json, label);
  const progress = ciProgress(io.ci, label);
  return { ...view, update: (u) => (progress(u), view.update(u)) };
}

function renderView(io: CliIo, json: boolean, label: string): RunEventView {
  if (json) {
    const emit = (o: object): void => void io.stdout.write(`${JSON.stringify(o)}\n`);
    return {
      started: (runId) => emit({ event: 'run', runId }),
      update: (u) =>
        emit(
          u.kind === 'event' ? u.event
          : u.kind === 'submitted' ? { event: 'submitted', external: u.external }
          : { event: 'state', state: u.state, ...(u.message ? { message: u.message } : {}), ...(u.url ? { url: u.url } : {}) },
        ),
      phase: (text, data) => emit({ event: 'phase', text, ...(data ?? {}) }),
      progress: (c) => emit({ event: 'progress', ...c }),
      end: () => undefined,
    };
  }
  if (liveTerminal(io)) return liveView(io, label);
  // A log (a pipe, a file, a CI job): one line per state change, each tenth of the groups (or
  // every 15 s), and the end.
  const line = new ProgressLine(io.stderr, label);
  let lastState = '';
  return {
    started: (runId) => line.note(`${label}: run ${runId}`),
    update: (u) => {
      if (u.kind === 'submitted') {
        // Printed the moment it is known: the run page is where a long remote run is followed.
        line.note(`${label}: remote run ${u.external.id}${u.external.url ? ` — ${u.external.url}` : ''}`);
        return;
      }
      if (u.kind === 'state') {
        if (u.url) line.note(`Run page: ${u.url}`);
        // Remote runs say what they are doing (queued, waiting for a cluster): one line per change.
        const said = u.message ?? u.state;
        if (said !== lastState) line.note(`${label}: ${said}`);
        lastState = said;
        return;
      }
      const p = progressOf(u);
      if (p) line.update(p);
    },
    phase: (text) => line.note(`${label}: ${text}`),
    progress: (c) => line.update(c),
    end: () => line.end(),
  };
}

/** A person watching a terminal: not a pipe, not a CI job's log (CI, TF_BUILD). */
function liveTerminal(io: CliIo): boolean {
  const set = (v: string | undefined): boolean => !!v && v !== '0' && v.toLowerCase() !== 'false';
  return !!io.stderr.isTTY && !set(io.env.CI) && !set(io.env.TF_BUILD);
}

/** The dashboard's progress component, live under the command (live-run.tsx). */
function liveView(io: CliIo, label: string): RunEventView {
  const view = new LiveRunView(io.stderr);
  let lastMessage = '';
  let remote = false;
  return {
    started: (runId) => view.note(`${label}: run ${runId}`),
    update: (u) => {
      if (u.kind === 'submitted') {
        view.note(`${label}: remote run ${u.external.id}${u.external.url ? ` — ${u.external.url}` : ''}`);
        view.remote(undefined, u.external.url);
        remote = true;
        return;
      }
      if (u.kind === 'state') {
        if (u.url) view.note(`Run page: ${u.url}`);
        // What a remote run is doing stays on the screen, one line per change, as in a log.
        if (u.message && u.message !== lastMessage) view.note(`${label}: ${u.message}`);
        if (u.message) lastMessage = u.message;
        // A local run is "running" from start to end: only a remote run's state is news.
        if (remote) view.remote(`${label}: ${u.state}`, u.url);
        return;
      }
      const p = progressOf(u);
      if (p) view.update(p);
    },
    phase: (text) => view.note(`${label}: ${text}`),
    progress: (c) => view.update(c),
    end: () => view.end(),
  };
}

/** The failed groups of a run, a few with their error, for the summary (redacted: errors quote data). */
export function describeFailures(manifest: RunManifest, limit = 5): string {
  const failed = manifest.groups.filter((g) => g.status === 'failed');
  if (!failed.length) return '';
  let cut = false;
  const lines = failed.slice(0, limit).map((g) => {
    const keys = Object.entries(g.keys).map(([k, v]) => `${k}=${v}`).join(' ');
    const message = redactSecrets(g.errorMessage ?? '');
    const first = message.split('\n')[0] ?? '';
    const shown = first.length > 160 ? `${first.slice(0, 159)}…` : first;
    if (shown !== message) cut = true;
    return `  ${keys}: ${g.errorClass ?? 'Error'}: ${shown}`;
  });
  const more = failed.length > limit ? `  … and ${failed.length - limit} more\n` : '';
  // One line per group here; the whole message (its end is usually the fix) is one command away.
  const pointer = cut || more ? `  full messages: manymodels runs show ${manifest.runId} --groups --status failed\n` : '';
  return `Failed groups:\n${lines.join('\n')}\n${more}${pointer}`;
}
