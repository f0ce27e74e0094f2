// NumPy's .npy format (version 1.0), written from typed arrays: the parsed-input cache the
// Python runtime memory-maps (pyspark-templates/manymodels_runtime/input_data/cache.py). A file
// is the magic string, the version, a little-endian uint16 header length, a Python dict
// literal (dtype, order, shape) padded with spaces to a 64-byte boundary, then the raw values.
import { closeSync, openSync, writeSync } from 'node:fs';

export type NpyArray = Float64Array | BigInt64Array | Int32Array | Int16Array | Int8Array;

const DESCR: Array<[new (n: number) => NpyArray, string]> = [
  [Float64Array, '<f8'],
  [BigInt64Array, '<i8'],
  [Int32Array, '<i4'],
  [Int16Array, '<i2'],
  [Int8Array, '|i1'],
];

/** numpy's dtype string for a typed array class. */
export function npyDescr(array: NpyArray): string {
  for (const [ctor, descr] of DESCR) if (array instanceof ctor) return descr;
  throw new Error('unsupported array type');
}

// Room for any row count: the header is written once the count is known, always this long.
const HEADER_BYTES = 128;

function header(descr: string, rows: number): Buffer {
  const dict = `{'descr': '${descr}', 'fortran_order': False, 'shape': (${rows},), }`;
  const pad = HEADER_BYTES - 10 - dict.length - 1;
  const out = Buffer.alloc(HEADER_BYTES);
  out.write('\x93NUMPY', 0, 'latin1');
  out[6] = 1;
  out[7] = 0;
  out.writeUInt16LE(HEADER_BYTES - 10, 8);
  out.write(`${dict}${' '.repeat(pad)}\n`, 10, 'latin1');
  return out;
}

/** One 1-d .npy file written in pieces: values are appended, the row count goes in at close. */
export class NpyWriter {
  private readonly fd: number;
  private rows = 0;
  private buffer: Buffer;
  private used = 0;

  constructor(
    readonly file: string,
    private readonly descr: string,
  ) {
    this.fd = openSync(file, 'w');
    writeSync(this.fd, Buffer.alloc(HEADER_BYTES)); // room for the header, written once the length is known
    this.buffer = Buffer.allocUnsafe(4 << 20);
  }

  /** Bytes per value of this file's dtype. */
  get itemBytes(): number {
    return Number(this.descr.slice(2));
  }

  append(values: NpyArray): void {
    this.appendBytes(new Uint8Array(values.buffer, values.byteOffset, values.byteLength), values.length);
  }

  /** `rows` values already in this file's dtype, as raw little-endian bytes. */
  appendBytes(bytes: Uint8Array, rows: number): void {
    if (bytes.length !== rows * this.itemBytes) throw new Error(`${rows} values of ${this.descr} are ${rows * this.itemBytes} bytes, not ${bytes.length}`);
    if (this.used + bytes.length > this.buffer.length) this.flush();
    if (bytes.length > this.buffer.length) writeSync(this.fd, bytes);
    else {
      this.buffer.set(bytes, this.used);
      this.used += bytes.length;
    }
    this.rows += rows;
  }

  private flush(): void {
    if (this.used) writeSync(this.fd, this.buffer, 0, this.used);
    this.used = 0;
  }

  close(): number {
    this.flush();
    writeSync(this.fd, header(this.descr, this.rows), 0, HEADER_BYTES, 0);
    closeSync(this.fd);
    return this.rows;
  }

  /** Closes the file without a valid header (an abandoned write; the entry is removed). */
  abandon(): void {
    closeSync(this.fd);
  }

}

/** A whole array as one .npy file. */
export function writeNpy(file: string, values: NpyArray): void {
  const w = new NpyWriter(file, npyDescr(values));
  w.append(values);
  w.close();
}
