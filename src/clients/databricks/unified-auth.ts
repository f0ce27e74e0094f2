// Which workspace and which credential a Databricks command uses, found the way the Databricks
// CLI and SDKs find them ("unified authentication"): each setting is taken from the first of
//   1. explicit configuration — the target's `databricks:` section, and `--profile`;
//   2. the environment — DATABRICKS_HOST, DATABRICKS_TOKEN, DATABRICKS_CLIENT_ID,
//      DATABRICKS_CLIENT_SECRET, DATABRICKS_AUTH_TYPE (DATABRICKS_CONFIG_PROFILE names the profile);
//   3. the configuration profile in ~/.databrickscfg (DATABRICKS_CONFIG_FILE moves it): the one
//      named by --profile, the target's `profile`, DATABRICKS_CONFIG_PROFILE, else DEFAULT.
// Without an auth type, the first method that has its credential wins, in the documented order:
// a personal access token, then OAuth machine-to-machine (client id + secret), then Azure AD.
// Secrets are held here and handed to a token provider; they are never part of a message.
import { readFileSync } from 'node:fs';
import path from 'node:path';
import { UsageError } from '../../core/errors.js';

export type DatabricksAuthType = 'pat' | 'oauth-m2m' | 'azure';

/** What the target's `databricks:` section and the command line say (the explicit layer). */
export interface ExplicitDatabricksConfig {
  host?: string;
  /** The target's `auth`. */
  auth?: DatabricksAuthType;
  /** `--profile`, else the target's `profile`. */
  profile?: string;
}

export type ConfigSource = 'target' | 'environment' | 'profile';

export type DatabricksCredential =
  | { type: 'pat'; token: string }
  | { type: 'oauth-m2m'; clientId: string; clientSecret: string }
  | { type: 'azure' };

export interface ResolvedDatabricksConfig {
  /** The workspace URL as written (normalised by the caller), or undefined: none anywhere. */
  host?: string;
  hostSource?: ConfigSource;
  credential: DatabricksCredential;
  /** The profile that was read, when one was (for messages: never its secrets). */
  profile?: string;
  configFile: string;
}

/** Profile sections of a .databrickscfg (INI: `[name]`, `key = value`, `;`/`#` comments). */
export function parseDatabricksConfigFile(text: string): Map<string, Record<string, string>> {
  const profiles = new Map<string, Record<string, string>>();
  let current: Record<string, string> | undefined;
  for (const raw of text.split(/\r?\n/)) {
    const line = raw.trim();
    if (!line || line.startsWith(';') || line.startsWith('#')) continue;
    const section = /^\[([^\]]+)\]$/.exec(line);
    if (section) {
      const name = section[1]!.trim();
      current = profiles.get(name) ?? {};
      profiles.set(name, current);
      continue;
    }
    const eq = line.indexOf('=');
    if (eq <= 0 || !current) continue;
    current[line.slice(0, eq).trim().toLowerCase()] = line.slice(eq + 1).trim();
  }
  return profiles;
}

/** The auth types the SDKs name, mapped to ours; Azure's variants all go through @azure/identity. */
const AUTH_TYPES: Record<string, DatabricksAuthType> = {
  pat: 'pat',
  'oauth-m2m': 'oauth-m2m',
  azure: 'azure',
  'azure-cli': 'azure',
  'azure-client-secret': 'azure',
  'azure-msi': 'azure',
};

function authTypeOf(value: string, where: string): DatabricksAuthType {
  const t = AUTH_TYPES[value.trim().toLowerCase()];
  if (!t) {
    throw new UsageError(`databricks: ${where} names auth type "${value}", which manymodels cannot use`, {
      code: 'MM404',
      nextSteps: ['Use pat, oauth-m2m, or an Azure one (azure-cli, azure-client-secret, azure-msi).'],
    });
  }
  return t;
}

export interface ResolveOptions {
  explicit: ExplicitDatabricksConfig;
  env: Record<string, string | undefined>;
  /** Reads the config file; undefined when it does not exist (tests pass their own). */
  readFile?: (file: string) => string | undefined;
}

function readIfThere(file: string): string | undefined {
  try {
    return readFileSync(file, 'utf8');
  } catch (err) {
    if ((err as NodeJS.ErrnoException).code === 'ENOENT') return undefined;
    throw new UsageError(`databricks: cannot read ${file}: ${(err as NodeJS.ErrnoException).code ?? (err as Error).message}`, {
      code: 'MM404',
      nextSteps: ['Make the file readable, or point DATABRICKS_CONFIG_FILE at another one.'],
    });
  }
}

