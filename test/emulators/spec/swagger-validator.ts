// Validates HTTP requests and responses against an official Swagger 2.0 (AutoRest-flavoured)
// definition: operation lookup by path template, parameters, and bodies through ajv.
//
// How the Swagger dialect is mapped to JSON Schema (the choices, in one place):
// - `allOf` is inheritance (AutoRest semantics), so parents are flattened into the child;
//   otherwise `additionalProperties: false` on both parent and child rejects every body.
// - `discriminator`: a reference to a polymorphic base dispatches on the discriminator value
//   (`x-ms-discriminator-value`, else the definition name) to the matching subtype.
// - `x-nullable: true` admits `null`. `null` for an OPTIONAL property is read as "absent"
//   (AutoRest deserializers do so, and the official Synapse/Databricks examples rely on it);
//   `optionalNullAsAbsent: false` turns that off. Boolean `exclusiveMinimum/Maximum` convert.
// - `readOnly`: validated normally in responses. In requests ARM ignores read-only properties
//   (a client may PUT back what it GOT), so they are accepted whatever their value, dropped
//   from `required`, and reported as warnings, never errors.
// - Enums with `x-ms-enum.modelAsString` are extensible: enforced on requests (we only send
//   values this api-version lists), open on responses (the service may add values).
// - Formats the spec uses but ajv-formats lacks (int32, int64, duration, arm-id, ...) are
//   registered here; any other unknown format is dropped rather than failing compilation.
// - Unknown query parameters are allowed (ARM ignores them); `api-version` must be one of the
//   accepted versions (default: the spec's `info.version`).
import { readFileSync } from 'node:fs';
import { dirname, resolve as resolvePath } from 'node:path';
import { fileURLToPath } from 'node:url';
import SwaggerParser from '@apidevtools/swagger-parser';
import { Ajv, type ErrorObject, type ValidateFunction } from 'ajv';
import addFormatsModule from 'ajv-formats';

type JsonObject = Record<string, unknown>;
export type ValidationMode = 'request' | 'response';
export type IssueLocation = 'operation' | 'path' | 'query' | 'header' | 'body' | 'status';

export interface ValidationIssue {
  in: IssueLocation;
  /** Parameter name, or a JSON pointer inside the body ("" = the whole body). */
  name: string;
  /** ajv keyword or one of: required, apiVersion, notFound, methodNotAllowed, type, undocumented. */
  keyword: string;
  message: string;
}

export interface ParameterInfo {
  name: string;
  in: 'path' | 'query' | 'header' | 'body' | 'formData';
  required: boolean;
  raw: JsonObject;
  /** The file the parameter came from: its schema's relative $refs resolve against it. */
  file: string;
}

export interface OperationInfo {
  operationId: string;
  method: string;
  pathTemplate: string;
  parameters: ParameterInfo[];
  statuses: string[];
  longRunning: boolean;
  finalStateVia: string | undefined;
  nextLinkName: string | undefined;
}

export interface RequestInput {
  method: string;
  /** Path, optionally with a query string. Absolute URLs are accepted too. */
  path: string;
  query?: Record<string, string>;
  headers?: Record<string, string | string[] | undefined>;
  /** Parsed JSON body; undefined when the request had none. */
  body?: unknown;
}

export interface RequestValidation {
  ok: boolean;
  operation: OperationInfo | undefined;
  pathParams: Record<string, string>;
  query: Record<string, string>;
  errors: ValidationIssue[];
  warnings: ValidationIssue[];
}

export interface ResponseValidation {
  ok: boolean;
  errors: ValidationIssue[];
}

export interface SwaggerValidatorOptions {
  /** api-version values accepted on the query string; default: the spec's info.version. */
  acceptedApiVersions?: string[];
  /** Extra closed value lists for named path/query parameters (e.g. livyApiVersion). */
  paramValues?: Record<string, string[]>;
  /** Accept `null` for optional properties as "absent" (default true). */
  optionalNullAsAbsent?: boolean;
}

const HTTP_METHODS = ['get', 'put', 'post', 'delete', 'patch', 'head', 'options'];
const READONLY_MARK = 'x-mm-readonly';
const SCHEMA_KEYWORDS = [
  'enum', 'pattern', 'minLength', 'maxLength', 'minimum', 'maximum', 'multipleOf', 'minItems', 'maxItems',
  'uniqueItems', 'minProperties', 'maxProperties', 'const', 'format',
];

