// Which CI system this process runs under, from the variables each one sets: Azure Pipelines
// sets TF_BUILD=True, GitHub Actions GITHUB_ACTIONS=true. MANYMODELS_CI=azure|github|none
// overrides the guess (none turns CI output off).
import type { OutputStream } from '../../io.js';
import { azureReporter } from './azure.js';
import { githubReporter } from './github.js';
import { NO_CI, type CiReporter, type CiSystem } from './reporter.js';

export function detectCi(env: Record<string, string | undefined>): CiSystem {
  const forced = env.MANYMODELS_CI?.trim().toLowerCase();
  if (forced === 'azure' || forced === 'github' || forced === 'none') return forced;
  if (env.TF_BUILD?.trim().toLowerCase() === 'true') return 'azure';
  if (env.GITHUB_ACTIONS?.trim().toLowerCase() === 'true') return 'github';
  return 'none';
}

/** The reporter for this environment, writing its command lines to `out`. */
export function createCiReporter(env: Record<string, string | undefined>, out: OutputStream, cwd: string): CiReporter {
  const system = detectCi(env);
  if (system === 'azure') return azureReporter(out, env, cwd);
  if (system === 'github') return githubReporter(out, env, cwd);
  return NO_CI;
}
