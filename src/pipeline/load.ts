// Reads pipelines.yaml from disk and parses it, refusing early what cannot be a config file
// (missing, a directory, too large, binary, empty) and keeping the Document and LineCounter
// so every later diagnostic can point at file:line:col.
import { readFileSync, statSync } from 'node:fs';
import path from 'node:path';
import { LineCounter, parseDocument, visit, type Document, type Node } from 'yaml';
import type { Diagnostic } from '../core/diagnostics.js';

/** A pipelines.yaml is a few kilobytes; anything past this is a mistake, not a config. */
export const MAX_FILE_BYTES = 1024 * 1024;
/** Alias expansions allowed when converting to plain data: stops "billion laughs" files. */
const MAX_ALIAS_COUNT = 200;

export interface LoadedFile {
  /** Path as shown to users: relative to the cwd when inside it. */
  displayPath: string;
  absolutePath: string;
  /** Folder holding the file: relative paths in the file are relative to it. */
  projectRoot: string;
  text: string;
  doc: Document;
  lineCounter: LineCounter;
  /** The file as plain data (aliases expanded); undefined when it could not be built. */
  raw: unknown;
}

export type LoadResult = { ok: true; file: LoadedFile; diagnostics: Diagnostic[] } | { ok: false; diagnostics: Diagnostic[] };

export function displayPathFor(absolutePath: string, cwd: string): string {
  const rel = path.relative(cwd, absolutePath);
  return rel && !rel.startsWith('..') && !path.isAbsolute(rel) ? rel : absolutePath;
}

function fileProblem(code: string, message: string, file: string, hint?: string): LoadResult {
  const d: Diagnostic = { code, severity: 'error', message, path: '', file, line: 0, column: 0 };
  if (hint) d.hint = hint;
  return { ok: false, diagnostics: [d] };
}

/** The first alias that refers to one of its own ancestors, with where it is. */
function recursiveAlias(doc: Document): { name: string; offset: number } | undefined {
  let found: { name: string; offset: number } | undefined;
  visit(doc, {
    Alias(_key, node, ancestors) {
      const target = node.resolve(doc);
      if (target && ancestors.includes(target as Node)) {
        found = { name: node.source, offset: node.range?.[0] ?? 0 };
        return visit.BREAK;
      }
      return undefined;
    },
  });
  return found;
}

export function loadPipelineFile(filePath: string, cwd: string): LoadResult {
  const absolutePath = path.resolve(cwd, filePath);
  const shown = displayPathFor(absolutePath, cwd);
  let size: number;
  try {
    const st = statSync(absolutePath);
    if (st.isDirectory()) {
      return fileProblem('MM101', `"${shown}" is a directory, not a pipelines file`, shown, `Pass the file inside it, e.g. ${path.join(shown, 'pipelines.yaml')}.`);
    }
    if (!st.isFile()) return fileProblem('MM101', `"${shown}" is not a regular file`, shown);
    size = st.size;
  } catch {
    return fileProblem('MM100', `file "${shown}" does not exist`, shown, 'Check the path, or run from the folder that holds pipelines.yaml.');
  }
  if (size > MAX_FILE_BYTES) {
    return fileProblem('MM102', `"${shown}" is ${(size / 1024 / 1024).toFixed(1)} MB; a pipelines file is at most 1 MB`, shown, 'Is this a data file? Point manymodels at the YAML configuration instead.');
  }
  const bytes = readFileSync(absolutePath);
  if (bytes.includes(0)) {
    return fileProblem('MM103', `"${shown}" is a binary file, not YAML`, shown);
  }
  let text: string;
  try {
    text = new TextDecoder('utf-8', { fatal: true }).decode(bytes);
  } catch {
    return fileProblem('MM103', `"${shown}" is not valid UTF-8 text`, shown, 'Save the file as UTF-8.');
  }
  const lineCounter = new LineCounter();
  // merge: YAML 1.1 merge keys (`<<: *base`), so pipelines can share a block and override parts of it.
  const doc = parseDocument(text, { lineCounter, prettyErrors: false, uniqueKeys: true, strict: true, merge: true });
  const diagnostics: Diagnostic[] = [];
  // One syntax error usually sets off a cascade of follow-on ones: the first is the one to fix.
  const first = doc.errors[0];
  if (first) {
    const pos = lineCounter.linePos(first.pos[0]);
    const duplicate = first.code === 'DUPLICATE_KEY';
    const more = doc.errors.length - 1;
    const d: Diagnostic = {
      code: duplicate ? 'MM108' : 'MM105',
      severity: 'error',
      message: duplicate
        ? `duplicate key "${/^[^:\n]*/.exec(text.slice(first.pos[0]))![0].trim()}": each key may appear once in a mapping`
        : `YAML syntax error: ${first.message.split('\n')[0]}`,
      path: '',
      file: shown,
      line: pos.line,
      column: pos.col,
    };
    if (more > 0 && !duplicate) d.hint = `Fix this first; the parser reported ${more} more problem${more === 1 ? '' : 's'} that may follow from it.`;
    diagnostics.push(d);
  }
  if (diagnostics.length) return { ok: false, diagnostics };
  if (doc.contents === null) {
    return fileProblem('MM104', `"${shown}" is empty`, shown, 'A minimal file needs a pipelines list: see docs/pipelines-yaml.md.');
  }
  // An alias inside the node it names (`pipelines: &a` / `- name: *a`) makes a cyclic value
  // that every later step would walk until the stack overflows: refuse it here, at the alias.
  const recursive = recursiveAlias(doc);
  if (recursive) {
    const pos = lineCounter.linePos(recursive.offset);
    return {
      ok: false,
      diagnostics: [
        {
          code: 'MM109',
          severity: 'error',
          message: `recursive alias *${recursive.name}: it is used inside the node its anchor &${recursive.name} marks`,
          path: '',
          file: shown,
          line: pos.line,
          column: pos.col,
          hint: 'An alias must refer to a node outside itself; copy the values instead, or anchor a smaller node.',
        },
      ],
    };
  }
  let raw: unknown;
  try {
    raw = doc.toJS({ maxAliasCount: MAX_ALIAS_COUNT });
  } catch (err) {
    const message = err instanceof Error ? err.message : String(err);
    if (/alias/i.test(message)) {
      return fileProblem('MM106', 'too many alias expansions: the file expands to an unreasonable size', shown, 'Use fewer YAML aliases (*name); anchors are expanded into every place they are used.');
    }
    return fileProblem('MM105', `YAML could not be read: ${message}`, shown);
  }
  const file: LoadedFile = {
    displayPath: shown,
    absolutePath,
    projectRoot: path.dirname(absolutePath),
    text,
    doc,
    lineCounter,
    raw,
  };
  if (raw === null || typeof raw !== 'object' || Array.isArray(raw)) {
    const pos = lineCounter.linePos(doc.contents?.range[0] ?? 0);
    return {
      ok: false,
      diagnostics: [
        {
          code: 'MM107',
          severity: 'error',
          message: 'the top level of a pipelines file must be a mapping with a "pipelines" key',
          path: '',
          file: shown,
          line: pos.line,
          column: pos.col,
        },
      ],
    };
  }
  return { ok: true, file, diagnostics: [] };
}