const isObject = (v: unknown): v is JsonObject => typeof v === 'object' && v !== null && !Array.isArray(v);

/** Removes x-ms-examples everywhere: the examples are not schema and some referenced files are absent. */
function stripExamples(value: unknown): unknown {
  if (Array.isArray(value)) value.forEach(stripExamples);
  else if (isObject(value)) {
    delete value['x-ms-examples'];
    for (const v of Object.values(value)) stripExamples(v);
  }
  return value;
}

function unescapePointerToken(token: string): string {
  return token.replace(/~1/g, '/').replace(/~0/g, '~');
}

// ajv-formats ships as CJS with a default export; under NodeNext the callable sits on `.default`.
type AddFormats = (ajv: Ajv) => Ajv;
const addFormats: AddFormats =
  (addFormatsModule as unknown as { default?: AddFormats }).default ?? (addFormatsModule as unknown as AddFormats);

const INT32 = { min: -2147483648, max: 2147483647 };
const ISO_DURATION = /^P(?!$)(\d+(?:\.\d+)?Y)?(\d+(?:\.\d+)?M)?(\d+(?:\.\d+)?W)?(\d+(?:\.\d+)?D)?(T(?=\d)(\d+(?:\.\d+)?H)?(\d+(?:\.\d+)?M)?(\d+(?:\.\d+)?S)?)?$/;

function createAjv(): { ajv: Ajv; known: Set<string> } {
  const ajv = new Ajv({ strict: false, allErrors: true, unicodeRegExp: false, allowUnionTypes: true, logger: false });
  addFormats(ajv);
  ajv.addFormat('int32', { type: 'number', validate: (n: number) => Number.isInteger(n) && n >= INT32.min && n <= INT32.max });
  ajv.addFormat('int64', { type: 'number', validate: (n: number) => Number.isInteger(n) });
  ajv.addFormat('float', { type: 'number', validate: () => true });
  ajv.addFormat('double', { type: 'number', validate: () => true });
  ajv.addFormat('decimal', { type: 'number', validate: () => true });
  ajv.addFormat('duration', ISO_DURATION);
  ajv.addFormat('arm-id', (s: string) => s.startsWith('/'));
  for (const lenient of ['password', 'binary', 'file', 'url', 'base64url', 'unixtime', 'date-time-rfc1123', 'date-time-rfc7231', 'char']) {
    ajv.addFormat(lenient, () => true);
  }
  ajv.addKeyword({ keyword: READONLY_MARK, schemaType: 'boolean', validate: recordReadOnly, errors: false });
  const known = new Set(Object.keys(ajv.formats));
  return { ajv, known };
}

// Read-only properties seen during one synchronous request validation (ajv calls are sync).
let readOnlySeen: string[] = [];
function recordReadOnly(_schema: boolean, _data: unknown, _parent: unknown, ctx?: { instancePath: string }): boolean {
  readOnlySeen.push(ctx?.instancePath ?? '');
  return true;
}

/** A schema node together with the file its relative $refs resolve against. */
interface Located {
  file: string;
  node: JsonObject;
  /** Canonical "file#pointer" when the node was reached through a $ref. */
  id: string | undefined;
}

/**
 * Converts Swagger schemas into JSON Schema. Works on the resolved (not bundled) files and
 * follows cross-file $refs itself: bundling drops recursive external definitions
 * (common-types ErrorDetail vanished from the bundled mfe.json).
 */
class SchemaConverter {
  private readonly keyById = new Map<string, string>();
  private readonly usedKeys = new Set<string>();
  private readonly defs: Record<ValidationMode, Map<string, JsonObject>> = { request: new Map(), response: new Map() };
  private subtypesCache: Map<string, Array<{ value: string; id: string }>> | undefined;
  private readonly docs: Map<string, JsonObject>;
  private readonly knownFormats: Set<string>;
  private readonly optionalNull: boolean;

  constructor(docs: Map<string, JsonObject>, knownFormats: Set<string>, optionalNull: boolean) {
    this.docs = docs;
    this.knownFormats = knownFormats;
    this.optionalNull = optionalNull;
  }

