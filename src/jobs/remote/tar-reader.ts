// Reads the (gzipped) tar the runtime writes to bundle a remote run's artifacts, so the CLI
// downloads one file instead of thousands: ustar headers, pax `path`/`size` records (Python's
// default format for long names) and GNU long names. Regular files only; anything else is skipped.
import { gunzipSync } from 'node:zlib';

export interface TarFile {
  name: string;
  data: Buffer;
}

const BLOCK = 512;

function field(block: Buffer, start: number, length: number): string {
  const raw = block.subarray(start, start + length);
  const nul = raw.indexOf(0);
  return raw.subarray(0, nul === -1 ? raw.length : nul).toString('utf8');
}

function octal(block: Buffer, start: number, length: number): number {
  const text = field(block, start, length).trim();
  if (!/^[0-7]*$/.test(text)) throw new Error(`not a tar archive (bad number "${text}")`);
  return text ? Number.parseInt(text, 8) : 0;
}

/** Pax records: `<len> <key>=<value>\n`, len counting the whole record. */
function paxRecords(data: Buffer): Record<string, string> {
  const out: Record<string, string> = {};
  let at = 0;
  while (at < data.length) {
    const space = data.indexOf(0x20, at);
    if (space === -1) break;
    const len = Number.parseInt(data.subarray(at, space).toString('ascii'), 10);
    if (!Number.isInteger(len) || len <= 0) break;
    const record = data.subarray(space + 1, at + len - 1).toString('utf8');
    const eq = record.indexOf('=');
    if (eq > 0) out[record.slice(0, eq)] = record.slice(eq + 1);
    at += len;
  }
  return out;
}

/** The regular files of a tar (gzipped or not), in archive order. */
export function readTar(archive: Buffer): TarFile[] {
  const bytes = archive[0] === 0x1f && archive[1] === 0x8b ? gunzipSync(archive) : archive;
  const files: TarFile[] = [];
  let at = 0;
  let pending: Record<string, string> = {};
  let longName: string | undefined;
  while (at + BLOCK <= bytes.length) {
    const header = bytes.subarray(at, at + BLOCK);
    if (header.every((b) => b === 0)) break;
    const stored = header.readUInt8(148) === 0 ? 0 : octal(header, 148, 8);
    let sum = 0;
    for (let i = 0; i < BLOCK; i++) sum += i >= 148 && i < 156 ? 0x20 : header[i]!;
    if (sum !== stored) throw new Error('not a tar archive (header checksum mismatch)');
    const type = String.fromCharCode(header[156] || 0x30);
    let size = octal(header, 124, 12);
    if (pending.size !== undefined) size = Number(pending.size);
    const body = bytes.subarray(at + BLOCK, at + BLOCK + size);
    if (body.length < size) throw new Error('tar archive is truncated');
    at += BLOCK + Math.ceil(size / BLOCK) * BLOCK;
    if (type === 'x') {
      pending = paxRecords(body);
      continue;
    }
    if (type === 'g') continue;
    if (type === 'L') {
      longName = body.toString('utf8').replace(/\0+$/, '');
      continue;
    }
    const prefix = field(header, 345, 155);
    const name = pending.path ?? longName ?? (prefix ? `${prefix}/${field(header, 0, 100)}` : field(header, 0, 100));
    pending = {};
    longName = undefined;
    if (type === '0' || type === '\0' || type === '7') files.push({ name, data: Buffer.from(body) });
  }
  return files;
}
