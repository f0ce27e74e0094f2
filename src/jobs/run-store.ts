// Run history under .manymodels/runs/<id>/: one run.json per run (id, stage, engine, state,
// group counts, timings) beside the run's spec, manifest, events and artifacts.
import { randomBytes } from 'node:crypto';
import { existsSync, mkdirSync, readdirSync, readFileSync, renameSync, rmSync, statSync } from 'node:fs';
import path from 'node:path';
import type { RunRecord, RunStage, RunState } from '../contracts/runs.js';
import { storageErrorFrom, UsageError } from '../core/errors.js';
import { writeStateFile } from '../core/state-file.js';
import { currentProcess, processState } from '../core/process-identity.js';

const LOCAL_ENGINES = new Set(['local', 'spark-local']);

/**
 * The run as it is now rather than as last written: a run stored as queued or running whose
 * CLI process is gone (killed, crashed, the machine restarted) did not finish. A local run is
 * then `interrupted`; a remote one is `lost` when its submission was never confirmed (no
 * service run id) — one the service has goes on without us and stays `running` (`runs watch`
 * follows it). Never written back: a reader does not change a run's record.
 */
export function liveRecord(r: RunRecord): RunRecord {
  if ((r.state !== 'running' && r.state !== 'queued') || !r.process) return r;
  if (processState(r.process) !== 'dead') return r;
  if (LOCAL_ENGINES.has(r.engine)) return { ...r, state: 'interrupted' };
  return r.external ? r : { ...r, state: 'lost' };
}

const RUN_ID = /^\d{8}-\d{6}-(train|score|promote)-[0-9a-f]{6}$/;
/** A run folder being made (RunStore.create): run.json written in it, then renamed to the run's id. */
const CREATING = '.creating-';

/** A run folder whose run.json could not be read: skipped by listings, named in a warning. */
export interface UnreadableRun {
  id: string;
  file: string;
  problem: string;
}

/** Parses a run.json, or says what is wrong with it (truncated, not JSON, not a run record). */
function parseRecord(file: string, id: string): RunRecord | string {
  let text: string;
  try {
    text = readFileSync(file, 'utf8');
  } catch (err) {
    return `could not be read (${(err as NodeJS.ErrnoException).code ?? String(err)})`;
  }
  let data: unknown;
  try {
    data = JSON.parse(text);
  } catch {
    return text.trim() === '' ? 'is empty' : 'is not valid JSON (truncated or overwritten?)';
  }
  const r = data as Partial<RunRecord> | null;
  if (!r || typeof r !== 'object' || r.id !== id || typeof r.stage !== 'string' || typeof r.state !== 'string' || typeof r.pipeline !== 'string') {
    return 'is not a run record of this run (id, stage, state and pipeline expected)';
  }
  return { timings: {}, summary: {}, counts: null, error: null, external: null, resumeOf: null, sourceRun: null, finishedAt: null, ...r } as RunRecord;
}

function unreadableRunError(id: string, file: string, problem: string): UsageError {
  return new UsageError(`the record of run ${id} is unreadable: ${file} ${problem}`, {
    code: 'MM520',
    nextSteps: [
      `Restore that file, or move the run's folder out of .manymodels/runs/ (${path.dirname(file)}) to forget the run; other runs are not affected`,
      'List the readable runs with: manymodels runs list',
    ],
  });
}

/** A run's record as `dir`/run.json: redacted, written aside and renamed (a full disk leaves the previous record whole). */
function writeRecord(dir: string, record: RunRecord): void {
  writeStateFile(path.join(dir, 'run.json'), `${JSON.stringify(record, null, 2)}\n`);
}

export class RunStore {
  readonly folder: string;

  constructor(stateDir: string) {
    this.folder = path.join(stateDir, 'runs');
  }

