// Turns a finished run's outcome into the exit code story of STYLE.md: a failure budget
// exceeded is the work failing (1), bad input found by the runtime is the user's to fix (2),
// Ctrl-C is 130, and a runtime that died says what it last logged.
import { InterruptedError, UsageError, WorkFailedError } from '../core/errors.js';
import { redactSecrets } from '../core/redact.js';
import type { RunOutcome } from '../jobs/backend.js';
import type { RunRecord } from '../jobs/run-store.js';

export function throwForOutcome(outcome: RunOutcome, run: RunRecord, resumeHint: string | null): void {
  if (outcome.state === 'succeeded') return;
  if (outcome.state === 'cancelled') {
    throw new InterruptedError(`stopped run ${run.id}`, {
      code: 'MM130',
      nextSteps: resumeHint ? [`Pick up where it stopped: ${resumeHint}`] : [],
    });
  }
  if (outcome.error && outcome.exitCode === 2) {
    throw new UsageError(outcome.error.message, { code: outcome.error.code, nextSteps: [`Run ${run.id}; details in .manymodels/runs/${run.id}/runtime.log`] });
  }
  if (outcome.error) {
    // The groups ran but something after them failed (e.g. writing predictions).
    throw new WorkFailedError(outcome.error.message, { code: outcome.error.code, nextSteps: [`Run ${run.id}; details in .manymodels/runs/${run.id}/runtime.log`] });
  }
  if (outcome.exitCode === 1 && run.counts) {
    throw new WorkFailedError(`run ${run.id} failed: ${run.counts.failed} of ${run.counts.total} groups failed, past the failure budget`, {
      code: 'MM501',
      nextSteps: [
        `See which and why: manymodels runs show ${run.id}`,
        ...(resumeHint ? [`Retrain only those: ${resumeHint}`] : []),
      ],
    });
  }
  const tail = redactSecrets(outcome.logTail.split('\n').slice(-12).join('\n'));
  throw new WorkFailedError(`run ${run.id} stopped unexpectedly${outcome.exitCode !== null ? ` (runtime exit ${outcome.exitCode})` : ''}`, {
    code: 'MM502',
    nextSteps: tail ? ['The runtime last logged:', ...tail.split('\n').map((l) => `  ${l}`)] : [],
  });
}
