// The local model registry: a folder with a SQLite index (node:sqlite) and the artifacts,
// one file per version. Used for training and, in another folder, for production.
import { chmodSync, constants, copyFileSync, existsSync, linkSync, mkdirSync, renameSync, rmSync } from 'node:fs';
import path from 'node:path';
import { DatabaseSync } from 'node:sqlite';
import { StorageError, storageErrorFrom, UsageError } from '../core/errors.js';
import { acquireFolderLock, type LockHolder, type LockOptions, type LockOwner } from '../core/folder-lock.js';
import type { ModelRegistry, ModelVersion, NewModelVersion, RegisterOptions, RegisterProgress, VersionFilter } from './model-registry.js';
import { tagsFor } from './model-registry.js';

const SCHEMA = `
CREATE TABLE IF NOT EXISTS versions (
  name TEXT NOT NULL,
  version INTEGER NOT NULL,
  pipeline TEXT NOT NULL,
  project TEXT NOT NULL,
  group_id TEXT NOT NULL,
  keys_json TEXT NOT NULL,
  model_type TEXT NOT NULL,
  run_id TEXT NOT NULL,
  metrics_json TEXT NOT NULL,
  tags_json TEXT NOT NULL,
  artifact TEXT NOT NULL,
  sha256 TEXT NOT NULL,
  created_at TEXT NOT NULL,
  PRIMARY KEY (name, version)
);
CREATE UNIQUE INDEX IF NOT EXISTS versions_once_per_run ON versions (name, run_id);
CREATE INDEX IF NOT EXISTS versions_by_group ON versions (pipeline, group_id, version);
CREATE INDEX IF NOT EXISTS versions_by_run ON versions (run_id);
CREATE TABLE IF NOT EXISTS tags (name TEXT NOT NULL, version INTEGER NOT NULL, key TEXT NOT NULL, value TEXT NOT NULL);
CREATE INDEX IF NOT EXISTS tags_by_kv ON tags (key, value);
`;

interface Row {
  name: string;
  version: number;
  pipeline: string;
  project: string;
  group_id: string;
  keys_json: string;
  model_type: string;
  run_id: string;
  metrics_json: string;
  tags_json: string;
  artifact: string;
  sha256: string;
  created_at: string;
}

/** How long a registration waits for another process's before refusing (MM523). */
export const DEFAULT_LOCK_WAIT_SECONDS = 60;

export interface LocalRegistryOptions {
  /** `MANYMODELS_LOCK_WAIT`; 0 refuses at once when another process holds the registry. */
  lockWaitSeconds?: number;
  onLockWait?: (holder: LockHolder) => void;
  /**
   * Keep an independent copy of every artifact (the production registry) instead of a hard link
   * to the run's file (the training registry: 10,000 links take 0.13–0.20 s, copies 1.0–2.9 s;
   * bench/artifact-placement.mjs).
   */
  copyArtifacts?: boolean;
}

/** SQLite's primary result codes we tell apart (the low byte of an extended code). */
const SQLITE = { READONLY: 8, IOERR: 10, CORRUPT: 11, FULL: 13, CANTOPEN: 14 } as const;
const SQLITE_NOTADB = 26;

/**
 * A SQLite failure as a coded error naming the file: a registry.db that is not a database (or
 * is damaged) is the user's to restore, never an internal error. Anything else is passed on.
 */
export function registryDbError(err: unknown, file: string): unknown {
  const e = err as { code?: string; errcode?: number; errstr?: string } | undefined;
  if (e?.code !== 'ERR_SQLITE_ERROR' || typeof e.errcode !== 'number') return err;
  const primary = e.errcode & 0xff;
  if (primary === SQLITE.FULL || primary === SQLITE.IOERR || primary === SQLITE.READONLY) {
    // SQLite rolled the transaction back: the registry is as it was before this registration.
    const what = primary === SQLITE.FULL ? 'no space left on the device' : primary === SQLITE.READONLY ? 'the file is read-only' : 'an I/O error (a full disk can show as one)';
    return new StorageError(`could not write the registry database ${file}: ${what} (SQLite: ${e.errstr ?? e.errcode})`, {
      code: 'MM525',
      cause: err,
      path: file,
      nextSteps: [
        'Free some space (or fix the disk) and run the command again; SQLite kept the registry as it was before this write.',
        'A training run can then finish its registration with: manymodels train PIPELINE --resume RUN',
      ],
    });
  }
  if (primary === SQLITE.CORRUPT || primary === SQLITE_NOTADB) {
    return new UsageError(`the registry database ${file} is unreadable: ${e.errstr ?? 'not a database'}`, {
      code: 'MM522',
      cause: err,
      nextSteps: [
        'Restore it from a backup; or move it away (with its -wal and -shm files) and the next run starts an empty registry index there.',
        'The artifacts beside it are not touched; models of earlier runs can be registered again with: manymodels train PIPELINE --resume RUN',
      ],
    });
  }
  return err;
}

/** Model names come from the runtime and are checked again here: they become file names. */
const SAFE_NAME = /^[A-Za-z0-9][A-Za-z0-9_-]{0,254}$/;

