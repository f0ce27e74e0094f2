// Resolves ${var.NAME} and ${env.NAME} references. A scalar that is exactly one reference
// takes the variable's type (so `horizon: ${var.horizon}` stays a number); a reference inside
// a longer string is substituted as text. `$${` escapes a literal `${`.
import type { Diagnostic } from '../core/diagnostics.js';
import { didYouMean } from '../core/diagnostics.js';
import { formatPath, type PathSegment } from './locate.js';

export type Scalar = string | number | boolean;

export interface InterpolationInput {
  raw: Record<string, unknown>;
  selectedTarget: string | undefined;
  cliVars: Record<string, string>;
  env: Record<string, string | undefined>;
  /** Turns a path into a diagnostic position. */
  at: (path: readonly PathSegment[], options?: { key?: boolean }) => { file: string; line: number; column: number };
}

const REFERENCE = /\$\$\{|\$\{([^}]*)\}/g;
const WHOLE_REFERENCE = /^\$\{(var|env)\.([A-Za-z_][A-Za-z0-9_]*)\}$/;
const REF_BODY = /^(var|env)\.([A-Za-z_][A-Za-z0-9_]*)$/;

function isRecord(v: unknown): v is Record<string, unknown> {
  return typeof v === 'object' && v !== null && !Array.isArray(v);
}

function isScalar(v: unknown): v is Scalar {
  return typeof v === 'string' || typeof v === 'number' || typeof v === 'boolean';
}

/** Parses `--var` values: numbers and booleans as such, the rest as strings. */
function parseCliValue(text: string): Scalar {
  // Only text that reads back the same is a number: "007" and "1.50" stay strings.
  if (/^-?\d+(\.\d+)?$/.test(text) && String(Number(text)) === text) return Number(text);
  if (text === 'true' || text === 'false') return text === 'true';
  return text;
}

