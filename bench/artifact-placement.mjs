// How long placing N registered artifacts takes as hard links (the training registry) and as
// read-only copies written aside and renamed (the production registry): the figure behind
// placeArtifact in src/registry/local-registry.ts.
// Usage: node bench/artifact-placement.mjs [N=10000] [BYTES=3000]
import { chmodSync, constants, copyFileSync, linkSync, mkdirSync, mkdtempSync, renameSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import path from 'node:path';

const n = Number(process.argv[2] ?? 10_000);
const bytes = Number(process.argv[3] ?? 3000);
const root = mkdtempSync(path.join(tmpdir(), 'mm-bench-art-'));
try {
  for (const d of ['run', 'linked', 'copied']) mkdirSync(path.join(root, d));
  const payload = Buffer.alloc(bytes, 7);
  for (let i = 0; i < n; i++) writeFileSync(path.join(root, 'run', `${i}.pkl`), payload);
  const time = (work) => {
    const t = process.hrtime.bigint();
    work();
    return Number(process.hrtime.bigint() - t) / 1e9;
  };
  const linked = time(() => {
    for (let i = 0; i < n; i++) {
      const to = path.join(root, 'linked', `${i}.pkl`);
      linkSync(path.join(root, 'run', `${i}.pkl`), to);
      chmodSync(to, 0o444);
    }
  });
  const copied = time(() => {
    for (let i = 0; i < n; i++) {
      const to = path.join(root, 'copied', `${i}.pkl`);
      const tmp = `${to}.tmp`;
      copyFileSync(path.join(root, 'run', `${i}.pkl`), tmp, constants.COPYFILE_FICLONE);
      chmodSync(tmp, 0o444);
      renameSync(tmp, to);
    }
  });
  console.log(`${n.toLocaleString('en-US')} artifacts of ${bytes} bytes: hard link + chmod ${linked.toFixed(2)} s · copy + chmod + rename ${copied.toFixed(2)} s`);
} finally {
  rmSync(root, { recursive: true, force: true });
}