  /** Resolves one $ref string relative to `fromFile`; walks through $ref nodes on the way. */
  resolveRef(ref: string, fromFile: string): Located {
    const hash = ref.indexOf('#');
    const filePart = hash === -1 ? ref : ref.slice(0, hash);
    const pointer = hash === -1 ? '' : ref.slice(hash + 1);
    const file = filePart === '' ? fromFile : resolvePath(dirname(fromFile), decodeURIComponent(filePart));
    const doc = this.docs.get(file);
    if (!doc) throw new Error(`$ref ${ref} (from ${fromFile}) points to a file that was not loaded`);
    let located: Located = { file, node: doc, id: `${file}#` };
    for (const raw of pointer.split('/').slice(1)) {
      const token = unescapePointerToken(decodeURIComponent(raw));
      if (!(token in located.node) && typeof located.node.$ref === 'string') located = this.deref(located);
      const next: unknown = Array.isArray(located.node) ? located.node[Number(token)] : located.node[token];
      if (!isObject(next) && !Array.isArray(next)) throw new Error(`unresolvable $ref ${ref} (from ${fromFile})`);
      located = { file: located.file, node: next as JsonObject, id: undefined };
    }
    return { ...located, id: `${file}#${pointer}` };
  }

  /** Follows $ref chains; the result carries the canonical id of the last hop. */
  deref(start: Located): Located {
    let current = start;
    for (let hops = 0; typeof current.node.$ref === 'string'; hops++) {
      if (hops > 50) throw new Error(`$ref loop at ${String(current.node.$ref)}`);
      current = this.resolveRef(current.node.$ref, current.file);
    }
    return current;
  }

  private keyFor(id: string, suffix = ''): string {
    const full = id + suffix;
    const existing = this.keyById.get(full);
    if (existing) return existing;
    const tail = (id.split('#')[1] ?? '').split('/').slice(-2).join('_').replace(/[^A-Za-z0-9_]/g, '_') + suffix.replace(/[^A-Za-z0-9_]/g, '_');
    const base = tail || 'root';
    let key = base;
    for (let n = 2; this.usedKeys.has(key); n++) key = `${base}_${n}`;
    this.usedKeys.add(key);
    this.keyById.set(full, key);
    return key;
  }

  /** Map: base id -> subtypes (discriminator value, id), from every loaded definition's allOf. */
  private subtypes(): Map<string, Array<{ value: string; id: string }>> {
    if (this.subtypesCache) return this.subtypesCache;
    const out = new Map<string, Array<{ value: string; id: string }>>();
    for (const [file, doc] of this.docs) {
      const definitions = isObject(doc.definitions) ? doc.definitions : {};
      for (const [name, def] of Object.entries(definitions)) {
        if (!isObject(def) || !Array.isArray(def.allOf)) continue;
        const id = `${file}#/definitions/${name.replace(/~/g, '~0').replace(/\//g, '~1')}`;
        const value = typeof def['x-ms-discriminator-value'] === 'string' ? def['x-ms-discriminator-value'] : name;
        for (const parent of def.allOf) {
          if (!isObject(parent) || typeof parent.$ref !== 'string') continue;
          const base = this.deref({ file, node: parent, id: undefined }).id;
          if (!base) continue;
          const list = out.get(base) ?? [];
          list.push({ value, id });
          out.set(base, list);
        }
      }
    }
    this.subtypesCache = out;
    return out;
  }

  private isReadOnly(schema: JsonObject, file: string): boolean {
    if (schema.readOnly === true) return true;
    return typeof schema.$ref === 'string' && this.deref({ file, node: schema, id: undefined }).node.readOnly === true;
  }

  /** Converts one schema; definitions it references land in the per-mode cache. */
  convert(raw: unknown, file: string, mode: ValidationMode): JsonObject | boolean {
    if (typeof raw === 'boolean') return raw;
    if (!isObject(raw)) return {};
    if (mode === 'request' && this.isReadOnly(raw, file)) return { [READONLY_MARK]: true };
    if (typeof raw.$ref === 'string') {
      const target = this.deref({ file, node: raw, id: undefined });
      return { $ref: `#/definitions/${this.ensureDef(target, mode)}` };
    }
    return this.convertInline(raw, file, mode);
  }

