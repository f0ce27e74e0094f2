// The two archive formats a remote run moves: the runtime package as a deterministic zip that
// Python's zipimport and zipfile accept, and the artifacts bundle, a tar Python writes (pax long
// names included) that the CLI reads back.
import { execFileSync } from 'node:child_process';
import { mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { afterAll, describe, expect, it } from 'vitest';
import { runtimePackageZip } from '../../src/jobs/remote/runtime-package.js';
import { readTar } from '../../src/jobs/remote/tar-reader.js';
import { writeZip } from '../../src/jobs/remote/zip-writer.js';

const python = process.env.MANYMODELS_PYTHON ?? 'python3';
const dir = mkdtempSync(path.join(tmpdir(), 'mm-archives-'));
afterAll(() => rmSync(dir, { recursive: true, force: true }));

const py = (code: string): string => execFileSync(python, ['-c', code], { encoding: 'utf8' }).trim();

describe('zip writer', () => {
  it('writes archives zipfile verifies, byte-identical for the same input', () => {
    const entries = [{ name: 'b/ü.txt', data: Buffer.from('ünïcode') }, { name: 'a.txt', data: Buffer.alloc(70_000, 'a') }, { name: 'empty', data: Buffer.alloc(0) }];
    const zip = writeZip(entries);
    expect(writeZip([...entries].reverse()).equals(zip)).toBe(true);
    const file = path.join(dir, 't.zip');
    writeFileSync(file, zip);
    const listing = JSON.parse(py(`import json, zipfile; z = zipfile.ZipFile(${JSON.stringify(file)}); assert z.testzip() is None; print(json.dumps({i.filename: z.read(i).decode() for i in z.infolist()}))`)) as Record<string, string>;
    expect(Object.keys(listing)).toEqual(['a.txt', 'b/ü.txt', 'empty']);
    expect(listing['b/ü.txt']).toBe('ünïcode');
    expect(listing['a.txt']).toHaveLength(70_000);
    expect(() => writeZip([{ name: '../evil', data: Buffer.alloc(1) }])).toThrow();
  });

  it('ships the runtime as a zip the entry scripts can import the package from', () => {
    const zip = runtimePackageZip();
    const file = path.join(dir, 'manymodels_runtime.zip');
    writeFileSync(file, zip);
    const out = py(`import sys; sys.path.insert(0, ${JSON.stringify(file)}); import manymodels_runtime.stages, manymodels_runtime.spark_executor as se; print(se._loaded_from_zip())`);
    expect(out).toBe(file);
  });
});

describe('tar reader', () => {
  it('reads gzipped pax and GNU tars Python writes, long names included', () => {
    const long = `artifacts/${'n'.repeat(150)}__abc.pkl`;
    for (const format of ['PAX_FORMAT', 'GNU_FORMAT', 'USTAR_FORMAT']) {
      const file = path.join(dir, `${format}.tar.gz`);
      const names = format === 'USTAR_FORMAT' ? ['artifacts/a.pkl'] : ['artifacts/a.pkl', long];
      py(`import io, tarfile
with tarfile.open(${JSON.stringify(file)}, "w:gz", format=tarfile.${format}) as tf:
    for i, name in enumerate(${JSON.stringify(names)}):
        data = bytes([i]) * (700 + i)
        info = tarfile.TarInfo(name); info.size = len(data)
        tf.addfile(info, io.BytesIO(data))`);
      const files = readTar(readFileSync(file));
      expect(files.map((f) => f.name), format).toEqual(names);
      expect(files.map((f) => f.data.length)).toEqual(names.map((_, i) => 700 + i));
    }
    expect(() => readTar(Buffer.alloc(1024, 1))).toThrow(/not a tar archive/);
  });
});
