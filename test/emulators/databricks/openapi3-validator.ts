// Validates Jobs API requests and replies against Databricks' published OpenAPI 3.1 document
// (JSON Schema 2020-12 via ajv), with the Jobs 2.2 overlay and the runs/submit rules applied.
import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import { Ajv2020 } from 'ajv/dist/2020.js';
import type { ErrorObject, ValidateFunction } from 'ajv';
import addFormatsModule from 'ajv-formats';
import { parse as parseYaml } from 'yaml';
import { apiSpecsRoot } from '../spec/spec-paths.js';
import { applyJobsOverlay, type OverlayNote } from './jobs-api-overlay.js';
import { checkSubmitRules } from './jobs-submit-rules.js';

type Json = Record<string, unknown>;

// ajv-formats ships CommonJS with `export default`; under NodeNext the callable sits on .default.
const addFormats = ((addFormatsModule as unknown as { default?: unknown }).default ??
  addFormatsModule) as unknown as (ajv: Ajv2020) => void;

/** One problem with a request or a reply. `code` is the Databricks error_code it maps to. */
export interface ValidationIssue {
  readonly where: 'query' | 'body' | 'response';
  /** JSON pointer into the body or the query parameter name. */
  readonly pointer: string;
  readonly message: string;
  readonly code: 'MALFORMED_REQUEST' | 'INVALID_PARAMETER_VALUE';
}

export interface JobsRequest {
  readonly method: string;
  /** URL path as sent, e.g. `/api/2.2/jobs/runs/get` (no query string). */
  readonly path: string;
  readonly query: Readonly<Record<string, string>>;
  /** Parsed JSON body, `undefined` for none. */
  readonly body: unknown;
}

export interface JobsOperation {
  readonly operationId: string;
  /** The key under `paths` in the 2.1 document, e.g. `/2.1/jobs/runs/get`. */
  readonly specPath: string;
  readonly method: string;
  /** `2.1` or `2.2`, from the request URL. */
  readonly apiVersion: '2.1' | '2.2';
}

const JOBS_DOC_ID = 'https://manymodels.invalid/databricks/jobs-2.1-azure.json';

/** Databricks' own OpenAPI 3.1 "Jobs API 2.1" for Azure (the 2023 copy, api-specs README §0). */
export const jobsOpenApiPath = (): string => join(apiSpecsRoot(), 'databricks', 'jobs-2.1-azure.yaml');

