// Which reader reads a local input: Parquet, folders and globs go to the embedded reader
// (DuckDB), one CSV file to the runtime's own parallel reader, unless MANYMODELS_INPUT_READER
// says otherwise. Checked over real files.
import { mkdirSync, mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { afterAll, describe, expect, it } from 'vitest';
import { inputReaderFor } from '../../src/jobs/local/input-files.js';

const root = mkdtempSync(path.join(tmpdir(), 'mm-reader-'));
afterAll(() => rmSync(root, { recursive: true, force: true }));
mkdirSync(path.join(root, 'data/parts'), { recursive: true });
for (const f of ['data/one.csv', 'data/parts/a.csv', 'data/parts/b.csv', 'data/x.parquet']) writeFileSync(path.join(root, f), 'k,v\n1,2\n');

const spec = (format: string, p: string | null) => ({ data: { format, path: p } });

describe('inputReaderFor', () => {
  it('chooses by the input when left to auto', () => {
    expect(inputReaderFor({}, spec('csv', 'data/one.csv'), root)).toBe('python');
    expect(inputReaderFor({}, spec('csv', 'data/parts'), root)).toBe('duckdb');
    expect(inputReaderFor({}, spec('csv', 'data/parts/*.csv'), root)).toBe('duckdb');
    expect(inputReaderFor({}, spec('parquet', 'data/x.parquet'), root)).toBe('duckdb');
    // A path that names nothing goes to the embedded reader, which reports it (MM410).
    expect(inputReaderFor({}, spec('csv', 'data/missing.csv'), root)).toBe('duckdb');
  });

  it('follows MANYMODELS_INPUT_READER when it names a reader', () => {
    expect(inputReaderFor({ MANYMODELS_INPUT_READER: 'duckdb' }, spec('csv', 'data/one.csv'), root)).toBe('duckdb');
    expect(inputReaderFor({ MANYMODELS_INPUT_READER: 'python' }, spec('parquet', 'data/x.parquet'), root)).toBe('python');
    expect(inputReaderFor({ MANYMODELS_INPUT_READER: 'AUTO' }, spec('csv', 'data/one.csv'), root)).toBe('python');
  });
});
