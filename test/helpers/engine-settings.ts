// Engine sections resolved the way the language layer does it (pipeline/engine-settings.ts), for
// tests of the engines: the typed settings, or the diagnostics that refused them.
import type { Diagnostic } from '../../src/core/diagnostics.js';
import type { DatabricksTarget, SynapseTarget } from '../../src/contracts/targets.js';
import { resolveEngineSettings } from '../../src/pipeline/engine-settings.js';
import type { RawDatabricks, RawSynapse } from '../../src/pipeline/types.js';

const nowhere = (): { file: string; line: number; column: number } => ({ file: 'pipelines.yaml', line: 0, column: 0 });

export function databricksProblems(raw: RawDatabricks | undefined): Diagnostic[] {
  return resolveEngineSettings(raw ? { engine: 'databricks', databricks: raw } : { engine: 'databricks' }, 't', nowhere).diagnostics;
}

export function synapseProblems(raw: RawSynapse | undefined): Diagnostic[] {
  return resolveEngineSettings(raw ? { engine: 'synapse', synapse: raw } : { engine: 'synapse' }, 't', nowhere).diagnostics;
}

export function databricksTarget(raw: RawDatabricks): DatabricksTarget {
  const r = resolveEngineSettings({ engine: 'databricks', databricks: raw }, 't', nowhere);
  if (!r.databricks) throw new Error(`refused: ${r.diagnostics.map((d) => d.message).join('; ')}`);
  return r.databricks;
}

export function synapseTarget(raw: RawSynapse): SynapseTarget {
  const r = resolveEngineSettings({ engine: 'synapse', synapse: raw }, 't', nowhere);
  if (!r.synapse) throw new Error(`refused: ${r.diagnostics.map((d) => d.message).join('; ')}`);
  return r.synapse;
}
