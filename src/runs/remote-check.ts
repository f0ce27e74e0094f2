// `validate --remote`: the selected target's settings checked against the service itself (for
// Databricks: runtime versions, node types, pools, policies, an existing cluster's state; for
// Synapse: the Spark pool through ARM), each finding as a diagnostic at its key in the file.
import type { AzureContext } from '../contracts/azure.js';
import type { Diagnostic } from '../core/diagnostics.js';
import { formatPath, locatePath, type PathSegment } from '../pipeline/locate.js';
import type { Project } from '../pipeline/project.js';

export async function remoteDiagnostics(project: Project, context: AzureContext, signal?: AbortSignal): Promise<Diagnostic[]> {
  const target = project.target;
  const toDiagnostic = (code: string, section: string) => (f: { path: PathSegment[]; severity: 'error' | 'warning'; message: string; hint?: string }): Diagnostic => {
    const segs: PathSegment[] = ['targets', target.name, section, ...f.path];
    const d: Diagnostic = { code, severity: f.severity, message: f.message, path: formatPath(segs), file: project.file.displayPath, ...locatePath(project.file.doc, project.file.lineCounter, segs) };
    if (f.hint) d.hint = f.hint;
    return d;
  };
  if (target.engine === 'databricks' && target.databricks) {
    const { openDatabricksBackend } = await import('../jobs/databricks/databricks-backend.js');
    const { checkDatabricksWorkspace, REMOTE_SETTINGS_CODE } = await import('../jobs/databricks/remote-check.js');
    const backend = await openDatabricksBackend(target, context);
    const findings = await checkDatabricksWorkspace(await backend.client(), target.databricks, signal);
    return findings.map(toDiagnostic(REMOTE_SETTINGS_CODE, 'databricks'));
  }
  if (target.engine === 'synapse' && target.synapse) {
    const { synapsePoolClient } = await import('../jobs/synapse/synapse-backend.js');
    const { checkSynapsePool } = await import('../jobs/synapse/remote-check.js');
    const { REMOTE_SETTINGS_CODE } = await import('../jobs/databricks/remote-check.js');
    const findings = await checkSynapsePool(await synapsePoolClient(context), target.synapse, signal);
    return findings.map(toDiagnostic(REMOTE_SETTINGS_CODE, 'synapse'));
  }
  return [];
}
