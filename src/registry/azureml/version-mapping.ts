// ModelVersion <-> Azure ML model version (per_group granularity): what goes into the tags and
// properties of a group's version, and how a version read back becomes a ModelVersion.
import type { ModelVersionInput, ModelVersionResource } from '../../clients/azureml/index.js';
import { type ModelVersion, type NewModelVersion, TAG, tagsFor } from '../model-registry.js';
import { AML } from './registry-index.js';

/** The asset type the Azure ML SDK v2 and CLI write for a model of any framework. */
export const MODEL_TYPE = 'custom_model';

/** The registry's record of an entry once its artifact is stored at `artifactUri`. */
export function memberFor(entry: NewModelVersion, artifactUri: string, createdAt: string): ModelVersion {
  return {
    name: entry.name,
    // Versions are free strings: the training run id makes re-registration of a run a no-op.
    version: entry.runId,
    pipeline: entry.pipeline,
    project: entry.project,
    groupId: entry.groupId,
    keys: { ...entry.keys },
    modelType: entry.modelType,
    runId: entry.runId,
    metrics: { ...entry.metrics },
    tags: tagsFor(entry),
    artifactUri,
    sha256: entry.sha256,
    createdAt,
  };
}

/**
 * The body of a group's version. Every field is a function of the entry and its artifact, so a
 * resend is the same PUT (a no-op update), never a conflicting one: modelUri and modelType
 * cannot change once a version exists.
 */
export function versionInput(member: ModelVersion): ModelVersionInput {
  const keys = Object.entries(member.keys).map(([k, v]) => `${k}=${v}`).join(', ');
  return {
    description: `manymodels ${member.pipeline}: group ${keys}`,
    tags: member.tags,
    properties: { [AML.sha256]: member.sha256 },
    modelType: MODEL_TYPE,
    modelUri: member.artifactUri,
    isAnonymous: false,
    isArchived: false,
  };
}

/** A group's version as read from Azure ML; undefined when it is not one of ours. */
export function memberFromResource(name: string, resource: ModelVersionResource): ModelVersion | undefined {
  const p = resource.properties;
  const tags: Record<string, string> = {};
  for (const [k, v] of Object.entries(p.tags ?? {})) if (typeof v === 'string') tags[k] = v;
  const sha256 = p.properties?.[AML.sha256];
  const version = resource.name;
  if (!version || !sha256 || !p.modelUri || tags[TAG.pipeline] === undefined || tags[TAG.groupId] === undefined) return undefined;
  const keys: Record<string, string> = {};
  const metrics: Record<string, number> = {};
  for (const [k, v] of Object.entries(tags)) {
    if (k.startsWith('key.')) keys[k.slice(4)] = v;
    else if (k.startsWith('metric.')) metrics[k.slice(7)] = Number(v);
  }
  return {
    name,
    version,
    pipeline: tags[TAG.pipeline] ?? '',
    project: tags[TAG.project] ?? '',
    groupId: tags[TAG.groupId] ?? '',
    keys,
    modelType: tags[TAG.modelType] ?? '',
    runId: tags[TAG.runId] ?? version,
    metrics,
    tags,
    artifactUri: p.modelUri,
    sha256,
    createdAt: resource.systemData?.createdAt ?? '',
  };
}
