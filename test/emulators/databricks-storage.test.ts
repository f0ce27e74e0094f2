// DBFS 2.0, Workspace import and the Files API on the emulator, over real HTTP on 127.0.0.1.
import fs from 'node:fs';
import type { AxiosInstance } from 'axios';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { emulatorClient, uploadDbfsInBlocks } from './databricks/emulator-test-client.js';
import { startDatabricksEmulator, type DatabricksEmulator } from './databricks/server.js';
import { findStorageOperation, validateStorageResponse } from './databricks/storage-api-contract.js';

const MB = 1024 * 1024;
const b64 = (b: Buffer | string): string => Buffer.from(b).toString('base64');

let emu: DatabricksEmulator;
let client: AxiosInstance;

beforeAll(async () => {
  emu = await startDatabricksEmulator();
  client = emulatorClient(emu);
});

afterAll(async () => {
  await emu.stop();
});

/** Every reply the emulator sent in this file matched the reply schemas (checked as it sent them). */
function expectRepliesValid(): void {
  expect(emu.replyProblems().map((r) => ({ op: r.operation, issues: r.replyIssues }))).toEqual([]);
}

describe('DBFS 2.0', () => {
  it('streams a file larger than one block through create/add-block/close and reads it back', async () => {
    // Given 2.5 MB of bytes
    const bytes = Buffer.alloc(Math.floor(2.5 * MB), 0);
    for (let i = 0; i < bytes.length; i++) bytes[i] = (i * 31) % 251;
    // When they are uploaded in 1 MB blocks
    const blocks = await uploadDbfsInBlocks(client, 'dbfs:/uploads/big.bin', bytes);
    // Then three blocks went through, and DBFS reports and returns the same bytes
    expect(blocks).toBe(3);
    const status = await client.get('/api/2.0/dbfs/get-status', { params: { path: '/uploads/big.bin' } });
    expect(status.status).toBe(200);
    expect(status.data).toMatchObject({ path: '/uploads/big.bin', is_dir: false, file_size: bytes.length });
    const tail = await client.get('/api/2.0/dbfs/read', { params: { path: 'dbfs:/uploads/big.bin', offset: 2 * MB, length: MB } });
    expect(tail.data.bytes_read).toBe(bytes.length - 2 * MB);
    expect(Buffer.from(tail.data.data, 'base64').equals(bytes.subarray(2 * MB))).toBe(true);
    expect(fs.readFileSync(`${emu.dbfsRoot}/uploads/big.bin`).equals(bytes)).toBe(true);
    expect(emu.storage.openHandles()).toBe(0);
  });

  it('rejects blocks over 1 MB with MAX_BLOCK_SIZE_EXCEEDED, in put and add-block', async () => {
    const exact = await client.post('/api/2.0/dbfs/put', { path: '/limits/exact.bin', contents: b64(Buffer.alloc(MB)), overwrite: true });
    expect(exact.status).toBe(200);
    const put = await client.post('/api/2.0/dbfs/put', { path: '/limits/over.bin', contents: b64(Buffer.alloc(MB + 1)) });
    expect(put.status).toBe(400);
    expect(put.data).toEqual({ error_code: 'MAX_BLOCK_SIZE_EXCEEDED', message: expect.any(String) });
    const { data: { handle } } = await client.post('/api/2.0/dbfs/create', { path: '/limits/stream.bin' });
    const add = await client.post('/api/2.0/dbfs/add-block', { handle, data: b64(Buffer.alloc(MB + 1)) });
    expect(add.data.error_code).toBe('MAX_BLOCK_SIZE_EXCEEDED');
    expect((await client.post('/api/2.0/dbfs/close', { handle })).status).toBe(200);
  });

  it('refuses to replace a file without overwrite (RESOURCE_ALREADY_EXISTS) and replaces it with overwrite', async () => {
    await client.post('/api/2.0/dbfs/put', { path: '/exists/a.txt', contents: b64('first') });
    const again = await client.post('/api/2.0/dbfs/create', { path: 'dbfs:/exists/a.txt', overwrite: false });
    expect(again.status).toBe(400);
    expect(again.data.error_code).toBe('RESOURCE_ALREADY_EXISTS');
    const put = await client.post('/api/2.0/dbfs/put', { path: '/exists/a.txt', contents: b64('second') });
    expect(put.data.error_code).toBe('RESOURCE_ALREADY_EXISTS');
    const replaced = await client.post('/api/2.0/dbfs/put', { path: '/exists/a.txt', contents: b64('third'), overwrite: true });
    expect(replaced.status).toBe(200);
    expect(fs.readFileSync(emu.localPathFor('dbfs:/exists/a.txt') as string, 'utf8')).toBe('third');
  });

  it('answers an unknown or closed handle with RESOURCE_DOES_NOT_EXIST', async () => {
    const unknown = await client.post('/api/2.0/dbfs/add-block', { handle: 987654, data: b64('x') });
    expect(unknown.status).toBe(404);
    expect(unknown.data.error_code).toBe('RESOURCE_DOES_NOT_EXIST');
    const { data: { handle } } = await client.post('/api/2.0/dbfs/create', { path: '/handles/once.txt', overwrite: true });
    await client.post('/api/2.0/dbfs/close', { handle });
    const closed = await client.post('/api/2.0/dbfs/close', { handle });
    expect(closed.data.error_code).toBe('RESOURCE_DOES_NOT_EXIST');
  });

  it('makes, lists and deletes directories with the documented errors', async () => {
    expect((await client.post('/api/2.0/dbfs/mkdirs', { path: '/tree/a/b' })).status).toBe(200);
    await client.post('/api/2.0/dbfs/put', { path: '/tree/a/file.txt', contents: b64('hi') });
    const list = await client.get('/api/2.0/dbfs/list', { params: { path: '/tree/a' } });
    expect(list.data.files.map((f: { path: string; is_dir: boolean }) => [f.path, f.is_dir])).toEqual([['/tree/a/b', true], ['/tree/a/file.txt', false]]);
    expect((await client.get('/api/2.0/dbfs/list', { params: { path: '/tree/a/b' } })).data).toEqual({});
    const notEmpty = await client.post('/api/2.0/dbfs/delete', { path: '/tree/a' });
    expect(notEmpty.data.error_code).toBe('IO_ERROR');
    expect((await client.post('/api/2.0/dbfs/delete', { path: '/tree/a', recursive: true })).status).toBe(200);
    const gone = await client.get('/api/2.0/dbfs/get-status', { params: { path: '/tree/a' } });
    expect(gone.status).toBe(404);
    expect(gone.data).toEqual({ error_code: 'RESOURCE_DOES_NOT_EXIST', message: 'No file or directory exists on path /tree/a.' });
    const tooLong = await client.get('/api/2.0/dbfs/read', { params: { path: '/limits/exact.bin', length: MB + 1 } });
    expect(tooLong.data.error_code).toBe('MAX_READ_SIZE_EXCEEDED');
  });

  it('rejects malformed DBFS requests and records them as invalid', async () => {
    const before = emu.invalidRequests().length;
    const noPath = await client.post('/api/2.0/dbfs/mkdirs', {});
    expect(noPath.status).toBe(400);
    expect(noPath.data.error_code).toBe('INVALID_PARAMETER_VALUE');
    const badBase64 = await client.post('/api/2.0/dbfs/put', { path: '/x.bin', contents: 'not base64!' });
    expect(badBase64.data.error_code).toBe('INVALID_PARAMETER_VALUE');
    const notJson = await client.post('/api/2.0/dbfs/put', 'path=/x', { headers: { 'Content-Type': 'text/plain' } });
    expect(notJson.data.error_code).toBe('MALFORMED_REQUEST');
    const invalid = emu.invalidRequests().slice(before);
    expect(invalid.map((r) => r.operation)).toEqual(['DbfsMkdirs', 'DbfsPut', 'DbfsPut']);
    expect(invalid[0]?.issues?.[0]).toMatchObject({ where: 'body', pointer: '/path' });
    // A relative path is well-formed JSON but a bad value: an API error, not a schema failure.
    const relative = await client.post('/api/2.0/dbfs/mkdirs', { path: 'relative/dir' });
    expect(relative.data.error_code).toBe('INVALID_PARAMETER_VALUE');
  });
});

