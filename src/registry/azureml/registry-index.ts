// The registry index — a JSON snapshot of every group's current version, one Azure ML version
// per registration — with its format, asset and blob names and batch ids.
import { createHash } from 'node:crypto';
import { RemoteError } from '../../core/errors.js';
import type { ModelVersion, NewModelVersion } from '../model-registry.js';

export type Granularity = 'per_group' | 'model_set';

export const INDEX_FORMAT = 'manymodels.registry-index/1';

export interface RegistryIndex {
  format: typeof INDEX_FORMAT;
  pipeline: string;
  granularity: Granularity;
  /** The index version this file belongs to. */
  batch: string;
  /** The index version that was current when this one was built (null: the first). */
  previousBatch: string | null;
  createdAt: string;
  /** Every group's current version after this registration, sorted by name. */
  members: ModelVersion[];
}

/** Tags and properties we put on Azure ML assets. `manymodels.` keeps them apart from the model tags. */
export const AML = {
  kind: 'manymodels.kind',
  pipeline: 'manymodels.pipeline',
  sha256: 'manymodels.sha256',
  members: 'manymodels.members',
  previousBatch: 'manymodels.previous_batch',
  /** Presence tag on an index version, one per run it registered: found with a server-side filter. */
  run: (runId: string) => `manymodels.run.${runId}`,
  /** Container tags pointing at the current index version (written last). */
  pointerPrefix: 'manymodels.current.',
} as const;

/**
 * The Azure ML asset holding a pipeline's index. Group model names end in `__` + 12 hex digits
 * (contracts.md), so neither suffix can collide with a group's model.
 */
export function indexAssetName(pipeline: string, granularity: Granularity): string {
  return `${pipeline}__${granularity === 'model_set' ? 'model-set' : 'index'}`;
}

export const indexKind = (granularity: Granularity): string => (granularity === 'model_set' ? 'model-set' : 'index');

/** Content-addressed blob names: the same bytes are stored once and never rewritten. */
export const artifactBlobName = (pipeline: string, sha256: string): string => `manymodels/${pipeline}/artifacts/${sha256}.pkl`;
export const indexBlobName = (pipeline: string, sha256: string): string => `manymodels/${pipeline}/index/${sha256}.json`;

const sha256Hex = (text: string): string => createHash('sha256').update(text).digest('hex');

/** What identifies a registration's entries, independent of the registry's state (journal key). */
export function entriesKey(pipeline: string, entries: NewModelVersion[]): string {
  const ids = entries.map((e) => [e.name, e.runId, e.sha256]).sort((a, b) => (a.join('\0') < b.join('\0') ? -1 : 1));
  return sha256Hex(JSON.stringify([pipeline, ids]));
}

/**
 * A batch name derived from the entries and the index it builds on: the same registration
 * retried before it completed gets the same name; the same entries on top of another state
 * get another (a version's modelUri cannot change, so one name must mean one snapshot).
 */
export function derivedBatchId(pipeline: string, previousBatch: string | null, entries: NewModelVersion[]): string {
  return `b-${sha256Hex(`${previousBatch ?? ''}\0${entriesKey(pipeline, entries)}`).slice(0, 20)}`;
}

/** Stable text for an index: members sorted, keys in a fixed order (so the sha256 is reproducible). */
export function serializeIndex(index: RegistryIndex): Buffer {
  const sorted = { ...index, members: [...index.members].sort((a, b) => (a.name < b.name ? -1 : a.name > b.name ? 1 : 0)) };
  return Buffer.from(`${JSON.stringify(sorted)}\n`, 'utf8');
}

const isObject = (v: unknown): v is Record<string, unknown> => typeof v === 'object' && v !== null && !Array.isArray(v);
const isStringMap = (v: unknown): v is Record<string, string> => isObject(v) && Object.values(v).every((x) => typeof x === 'string');

function isMember(v: unknown): v is ModelVersion {
  if (!isObject(v)) return false;
  for (const k of ['name', 'version', 'pipeline', 'project', 'groupId', 'modelType', 'runId', 'artifactUri', 'sha256', 'createdAt']) {
    if (typeof v[k] !== 'string') return false;
  }
  return isStringMap(v.keys) && isStringMap(v.tags) && isObject(v.metrics) && Object.values(v.metrics).every((x) => typeof x === 'number' || x === null);
}

/** Parses an index whose sha256 already matched; a wrong shape means a format we do not read. */
export function parseIndex(data: Buffer, where: string): RegistryIndex {
  let raw: unknown;
  try {
    raw = JSON.parse(data.toString('utf8'));
  } catch {
    raw = undefined;
  }
  if (!isObject(raw) || raw.format !== INDEX_FORMAT || typeof raw.pipeline !== 'string' || !Array.isArray(raw.members) || !raw.members.every(isMember)) {
    throw new RemoteError(`the registry index at ${where} is not a ${INDEX_FORMAT} file`, {
      code: 'MM607',
      nextSteps: ['It was written by another tool or another manymodels version; re-register the run with this one.'],
    });
  }
  return raw as unknown as RegistryIndex;
}

/** `prev` overlaid with `batch`: a group's newer registration replaces its older one. */
export function mergeMembers(prev: ModelVersion[], batch: ModelVersion[]): ModelVersion[] {
  const byName = new Map(prev.map((m) => [m.name, m]));
  for (const m of batch) byName.set(m.name, m);
  return [...byName.values()];
}
