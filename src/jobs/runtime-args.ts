// The runtime entry script's command line (train_entry.py / score_entry.py), built in one place
// for every engine: the local backend spawns it, Databricks hands it to a spark_python_task,
// Synapse to a Livy batch. Paths are as the process running the script sees them.

export interface RuntimeArgs {
  /** The JobSpec file. */
  spec: string;
  runId: string;
  /** The folder the run manifest, artifacts and predictions go to. */
  out: string;
  /** Where the NDJSON events go: `-` for stdout (local), else a file beside the outputs. */
  events: string;
  /** Local engines only: worker processes (0 = one per core). */
  workers?: number;
  executor: 'local' | 'spark';
  /** The runtime package as a zip the script puts on its own path (Databricks; Synapse uses py-files). */
  runtimeZip?: string;
  /** Remote runs: the parsed-input cache is a local-disk optimisation, off on a cluster. */
  noCache?: boolean;
  /** Remote training: artifacts are bundled beside the manifest so one folder brings them home. */
  bundleArtifacts?: boolean;
  /** Local engine: the parsed-input cache entry the embedded reader wrote (loaded instead of reading the input). */
  inputEntry?: string;
  /** Scoring: the model manifest. */
  models?: string;
  /** `train --resume` of a run that ended: the groups to retrain. */
  onlyGroups?: string;
  /** `train --resume` of a run that was stopped: the groups it had done, not to train again. */
  skipGroups?: string;
}

export function runtimeArgs(a: RuntimeArgs): string[] {
  const args = ['--spec', a.spec, '--run-id', a.runId, '--out', a.out, '--events', a.events];
  if (a.workers !== undefined) args.push('--workers', String(a.workers));
  args.push('--executor', a.executor);
  if (a.runtimeZip !== undefined) args.push('--runtime-zip', a.runtimeZip);
  if (a.noCache) args.push('--no-cache');
  if (a.bundleArtifacts) args.push('--bundle-artifacts');
  if (a.inputEntry !== undefined) args.push('--input-entry', a.inputEntry);
  if (a.models !== undefined) args.push('--models', a.models);
  if (a.onlyGroups !== undefined) args.push('--only-groups', a.onlyGroups);
  if (a.skipGroups !== undefined) args.push('--skip-groups', a.skipGroups);
  return args;
}
