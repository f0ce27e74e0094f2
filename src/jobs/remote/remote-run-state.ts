// What a remote run leaves in its local run folder so another CLI process can re-attach to it
// (`manymodels runs watch`, `runs cancel`): the service's id for it, and the exact submission,
// written *before* it is sent, so a CLI killed mid-submit can resend it (the service's
// idempotency makes that safe). Never holds a token.
import { existsSync, readFileSync } from 'node:fs';
import path from 'node:path';
import { writeStateFile } from '../../core/state-file.js';

export const REMOTE_RUN_FILE = 'remote-run.json';

export interface RemoteRunState<Submission = Record<string, unknown>> {
  specVersion: 1;
  engine: string;
  runId: string;
  stage: 'train' | 'score';
  /** The service's id and page for the run, once it has accepted the submission. */
  external: { id: string; url?: string } | null;
  /** Engine-specific: everything needed to resend the submission and find the outputs. */
  submission: Submission;
  /** When the submission was first sent. */
  submittedAt: string | null;
  /** When the run's outputs were last copied into the run folder. */
  collectedAt: string | null;
}

export function remoteRunFile(runDir: string): string {
  return path.join(runDir, REMOTE_RUN_FILE);
}

export function readRemoteRun<S>(runDir: string): RemoteRunState<S> | undefined {
  const file = remoteRunFile(runDir);
  if (!existsSync(file)) return undefined;
  const data = JSON.parse(readFileSync(file, 'utf8')) as RemoteRunState<S>;
  if (data.specVersion !== 1 || typeof data.engine !== 'string' || typeof data.runId !== 'string') {
    throw new Error(`${file} is not a version-1 remote run file`);
  }
  return data;
}

/** Written atomically: a reader never sees half a file, a crash leaves the previous one. */
export function writeRemoteRun<S>(runDir: string, state: RemoteRunState<S>): void {
  const file = remoteRunFile(runDir);
  writeStateFile(file, `${JSON.stringify(state, null, 2)}\n`);
}