export class LocalRegistry implements ModelRegistry {
  readonly description: string;
  private readonly db: DatabaseSync;

  private readonly file: string;

  constructor(
    private readonly folder: string,
    private readonly options: LocalRegistryOptions = {},
  ) {
    try {
      mkdirSync(path.join(folder, 'artifacts'), { recursive: true });
    } catch (err) {
      throw storageErrorFrom(err, path.join(folder, 'artifacts')) ?? err;
    }
    this.file = path.join(folder, 'registry.db');
    let db: DatabaseSync | undefined;
    try {
      // Two processes creating the same registry at once: switching a new file to WAL can be
      // refused with "database is locked" at once, without the busy timeout. Retried briefly.
      for (let attempt = 0; ; attempt += 1) {
        try {
          db = new DatabaseSync(this.file);
          // WAL lets `models list` read while a training run registers.
          db.exec('PRAGMA busy_timeout = 10000; PRAGMA journal_mode = WAL;');
          db.exec(SCHEMA);
          break;
        } catch (err) {
          if (attempt >= 50 || !/database is locked/.test(String((err as Error).message))) throw err;
          db?.close();
          db = undefined;
          Atomics.wait(new Int32Array(new SharedArrayBuffer(4)), 0, 0, 100);
        }
      }
    } catch (err) {
      try {
        db?.close();
      } catch {
        // Already unusable.
      }
      throw registryDbError(err, this.file);
    }
    this.db = db;
    this.description = `local registry ${folder}`;
  }

  /** Every statement goes through here, so a damaged file is a coded error wherever it shows. */
  private guard<T>(work: () => T): T {
    try {
      return work();
    } catch (err) {
      throw registryDbError(err, this.file);
    }
  }

  private toVersion(r: Row): ModelVersion {
    return {
      name: r.name,
      version: String(r.version),
      pipeline: r.pipeline,
      project: r.project,
      groupId: r.group_id,
      keys: JSON.parse(r.keys_json) as Record<string, string>,
      modelType: r.model_type,
      runId: r.run_id,
      metrics: JSON.parse(r.metrics_json) as Record<string, number>,
      tags: JSON.parse(r.tags_json) as Record<string, string>,
      artifactUri: path.join(this.folder, r.artifact),
      sha256: r.sha256,
      createdAt: r.created_at,
    };
  }

  async registerVersions(entries: NewModelVersion[], onProgress?: (p: RegisterProgress) => void, options: RegisterOptions = {}): Promise<ModelVersion[]> {
    for (const entry of entries) {
      if (!SAFE_NAME.test(entry.name)) throw new Error(`unsafe model name from the runtime: ${JSON.stringify(entry.name)}`);
    }
    const owner: LockOwner = { runId: options.batchId ?? entries[0]?.runId ?? null, purpose: `register ${entries.length} model versions` };
    return this.exclusive(
      owner,
      async () => {
        try {
          return this.register(entries, onProgress);
        } catch (err) {
          throw registryDbError(err, this.file);
        }
      },
      options.signal,
    );
  }

  /**
   * Runs `work` holding this registry's lock (the `.lock` file in its folder): one writer at a
   * time across processes; reentrant within one. A live holder is waited for, then refused.
   */
  async exclusive<T>(owner: LockOwner, work: () => Promise<T>, signal?: AbortSignal): Promise<T> {
    const lockOptions: LockOptions = { waitSeconds: this.options.lockWaitSeconds ?? DEFAULT_LOCK_WAIT_SECONDS };
    if (this.options.onLockWait) lockOptions.onWait = this.options.onLockWait;
    if (signal) lockOptions.signal = signal;
    const lock = await acquireFolderLock(this.folder, owner, lockOptions);
    try {
      return await work();
    } finally {
      lock.release();
    }
  }

  private register(entries: NewModelVersion[], onProgress?: (p: RegisterProgress) => void): ModelVersion[] {
    const existing = this.db.prepare('SELECT * FROM versions WHERE name = ? AND run_id = ?');
    const next = this.db.prepare('SELECT COALESCE(MAX(version), 0) + 1 AS v FROM versions WHERE name = ?');
    const insert = this.db.prepare(
      'INSERT INTO versions (name, version, pipeline, project, group_id, keys_json, model_type, run_id, metrics_json, tags_json, artifact, sha256, created_at) VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?)',
    );
    const insertTag = this.db.prepare('INSERT INTO tags (name, version, key, value) VALUES (?, ?, ?, ?)');
    const out: ModelVersion[] = [];
    const now = new Date().toISOString();
    const batch = 500;
    for (let start = 0; start < entries.length; start += batch) {
      const chunk = entries.slice(start, start + batch);
      // Version numbers are taken inside the write transaction (BEGIN IMMEDIATE holds SQLite's
      // write lock from the start), so two processes registering at once can never pick the
      // same number. Within it, artifact first, row second: a crash between the two leaves an
      // unreferenced file, never a row pointing at a missing artifact.
      this.db.exec('BEGIN IMMEDIATE');
      try {
        for (const e of chunk) {
          const hit = existing.get(e.name, e.runId) as unknown as Row | undefined;
          if (hit) {
            out.push(this.toVersion(hit));
            continue;
          }
          const version = Number((next.get(e.name) as { v: number }).v);
          const artifact = path.join('artifacts', e.name, `${version}-${e.sha256.slice(0, 12)}.pkl`);
          placeArtifact(e.artifactPath, path.join(this.folder, artifact), this.options.copyArtifacts === true);
          const tags = tagsFor(e);
          insert.run(e.name, version, e.pipeline, e.project, e.groupId, JSON.stringify(e.keys), e.modelType, e.runId, JSON.stringify(e.metrics), JSON.stringify(tags), artifact, e.sha256, now);
          for (const [k, v] of Object.entries(tags)) insertTag.run(e.name, version, k, v);
          out.push(this.toVersion(existing.get(e.name, e.runId) as unknown as Row));
        }
        this.db.exec('COMMIT');
      } catch (err) {
        try {
          if (this.db.isTransaction) this.db.exec('ROLLBACK');
        } catch {
          // SQLite rolls back by itself when it cannot go on (a full disk); the first error is the one to tell.
        }
        throw storageErrorFrom(err) ?? err;
      }
      onProgress?.({ done: Math.min(start + batch, entries.length), total: entries.length });
    }
    return out;
  }

