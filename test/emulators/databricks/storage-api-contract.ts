// Request and reply schemas for DBFS 2.0, Workspace import and the Files API, which Databricks
// publishes no machine-readable definition for. Written from api-specs README §1.8 (itself read
// from databricks-sdk-go `service/files` and `service/workspace`), so they are second-hand.
import { Ajv2020 } from 'ajv/dist/2020.js';
import type { ValidateFunction } from 'ajv';
import type { ValidationIssue } from './openapi3-validator.js';

type Json = Record<string, unknown>;

/** Standard padded base64 (OpenAPI calls it format `byte`). */
const base64 = { type: 'string', format: 'byte' } as const;

// A linear check: a grouped regex over a 14 MB import body overflows V8's regex stack.
function isBase64(text: string): boolean {
  return text.length % 4 === 0 && /^[A-Za-z0-9+/]*={0,2}$/.test(text);
}
const absolutePath = { type: 'string', minLength: 1 } as const;
const int64 = { type: 'integer' } as const;
const empty = { type: 'object', maxProperties: 0 } as const;

// Request bodies are closed for the same reason the runs/submit body is: a misspelt field is
// a client bug the real service would silently ignore.
const closed = (properties: Json, required: string[]): Json => ({
  type: 'object', properties, required, additionalProperties: false,
});
const query = (properties: Json, required: string[]): Json => ({ type: 'object', properties, required });

const fileInfo = {
  type: 'object',
  required: ['path', 'is_dir', 'file_size', 'modification_time'],
  properties: { path: { type: 'string' }, is_dir: { type: 'boolean' }, file_size: int64, modification_time: int64 },
  additionalProperties: false,
} as const;

const objectInfo = {
  type: 'object',
  required: ['object_type', 'path', 'object_id'],
  properties: {
    object_type: { enum: ['NOTEBOOK', 'DIRECTORY', 'LIBRARY', 'FILE', 'REPO', 'DASHBOARD'] },
    path: { type: 'string' },
    language: { enum: ['PYTHON', 'SCALA', 'SQL', 'R'] },
    object_id: int64,
    size: int64,
    created_at: int64,
    modified_at: int64,
    resource_id: { type: 'string' },
  },
  additionalProperties: false,
} as const;

const directoryEntry = {
  type: 'object',
  required: ['path', 'name', 'is_directory'],
  properties: {
    path: { type: 'string' }, name: { type: 'string' }, is_directory: { type: 'boolean' },
    file_size: int64, last_modified: int64,
  },
  additionalProperties: false,
} as const;

export interface StorageOperation {
  /** e.g. `DbfsPut`; used in recorded requests and error messages. */
  readonly name: string;
  readonly method: string;
  /** Exact path, or a prefix when `prefix` is true (Files API paths carry the file path). */
  readonly path: string;
  readonly prefix?: boolean;
  readonly query?: Json;
  /** JSON body schema; `raw` for the Files API upload (octet-stream). */
  readonly body?: Json | 'raw';
  /** Reply schema for a 2xx JSON reply; `none` for empty or binary replies. */
  readonly reply: Json | 'none';
}

export const STORAGE_OPERATIONS: readonly StorageOperation[] = [
  { name: 'DbfsPut', method: 'POST', path: '/api/2.0/dbfs/put', body: closed({ path: absolutePath, contents: base64, overwrite: { type: 'boolean' } }, ['path']), reply: empty },
  { name: 'DbfsCreate', method: 'POST', path: '/api/2.0/dbfs/create', body: closed({ path: absolutePath, overwrite: { type: 'boolean' } }, ['path']), reply: { type: 'object', required: ['handle'], properties: { handle: int64 }, additionalProperties: false } },
  { name: 'DbfsAddBlock', method: 'POST', path: '/api/2.0/dbfs/add-block', body: closed({ handle: int64, data: base64 }, ['handle', 'data']), reply: empty },
  { name: 'DbfsClose', method: 'POST', path: '/api/2.0/dbfs/close', body: closed({ handle: int64 }, ['handle']), reply: empty },
  { name: 'DbfsMkdirs', method: 'POST', path: '/api/2.0/dbfs/mkdirs', body: closed({ path: absolutePath }, ['path']), reply: empty },
  { name: 'DbfsDelete', method: 'POST', path: '/api/2.0/dbfs/delete', body: closed({ path: absolutePath, recursive: { type: 'boolean' } }, ['path']), reply: empty },
  { name: 'DbfsGetStatus', method: 'GET', path: '/api/2.0/dbfs/get-status', query: query({ path: absolutePath }, ['path']), reply: fileInfo },
  { name: 'DbfsList', method: 'GET', path: '/api/2.0/dbfs/list', query: query({ path: absolutePath }, ['path']), reply: { type: 'object', properties: { files: { type: 'array', items: fileInfo } }, additionalProperties: false } },
  { name: 'DbfsRead', method: 'GET', path: '/api/2.0/dbfs/read', query: query({ path: absolutePath, offset: { type: 'integer', minimum: 0 }, length: { type: 'integer', minimum: 0 } }, ['path']), reply: { type: 'object', required: ['bytes_read', 'data'], properties: { bytes_read: int64, data: base64 }, additionalProperties: false } },
  {
    name: 'WorkspaceImport', method: 'POST', path: '/api/2.0/workspace/import',
    body: closed({
      path: absolutePath,
      format: { enum: ['AUTO', 'SOURCE', 'HTML', 'JUPYTER', 'DBC', 'RAW', 'R_MARKDOWN'] },
      language: { enum: ['PYTHON', 'SCALA', 'SQL', 'R'] },
      content: base64,
      overwrite: { type: 'boolean' },
    }, ['path']),
    reply: empty,
  },
  { name: 'WorkspaceMkdirs', method: 'POST', path: '/api/2.0/workspace/mkdirs', body: closed({ path: absolutePath }, ['path']), reply: empty },
  { name: 'WorkspaceGetStatus', method: 'GET', path: '/api/2.0/workspace/get-status', query: query({ path: absolutePath }, ['path']), reply: objectInfo },
  { name: 'FilesUpload', method: 'PUT', path: '/api/2.0/fs/files/', prefix: true, query: query({ overwrite: { type: 'boolean' } }, []), body: 'raw', reply: 'none' },
  { name: 'FilesGetMetadata', method: 'HEAD', path: '/api/2.0/fs/files/', prefix: true, reply: 'none' },
  { name: 'FilesDownload', method: 'GET', path: '/api/2.0/fs/files/', prefix: true, reply: 'none' },
  { name: 'FilesCreateDirectory', method: 'PUT', path: '/api/2.0/fs/directories/', prefix: true, reply: 'none' },
  { name: 'FilesGetDirectoryMetadata', method: 'HEAD', path: '/api/2.0/fs/directories/', prefix: true, reply: 'none' },
  {
    name: 'FilesListDirectoryContents', method: 'GET', path: '/api/2.0/fs/directories/', prefix: true,
    query: query({ page_size: { type: 'integer', minimum: 1, maximum: 1000 }, page_token: { type: 'string' } }, []),
    reply: { type: 'object', required: ['contents'], properties: { contents: { type: 'array', items: directoryEntry }, next_page_token: { type: 'string' } }, additionalProperties: false },
  },
];