describe('Workspace import', () => {
  it('imports a plain .py as a FILE with AUTO or RAW, and a notebook source as a NOTEBOOK', async () => {
    expect((await client.post('/api/2.0/workspace/mkdirs', { path: '/Users/ci@example.com/manymodels' })).status).toBe(200);
    const script = b64('import sys\nprint("hi")\n');
    expect((await client.post('/api/2.0/workspace/import', { path: '/Users/ci@example.com/manymodels/auto.py', format: 'AUTO', content: script })).status).toBe(200);
    expect((await client.post('/api/2.0/workspace/import', { path: '/Workspace/Users/ci@example.com/manymodels/raw.py', format: 'RAW', content: script })).status).toBe(200);
    const notebook = b64('# Databricks notebook source\nprint(1)\n');
    expect((await client.post('/api/2.0/workspace/import', { path: '/Users/ci@example.com/manymodels/nb.py', format: 'AUTO', content: notebook })).status).toBe(200);

    const auto = await client.get('/api/2.0/workspace/get-status', { params: { path: '/Users/ci@example.com/manymodels/auto.py' } });
    expect(auto.data).toMatchObject({ object_type: 'FILE', path: '/Users/ci@example.com/manymodels/auto.py', size: 23 });
    const raw = await client.get('/api/2.0/workspace/get-status', { params: { path: '/Users/ci@example.com/manymodels/raw.py' } });
    expect(raw.data.object_type).toBe('FILE');
    // AUTO strips the extension of what it imports as a notebook.
    const nb = await client.get('/api/2.0/workspace/get-status', { params: { path: '/Users/ci@example.com/manymodels/nb' } });
    expect(nb.data).toMatchObject({ object_type: 'NOTEBOOK', language: 'PYTHON' });
    const dir = await client.get('/api/2.0/workspace/get-status', { params: { path: '/Users/ci@example.com/manymodels' } });
    expect(dir.data.object_type).toBe('DIRECTORY');
  });

  it('returns the documented errors for SOURCE without language, a missing parent, an existing path and 10 MB', async () => {
    const content = b64('print(1)\n');
    const source = await client.post('/api/2.0/workspace/import', { path: '/Shared/s.py', content });
    expect(source.data.error_code).toBe('INVALID_PARAMETER_VALUE');
    const orphan = await client.post('/api/2.0/workspace/import', { path: '/Shared/no/such/dir/x.py', format: 'AUTO', content });
    expect(orphan.status).toBe(404);
    expect(orphan.data.error_code).toBe('RESOURCE_DOES_NOT_EXIST');
    await client.post('/api/2.0/workspace/import', { path: '/Shared/once.py', format: 'RAW', content });
    const twice = await client.post('/api/2.0/workspace/import', { path: '/Shared/once.py', format: 'RAW', content });
    expect(twice.data.error_code).toBe('RESOURCE_ALREADY_EXISTS');
    expect((await client.post('/api/2.0/workspace/import', { path: '/Shared/once.py', format: 'RAW', content, overwrite: true })).status).toBe(200);
    const huge = await client.post('/api/2.0/workspace/import', { path: '/Shared/huge.py', format: 'RAW', content: b64(Buffer.alloc(10 * MB + 1)) });
    expect(huge.data.error_code).toBe('MAX_NOTEBOOK_SIZE_EXCEEDED');
    const missing = await client.get('/api/2.0/workspace/get-status', { params: { path: '/Shared/nothing' } });
    expect(missing.data.error_code).toBe('RESOURCE_DOES_NOT_EXIST');
  });
});

