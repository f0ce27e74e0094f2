// Redaction of secrets from anything that may be printed or written: bearer tokens,
// Databricks PATs, SAS query strings, JWTs, passwords in JDBC URLs, storage and Service Bus
// connection-string keys.
const PATTERNS: Array<[RegExp, string]> = [
  [/(authorization\s*[:=]\s*)(bearer|basic)\s+[^\s"',]+/gi, '$1$2 ***'],
  [/\bbearer\s+[A-Za-z0-9._~+/=-]{8,}/gi, 'Bearer ***'],
  [/\bdapi[a-f0-9]{20,}(-\d+)?\b/gi, 'dapi***'],
  [/\beyJ[A-Za-z0-9_-]{5,}\.[A-Za-z0-9_-]{5,}\.[A-Za-z0-9_-]{5,}\b/g, '***jwt***'],
  [/([?&](?:sig|se|sv|sp|spr|srt|ss|st|skoid|sktid|skt|ske|sks|skv|saoid|suoid|scid|sr|sdd)=)[^&\s"']+/gi, '$1***'],
  [/((?:password|pwd|secret|client_secret|access_token|token|accountkey|sharedaccesskey)\s*[=:]\s*)("?)[^;&\s"',}]+/gi, '$1$2***'],
];

/** Returns text with every known kind of secret replaced by `***`. */
export function redactSecrets(text: string): string {
  let out = text;
  for (const [pattern, replacement] of PATTERNS) out = out.replace(pattern, replacement);
  return out;
}
