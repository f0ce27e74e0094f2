// Turns a finished run's outcome into the exit code story of STYLE.md: a failure budget
// exceeded is the work failing (1), bad input found by the runtime is the user's to fix (2),
// Ctrl-C is 130 (a remote run goes on: say how to follow or cancel it), a remote run the
// service ended shows the failing task's error and trace, and a runtime that died says what it
// last logged.
import { InterruptedError, UsageError, WorkFailedError } from '../core/errors.js';
import { redactSecrets } from '../core/redact.js';
import type { RunOutcome, RunRecord } from '../contracts/runs.js';
import type { CliIo } from './io.js';
import { cliHints } from '../runs/hints.js';

/** How a message names a command: `hint('runs show RUN')` → `manymodels runs show RUN [-f FILE]`. */
export type Hint = (words: string) => string;
const plain: Hint = cliHints(undefined);
export { cliHints };

/** What `--no-wait` prints: the run, where to see it, how to follow and cancel it. Stdout: it is the result. */
export function writeSubmitted(io: CliIo, json: boolean, run: RunRecord, hint: Hint = plain): void {
  if (json) {
    io.stdout.write(`${JSON.stringify({ event: 'result', run, submitted: true })}\n`);
    return;
  }
  io.stdout.write(
    `Submitted run ${run.id}${run.external ? ` as ${run.engine} run ${run.external.id}` : ''}\n` +
      (run.external?.url ? `  Run page: ${run.external.url}\n` : '') +
      `  Follow it (and finish it when it ends): ${hint(`runs watch ${run.id}`)}\n` +
      `  Cancel it: ${hint(`runs cancel ${run.id}`)}\n`,
  );
}

/** `resumeHint`: the words after `manymodels` that resume the run (`train P --resume RUN`), if it can be. */
export function throwForOutcome(outcome: RunOutcome, run: RunRecord, resumeWords: string | null, hint: Hint = plain): void {
  // Earlier callers passed the whole command; either way it comes out with -f when needed.
  const resumeHint = resumeWords === null ? null : hint(resumeWords.replace(/^manymodels /, ''));
  if (outcome.state === 'succeeded') return;
  if (outcome.state === 'running') {
    // Ctrl-C on a remote run stops the watching, not the run (it may be hours of cluster time).
    throw new InterruptedError(`stopped watching run ${run.id}; it goes on${run.external ? ` as ${run.engine} run ${run.external.id}` : ''}`, {
      code: 'MM130',
      nextSteps: [`Follow it again (and register its models when it ends): ${hint(`runs watch ${run.id}`)}`, `Cancel it: ${hint(`runs cancel ${run.id}`)}`],
    });
  }
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
        `See which and why: ${hint(`runs show ${run.id}`)}`,
        ...(resumeHint ? [`Retrain only those: ${resumeHint}`] : []),
      ],
    });
  }
  if (outcome.remote) {
    // The service ended the run (a crash in the job, a timeout, a cluster that never came up):
    // say what it said, and the failing task's error and trace.
    const r = outcome.remote;
    const trace = redactSecrets(r.trace ?? '').split('\n').filter((l) => l.trim()).slice(-15);
    throw new WorkFailedError(`run ${run.id} failed: ${redactSecrets(r.message)}`, {
      code: 'MM509',
      nextSteps: [
        ...(r.error ? [`Error: ${redactSecrets(r.error)}`] : []),
        ...(trace.length ? ['Trace (last lines):', ...trace.map((l) => `  ${l}`)] : []),
        ...(r.url ? [`Run page: ${r.url}`] : []),
        `Full log: .manymodels/runs/${run.id}/runtime.log`,
      ],
    });
  }
  const tail = redactSecrets(outcome.logTail.split('\n').slice(-12).join('\n'));
  throw new WorkFailedError(`run ${run.id} stopped unexpectedly${outcome.exitCode !== null ? ` (runtime exit ${outcome.exitCode})` : ''}`, {
    code: 'MM502',
    nextSteps: [
      ...(tail ? ['The runtime last logged:', ...tail.split('\n').map((l) => `  ${l}`)] : []),
      // A local train journals each group as it finishes: a resume keeps what was fitted.
      ...(resumeHint ? [`Pick up where it stopped: ${resumeHint}`] : []),
    ],
  });
}