describe('Files API (Unity Catalog volumes)', () => {
  const filePath = '/api/2.0/fs/files/Volumes/main/manymodels/artifacts/run%201/model.bin';

  it('uploads raw bytes, reports metadata with HEAD and downloads them with GET', async () => {
    const bytes = Buffer.from('pickled model bytes');
    const put = await client.put(filePath, bytes, { headers: { 'Content-Type': 'application/octet-stream' } });
    expect(put.status).toBe(204);
    const head = await client.head(filePath);
    expect(head.status).toBe(200);
    expect(head.headers['content-length']).toBe(String(bytes.length));
    expect(new Date(String(head.headers['last-modified'])).getTime()).toBeGreaterThan(0);
    const got = await client.get(filePath, { responseType: 'arraybuffer' });
    expect(Buffer.from(got.data as ArrayBuffer).equals(bytes)).toBe(true);
    expect(fs.readFileSync(emu.localPathFor('/Volumes/main/manymodels/artifacts/run 1/model.bin') as string).equals(bytes)).toBe(true);
    expect(emu.requests.find((r) => r.operation === 'FilesUpload')?.body).toEqual({ rawBytes: bytes.length });
  });

  it('refuses overwrite=false on an existing file and 404s what is not there', async () => {
    const refused = await client.put(`${filePath}?overwrite=false`, Buffer.from('x'), { headers: { 'Content-Type': 'application/octet-stream' } });
    expect(refused.status).toBe(409);
    expect(refused.data.error_code).toBe('ALREADY_EXISTS');
    expect((await client.head('/api/2.0/fs/files/Volumes/main/manymodels/artifacts/none.bin')).status).toBe(404);
    const notVolume = await client.put('/api/2.0/fs/files/tmp/x.bin', Buffer.from('x'), { headers: { 'Content-Type': 'application/octet-stream' } });
    expect(notVolume.data.error_code).toBe('INVALID_PARAMETER_VALUE');
  });

  it('creates, checks and lists directories', async () => {
    expect((await client.put('/api/2.0/fs/directories/Volumes/main/manymodels/artifacts/empty')).status).toBe(204);
    expect((await client.head('/api/2.0/fs/directories/Volumes/main/manymodels/artifacts/empty')).status).toBe(200);
    const list = await client.get('/api/2.0/fs/directories/Volumes/main/manymodels/artifacts');
    expect(list.data.contents.map((e: { name: string; is_directory: boolean }) => [e.name, e.is_directory])).toEqual([['empty', true], ['run 1', true]]);
    expect((await client.get('/api/2.0/fs/directories/Volumes/main/manymodels/nothing')).status).toBe(404);
  });
});

describe('storage replies', () => {
  it('matched their definitions for every request above', () => {
    expect(emu.requests.length).toBeGreaterThan(40);
    expectRepliesValid();
  });

  it('the reply check itself catches a reply of the wrong shape', () => {
    const op = findStorageOperation('GET', '/api/2.0/dbfs/get-status');
    expect(op).toBeDefined();
    if (!op) return;
    expect(validateStorageResponse(op, 200, { path: '/x', is_dir: 'no' })).not.toEqual([]);
    expect(validateStorageResponse(op, 404, { error: 'legacy' })).not.toEqual([]);
  });
});