  private ensureDef(target: Located, mode: ValidationMode): string {
    const id = target.id ?? `${target.file}#?`;
    const discriminator = typeof target.node.discriminator === 'string' ? target.node.discriminator : undefined;
    const subs = discriminator ? this.subtypes().get(id) ?? [] : [];
    const baseKey = this.keyFor(id);
    const defs = this.defs[mode];
    if (!defs.has(baseKey)) {
      defs.set(baseKey, {}); // placeholder first: recursive definitions refer back to it
      defs.set(baseKey, this.convertInline(target.node, target.file, mode));
    }
    if (!discriminator || subs.length === 0) return baseKey;
    const dispatchKey = this.keyFor(id, '~dispatch');
    if (!defs.has(dispatchKey)) {
      defs.set(dispatchKey, {});
      let chain: JsonObject = { $ref: `#/definitions/${baseKey}` };
      for (const sub of [...subs].reverse()) {
        const [subFile = '', subPointer = ''] = sub.id.split('#');
        const subKey = this.ensureDef(this.resolveRef(`#${subPointer}`, subFile), mode);
        chain = {
          if: { type: 'object', required: [discriminator], properties: { [discriminator]: { const: sub.value } } },
          then: { $ref: `#/definitions/${subKey}` },
          else: chain,
        };
      }
      defs.set(dispatchKey, chain);
    }
    return dispatchKey;
  }

  /** Properties (with their files), required and additionalProperties, allOf parents flattened in. */
  private flatten(schema: JsonObject, file: string, seen = new Set<JsonObject>()): {
    properties: Map<string, { raw: unknown; file: string }>;
    required: string[];
    additional: { raw: unknown; file: string } | undefined;
  } {
    const properties = new Map<string, { raw: unknown; file: string }>();
    const required: string[] = [];
    let additional: { raw: unknown; file: string } | undefined;
    if (seen.has(schema)) return { properties, required, additional };
    seen.add(schema);
    if (Array.isArray(schema.allOf)) {
      for (const parentRef of schema.allOf) {
        if (!isObject(parentRef)) continue;
        const parent = this.deref({ file, node: parentRef, id: undefined });
        const flat = this.flatten(parent.node, parent.file, seen);
        for (const [k, v] of flat.properties) properties.set(k, v);
        required.push(...flat.required);
        if (flat.additional !== undefined && flat.additional.raw !== false) additional = flat.additional;
      }
    }
    if (isObject(schema.properties)) for (const [k, v] of Object.entries(schema.properties)) properties.set(k, { raw: v, file });
    if (Array.isArray(schema.required)) required.push(...schema.required.filter((r): r is string => typeof r === 'string'));
    if (schema.additionalProperties !== undefined) additional = { raw: schema.additionalProperties, file };
    return { properties, required: [...new Set(required)], additional };
  }

  private convertInline(raw: JsonObject, file: string, mode: ValidationMode): JsonObject {
    const out: JsonObject = {};
    const nullable = raw['x-nullable'] === true;
    for (const k of SCHEMA_KEYWORDS) if (raw[k] !== undefined) out[k] = raw[k];
    if (typeof out.format === 'string' && !this.knownFormats.has(out.format)) delete out.format;
    if (raw.exclusiveMinimum === true && typeof raw.minimum === 'number') {
      out.exclusiveMinimum = raw.minimum;
      delete out.minimum;
    }
    if (raw.exclusiveMaximum === true && typeof raw.maximum === 'number') {
      out.exclusiveMaximum = raw.maximum;
      delete out.maximum;
    }
    let type = typeof raw.type === 'string' && raw.type !== 'file' ? raw.type : undefined;
    const hasShape = isObject(raw.properties) || Array.isArray(raw.allOf) || raw.additionalProperties !== undefined;
    if (!type && hasShape) type = 'object';
    if (type) out.type = nullable ? [type, 'null'] : type;
    // Extensible enums (x-ms-enum.modelAsString) may grow: closed for what we send, open for
    // what a service returns.
    const xmsEnum = isObject(raw['x-ms-enum']) ? raw['x-ms-enum'] : undefined;
    if (mode === 'response' && xmsEnum?.modelAsString === true) delete out.enum;
    if (nullable && Array.isArray(out.enum)) out.enum = [...out.enum, null];

    if (type === 'object' || hasShape) {
      const flat = this.flatten(raw, file);
      const props: JsonObject = {};
      for (const [name, prop] of flat.properties) {
        const converted = this.convert(prop.raw, prop.file, mode);
        const optional = !flat.required.includes(name);
        props[name] = optional && this.optionalNull && typeof converted === 'object' ? { if: { type: 'null' }, then: true, else: converted } : converted;
      }
      if (Object.keys(props).length > 0) out.properties = props;
      const required = flat.required.filter((name) => {
        if (mode !== 'request') return true;
        const prop = flat.properties.get(name);
        return !(prop && isObject(prop.raw) && this.isReadOnly(prop.raw, prop.file));
      });
      if (required.length > 0) out.required = required;
      if (flat.additional?.raw === false) out.additionalProperties = false;
      else if (flat.additional && isObject(flat.additional.raw)) out.additionalProperties = this.convert(flat.additional.raw, flat.additional.file, mode);
    }
    if (raw.items !== undefined) out.items = this.convert(raw.items, file, mode);
    return out;
  }

