// The header and the first rows of a CSV file, read from its first few megabytes only, so
// `validate` can look at the data in milliseconds. Fields follow RFC 4180: a field may be
// quoted, a quote inside it is doubled, and a quoted field may hold the delimiter and line
// breaks; records end with LF or CRLF.
import { closeSync, openSync, readSync } from 'node:fs';
import { TextDecoder } from 'node:util';

export interface CsvDialect {
  delimiter: string;
  quote: string;
  /** A character that escapes the next one inside quotes (Spark's `escape`); none by default. */
  escape?: string;
  encoding: string;
}

export interface CsvSample {
  header: string[];
  rows: string[][];
  /** 1-based line in the file where each sampled row starts (for messages). */
  rowLines: number[];
  /** True when the whole file was read. */
  wholeFile: boolean;
}

export const SAMPLE_ROWS = 1000;
export const SAMPLE_BYTES = 4 * 1024 * 1024;

/** Reads at most `maxBytes` from the start of the file. */
function readHead(file: string, maxBytes: number): { bytes: Buffer; wholeFile: boolean } {
  const fd = openSync(file, 'r');
  try {
    const buf = Buffer.allocUnsafe(maxBytes + 1);
    let got = 0;
    while (got < buf.length) {
      const n = readSync(fd, buf, got, buf.length - got, got);
      if (n === 0) break;
      got += n;
    }
    return { bytes: buf.subarray(0, Math.min(got, maxBytes)), wholeFile: got <= maxBytes };
  } finally {
    closeSync(fd);
  }
}

export class CsvTextError extends Error {}

/**
 * Parses records until `maxRecords` or the end of the text; a record cut off by the end of a
 * partial read is dropped. Returns the records and the line each starts on.
 */
export function parseCsvRecords(text: string, dialect: CsvDialect, maxRecords: number, complete: boolean): { records: string[][]; lines: number[] } {
  const { delimiter, quote, escape } = dialect;
  const records: string[][] = [];
  const lines: number[] = [];
  let i = 0;
  let line = 1;
  const n = text.length;
  while (i < n && records.length < maxRecords) {
    const startLine = line;
    const record: string[] = [];
    let field = '';
    let ended = false;
    let cut = false;
    for (;;) {
      if (i >= n) {
        record.push(field);
        cut = !complete;
        break;
      }
      const c = text[i]!;
      if (c === quote && field === '') {
        // A quoted field: up to the closing quote; "" is one quote.
        i++;
        let closed = false;
        while (i < n) {
          const q = text[i]!;
          if (escape !== undefined && escape !== quote && q === escape && i + 1 < n) {
            field += text[i + 1];
            i += 2;
            continue;
          }
          if (q === quote) {
            if (text[i + 1] === quote) {
              field += quote;
              i += 2;
              continue;
            }
            i++;
            closed = true;
            break;
          }
          if (q === '\n') line++;
          field += q;
          i++;
        }
        if (!closed) {
          if (complete) throw new CsvTextError(`a quoted field that starts on line ${startLine} is never closed`);
          cut = true;
          break;
        }
        // Text after the closing quote and before the delimiter is kept, as readers do.
        continue;
      }
      if (c === delimiter) {
        record.push(field);
        field = '';
        i++;
        continue;
      }
      if (c === '\n' || c === '\r') {
        record.push(field);
        i += c === '\r' && text[i + 1] === '\n' ? 2 : 1;
        line++;
        ended = true;
        break;
      }
      field += c;
      i++;
    }
    if (cut) break;
    // Blank lines are not records.
    if (!(record.length === 1 && record[0] === '')) {
      records.push(record);
      lines.push(startLine);
    }
    if (!ended && i >= n) break;
  }
  return { records, lines };
}

/** The header and up to `maxRows` rows from the first `maxBytes` of a CSV file. */
export function sampleCsv(file: string, dialect: CsvDialect, maxRows = SAMPLE_ROWS, maxBytes = SAMPLE_BYTES): CsvSample {
  const { bytes, wholeFile } = readHead(file, maxBytes);
  let decoder: TextDecoder;
  try {
    decoder = new TextDecoder(dialect.encoding, { fatal: true });
  } catch {
    throw new CsvTextError(`unknown encoding "${dialect.encoding}"`);
  }
  let text: string;
  try {
    text = decoder.decode(bytes);
  } catch {
    // A multi-byte character cut by the partial read is not an encoding error; any other is.
    text = wholeFile ? '' : new TextDecoder(dialect.encoding).decode(bytes).replace(/\uFFFD+$/, '');
    if (wholeFile || text.includes('\uFFFD')) throw new CsvTextError(`it is not ${dialect.encoding} text`);
  }
  if (text.charCodeAt(0) === 0xfeff) text = text.slice(1);
  const { records, lines } = parseCsvRecords(text, dialect, maxRows + 1, wholeFile);
  const [header = [], ...rows] = records;
  return { header, rows, rowLines: lines.slice(1), wholeFile: wholeFile && rows.length < maxRows };
}