function escapePointer(segment: string): string {
  return segment.replace(/~/g, '~0').replace(/\//g, '~1');
}

function resolveLocalRef(doc: Json, value: unknown): Json {
  let current = value as Json;
  // Response and parameter objects may be `$ref`s to components (not schemas, so ajv never sees them).
  for (let hops = 0; current && typeof current.$ref === 'string' && hops < 10; hops++) {
    const pointer = (current.$ref as string).replace(/^#\//, '').split('/');
    let target: unknown = doc;
    for (const part of pointer) target = (target as Json)[part.replace(/~1/g, '/').replace(/~0/g, '~')];
    current = target as Json;
  }
  return current;
}

function issueFromAjv(error: ErrorObject, where: ValidationIssue['where']): ValidationIssue {
  let pointer = error.instancePath || '/';
  let message = error.message ?? 'is invalid';
  if (error.keyword === 'unevaluatedProperties' || error.keyword === 'additionalProperties') {
    const extra = (error.params as { unevaluatedProperty?: string; additionalProperty?: string });
    const name = extra.unevaluatedProperty ?? extra.additionalProperty ?? '?';
    pointer = `${error.instancePath}/${escapePointer(name)}`;
    message = `unknown field "${name}"`;
  } else if (error.keyword === 'required') {
    const missing = (error.params as { missingProperty: string }).missingProperty;
    pointer = `${error.instancePath}/${escapePointer(missing)}`;
    message = `missing required field "${missing}"`;
  } else if (error.keyword === 'enum') {
    message = `${message}: ${JSON.stringify((error.params as { allowedValues: unknown[] }).allowedValues)}`;
  }
  // Databricks answers a value of the wrong JSON type as unparsable, anything else as a bad value.
  const code = error.keyword === 'type' ? 'MALFORMED_REQUEST' : 'INVALID_PARAMETER_VALUE';
  return { where, pointer, message, code };
}

/** Drops the noise ajv adds around oneOf/anyOf failures so the first issue is the useful one. */
function usefulErrors(errors: readonly ErrorObject[] | null | undefined): ErrorObject[] {
  const all = [...(errors ?? [])];
  const specific = all.filter((e) => e.keyword !== 'oneOf' && e.keyword !== 'anyOf' && e.keyword !== 'if');
  return specific.length > 0 ? specific : all;
}

export class JobsApiValidator {
  readonly overlay: readonly OverlayNote[];
  private readonly doc: Json;
  private readonly ajv: Ajv2020;
  private readonly coercingAjv: Ajv2020;
  private readonly compiled = new Map<string, ValidateFunction>();

  constructor(specPath: string = jobsOpenApiPath()) {
    this.doc = parseYaml(readFileSync(specPath, 'utf8')) as Json;
    this.overlay = applyJobsOverlay(this.doc);
    this.ajv = this.newAjv(false);
    // Query strings arrive as text: a second instance coerces them to the declared types.
    this.coercingAjv = this.newAjv(true);
    this.checkComponentSchemas();
  }

  private newAjv(coerceTypes: boolean): Ajv2020 {
    const ajv = new Ajv2020({ strict: false, allErrors: true, coerceTypes, validateFormats: true });
    addFormats(ajv);
    // OpenAPI's numeric formats; int32 is range-checked because the service rejects overflow.
    ajv.addFormat('int32', { type: 'number', validate: (n: number) => Number.isInteger(n) && n >= -(2 ** 31) && n < 2 ** 31 });
    ajv.addFormat('int64', { type: 'number', validate: (n: number) => Number.isInteger(n) });
    ajv.addFormat('float', { type: 'number', validate: () => true });
    ajv.addFormat('double', { type: 'number', validate: () => true });
    // The OpenAPI document is not itself a JSON Schema; its component schemas are meta-checked below.
    ajv.addSchema(this.doc, JOBS_DOC_ID, undefined, false);
    return ajv;
  }

  /** Fails loudly at load time if the overlay left anything that is not valid JSON Schema 2020-12. */
  private checkComponentSchemas(): void {
    const schemas = (this.doc.components as Json).schemas as Json;
    const problems: string[] = [];
    for (const [name, schema] of Object.entries(schemas)) {
      if (!this.ajv.validateSchema(schema as Json)) {
        problems.push(`${name}: ${this.ajv.errorsText(this.ajv.errors)}`);
      }
    }
    if (problems.length > 0) throw new Error(`Jobs OpenAPI schemas are not valid 2020-12:\n${problems.join('\n')}`);
  }

  private compileAt(pointer: string, coerce = false): ValidateFunction {
    const key = `${coerce ? 'q' : 'b'}${pointer}`;
    let fn = this.compiled.get(key);
    if (!fn) {
      fn = (coerce ? this.coercingAjv : this.ajv).compile({ $ref: `${JOBS_DOC_ID}#${pointer}` });
      this.compiled.set(key, fn);
    }
    return fn;
  }

  /** Maps `/api/2.{1,2}/jobs/...` onto the 2.1 document (bodies are the same, README §1.1). */
  findOperation(method: string, urlPath: string): JobsOperation | undefined {
    const match = /^\/api\/(2\.[12])(\/jobs\/.+)$/.exec(urlPath);
    if (!match) return undefined;
    const apiVersion = match[1] as '2.1' | '2.2';
    const specPath = `/2.1${match[2]}`;
    const pathItem = (this.doc.paths as Json)[specPath] as Json | undefined;
    const op = pathItem?.[method.toLowerCase()] as Json | undefined;
    if (!op) return undefined;
    return { operationId: String(op.operationId), specPath, method: method.toLowerCase(), apiVersion };
  }

  private operationObject(op: JobsOperation): Json {
    return ((this.doc.paths as Json)[op.specPath] as Json)[op.method] as Json;
  }

  private opPointer(op: JobsOperation): string {
    return `/paths/${escapePointer(op.specPath)}/${op.method}`;
  }

  /** All problems with a Jobs request; empty means valid. Unknown operations are not judged here. */
  validateRequest(request: JobsRequest): ValidationIssue[] {
    const op = this.findOperation(request.method, request.path);
    if (!op) return [];
    const issues: ValidationIssue[] = [];
    const opObject = this.operationObject(op);

    const params = ((opObject.parameters ?? []) as unknown[]).map((p) => resolveLocalRef(this.doc, p));
    const queryParams = params.filter((p) => p.in === 'query');
    if (queryParams.length > 0) {
      const schema: Json = {
        type: 'object',
        properties: Object.fromEntries(queryParams.map((p) => [p.name, p.schema ?? {}])),
        required: queryParams.filter((p) => p.required === true).map((p) => p.name),
      };
      let validate = this.compiled.get(`query:${op.operationId}`);
      if (!validate) {
        validate = this.coercingAjv.compile(schema);
        this.compiled.set(`query:${op.operationId}`, validate);
      }
      const copy: Record<string, unknown> = { ...request.query };
      if (!validate(copy)) {
        for (const e of usefulErrors(validate.errors)) {
          const issue = issueFromAjv(e, 'query');
          issues.push({ ...issue, pointer: issue.pointer.replace(/^\//, '') });
        }
      }
    }

    const requestBody = opObject.requestBody ? resolveLocalRef(this.doc, opObject.requestBody) : undefined;
    if (requestBody) {
      if (request.body === undefined) {
        if (requestBody.required === true) {
          issues.push({ where: 'body', pointer: '/', message: 'a JSON request body is required', code: 'MALFORMED_REQUEST' });
        }
      } else {
        const validate = this.compileAt(`${this.opPointer(op)}/requestBody/content/application~1json/schema`);
        const schemaIssues = validate(request.body) ? [] : usefulErrors(validate.errors).map((e) => issueFromAjv(e, 'body'));
        const ruleIssues = op.operationId === 'JobsRunsSubmit' ? checkSubmitRules(request.body) : [];
        // A body of the wrong shape fails to parse before any rule runs; otherwise the rule's
        // specific message is what the service answers (e.g. job_cluster_key, not "unknown field").
        const parseFailure = schemaIssues.some((i) => i.code === 'MALFORMED_REQUEST');
        const unshadowed = schemaIssues.filter((s) => !ruleIssues.some((r) => r.pointer === s.pointer));
        issues.push(...(parseFailure ? [...schemaIssues, ...ruleIssues] : [...ruleIssues, ...unshadowed]));
      }
    }
    return issues;
  }

  /**
   * Problems with a reply the emulator (or anything else) sent for `method path`.
   * Error statuses the 2.1 document does not declare (403, 404, 429, 503) are checked against
   * its `Error` schema, the shape README §1.9 documents for every Databricks error.
   */
  validateResponse(urlPath: string, method: string, status: number, body: unknown): ValidationIssue[] {
    const op = this.findOperation(method, urlPath);
    if (!op) {
      return [{ where: 'response', pointer: '/', message: `no Jobs operation for ${method} ${urlPath}`, code: 'INVALID_PARAMETER_VALUE' }];
    }
    const responses = this.operationObject(op).responses as Json;
    const declared = responses[String(status)] ?? responses.default;
    let pointer: string;
    if (declared) {
      const response = resolveLocalRef(this.doc, declared);
      const content = response.content as Json | undefined;
      if (!content?.['application/json']) return [];
      pointer = typeof (declared as Json).$ref === 'string'
        ? `${String((declared as Json).$ref).replace(/^#/, '')}/content/application~1json/schema`
        : `${this.opPointer(op)}/responses/${status}/content/application~1json/schema`;
    } else if (status >= 400) {
      pointer = '/components/schemas/Error';
    } else {
      return [{ where: 'response', pointer: '/', message: `status ${status} is not declared for ${op.operationId}`, code: 'INVALID_PARAMETER_VALUE' }];
    }
    const validate = this.compileAt(pointer);
    if (validate(body)) return [];
    return usefulErrors(validate.errors).map((e) => issueFromAjv(e, 'response'));
  }
}

let shared: JobsApiValidator | undefined;

/** One validator per process: loading and compiling the document takes a few hundred ms. */
export function getJobsApiValidator(): JobsApiValidator {
  shared ??= new JobsApiValidator();
  return shared;
}