  /** Compiles a self-contained schema: the converted root plus the definitions it reaches. */
  compile(ajv: Ajv, raw: unknown, file: string, mode: ValidationMode): ValidateFunction {
    const root = this.convert(raw, file, mode);
    const defs = this.defs[mode];
    const needed = new Map<string, JsonObject>();
    const visit = (node: unknown): void => {
      if (Array.isArray(node)) node.forEach(visit);
      else if (isObject(node)) {
        if (typeof node.$ref === 'string' && node.$ref.startsWith('#/definitions/')) {
          const key = node.$ref.slice('#/definitions/'.length);
          const def = defs.get(key);
          if (def && !needed.has(key)) {
            needed.set(key, def);
            visit(def);
          }
        }
        for (const [k, v] of Object.entries(node)) if (k !== '$ref') visit(v);
      }
    };
    visit(root);
    return ajv.compile({ definitions: Object.fromEntries(needed), allOf: [root] });
  }
}

interface CompiledOperation {
  info: OperationInfo;
  regex: RegExp;
  paramNames: string[];
  literalLength: number;
  raw: JsonObject;
  file: string;
}

function issuesFromAjv(errors: ErrorObject[] | null | undefined, location: IssueLocation, name?: string, label?: string): ValidationIssue[] {
  if (!errors) return [];
  return errors
    .filter((e) => e.keyword !== 'if')
    .map((e) => {
      let detail = e.message ?? 'is invalid';
      if (e.keyword === 'additionalProperties') detail += ` '${String(e.params.additionalProperty)}'`;
      if (e.keyword === 'enum') detail += `: ${JSON.stringify(e.params.allowedValues)}`;
      const where = label ?? name ?? (e.instancePath || '/');
      return { in: location, name: name ?? e.instancePath, keyword: e.keyword, message: `${where} ${detail}` };
    });
}

/** Coerces a query/path/header string to the parameter's declared type, for validation. */
function coerce(value: string, param: JsonObject): unknown {
  switch (param.type) {
    case 'integer':
      return /^-?\d+$/.test(value) ? Number(value) : value;
    case 'number':
      return value.trim() !== '' && !Number.isNaN(Number(value)) ? Number(value) : value;
    case 'boolean':
      return value === 'true' ? true : value === 'false' ? false : value;
    case 'array': {
      const sep = param.collectionFormat === 'ssv' ? ' ' : param.collectionFormat === 'pipes' ? '|' : param.collectionFormat === 'tsv' ? '\t' : ',';
      const items = isObject(param.items) ? param.items : {};
      return value.split(sep).map((v) => coerce(v, items));
    }
    default:
      return value;
  }
}

function headerValue(headers: RequestInput['headers'], name: string): string | undefined {
  if (!headers) return undefined;
  const wanted = name.toLowerCase();
  for (const [k, v] of Object.entries(headers)) {
    if (k.toLowerCase() === wanted) return Array.isArray(v) ? v.join(', ') : v;
  }
  return undefined;
}

function escapeRegex(s: string): string {
  return s.replace(/[.*+?^${}()|[\]\\]/g, '\\$&');
}

export class SwaggerValidator {
  readonly title: string;
  readonly version: string;
  private readonly ajv: Ajv;
  private readonly converter: SchemaConverter;
  private readonly ops: CompiledOperation[] = [];
  private readonly byId = new Map<string, CompiledOperation>();
  private readonly cache = new Map<string, ValidateFunction>();
  private readonly apiVersions: string[];

  private readonly rootFile: string;
  private readonly doc: JsonObject;
  private readonly options: SwaggerValidatorOptions;