  async latestByGroup(pipeline: string): Promise<Map<string, ModelVersion>> {
    // A group keeps one model name per pipeline, so its newest version is the highest.
    const rows = this.guard(
      () =>
        this.db
          .prepare(
            `SELECT v.* FROM versions v JOIN (SELECT name, MAX(version) AS mv FROM versions WHERE pipeline = ? GROUP BY name) m
           ON v.name = m.name AND v.version = m.mv`,
          )
          .all(pipeline) as unknown as Row[],
    );
    return new Map(rows.map((r) => [r.group_id, this.toVersion(r)]));
  }

  async listVersions(filter: VersionFilter): Promise<ModelVersion[]> {
    const where: string[] = [];
    const params: Array<string | number> = [];
    if (filter.pipeline) {
      where.push('v.pipeline = ?');
      params.push(filter.pipeline);
    }
    if (filter.name) {
      where.push('v.name = ?');
      params.push(filter.name);
    }
    if (filter.runIds?.length) {
      where.push(`v.run_id IN (${filter.runIds.map(() => '?').join(', ')})`);
      params.push(...filter.runIds);
    }
    for (const [k, value] of Object.entries(filter.tags ?? {})) {
      where.push('EXISTS (SELECT 1 FROM tags t WHERE t.name = v.name AND t.version = v.version AND t.key = ? AND t.value = ?)');
      params.push(k, value);
    }
    const sql = `SELECT v.* FROM versions v ${where.length ? `WHERE ${where.join(' AND ')}` : ''} ORDER BY v.name, v.version DESC${filter.limit ? ' LIMIT ?' : ''}`;
    if (filter.limit) params.push(filter.limit);
    return this.guard(() => this.db.prepare(sql).all(...params) as unknown as Row[]).map((r) => this.toVersion(r));
  }

  async getVersion(name: string, version?: string): Promise<ModelVersion | undefined> {
    const row = this.guard(
      () =>
        (version === undefined
          ? this.db.prepare('SELECT * FROM versions WHERE name = ? ORDER BY version DESC LIMIT 1').get(name)
          : this.db.prepare('SELECT * FROM versions WHERE name = ? AND version = ?').get(name, Number(version))) as unknown as Row | undefined,
    );
    return row ? this.toVersion(row) : undefined;
  }

  async localArtifacts(versions: ModelVersion[]): Promise<Map<string, string>> {
    return new Map(versions.map((v) => [v.name, v.artifactUri]));
  }

  async close(): Promise<void> {
    this.db.close();
  }
}

/**
 * Places an artifact read-only under the registry. The training registry hard-links the run's
 * file when both share a file system (no copy of gigabytes); the production registry always
 * keeps a copy of its own (a reflink where the file system can), so nothing done to a run folder
 * or the training registry can change a production model. Copies are written aside and renamed:
 * a full disk never leaves a partial artifact under its final name (which a later registration
 * would take as already there).
 */
function placeArtifact(from: string, to: string, copy: boolean): void {
  if (existsSync(to)) return;
  try {
    mkdirSync(path.dirname(to), { recursive: true });
    if (!copy) {
      try {
        linkSync(from, to);
        chmodSync(to, 0o444);
        return;
      } catch (err) {
        if ((err as NodeJS.ErrnoException).code === 'EEXIST') return;
      }
    }
    const tmp = `${to}.${process.pid}.tmp`;
    try {
      copyFileSync(from, tmp, constants.COPYFILE_FICLONE);
      chmodSync(tmp, 0o444);
      renameSync(tmp, to);
    } catch (err) {
      rmSync(tmp, { force: true });
      throw err;
    }
  } catch (err) {
    // Named by where it was going: copyFile's own error names the source.
    const e = err as NodeJS.ErrnoException;
    if (typeof e.code === 'string') e.path = to;
    throw storageErrorFrom(e) ?? err;
  }
}
