// What the Synapse emulator accepts and promises: sparkJob.json (2020-12-01) through the shared
// Swagger validator, with the livyApiVersion overlay and the emulator's few extra request rules.
import { readFileSync } from 'node:fs';
import { synapseSparkSpec } from '../spec/spec-paths.js';
import { loadSwaggerValidator, type OperationInfo, type SwaggerValidator, type ValidationIssue } from '../spec/swagger-validator.js';

/**
 * The overlay: `livyApiVersion` is a free string in sparkJob.json. `2019-11-01-preview` is its
 * `x-ms-client-default` and what @azure/synapse-spark 1.0.0-beta.4 sends
 * (`options.livyApiVersion || "2019-11-01-preview"`); the Get/List examples use `2020-12-01`.
 * Both are accepted, anything else is rejected.
 */
export const LIVY_API_VERSIONS = ['2019-11-01-preview', '2020-12-01'] as const;
export type LivyApiVersion = (typeof LIVY_API_VERSIONS)[number];

/** sparkJob.json: "By default it is 20 and that is the maximum." */
export const MAX_LIST_SIZE = 20;

/** The four batch operations the emulator serves; the session/statement ones answer 501. */
export const BATCH_OPERATIONS = [
  'SparkBatch_GetSparkBatchJobs',
  'SparkBatch_CreateSparkBatchJob',
  'SparkBatch_GetSparkBatchJob',
  'SparkBatch_CancelSparkBatchJob',
] as const;
export type BatchOperation = (typeof BATCH_OPERATIONS)[number];

export const isBatchOperation = (id: string | undefined): id is BatchOperation =>
  (BATCH_OPERATIONS as readonly string[]).includes(id ?? '');

export interface CheckedRequest {
  /** Undefined when no operation has this path (or this method on it). */
  readonly operation: OperationInfo | undefined;
  /** The path exists in the definition, but not for this method. */
  readonly methodNotAllowed: boolean;
  readonly pathParams: Readonly<Record<string, string>>;
  readonly issues: readonly ValidationIssue[];
}

type Json = Record<string, unknown>;

export class LivyContract {
  private constructor(
    readonly validator: SwaggerValidator,
    /** Wire names of SparkBatchJobOptions, read from the definition itself. */
    readonly batchOptionFields: readonly string[],
  ) {}

  static async load(): Promise<LivyContract> {
    const file = synapseSparkSpec();
    const validator = await loadSwaggerValidator(file, { paramValues: { livyApiVersion: [...LIVY_API_VERSIONS] } });
    const doc = JSON.parse(readFileSync(file, 'utf8')) as { definitions: Record<string, { properties?: Json }> };
    const fields = Object.keys(doc.definitions.SparkBatchJobOptions?.properties ?? {});
    if (fields.length === 0) throw new Error(`${file} has no SparkBatchJobOptions properties`);
    return new LivyContract(validator, fields);
  }

  checkRequest(method: string, urlPath: string, query: Readonly<Record<string, string>>, body: unknown): CheckedRequest {
    const found = this.validator.findOperation(method, urlPath);
    if (!found.operation) return { operation: undefined, methodNotAllowed: found.pathMatched, pathParams: {}, issues: [] };
    const checked = this.validator.validateRequest({ method, path: urlPath, query: { ...query }, body });
    const issues = [...checked.errors, ...this.emulatorRules(found.operation.operationId, query, body)];
    return { operation: found.operation, methodNotAllowed: false, pathParams: found.pathParams, issues };
  }

  /**
   * Rules beyond the definition, each an emulator choice:
   * - the create body is closed: sparkJob.json leaves SparkBatchJobOptions open, so a misspelt
   *   or JS-side name (`pythonFiles`, `arguments`, `executorCount`) would otherwise be dropped
   *   silently and the job would run without it;
   * - `from` and `size` of the list may not be negative (Livy would fail slicing).
   */
  private emulatorRules(operationId: string, query: Readonly<Record<string, string>>, body: unknown): ValidationIssue[] {
    const issues: ValidationIssue[] = [];
    if (operationId === 'SparkBatch_CreateSparkBatchJob' && typeof body === 'object' && body !== null && !Array.isArray(body)) {
      for (const key of Object.keys(body)) {
        if (!this.batchOptionFields.includes(key)) {
          issues.push({ in: 'body', name: `/${key}`, keyword: 'additionalProperties', message: `Unrecognized field "${key}" in SparkBatchJobOptions; known fields: ${this.batchOptionFields.join(', ')}` });
        }
      }
    }
    if (operationId === 'SparkBatch_GetSparkBatchJobs') {
      for (const name of ['from', 'size']) {
        const value = query[name];
        if (value !== undefined && /^-\d+$/.test(value)) {
          issues.push({ in: 'query', name, keyword: 'minimum', message: `query parameter ${name} '${value}' must not be negative` });
        }
      }
    }
    return issues;
  }

  /**
   * Checks a reply: 200s against the operation's definition; errors against the observed
   * `{TraceId, Message}` shape, since sparkJob.json documents no error responses.
   */
  checkReply(operationId: string, status: number, body: unknown): ValidationIssue[] {
    if (status < 400) return this.validator.validateResponse(operationId, status, body).errors;
    const shaped = typeof body === 'object' && body !== null && !Array.isArray(body)
      && Object.keys(body).sort().join(',') === 'Message,TraceId'
      && typeof (body as Json).TraceId === 'string' && typeof (body as Json).Message === 'string';
    return shaped ? [] : [{ in: 'body', name: '', keyword: 'errorShape', message: `error reply ${status} is not {TraceId, Message}: ${JSON.stringify(body)}` }];
  }
}