  private constructor(rootFile: string, docs: Map<string, JsonObject>, options: SwaggerValidatorOptions) {
    const doc = docs.get(rootFile);
    if (!doc) throw new Error(`${rootFile} was not loaded`);
    this.rootFile = rootFile;
    this.doc = doc;
    this.options = options;
    const info = isObject(doc.info) ? doc.info : {};
    this.title = typeof info.title === 'string' ? info.title : '';
    this.version = typeof info.version === 'string' ? info.version : '';
    this.apiVersions = options.acceptedApiVersions ?? [this.version];
    const { ajv, known } = createAjv();
    this.ajv = ajv;
    this.converter = new SchemaConverter(docs, known, options.optionalNullAsAbsent ?? true);
    this.indexOperations();
  }

  /** Loads a Swagger 2.0 file and every file its $refs reach (no network). */
  static async load(specFile: string, options: SwaggerValidatorOptions = {}): Promise<SwaggerValidator> {
    const rootFile = resolvePath(specFile);
    const $refs = await SwaggerParser.resolve(rootFile, {
      resolve: {
        http: false,
        file: {
          // Our own reader strips x-ms-examples first: several example files they point to
          // are not part of the copied definitions and would fail resolution.
          read: (file: { url: string }) => {
            const path = file.url.startsWith('file:') ? fileURLToPath(file.url) : file.url;
            return JSON.stringify(stripExamples(JSON.parse(readFileSync(path, 'utf8'))));
          },
        },
      },
    });
    const docs = new Map<string, JsonObject>();
    for (const [path, value] of Object.entries($refs.values())) {
      if (isObject(value)) docs.set(path.startsWith('file:') ? fileURLToPath(path) : resolvePath(path), value);
    }
    const root = docs.get(rootFile);
    if (!root || root.swagger !== '2.0') throw new Error(`${specFile} is not a Swagger 2.0 definition`);
    return new SwaggerValidator(rootFile, docs, options);
  }

  operations(): OperationInfo[] {
    return this.ops.map((o) => o.info);
  }

  operation(operationId: string): OperationInfo | undefined {
    return this.byId.get(operationId)?.info;
  }

  private resolveParam(p: unknown): { raw: JsonObject; file: string } | undefined {
    if (!isObject(p)) return undefined;
    const found = this.converter.deref({ file: this.rootFile, node: p, id: undefined });
    return { raw: found.node, file: found.file };
  }

  private indexOperations(): void {
    const basePath = typeof this.doc.basePath === 'string' && this.doc.basePath !== '/' ? this.doc.basePath : '';
    const pathSets = [this.doc.paths, this.doc['x-ms-paths']];
    for (const paths of pathSets) {
      if (!isObject(paths)) continue;
      for (const [template, item] of Object.entries(paths)) {
        if (!isObject(item)) continue;
        const shared = Array.isArray(item.parameters) ? item.parameters : [];
        for (const method of HTTP_METHODS) {
          const op = item[method];
          if (!isObject(op) || typeof op.operationId !== 'string') continue;
          const params = new Map<string, ParameterInfo>();
          for (const p of [...shared, ...(Array.isArray(op.parameters) ? op.parameters : [])]) {
            const resolved = this.resolveParam(p);
            const raw = resolved?.raw;
            if (!resolved || !raw || typeof raw.name !== 'string' || typeof raw.in !== 'string') continue;
            params.set(`${raw.in}:${raw.name}`, {
              name: raw.name,
              in: raw.in as ParameterInfo['in'],
              required: raw.required === true || raw.in === 'path',
              raw,
              file: resolved.file,
            });
          }
          // x-ms-paths keys may carry a query part that disambiguates operations.
          const [pathPart = ''] = template.split('?');
          const paramNames: string[] = [];
          let literalLength = 0;
          const pattern = (basePath + pathPart).replace(/\{([^}]+)\}|([^{]+)/g, (_m, name: string | undefined, lit: string | undefined) => {
            if (name !== undefined) {
              paramNames.push(name);
              const multi = params.get(`path:${name}`)?.raw['x-ms-skip-url-encoding'] === true;
              return multi ? '(.+?)' : '([^/]+)';
            }
            literalLength += (lit ?? '').length;
            return escapeRegex(lit ?? '');
          });
          const responses = isObject(op.responses) ? op.responses : {};
          const lroOptions = isObject(op['x-ms-long-running-operation-options']) ? op['x-ms-long-running-operation-options'] : {};
          const pageable = isObject(op['x-ms-pageable']) ? op['x-ms-pageable'] : undefined;
          const info: OperationInfo = {
            operationId: op.operationId,
            method: method.toUpperCase(),
            pathTemplate: basePath + template,
            parameters: [...params.values()],
            statuses: Object.keys(responses),
            longRunning: op['x-ms-long-running-operation'] === true,
            finalStateVia: typeof lroOptions['final-state-via'] === 'string' ? lroOptions['final-state-via'] : undefined,
            nextLinkName: pageable && typeof pageable.nextLinkName === 'string' ? pageable.nextLinkName : undefined,
          };
          // ARM matches literal path segments case-insensitively.
          const compiled: CompiledOperation = { info, regex: new RegExp(`^${pattern}/?$`, 'i'), paramNames, literalLength, raw: op, file: this.rootFile };
          this.ops.push(compiled);
          this.byId.set(info.operationId, compiled);
        }
      }
    }
    this.ops.sort((a, b) => b.literalLength - a.literalLength);
  }

