// The import graph of src/: every static, re-export and dynamic import of every module, with
// the layer (the folder under src/) on each side — what the dependency-rule test checks.
import { readdirSync, readFileSync } from 'node:fs';
import path from 'node:path';

export interface ImportEdge {
  /** Path of the importing file, relative to src/. */
  from: string;
  fromLayer: string;
  /** The specifier as written. */
  specifier: string;
  /** Our own module: its layer; a package: undefined. */
  toLayer?: string;
  /** A package import: its name (`axios`, `@azure/identity`). */
  packageName?: string;
  typeOnly: boolean;
}

function sourceFiles(dir: string): string[] {
  return readdirSync(dir, { withFileTypes: true }).flatMap((e) => {
    const full = path.join(dir, e.name);
    if (e.isDirectory()) return sourceFiles(full);
    return /\.(ts|tsx)$/.test(e.name) && !e.name.endsWith('.d.ts') ? [full] : [];
  });
}

// import … from 'x' · export … from 'x' · import 'x' · import('x')
const IMPORT = /(?:^|\n)\s*(import|export)\s+(type\s+)?(?:[^'";]*?\s+from\s+)?['"]([^'"]+)['"]|import\(\s*['"]([^'"]+)['"]\s*\)/g;

export function importGraph(srcDir: string): ImportEdge[] {
  const edges: ImportEdge[] = [];
  for (const file of sourceFiles(srcDir)) {
    const rel = path.relative(srcDir, file);
    const fromLayer = rel.split(path.sep)[0]!;
    const text = readFileSync(file, 'utf8');
    for (const m of text.matchAll(IMPORT)) {
      const specifier = m[3] ?? m[4]!;
      const edge: ImportEdge = { from: rel.split(path.sep).join('/'), fromLayer, specifier, typeOnly: Boolean(m[2]) };
      if (specifier.startsWith('.')) {
        const target = path.relative(srcDir, path.resolve(path.dirname(file), specifier));
        edge.toLayer = target.split(path.sep)[0]!;
      } else if (!specifier.startsWith('node:')) {
        edge.packageName = specifier.startsWith('@') ? specifier.split('/').slice(0, 2).join('/') : specifier.split('/')[0]!;
      }
      edges.push(edge);
    }
  }
  return edges;
}