/** Where the config file is: DATABRICKS_CONFIG_FILE, else ~/.databrickscfg. */
export function databricksConfigFile(env: Record<string, string | undefined>): string {
  if (env.DATABRICKS_CONFIG_FILE) return env.DATABRICKS_CONFIG_FILE;
  const home = env.HOME ?? env.USERPROFILE ?? '';
  return path.join(home, '.databrickscfg');
}

const nonEmpty = (v: string | undefined): string | undefined => (v !== undefined && v.trim() !== '' ? v.trim() : undefined);

/**
 * The workspace and credential, explicit → environment → profile for each setting. Throws MM404
 * when a profile that was asked for is missing, or the chosen method lacks its credential.
 */
export function resolveDatabricksConfig(options: ResolveOptions): ResolvedDatabricksConfig {
  const { explicit, env } = options;
  const configFile = databricksConfigFile(env);
  const named = nonEmpty(explicit.profile) ?? nonEmpty(env.DATABRICKS_CONFIG_PROFILE);
  const profileName = named ?? 'DEFAULT';
  const text = (options.readFile ?? readIfThere)(configFile);
  const profiles = text === undefined ? new Map<string, Record<string, string>>() : parseDatabricksConfigFile(text);
  const profile = profiles.get(profileName);
  if (named && !profile) {
    const known = [...profiles.keys()];
    throw new UsageError(`databricks: profile "${named}" is not in ${configFile}`, {
      code: 'MM404',
      nextSteps: [known.length ? `Profiles there: ${known.join(', ')}.` : `${configFile} has no profiles.`,
        'Create it with `databricks configure --profile <name>` or `databricks auth login --profile <name>`, or name another with --profile.'],
    });
  }
  const fromProfile = (key: string): string | undefined => nonEmpty(profile?.[key]);

  // Each setting: explicit, then the environment, then the profile.
  const pick = (explicitValue: string | undefined, envName: string, key: string): { value?: string; source?: ConfigSource } => {
    const e = nonEmpty(explicitValue);
    if (e) return { value: e, source: 'target' };
    const v = nonEmpty(env[envName]);
    if (v) return { value: v, source: 'environment' };
    const p = fromProfile(key);
    return p ? { value: p, source: 'profile' } : {};
  };
  const host = pick(explicit.host, 'DATABRICKS_HOST', 'host');
  const token = pick(undefined, 'DATABRICKS_TOKEN', 'token').value;
  const clientId = pick(undefined, 'DATABRICKS_CLIENT_ID', 'client_id').value;
  const clientSecret = pick(undefined, 'DATABRICKS_CLIENT_SECRET', 'client_secret').value;

  let type: DatabricksAuthType;
  if (explicit.auth) type = explicit.auth;
  else if (nonEmpty(env.DATABRICKS_AUTH_TYPE)) type = authTypeOf(env.DATABRICKS_AUTH_TYPE!, 'DATABRICKS_AUTH_TYPE');
  else if (fromProfile('auth_type')) type = authTypeOf(fromProfile('auth_type')!, `profile ${profileName} (auth_type)`);
  // The documented default order: PAT, OAuth M2M, then Azure.
  else type = token ? 'pat' : clientId && clientSecret ? 'oauth-m2m' : 'azure';

  const where = profile ? `, nor in profile ${profileName} of ${configFile}` : '';
  let credential: DatabricksCredential;
  if (type === 'pat') {
    if (!token) {
      throw new UsageError(`databricks: auth is pat but DATABRICKS_TOKEN is not set${where}`, {
        code: 'MM404',
        nextSteps: ['Export DATABRICKS_TOKEN with a personal access token (or put token = … in a ~/.databrickscfg profile), or use auth: oauth-m2m or auth: azure.'],
      });
    }
    credential = { type, token };
  } else if (type === 'oauth-m2m') {
    if (!clientId || !clientSecret) {
      const missing = [clientId ? undefined : 'DATABRICKS_CLIENT_ID', clientSecret ? undefined : 'DATABRICKS_CLIENT_SECRET'].filter(Boolean).join(' and ');
      throw new UsageError(`databricks: auth is oauth-m2m but ${missing} ${missing.includes(' and ') ? 'are' : 'is'} not set${where}`, {
        code: 'MM404',
        nextSteps: ['Export DATABRICKS_CLIENT_ID and DATABRICKS_CLIENT_SECRET (a service principal\'s OAuth secret), or put client_id and client_secret in a ~/.databrickscfg profile.'],
      });
    }
    credential = { type, clientId, clientSecret };
  } else {
    credential = { type: 'azure' };
  }
  const out: ResolvedDatabricksConfig = { credential, configFile };
  if (host.value) {
    out.host = host.value;
    out.hostSource = host.source!;
  }
  if (profile) out.profile = profileName;
  return out;
}