  /** Finds the operation for a method + path; `methodAllowed` is false when only the path matched. */
  findOperation(method: string, path: string): { operation: OperationInfo; pathParams: Record<string, string> } | { operation: undefined; pathMatched: boolean } {
    const pathname = path.split('?')[0] ?? '';
    let pathMatched = false;
    for (const op of this.ops) {
      const m = op.regex.exec(pathname);
      if (!m) continue;
      pathMatched = true;
      if (op.info.method !== method.toUpperCase()) continue;
      const pathParams: Record<string, string> = {};
      op.paramNames.forEach((name, i) => {
        pathParams[name] = decodeURIComponent(m[i + 1] ?? '');
      });
      return { operation: op.info, pathParams };
    }
    return { operation: undefined, pathMatched };
  }

  private validatorFor(key: string, raw: unknown, file: string, mode: ValidationMode): ValidateFunction {
    const cacheKey = `${mode}|${key}`;
    let fn = this.cache.get(cacheKey);
    if (!fn) {
      fn = this.converter.compile(this.ajv, raw, file, mode);
      this.cache.set(cacheKey, fn);
    }
    return fn;
  }

  private validateParam(op: OperationInfo, param: ParameterInfo, value: string, loc: IssueLocation): ValidationIssue[] {
    if (param.name === 'api-version' && loc === 'query' && !this.apiVersions.includes(value)) {
      return [{ in: loc, name: param.name, keyword: 'apiVersion', message: `api-version '${value}' is not supported; expected ${this.apiVersions.join(' or ')}` }];
    }
    const allowed = this.options.paramValues?.[param.name];
    if (allowed && !allowed.includes(value)) {
      return [{ in: loc, name: param.name, keyword: 'enum', message: `${param.name} '${value}' must be one of ${allowed.join(', ')}` }];
    }
    const fn = this.validatorFor(`${op.operationId}|${param.in}:${param.name}`, param.raw, param.file, 'request');
    if (fn(coerce(value, param.raw))) return [];
    return issuesFromAjv(fn.errors, loc, param.name, `${param.in} parameter ${param.name} '${value}'`);
  }

  validateRequest(input: RequestInput): RequestValidation {
    const url = new URL(input.path, 'http://validator.invalid');
    const query: Record<string, string> = {};
    url.searchParams.forEach((v, k) => {
      query[k] = v;
    });
    Object.assign(query, input.query ?? {});
    const result: RequestValidation = { ok: false, operation: undefined, pathParams: {}, query, errors: [], warnings: [] };
    const found = this.findOperation(input.method, url.pathname);
    if (!found.operation) {
      result.errors.push(
        found.pathMatched
          ? { in: 'operation', name: url.pathname, keyword: 'methodNotAllowed', message: `${input.method} is not defined for ${url.pathname}` }
          : { in: 'operation', name: url.pathname, keyword: 'notFound', message: `no operation matches ${input.method} ${url.pathname}` },
      );
      return result;
    }
    const op = found.operation;
    result.operation = op;
    result.pathParams = found.pathParams;
    const queryLower = new Map(Object.entries(query).map(([k, v]) => [k.toLowerCase(), v]));
    for (const param of op.parameters) {
      if (param.in === 'body') {
        if (input.body === undefined) {
          if (param.required) result.errors.push({ in: 'body', name: '', keyword: 'required', message: 'request body is required' });
          continue;
        }
        readOnlySeen = [];
        const fn = this.validatorFor(`${op.operationId}|body`, param.raw.schema, param.file, 'request');
        if (!fn(input.body)) result.errors.push(...issuesFromAjv(fn.errors, 'body'));
        for (const path of readOnlySeen) {
          result.warnings.push({ in: 'body', name: path, keyword: 'readOnly', message: `${path} is read-only and ignored by the service` });
        }
        continue;
      }
      if (param.in === 'formData') continue;
      const value =
        param.in === 'path' ? found.pathParams[param.name]
        : param.in === 'query' ? queryLower.get(param.name.toLowerCase())
        : headerValue(input.headers, param.name);
      const loc: IssueLocation = param.in === 'path' ? 'path' : param.in === 'query' ? 'query' : 'header';
      if (value === undefined) {
        if (param.required) result.errors.push({ in: loc, name: param.name, keyword: 'required', message: `${param.in} parameter '${param.name}' is required` });
        continue;
      }
      result.errors.push(...this.validateParam(op, param, value, loc));
    }
    result.ok = result.errors.length === 0;
    return result;
  }

