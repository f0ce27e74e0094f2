// The emulator's storage: DBFS, workspace files and UC volumes, each a folder under one local
// root, plus the DBFS streaming handles. Owns the remote-path -> local-path mapping.
//
// Synchronous fs calls on purpose: each API call then completes before the next one starts,
// which is the per-request atomicity the real services give (a close never races an add-block).
import fs from 'node:fs';
import path from 'node:path';
import { DatabricksApiError, doesNotExist, invalidParameter } from './api-error.js';

/** DBFS put/add-block/read limit (README §1.8). */
export const DBFS_MAX_BLOCK_BYTES = 1024 * 1024;
/** Workspace import limit (README §1.8). */
export const WORKSPACE_MAX_IMPORT_BYTES = 10 * 1024 * 1024;

export interface DbfsFileInfo {
  path: string;
  is_dir: boolean;
  file_size: number;
  modification_time: number;
}

export interface WorkspaceObjectInfo {
  object_type: 'NOTEBOOK' | 'DIRECTORY' | 'FILE';
  path: string;
  object_id: number;
  language?: 'PYTHON' | 'SCALA' | 'SQL' | 'R';
  size?: number;
  created_at: number;
  modified_at: number;
}

interface Handle {
  readonly path: string;
  readonly tempFile: string;
  readonly overwrite: boolean;
  lastUsed: number;
  bytes: number;
}

interface WorkspaceMeta {
  objectType: 'NOTEBOOK' | 'DIRECTORY' | 'FILE';
  objectId: number;
  language?: WorkspaceObjectInfo['language'];
  createdAt: number;
}

export interface DirectoryEntry {
  path: string;
  name: string;
  is_directory: boolean;
  file_size?: number;
  last_modified?: number;
}