export function interpolateFile(input: InterpolationInput): { value: Record<string, unknown>; diagnostics: Diagnostic[] } {
  const diagnostics: Diagnostic[] = [];
  const report = (code: string, message: string, path: readonly PathSegment[], hint?: string, key = false): void => {
    const d: Diagnostic = { code, severity: 'error', message, path: formatPath(path), ...input.at(path, { key }) };
    if (hint) d.hint = hint;
    diagnostics.push(d);
  };

  // 1. Variable values: declared default < the selected target's variables < --var.
  const declared = isRecord(input.raw.variables) ? input.raw.variables : {};
  const values = new Map<string, { value: Scalar; path: PathSegment[] }>();
  for (const [name, spec] of Object.entries(declared)) {
    if (isScalar(spec)) values.set(name, { value: spec, path: ['variables', name] });
    else if (isRecord(spec) && isScalar(spec.default)) values.set(name, { value: spec.default, path: ['variables', name, 'default'] });
  }
  const targets = isRecord(input.raw.targets) ? input.raw.targets : {};
  const selected = input.selectedTarget !== undefined ? targets[input.selectedTarget] : undefined;
  if (isRecord(selected) && isRecord(selected.variables)) {
    for (const [name, value] of Object.entries(selected.variables)) {
      const path: PathSegment[] = ['targets', input.selectedTarget!, 'variables', name];
      if (!(name in declared)) {
        const guess = didYouMean(name, Object.keys(declared));
        report('MM305', `target sets variable "${name}", which is not declared under variables`, path, guess ? `Did you mean "${guess}"?` : 'Declare it under the top-level variables.', true);
      } else if (isScalar(value)) values.set(name, { value, path });
    }
  }
  for (const [name, text] of Object.entries(input.cliVars)) {
    if (!(name in declared)) {
      const guess = didYouMean(name, Object.keys(declared));
      diagnostics.push({
        code: 'MM305',
        severity: 'error',
        message: `--var ${name}=… sets a variable that is not declared under variables`,
        path: 'variables',
        ...input.at(['variables'], { key: true }),
        hint: guess ? `Did you mean "${guess}"?` : `Declared: ${Object.keys(declared).join(', ') || 'none'}.`,
      });
    } else values.set(name, { value: parseCliValue(text), path: ['variables', name] });
  }

  // Variables may use ${env.X} in their values (not other variables: no cycles to chase).
  const resolveEnv = (name: string, path: readonly PathSegment[], strict: boolean): string | undefined => {
    const v = input.env[name];
    if (v === undefined && strict) {
      report('MM317', `environment variable ${name} is not set`, path, `Set ${name} in the environment, or use a variable with a default.`);
    }
    return v;
  };

  const substitute = (text: string, path: readonly PathSegment[], strictEnv: boolean): unknown => {
    const whole = WHOLE_REFERENCE.exec(text);
    if (whole) {
      const [, ns, name] = whole;
      if (ns === 'var') {
        const v = lookupVar(name!, path);
        return v === undefined ? text : v;
      }
      const e = resolveEnv(name!, path, strictEnv);
      return e === undefined ? text : e;
    }
    if (!text.includes('${')) return text;
    return text.replace(REFERENCE, (match, body: string | undefined) => {
      if (match === '$${') return '${';
      const ref = REF_BODY.exec(body ?? '');
      if (!ref) {
        report('MM305', `"${match}" is not a reference manymodels understands`, path, 'Use ${var.NAME} or ${env.NAME}; write $${ for a literal ${.');
        return match;
      }
      const [, ns, name] = ref;
      if (ns === 'var') {
        const v = lookupVar(name!, path);
        return v === undefined ? match : String(v);
      }
      const e = resolveEnv(name!, path, strictEnv);
      return e === undefined ? match : e;
    });
  };

  const resolvedVars = new Map<string, Scalar>();
  const lookupVar = (name: string, path: readonly PathSegment[]): Scalar | undefined => {
    const hit = resolvedVars.get(name);
    if (hit !== undefined) return hit;
    const entry = values.get(name);
    if (!entry) {
      const guess = didYouMean(name, Object.keys(declared));
      report(
        'MM305',
        name in declared ? `variable "${name}" has no value` : `undefined variable "${name}"`,
        path,
        name in declared ? `Give it a default, set it in the target, or pass --var ${name}=VALUE.` : guess ? `Did you mean "${guess}"?` : 'Declare it under the top-level variables.',
      );
      return undefined;
    }
    let value = entry.value;
    if (typeof value === 'string' && value.includes('${')) {
      // Only env references are allowed inside variable values.
      value = String(
        value.replace(REFERENCE, (match, body: string | undefined) => {
          if (match === '$${') return '${';
          const ref = REF_BODY.exec(body ?? '');
          if (ref && ref[1] === 'env') return resolveEnv(ref[2]!, entry.path, true) ?? match;
          report('MM305', `variable values may reference \${env.NAME} only, not "${match}"`, entry.path);
          return match;
        }),
      );
    }
    resolvedVars.set(name, value);
    return value;
  };

  // 2. Walk targets and pipelines. An unset env var is an error only where it will be used:
  // the selected target and the pipelines; other targets keep the reference as written.
  const walk = (node: unknown, path: PathSegment[], strictEnv: boolean): unknown => {
    if (typeof node === 'string') return substitute(node, path, strictEnv);
    if (Array.isArray(node)) return node.map((item, i) => walk(item, [...path, i], strictEnv));
    if (isRecord(node)) {
      const out: Record<string, unknown> = {};
      for (const [k, v] of Object.entries(node)) {
        if (path.length === 2 && path[0] === 'targets' && k === 'variables') out[k] = v;
        else out[k] = walk(v, [...path, k], strictEnv);
      }
      return out;
    }
    return node;
  };

  const out: Record<string, unknown> = { ...input.raw };
  if (isRecord(input.raw.targets)) {
    const t: Record<string, unknown> = {};
    for (const [name, body] of Object.entries(input.raw.targets)) t[name] = walk(body, ['targets', name], name === input.selectedTarget);
    out.targets = t;
  }
  if ('pipelines' in input.raw) out.pipelines = walk(input.raw.pipelines, ['pipelines'], true);
  return { value: out, diagnostics };
}
