// Where manymodels itself is installed: the folder with its package.json, found from this
// module's own location so it works from src/ (tests) and dist/ (the bin) alike.
import { existsSync } from 'node:fs';
import path from 'node:path';
import { fileURLToPath } from 'node:url';

let cached: string | undefined;

export function packageRoot(): string {
  if (cached) return cached;
  let dir = path.dirname(fileURLToPath(import.meta.url));
  while (!existsSync(path.join(dir, 'package.json')) || !existsSync(path.join(dir, 'pyspark-templates'))) {
    const parent = path.dirname(dir);
    if (parent === dir) throw new Error('cannot find the manymodels package root (package.json beside pyspark-templates/)');
    dir = parent;
  }
  cached = dir;
  return dir;
}

export function runtimeDir(): string {
  return path.join(packageRoot(), 'pyspark-templates');
}
