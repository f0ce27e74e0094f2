// The one redaction point: everything the CLI prints (core/output.ts wraps stdout and stderr)
// and every file it keeps under .manymodels/ (core/state-file.ts) passes through here first.
// Redacted: secret values registered with registerSecret, bearer tokens, Databricks PATs and OAuth secrets, SAS query strings, JWTs, passwords in JDBC URLs,
// storage and Service Bus connection-string keys. The Python runtime applies the same patterns
// (pyspark-templates/manymodels_runtime/redact.py; test/redact.test.ts checks they agree).
import { UsageError } from './errors.js';

export const SECRET_PATTERNS: ReadonlyArray<readonly [RegExp, string]> = [
  [/(authorization\s*[:=]\s*)(bearer|basic)\s+[^\s"',]+/gi, '$1$2 ***'],
  [/\bbearer\s+[A-Za-z0-9._~+/=-]{8,}/gi, 'Bearer ***'],
  [/\bdapi[a-f0-9]{20,}(-\d+)?\b/gi, 'dapi***'],
  // Databricks OAuth secrets of service principals (client_secret of OAuth M2M).
  [/\bdose[a-f0-9]{20,}\b/gi, 'dose***'],
  [/\beyJ[A-Za-z0-9_-]{5,}\.[A-Za-z0-9_-]{5,}\.[A-Za-z0-9_-]{5,}\b/g, '***jwt***'],
  [/([?&](?:sig|se|sv|sp|spr|srt|ss|st|skoid|sktid|skt|ske|sks|skv|saoid|suoid|scid|sr|sdd)=)[^&\s"']+/gi, '$1***'],
  [/((?:password|pwd|secret|client_secret|access_token|token|accountkey|sharedaccesskey)\s*[=:]\s*)("?)[^;&\s"',}]+/gi, '$1$2***'],
];

/**
 * A secret shorter than this is refused (MM453): replacing every "ab" would garble every line
 * (and every JSON key), and replacing it only as a whole word would still print it inside
 * longer text, so no output could be trusted to hide it. The runtime's redact.py does the same.
 */
export const MIN_SECRET_LENGTH = 4;
const registered: string[] = [];

/**
 * Redacts `value` — a secret this process read itself, such as a database password from the
 * environment variable a `sql` source names — wherever it appears in anything written from now
 * on, as written and as JSON escapes it.
 */
export function registerSecret(value: string | undefined, source = 'a secret the CLI read'): void {
  if (!value) return;
  if (value.length < MIN_SECRET_LENGTH) {
    throw new UsageError(`${source} is shorter than ${MIN_SECRET_LENGTH} characters, too short to keep out of the output; use a longer one`, {
      code: 'MM453',
    });
  }
  for (const form of new Set([value, JSON.stringify(value).slice(1, -1)])) if (!registered.includes(form)) registered.push(form);
  registered.sort((a, b) => b.length - a.length);
}

/** Returns text with every registered secret and every known kind of secret replaced by `***`. */
export function redactSecrets(text: string): string {
  let out = text;
  for (const secret of registered) if (out.includes(secret)) out = out.split(secret).join('***');
  for (const [pattern, replacement] of SECRET_PATTERNS) out = out.replace(pattern, replacement);
  return out;
}

/**
 * A JSON-like value with every string in it (keys too) redacted. JSON is redacted value by
 * value, never as text: a pattern that ends at a quote would eat the backslash of an escaped
 * one and leave a document that no longer parses.
 */
export function redactValue<T>(value: T): T {
  if (typeof value === 'string') return redactSecrets(value) as T;
  if (Array.isArray(value)) return value.map((v: unknown) => redactValue(v)) as T;
  if (value !== null && typeof value === 'object' && [Object.prototype, null].includes(Object.getPrototypeOf(value) as object | null)) {
    return Object.fromEntries(Object.entries(value).map(([k, v]) => [redactSecrets(k), redactValue(v)])) as T;
  }
  return value;
}

/** The indentation of a JSON text as JSON.stringify wrote it: 0, or the spaces before its second line's key. */
function indentOf(text: string): number {
  return /^\s*[{[]\s*\n( +)/.exec(text)?.[1]?.length ?? 0;
}

function redactJsonText(text: string): string | undefined {
  try {
    const lead = /^\s*/.exec(text)![0];
    const trail = /\s*$/.exec(text)![0];
    return `${lead}${JSON.stringify(redactValue(JSON.parse(text) as unknown), null, indentOf(text))}${trail}`;
  } catch {
    return undefined;
  }
}

/**
 * The one redaction point for a whole output (a write to stdout or stderr, a file kept under
 * .manymodels/): text without a secret comes back as it is; a JSON document, or NDJSON, is
 * redacted value by value and written again in the same layout; anything else as text.
 */
export function redactOutput(text: string): string {
  if (redactSecrets(text) === text) return text;
  const start = text.trimStart()[0];
  if (start === '{' || start === '[') {
    const whole = redactJsonText(text);
    if (whole !== undefined) return whole;
  }
  // Line by line: NDJSON lines as JSON, the others (log lines) as text.
  return text
    .split('\n')
    .map((line) => {
      if (redactSecrets(line) === line) return line;
      const first = line.trimStart()[0];
      return (first === '{' || first === '[' ? redactJsonText(line) : undefined) ?? redactSecrets(line);
    })
    .join('\n');
}
