// Checks the interpolated file against the JSON Schema and turns ajv's errors into
// diagnostics with stable codes, positions and did-you-mean hints.
import type { ErrorObject } from 'ajv';
import type { Diagnostic } from '../core/diagnostics.js';
import { didYouMean, expectedOneOf } from '../core/diagnostics.js';
import { formatPath, type PathSegment } from './locate.js';
import generatedValidator from './schema-validator.generated.js';

// Compiled ahead of time from schema.ts by scripts/generate.mjs (npm run generate): compiling
// the schema at start-up would cost ~70 ms of every command.
interface Validate {
  (data: unknown): boolean;
  errors?: ErrorObject[] | null;
}
const validator = (): Validate => generatedValidator as unknown as Validate;

function instancePath(pointer: string, data: unknown): PathSegment[] {
  if (!pointer) return [];
  const segments: PathSegment[] = [];
  let node: unknown = data;
  for (const raw of pointer.slice(1).split('/')) {
    const seg = raw.replace(/~1/g, '/').replace(/~0/g, '~');
    const seq = Array.isArray(node);
    const key: PathSegment = seq && /^\d+$/.test(seg) ? Number(seg) : seg;
    segments.push(key);
    node = node !== null && typeof node === 'object' ? (node as Record<string, unknown>)[String(key)] : undefined;
  }
  return segments;
}

function typeName(v: unknown): string {
  if (v === null) return 'null';
  if (Array.isArray(v)) return 'a list';
  if (typeof v === 'object') return 'a mapping';
  if (typeof v === 'string') return `the string "${v.length > 40 ? `${v.slice(0, 40)}…` : v}"`;
  return `${typeof v} ${String(v)}`;
}

/** `model type`, `metric`, `engine`: what a value at this path is called in a message. */
function fieldLabel(path: readonly PathSegment[]): string {
  const last = path[path.length - 1];
  const parent = path.length > 1 ? path[path.length - 2] : undefined;
  if (typeof last === 'number' && typeof parent === 'string') return parent.replace(/s$/, '');
  if (last === 'type' && typeof parent === 'string') return `${parent.replace(/_/g, ' ')} type`;
  return typeof last === 'string' ? last.replace(/_/g, ' ') : 'value';
}

function describeType(t: unknown): string {
  const names: Record<string, string> = { object: 'a mapping', array: 'a list', string: 'a string', integer: 'an integer', number: 'a number', boolean: 'true or false' };
  const list = Array.isArray(t) ? t : [t];
  return list.map((x) => names[String(x)] ?? String(x)).join(' or ');
}

export function validateAgainstSchema(
  data: unknown,
  at: (path: readonly PathSegment[], options?: { key?: boolean }) => { file: string; line: number; column: number },
): Diagnostic[] {
  const validate = validator();
  if (validate(data)) return [];
  const errors = (validate.errors ?? []) as ErrorObject[];
  // Errors inside oneOf branches say nothing useful on their own; the oneOf error speaks for them.
  // So do those of anyOf branches (time: column or parts).
  const oneOfPaths = errors.filter((e) => e.keyword === 'oneOf' || e.keyword === 'anyOf').map((e) => e.schemaPath);
  const diagnostics: Diagnostic[] = [];
  const seen = new Set<string>();
  for (const e of errors) {
    if (e.keyword !== 'oneOf' && e.keyword !== 'anyOf' && oneOfPaths.some((p) => e.schemaPath.startsWith(`${p}/`))) continue;
    const path = instancePath(e.instancePath, data);
    let code = 'MM202';
    let message = e.message ?? 'is not valid';
    let hint: string | undefined;
    let diagPath = path;
    let key = false;
    switch (e.keyword) {
      case 'additionalProperties': {
        const extra = String((e.params as { additionalProperty: string }).additionalProperty);
        const allowed = Object.keys(((e.parentSchema as { properties?: object } | undefined)?.properties ?? {}) as object);
        diagPath = [...path, extra];
        key = true;
        code = 'MM203';
        message = `unknown key "${extra}"`;
        const guess = didYouMean(extra, allowed);
        hint = allowed.length ? `Allowed keys: ${allowed.join(', ')}.${guess ? ` Did you mean "${guess}"?` : ''}` : undefined;
        break;
      }
      case 'required': {
        const missing = String((e.params as { missingProperty: string }).missingProperty);
        code = 'MM204';
        message = `missing required key "${missing}"${path.length ? ` in ${formatPath(path)}` : ''}`;
        break;
      }
      case 'enum':
      case 'const': {
        code = 'MM201';
        const allowed = e.keyword === 'enum' ? ((e.params as { allowedValues: unknown[] }).allowedValues.map(String)) : [String((e.params as { allowedValue: unknown }).allowedValue)];
        message = `unknown ${fieldLabel(path)} ${typeof e.data === 'string' ? `"${e.data}"` : typeName(e.data)}`;
        hint = expectedOneOf(e.data, allowed);
        break;
      }
      case 'type':
        code = 'MM202';
        message = `expected ${describeType((e.params as { type: unknown }).type)}, got ${typeName(e.data)}`;
        break;
      case 'anyOf': {
        // Branches that each require one key: one of those keys is missing.
        const branches = ((e.parentSchema as { anyOf?: Array<{ required?: string[] }> } | undefined)?.anyOf ?? []).map((b) => b.required ?? []);
        if (branches.length && branches.every((b) => b.length === 1)) {
          code = 'MM204';
          message = `missing required key ${branches.map((b) => `"${b[0]}"`).join(' or ')}${path.length ? ` in ${formatPath(path)}` : ''}`;
        }
        break;
      }
      case 'oneOf':
        code = 'MM202';
        message = `${typeName(e.data)} is not a valid value here`;
        hint = (e.parentSchema as { description?: string } | undefined)?.description;
        break;
      case 'minimum':
      case 'maximum':
      case 'exclusiveMinimum':
      case 'exclusiveMaximum':
        code = 'MM205';
        message = `${String(e.data)} is out of range: must be ${e.message?.replace(/^must be /, '')}`;
        break;
      case 'pattern':
        code = 'MM206';
        message = `${typeName(e.data)} has the wrong form`;
        hint = (e.parentSchema as { description?: string } | undefined)?.description ?? `It must match ${String((e.params as { pattern: string }).pattern)}.`;
        break;
      case 'propertyNames':
        continue; // reported through the pattern error on the name itself
      case 'minItems':
      case 'maxItems':
      case 'uniqueItems':
      case 'minLength':
      case 'maxLength':
        code = 'MM207';
        message = e.keyword === 'uniqueItems' ? 'list has duplicate items' : `${e.message ?? 'wrong size'}`;
        break;
      default:
        break;
    }
    if (e.propertyName !== undefined) {
      diagPath = [...path, e.propertyName];
      key = true;
      code = 'MM206';
      message = `name "${e.propertyName}" has the wrong form`;
      hint = 'Target names use lower-case letters, digits, _ and -; variable names letters, digits and _.';
    }
    const d: Diagnostic = { code, severity: 'error', message, path: formatPath(diagPath), ...at(diagPath, { key }) };
    if (hint) d.hint = hint;
    const id = `${d.code}|${d.path}|${d.message}`;
    if (seen.has(id)) continue;
    seen.add(id);
    diagnostics.push(d);
  }
  return diagnostics;
}