  /** Validates a response body (and documented headers) for an operation and status code. */
  validateResponse(operationId: string, status: number, body: unknown, headers?: Record<string, string | string[] | undefined>): ResponseValidation {
    const compiled = this.byId.get(operationId);
    if (!compiled) return { ok: false, errors: [{ in: 'operation', name: operationId, keyword: 'notFound', message: `unknown operationId ${operationId}` }] };
    const responses = isObject(compiled.raw.responses) ? compiled.raw.responses : {};
    const key = String(status) in responses ? String(status) : 'default' in responses ? 'default' : undefined;
    if (!key) {
      return { ok: false, errors: [{ in: 'status', name: String(status), keyword: 'undocumented', message: `${operationId} does not document status ${status}` }] };
    }
    const located = this.converter.deref({ file: compiled.file, node: isObject(responses[key]) ? (responses[key] as JsonObject) : {}, id: undefined });
    const response = located.node;
    const errors: ValidationIssue[] = [];
    const empty = body === undefined || body === null || body === '';
    if (response.schema === undefined) {
      if (!empty) errors.push({ in: 'body', name: '', keyword: 'undocumented', message: `${operationId} ${status} documents no body but one was sent` });
    } else if (empty) {
      errors.push({ in: 'body', name: '', keyword: 'required', message: `${operationId} ${status} documents a body but none was sent` });
    } else {
      const fn = this.validatorFor(`${operationId}|response|${key}`, response.schema, located.file, 'response');
      if (!fn(body)) errors.push(...issuesFromAjv(fn.errors, 'body'));
    }
    if (headers && isObject(response.headers)) {
      for (const [name, spec] of Object.entries(response.headers)) {
        const value = headerValue(headers, name);
        if (value === undefined || !isObject(spec)) continue;
        const fn = this.validatorFor(`${operationId}|response|${key}|header:${name}`, spec, located.file, 'response');
        if (!fn(coerce(value, spec))) errors.push(...issuesFromAjv(fn.errors, 'header', name));
      }
    }
    return { ok: errors.length === 0, errors };
  }

  /** Validates a value against a named definition of this document (e.g. OperationStatusResult). */
  validateDefinition(name: string, value: unknown, mode: ValidationMode = 'response'): ResponseValidation {
    if (!isObject(this.doc.definitions) || !(name in this.doc.definitions)) {
      throw new Error(`${this.rootFile} has no definition ${name}`);
    }
    const fn = this.validatorFor(`definition|${name}`, { $ref: `#/definitions/${name}` }, this.rootFile, mode);
    return fn(value) ? { ok: true, errors: [] } : { ok: false, errors: issuesFromAjv(fn.errors, 'body') };
  }
}

const loaded = new Map<string, Promise<SwaggerValidator>>();

/** Shared, lazily loaded validator per spec file (bundling mfe.json takes a few hundred ms). */
export function loadSwaggerValidator(specFile: string, options: SwaggerValidatorOptions = {}): Promise<SwaggerValidator> {
  const key = `${specFile}|${JSON.stringify(options)}`;
  let p = loaded.get(key);
  if (!p) {
    p = SwaggerValidator.load(specFile, options);
    loaded.set(key, p);
  }
  return p;
}
