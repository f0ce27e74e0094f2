// Replays the official x-ms-examples of a Swagger file through the validator: each example's
// request must validate and each example response must match its status's schema.
import { existsSync, readFileSync } from 'node:fs';
import { dirname, join } from 'node:path';
import type { SwaggerValidator, ValidationIssue } from './swagger-validator.js';

export interface ExampleCheck {
  operationId: string;
  example: string;
  /** Request + response issues; empty when the example conforms. */
  issues: Array<ValidationIssue & { where: string }>;
}

type Obj = Record<string, unknown>;
const isObj = (v: unknown): v is Obj => typeof v === 'object' && v !== null && !Array.isArray(v);

/** Examples referenced by the file whose example JSON is present (some are not copied). */
export function checkOfficialExamples(specFile: string, validator: SwaggerValidator, filter: (operationId: string) => boolean = () => true): ExampleCheck[] {
  const spec = JSON.parse(readFileSync(specFile, 'utf8')) as Obj;
  const out: ExampleCheck[] = [];
  for (const [template, item] of Object.entries(isObj(spec.paths) ? spec.paths : {})) {
    if (!isObj(item)) continue;
    for (const [method, op] of Object.entries(item)) {
      if (!isObj(op) || typeof op.operationId !== 'string' || !filter(op.operationId) || !isObj(op['x-ms-examples'])) continue;
      const info = validator.operation(op.operationId);
      if (!info) continue;
      for (const ref of Object.values(op['x-ms-examples'])) {
        if (!isObj(ref) || typeof ref.$ref !== 'string') continue;
        const file = join(dirname(specFile), ref.$ref);
        if (!existsSync(file)) continue;
        const example = JSON.parse(readFileSync(file, 'utf8')) as { parameters?: Obj; responses?: Record<string, { body?: unknown; headers?: Record<string, string> }> };
        const params = example.parameters ?? {};
        const path = template.replace(/\{([^}]+)\}/g, (_m, name: string) => {
          const raw = String(params[name] ?? '');
          const param = info.parameters.find((p) => p.name === name);
          return param?.raw['x-ms-skip-url-encoding'] === true ? raw : encodeURIComponent(raw);
        });
        const query = new URLSearchParams();
        const headers: Record<string, string> = {};
        let body: unknown;
        for (const param of info.parameters) {
          const value = params[param.name];
          if (value === undefined) continue;
          if (param.in === 'query') query.set(param.name, String(value));
          else if (param.in === 'header') headers[param.name] = String(value);
          else if (param.in === 'body') body = value;
        }
        const issues: ExampleCheck['issues'] = [];
        const req = validator.validateRequest({ method: method.toUpperCase(), path: `${path}?${query.toString()}`, headers, body });
        issues.push(...req.errors.map((e) => ({ ...e, where: 'request' })));
        for (const [status, response] of Object.entries(example.responses ?? {})) {
          const res = validator.validateResponse(op.operationId, Number(status), response.body, response.headers);
          issues.push(...res.errors.map((e) => ({ ...e, where: `response ${status}` })));
        }
        out.push({ operationId: op.operationId, example: ref.$ref, issues });
      }
    }
  }
  return out;
}
