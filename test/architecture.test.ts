// The dependency rule of docs/architecture.md, checked over the real import graph of src/:
// cli → runs → pipeline | jobs | registry → clients; contracts and core imported by all and
// importing nothing of ours; only clients imports axios or an Azure SDK.
import path from 'node:path';
import { describe, expect, it } from 'vitest';
import { importGraph, type ImportEdge } from './helpers/import-graph.js';

const SRC = path.resolve(import.meta.dirname, '..', 'src');

/** Which layers each layer may import (itself always). */
export const ALLOWED: Record<string, readonly string[]> = {
  cli: ['runs', 'pipeline', 'contracts', 'core'],
  runs: ['pipeline', 'jobs', 'registry', 'contracts', 'core'],
  pipeline: ['contracts', 'core'],
  jobs: ['clients', 'contracts', 'core'],
  registry: ['clients', 'contracts', 'core'],
  clients: ['contracts', 'core'],
  contracts: [],
  core: [],
};

/** Packages only one layer may import. */
const PACKAGE_HOMES: Array<{ test: (name: string) => boolean; layers: readonly string[]; what: string }> = [
  { test: (n) => n === 'axios' || n.startsWith('@azure/'), layers: ['clients'], what: 'axios and the Azure SDKs' },
  { test: (n) => n === 'ink' || n === 'react' || n.startsWith('@inkjs/'), layers: ['cli'], what: 'Ink and React' },
  { test: (n) => n === 'commander', layers: ['cli'], what: 'commander' },
];

export function violations(edges: ImportEdge[]): string[] {
  const out: string[] = [];
  for (const e of edges) {
    if (e.toLayer !== undefined && e.toLayer !== e.fromLayer) {
      const allowed = ALLOWED[e.fromLayer];
      if (!allowed) out.push(`${e.from}: in an unknown layer "${e.fromLayer}" (add it to the rule)`);
      else if (!allowed.includes(e.toLayer)) out.push(`${e.from} imports ${e.specifier}: ${e.fromLayer}/ may not import ${e.toLayer}/`);
    }
    if (e.packageName) {
      for (const home of PACKAGE_HOMES) {
        if (home.test(e.packageName) && !home.layers.includes(e.fromLayer)) {
          out.push(`${e.from} imports ${e.packageName}: only ${home.layers.join(', ')}/ may import ${home.what}`);
        }
      }
    }
  }
  return out;
}

describe('dependency rule', () => {
  const edges = importGraph(SRC);

  it('sees the whole graph, dynamic imports included', () => {
    // Given the src tree, when its imports are read, then every layer shows up and the lazy
    // engine imports (import('./databricks/…')) are edges like any other.
    expect(new Set(edges.map((e) => e.fromLayer))).toEqual(new Set(Object.keys(ALLOWED)));
    expect(edges.some((e) => e.from === 'jobs/open-backend.ts' && e.specifier.includes('databricks-backend'))).toBe(true);
  });

  it('holds for every import in src/', () => {
    expect(violations(edges)).toEqual([]);
  });

  it('names the offending import when broken', () => {
    const bad: ImportEdge[] = [
      { from: 'pipeline/x.ts', fromLayer: 'pipeline', specifier: '../jobs/run-store.js', toLayer: 'jobs', typeOnly: true },
      { from: 'jobs/y.ts', fromLayer: 'jobs', specifier: '../pipeline/types.js', toLayer: 'pipeline', typeOnly: true },
      { from: 'cli/z.ts', fromLayer: 'cli', specifier: '../clients/http.js', toLayer: 'clients', typeOnly: false },
      { from: 'registry/w.ts', fromLayer: 'registry', specifier: 'axios', packageName: 'axios', typeOnly: false },
      { from: 'contracts/v.ts', fromLayer: 'contracts', specifier: '../core/errors.js', toLayer: 'core', typeOnly: false },
    ];
    expect(violations(bad)).toHaveLength(5);
  });
});
