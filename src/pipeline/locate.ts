// Maps a path into the parsed YAML (e.g. ['pipelines', 0, 'model', 'type']) back to the node
// it came from, so every diagnostic can say file:line:col. Keys can be located instead of
// values, which is what an "unknown key" diagnostic should point at. Aliases are followed, and
// a key a mapping takes from a merge (`<<: *base`) is found where the anchored block says it.
import { isAlias, isMap, isPair, isScalar, isSeq, type Document, type LineCounter, type Node } from 'yaml';

export type PathSegment = string | number;

export interface Position {
  line: number;
  column: number;
}

/** An alias stands for the node its anchor marks. */
function deref(node: unknown, doc: Document): unknown {
  return isAlias(node) ? node.resolve(doc) : node;
}

const isMergeKey = (key: unknown): boolean =>
  isScalar(key) && (key.value === '<<' || (typeof key.value === 'symbol' && key.value.description === '<<'));

function childOf(node: unknown, segment: PathSegment, doc: Document, depth = 0): { value: unknown; key: unknown } | undefined {
  if (isMap(node)) {
    const merged: unknown[] = [];
    for (const item of node.items) {
      if (!isPair(item)) continue;
      if (isMergeKey(item.key)) {
        const source = deref(item.value, doc);
        // `<<: *a` or `<<: [*a, *b]`: earlier sources win, as in the merge itself.
        if (isSeq(source)) merged.push(...source.items.map((s) => deref(s, doc)));
        else merged.push(source);
        continue;
      }
      const k = isScalar(item.key) ? item.key.value : item.key;
      if (String(k) === String(segment)) return { value: deref(item.value, doc), key: item.key };
    }
    // A key written in the mapping itself overrides the merged ones, wherever it stands.
    if (depth < 20) {
      for (const source of merged) {
        const hit = childOf(source, segment, doc, depth + 1);
        if (hit) return hit;
      }
    }
    return undefined;
  }
  if (isSeq(node) && typeof segment === 'number') {
    const v = node.items[segment];
    return v === undefined ? undefined : { value: deref(v, doc), key: undefined };
  }
  return undefined;
}

function rangeStart(node: unknown): number | undefined {
  const range = (node as Node | undefined)?.range;
  return range ? range[0] : undefined;
}

/**
 * The position of the deepest node on `path` that exists: a path that runs past the
 * document (a missing key) points at its nearest existing parent.
 */
export function locatePath(
  doc: Document,
  lineCounter: LineCounter,
  path: readonly PathSegment[],
  options: { key?: boolean } = {},
): Position {
  let node: unknown = deref(doc.contents, doc);
  let offset = rangeStart(node) ?? 0;
  for (let i = 0; i < path.length; i++) {
    const child = childOf(node, path[i]!, doc);
    if (!child) break;
    const last = i === path.length - 1;
    const target = last && options.key && child.key !== undefined ? child.key : child.value;
    const start = rangeStart(target) ?? rangeStart(child.key);
    if (start !== undefined) offset = start;
    node = child.value;
  }
  const pos = lineCounter.linePos(offset);
  return { line: pos.line, column: pos.col };
}

/** `pipelines[0].model.type` for display. */
export function formatPath(path: readonly PathSegment[]): string {
  let out = '';
  for (const seg of path) {
    if (typeof seg === 'number') out += `[${seg}]`;
    else if (/^[A-Za-z_][A-Za-z0-9_-]*$/.test(seg)) out += out ? `.${seg}` : seg;
    else out += `[${JSON.stringify(seg)}]`;
  }
  return out;
}