const NOTEBOOK_HEADERS: ReadonlyArray<[RegExp, WorkspaceObjectInfo['language']]> = [
  [/^# Databricks notebook source/, 'PYTHON'],
  [/^\/\/ Databricks notebook source/, 'SCALA'],
  [/^-- Databricks notebook source/, 'SQL'],
];

function decodeBase64(text: string | undefined): Buffer {
  return text === undefined ? Buffer.alloc(0) : Buffer.from(text, 'base64');
}

/** Normalises an absolute remote path; `..` cannot climb above `/` once normalised. */
function absolute(remote: string, what: string): string {
  if (!remote.startsWith('/')) throw invalidParameter(`Path must be absolute: ${what}`);
  const normal = path.posix.normalize(remote);
  return normal.length > 1 && normal.endsWith('/') ? normal.slice(0, -1) : normal;
}

export class EmulatorStorage {
  readonly dbfsRoot: string;
  readonly workspaceRoot: string;
  readonly volumesRoot: string;
  private readonly handleDir: string;
  private readonly handles = new Map<number, Handle>();
  private readonly workspace = new Map<string, WorkspaceMeta>();
  private nextHandle = 1;
  private nextObjectId = 1_000_000_000_000 + Math.floor(Math.random() * 1e9);

  constructor(readonly root: string, private readonly handleIdleMs = 10 * 60_000) {
    this.dbfsRoot = path.join(root, 'dbfs');
    this.workspaceRoot = path.join(root, 'workspace');
    this.volumesRoot = path.join(root, 'volumes');
    this.handleDir = path.join(root, '.dbfs-handles');
    for (const dir of [this.dbfsRoot, this.workspaceRoot, this.volumesRoot, this.handleDir]) fs.mkdirSync(dir, { recursive: true });
    // A fresh workspace has these top-level folders.
    for (const dir of ['/', '/Users', '/Shared']) this.ensureWorkspaceDir(dir);
  }

  // ---- remote path mapping (emulator only: clusters see dbfs:/ as /dbfs/ through FUSE) ----

  /** DBFS API paths are `/x` or `dbfs:/x`. */
  dbfsPath(remote: string): string {
    return absolute(remote.replace(/^dbfs:/, ''), remote);
  }

  private dbfsLocal(remote: string): string {
    return path.join(this.dbfsRoot, this.dbfsPath(remote));
  }

  /** Workspace paths may carry the `/Workspace` prefix clusters use for the same tree. */
  workspacePath(remote: string): string {
    const normal = absolute(remote, remote);
    return normal === '/Workspace' ? '/' : normal.replace(/^\/Workspace\//, '/');
  }

  private workspaceLocal(remote: string): string {
    return path.join(this.workspaceRoot, this.workspacePath(remote));
  }

  /** `/Volumes/<catalog>/<schema>/<volume>/...`; the Files API serves nothing else here. */
  volumePath(remote: string): string {
    const normal = absolute(remote, remote);
    if (!/^\/Volumes\/[^/]+\/[^/]+\/[^/]+(\/|$)/.test(normal)) {
      throw invalidParameter(`The path ${remote} is not a Unity Catalog volume path (/Volumes/<catalog>/<schema>/<volume>/...)`);
    }
    return normal;
  }

  private volumeLocal(remote: string): string {
    return path.join(this.volumesRoot, this.volumePath(remote).slice('/Volumes'.length));
  }

  /**
   * Maps a path a task would use on a cluster to the emulator's local copy: `dbfs:/x` and the
   * FUSE view `/dbfs/x`, `/Volumes/...`, and absolute workspace paths (`/Users/...`,
   * `/Workspace/...`). `undefined` for anything else (cloud URIs, relative paths).
   */
  localPathFor(remote: string): string | undefined {
    if (remote.startsWith('dbfs:/')) return this.dbfsLocal(remote);
    if (remote === '/dbfs' || remote.startsWith('/dbfs/')) return this.dbfsLocal(remote.slice('/dbfs'.length) || '/');
    if (remote.startsWith('/Volumes/')) return path.join(this.volumesRoot, absolute(remote, remote).slice('/Volumes'.length));
    if (remote.startsWith('/') && !remote.startsWith('//')) return this.workspaceLocal(remote);
    return undefined;
  }

  /** The workspace object (file, notebook or folder) at a workspace path, if there is one. */
  describeWorkspaceObject(remote: string): WorkspaceMeta | undefined {
    return this.workspace.get(this.workspacePath(remote));
  }

  // ---- DBFS 2.0 ----

  private fileInfo(remote: string, local: string): DbfsFileInfo {
    const st = fs.statSync(local);
    return { path: this.dbfsPath(remote), is_dir: st.isDirectory(), file_size: st.isDirectory() ? 0 : st.size, modification_time: Math.floor(st.mtimeMs) };
  }

  private assertWritableFile(remote: string, local: string, overwrite: boolean): void {
    if (!fs.existsSync(local)) return;
    if (fs.statSync(local).isDirectory()) {
      throw new DatabricksApiError(400, 'RESOURCE_ALREADY_EXISTS', `A directory already exists at the input path ${remote}.`);
    }
    if (!overwrite) {
      throw new DatabricksApiError(400, 'RESOURCE_ALREADY_EXISTS', `A file or directory already exists at the input path ${remote}.`);
    }
  }

  private assertBlock(bytes: Buffer): void {
    if (bytes.length > DBFS_MAX_BLOCK_BYTES) {
      throw new DatabricksApiError(400, 'MAX_BLOCK_SIZE_EXCEEDED', `The block of ${bytes.length} bytes is larger than the maximum of ${DBFS_MAX_BLOCK_BYTES} bytes.`);
    }
  }

  dbfsPut(remote: string, contents: string | undefined, overwrite = false): void {
    const local = this.dbfsLocal(remote);
    const bytes = decodeBase64(contents);
    this.assertBlock(bytes);
    this.assertWritableFile(remote, local, overwrite);
    fs.mkdirSync(path.dirname(local), { recursive: true });
    fs.writeFileSync(local, bytes);
  }

  dbfsCreate(remote: string, overwrite = false): number {
    const local = this.dbfsLocal(remote);
    this.assertWritableFile(remote, local, overwrite);
    const handle = this.nextHandle++;
    const tempFile = path.join(this.handleDir, String(handle));
    fs.writeFileSync(tempFile, Buffer.alloc(0));
    this.handles.set(handle, { path: remote, tempFile, overwrite, lastUsed: Date.now(), bytes: 0 });
    return handle;
  }

  private liveHandle(handle: number): Handle {
    const h = this.handles.get(handle);
    // The service forgets a handle after 10 minutes without use (README §1.8).
    if (!h || Date.now() - h.lastUsed > this.handleIdleMs) {
      if (h) this.dropHandle(handle, h);
      throw doesNotExist(`The handle ${handle} does not exist or has expired.`);
    }
    h.lastUsed = Date.now();
    return h;
  }

  private dropHandle(handle: number, h: Handle): void {
    this.handles.delete(handle);
    fs.rmSync(h.tempFile, { force: true });
  }

  dbfsAddBlock(handle: number, data: string): void {
    const h = this.liveHandle(handle);
    const bytes = decodeBase64(data);
    this.assertBlock(bytes);
    fs.appendFileSync(h.tempFile, bytes);
    h.bytes += bytes.length;
  }

  dbfsClose(handle: number): void {
    const h = this.liveHandle(handle);
    const local = this.dbfsLocal(h.path);
    // Another writer may have created the file since `create`; the handle's overwrite flag decides.
    this.assertWritableFile(h.path, local, h.overwrite);
    fs.mkdirSync(path.dirname(local), { recursive: true });
    fs.renameSync(h.tempFile, local);
    this.handles.delete(handle);
  }

  openHandles(): number {
    return this.handles.size;
  }

  dbfsMkdirs(remote: string): void {
    const local = this.dbfsLocal(remote);
    let probe = local;
    // Any existing file along the way blocks the directory.
    while (probe.startsWith(this.dbfsRoot) && probe !== this.dbfsRoot) {
      if (fs.existsSync(probe) && !fs.statSync(probe).isDirectory()) {
        throw new DatabricksApiError(400, 'RESOURCE_ALREADY_EXISTS', `A file already exists at the input path ${remote}.`);
      }
      probe = path.dirname(probe);
    }
    fs.mkdirSync(local, { recursive: true });
  }

  dbfsDelete(remote: string, recursive = false): void {
    const local = this.dbfsLocal(remote);
    if (local === this.dbfsRoot) throw invalidParameter('Cannot delete the DBFS root.');
    if (!fs.existsSync(local)) return;
    if (fs.statSync(local).isDirectory() && !recursive && fs.readdirSync(local).length > 0) {
      throw new DatabricksApiError(400, 'IO_ERROR', `Directory ${remote} is not empty; set recursive to delete it.`);
    }
    fs.rmSync(local, { recursive: true, force: true });
  }

  private existing(remote: string, local: string): void {
    if (!fs.existsSync(local)) throw doesNotExist(`No file or directory exists on path ${this.dbfsPath(remote)}.`);
  }

  dbfsGetStatus(remote: string): DbfsFileInfo {
    const local = this.dbfsLocal(remote);
    this.existing(remote, local);
    return this.fileInfo(remote, local);
  }

  dbfsList(remote: string): DbfsFileInfo[] {
    const local = this.dbfsLocal(remote);
    this.existing(remote, local);
    if (!fs.statSync(local).isDirectory()) return [this.fileInfo(remote, local)];
    const base = this.dbfsPath(remote);
    return fs.readdirSync(local).sort().map((name) => this.fileInfo(path.posix.join(base, name), path.join(local, name)));
  }

  dbfsRead(remote: string, offset = 0, length = 0.5 * 1024 * 1024): { bytes_read: number; data: string } {
    if (length > DBFS_MAX_BLOCK_BYTES) {
      throw new DatabricksApiError(400, 'MAX_READ_SIZE_EXCEEDED', `Cannot read more than ${DBFS_MAX_BLOCK_BYTES} bytes at a time.`);
    }
    const local = this.dbfsLocal(remote);
    this.existing(remote, local);
    if (fs.statSync(local).isDirectory()) throw invalidParameter(`${this.dbfsPath(remote)} is a directory.`);
    const all = fs.readFileSync(local);
    const slice = all.subarray(offset, offset + length);
    return { bytes_read: slice.length, data: slice.toString('base64') };
  }

  // ---- Workspace ----

  private ensureWorkspaceDir(normal: string): void {
    fs.mkdirSync(path.join(this.workspaceRoot, normal), { recursive: true });
    if (!this.workspace.has(normal)) {
      this.workspace.set(normal, { objectType: 'DIRECTORY', objectId: this.nextObjectId++, createdAt: Date.now() });
    }
  }

  workspaceMkdirs(remote: string): void {
    const normal = this.workspacePath(remote);
    const parts = normal.split('/').filter(Boolean);
    let current = '';
    for (const part of parts) {
      current = `${current}/${part}`;
      const meta = this.workspace.get(current);
      if (meta && meta.objectType !== 'DIRECTORY') {
        throw new DatabricksApiError(400, 'RESOURCE_ALREADY_EXISTS', `${current} already exists and it is not a folder`);
      }
      this.ensureWorkspaceDir(current);
    }
  }

  workspaceImport(input: { path: string; format?: string; language?: WorkspaceObjectInfo['language']; content?: string; overwrite?: boolean }): void {
    const requested = this.workspacePath(input.path);
    const bytes = decodeBase64(input.content);
    if (bytes.length > WORKSPACE_MAX_IMPORT_BYTES) {
      throw new DatabricksApiError(400, 'MAX_NOTEBOOK_SIZE_EXCEEDED', `File size imported is (${bytes.length} bytes), exceeded max size (${WORKSPACE_MAX_IMPORT_BYTES} bytes)`);
    }
    const format = input.format ?? 'SOURCE';
    let objectType: WorkspaceMeta['objectType'] = 'FILE';
    let language = input.language;
    let target = requested;
    if (format === 'SOURCE') {
      // Without a language SOURCE means a directory import, which the emulator does not do.
      if (!language) throw invalidParameter('To import a single file as SOURCE, you must set the language field.');
      objectType = 'NOTEBOOK';
    } else if (format === 'AUTO') {
      const head = bytes.subarray(0, 64).toString('utf8');
      const notebook = NOTEBOOK_HEADERS.find(([re]) => re.test(head));
      if (notebook) {
        objectType = 'NOTEBOOK';
        language = notebook[1];
        // "If the item is imported as a notebook, then the item's extension is automatically removed."
        target = requested.replace(/\.(py|scala|sql|r)$/i, '');
      }
    } else if (format !== 'RAW') {
      objectType = 'NOTEBOOK';
      language ??= 'PYTHON';
    }
    if (objectType === 'FILE') language = undefined;

    const parent = path.posix.dirname(target);
    const parentMeta = this.workspace.get(parent);
    if (!parentMeta || parentMeta.objectType !== 'DIRECTORY') {
      throw doesNotExist(`The parent folder (${parent}) does not exist.`);
    }
    const existing = this.workspace.get(target);
    if (existing) {
      if (existing.objectType === 'DIRECTORY' || !input.overwrite) {
        throw new DatabricksApiError(400, 'RESOURCE_ALREADY_EXISTS', `${target} already exists.`);
      }
    }
    fs.writeFileSync(path.join(this.workspaceRoot, target), bytes);
    this.workspace.set(target, {
      objectType,
      objectId: existing?.objectId ?? this.nextObjectId++,
      createdAt: existing?.createdAt ?? Date.now(),
      ...(language ? { language } : {}),
    });
  }

  workspaceGetStatus(remote: string): WorkspaceObjectInfo {
    const normal = this.workspacePath(remote);
    const meta = this.workspace.get(normal);
    if (!meta) throw doesNotExist(`Path (${normal}) doesn't exist.`);
    const st = fs.statSync(path.join(this.workspaceRoot, normal));
    return {
      object_type: meta.objectType,
      path: normal,
      object_id: meta.objectId,
      created_at: meta.createdAt,
      modified_at: Math.floor(st.mtimeMs),
      ...(meta.language ? { language: meta.language } : {}),
      ...(meta.objectType === 'FILE' ? { size: st.size } : {}),
    };
  }

  // ---- Files API (UC volumes) ----

  filesUpload(remote: string, bytes: Buffer, overwrite = true): void {
    const local = this.volumeLocal(remote);
    if (fs.existsSync(local)) {
      if (fs.statSync(local).isDirectory()) throw new DatabricksApiError(409, 'ALREADY_EXISTS', `A directory already exists at ${remote}.`);
      if (!overwrite) throw new DatabricksApiError(409, 'ALREADY_EXISTS', `The file being created already exists: ${remote}.`);
    }
    // Uploads create missing parent directories inside the volume.
    fs.mkdirSync(path.dirname(local), { recursive: true });
    fs.writeFileSync(local, bytes);
  }

  filesStat(remote: string): { size: number; modified: Date } {
    const local = this.volumeLocal(remote);
    if (!fs.existsSync(local) || fs.statSync(local).isDirectory()) {
      throw new DatabricksApiError(404, 'NOT_FOUND', `The file being accessed is not found: ${remote}.`);
    }
    const st = fs.statSync(local);
    return { size: st.size, modified: st.mtime };
  }

  filesDownload(remote: string): Buffer {
    this.filesStat(remote);
    return fs.readFileSync(this.volumeLocal(remote));
  }

  directoryCreate(remote: string): void {
    const local = this.volumeLocal(remote);
    if (fs.existsSync(local) && !fs.statSync(local).isDirectory()) {
      throw new DatabricksApiError(409, 'ALREADY_EXISTS', `A file already exists at ${remote}.`);
    }
    fs.mkdirSync(local, { recursive: true });
  }

  directoryExists(remote: string): void {
    const local = this.volumeLocal(remote);
    if (!fs.existsSync(local) || !fs.statSync(local).isDirectory()) {
      throw new DatabricksApiError(404, 'NOT_FOUND', `The directory being accessed is not found: ${remote}.`);
    }
  }

  directoryList(remote: string, pageSize = 1000, pageToken?: string): { contents: DirectoryEntry[]; next_page_token?: string } {
    this.directoryExists(remote);
    const base = this.volumePath(remote);
    const local = this.volumeLocal(remote);
    const names = fs.readdirSync(local).sort();
    const start = pageToken ? Number.parseInt(Buffer.from(pageToken, 'base64url').toString('utf8'), 10) || 0 : 0;
    const page = names.slice(start, start + pageSize).map((name): DirectoryEntry => {
      const st = fs.statSync(path.join(local, name));
      const entryPath = path.posix.join(base, name);
      return st.isDirectory()
        ? { path: `${entryPath}/`, name, is_directory: true }
        : { path: entryPath, name, is_directory: false, file_size: st.size, last_modified: Math.floor(st.mtimeMs) };
    });
    const next = start + pageSize < names.length ? Buffer.from(String(start + pageSize)).toString('base64url') : undefined;
    return next ? { contents: page, next_page_token: next } : { contents: page };
  }
}