  newRunId(stage: RunStage, now = new Date()): string {
    const stamp = now.toISOString().replace(/[-:]/g, '').replace('T', '-').slice(0, 15);
    return `${stamp}-${stage}-${randomBytes(3).toString('hex')}`;
  }

  runDir(id: string): string {
    if (!RUN_ID.test(id)) throw new UsageError(`"${id}" is not a run id`, { code: 'MM503', nextSteps: ['List runs with: manymodels runs list'] });
    return path.join(this.folder, id);
  }

  create(record: Omit<RunRecord, 'createdAt' | 'finishedAt' | 'counts' | 'timings' | 'error' | 'summary' | 'external'> & Partial<RunRecord>): RunRecord {
    const full: RunRecord = {
      createdAt: new Date().toISOString(),
      finishedAt: null,
      counts: null,
      timings: {},
      error: null,
      summary: {},
      external: null,
      process: currentProcess(),
      ...record,
    } as RunRecord;
    // The folder appears with its run.json or not at all: it is made aside, with the record in
    // it, and renamed into place. A kill -9 in between leaves only a hidden `.creating-` folder
    // (never listed as a run), which a later create removes.
    const dir = this.runDir(full.id);
    const aside = path.join(this.folder, `${CREATING}${full.id}`);
    try {
      this.sweepCreating();
      mkdirSync(aside, { recursive: true });
      writeRecord(aside, full);
      renameSync(aside, dir);
    } catch (err) {
      rmSync(aside, { recursive: true, force: true });
      throw storageErrorFrom(err, dir) ?? err;
    }
    return full;
  }

  /** Removes `.creating-` folders an earlier create left when it was killed (older than a minute). */
  private sweepCreating(): void {
    if (!existsSync(this.folder)) return;
    for (const name of readdirSync(this.folder)) {
      if (!name.startsWith(CREATING)) continue;
      const at = path.join(this.folder, name);
      const st = statSync(at, { throwIfNoEntry: false });
      if (st && Date.now() - st.mtimeMs > 60_000) rmSync(at, { recursive: true, force: true });
    }
  }

  save(record: RunRecord): void {
    const dir = this.runDir(record.id);
    try {
      writeRecord(dir, record);
    } catch (err) {
      throw storageErrorFrom(err, path.join(dir, 'run.json')) ?? err;
    }
  }

  update(record: RunRecord, patch: Partial<RunRecord>): RunRecord {
    const next = { ...record, ...patch };
    this.save(next);
    return next;
  }

  get(id: string): RunRecord {
    const file = path.join(this.runDir(id), 'run.json');
    if (!existsSync(file)) throw new UsageError(`no run "${id}"`, { code: 'MM503', nextSteps: ['List runs with: manymodels runs list'] });
    const r = parseRecord(file, id);
    if (typeof r === 'string') throw unreadableRunError(id, file, r);
    return r;
  }

  /**
   * Newest first. Ids sort by time, so no file needs reading to order them. A run whose
   * run.json is unreadable is skipped (one bad file must not hide every other run) and
   * reported to `unreadable` when given.
   */
  list(filter: { pipeline?: string; stage?: RunStage; state?: RunState; limit?: number } = {}, unreadable?: UnreadableRun[]): RunRecord[] {
    if (!existsSync(this.folder)) return [];
    const ids = readdirSync(this.folder).filter((n) => RUN_ID.test(n)).sort().reverse();
    const out: RunRecord[] = [];
    for (const id of ids) {
      if (filter.stage && !id.includes(`-${filter.stage}-`)) continue;
      const file = path.join(this.folder, id, 'run.json');
      if (!existsSync(file)) continue;
      const r = parseRecord(file, id);
      if (typeof r === 'string') {
        unreadable?.push({ id, file, problem: r });
        continue;
      }
      if (filter.pipeline && r.pipeline !== filter.pipeline) continue;
      if (filter.state && r.state !== filter.state) continue;
      out.push(r);
      if (filter.limit && out.length >= filter.limit) break;
    }
    return out;
  }
}