const errorBody = {
  type: 'object',
  required: ['error_code', 'message'],
  properties: { error_code: { type: 'string' }, message: { type: 'string' }, details: { type: 'array' } },
} as const;

const ajv = new Ajv2020({ strict: false, allErrors: true });
const coercing = new Ajv2020({ strict: false, allErrors: true, coerceTypes: true });
for (const instance of [ajv, coercing]) instance.addFormat('byte', { type: 'string', validate: isBase64 });
const cache = new Map<string, ValidateFunction>();

function compiled(key: string, schema: Json, coerce = false): ValidateFunction {
  let fn = cache.get(key);
  if (!fn) {
    fn = (coerce ? coercing : ajv).compile(schema);
    cache.set(key, fn);
  }
  return fn;
}

export function findStorageOperation(method: string, urlPath: string): StorageOperation | undefined {
  return STORAGE_OPERATIONS.find((op) =>
    op.method === method.toUpperCase() && (op.prefix ? urlPath.startsWith(op.path) : urlPath === op.path));
}

function toIssues(fn: ValidateFunction, where: ValidationIssue['where']): ValidationIssue[] {
  return (fn.errors ?? []).map((e) => {
    const params = e.params as { additionalProperty?: string; missingProperty?: string };
    const pointer = params.additionalProperty ? `${e.instancePath}/${params.additionalProperty}`
      : params.missingProperty ? `${e.instancePath}/${params.missingProperty}` : e.instancePath || '/';
    const message = params.additionalProperty ? `unknown field "${params.additionalProperty}"`
      : params.missingProperty ? `missing required field "${params.missingProperty}"` : e.message ?? 'is invalid';
    return { where, pointer: where === 'query' ? pointer.replace(/^\//, '') : pointer, message, code: e.keyword === 'type' ? 'MALFORMED_REQUEST' : 'INVALID_PARAMETER_VALUE' };
  });
}

export function validateStorageRequest(op: StorageOperation, query: Readonly<Record<string, string>>, body: unknown): ValidationIssue[] {
  const issues: ValidationIssue[] = [];
  if (op.query) {
    const fn = compiled(`q:${op.name}`, op.query, true);
    if (!fn({ ...query })) issues.push(...toIssues(fn, 'query'));
  }
  if (op.body && op.body !== 'raw') {
    if (body === undefined) {
      issues.push({ where: 'body', pointer: '/', message: 'a JSON request body is required', code: 'MALFORMED_REQUEST' });
    } else {
      const fn = compiled(`b:${op.name}`, op.body);
      if (!fn(body)) issues.push(...toIssues(fn, 'body'));
    }
  }
  return issues;
}

/** Checks a JSON reply: 2xx against the operation's reply schema, errors against the error shape. */
export function validateStorageResponse(op: StorageOperation, status: number, body: unknown): ValidationIssue[] {
  if (status >= 400) {
    if (op.method === 'HEAD') return [];
    const fn = compiled('error', errorBody);
    return fn(body) ? [] : toIssues(fn, 'response');
  }
  if (op.reply === 'none') return [];
  const fn = compiled(`r:${op.name}`, op.reply);
  return fn(body) ? [] : toIssues(fn, 'response');
}
