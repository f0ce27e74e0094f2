// Finds the Python that can run the runtime: MANYMODELS_PYTHON, else python3 on PATH, else
// the system interpreter (Debian's packages land there, and a pyenv python3 earlier on PATH
// may not see them). The first that imports pandas, numpy, scikit-learn and statsmodels wins.
import { spawnSync } from 'node:child_process';
import type { JobSpec, SqlSource } from '../../contracts/job-spec.js';
import { UsageError } from '../../core/errors.js';
import { registerSecret } from '../../core/redact.js';

const PROBE = 'import pandas, numpy, sklearn, statsmodels';
const cache = new Map<string, string>();

export function findPython(env: Record<string, string | undefined>): string {
  const candidates = [env.MANYMODELS_PYTHON, 'python3', '/usr/bin/python3', '/usr/local/bin/python3'].filter((c): c is string => Boolean(c));
  const cacheKey = candidates.join('|') + (env.PATH ?? '');
  const hit = cache.get(cacheKey);
  if (hit) return hit;
  const tried: string[] = [];
  for (const candidate of [...new Set(candidates)]) {
    const probe = spawnSync(candidate, ['-c', PROBE], { env: { PATH: env.PATH ?? '', HOME: env.HOME ?? '' }, timeout: 60_000, stdio: 'ignore' });
    if (probe.status === 0) {
      cache.set(cacheKey, candidate);
      return candidate;
    }
    tried.push(candidate);
  }
  throw new UsageError(`no Python with pandas, numpy, scikit-learn and statsmodels (tried ${tried.join(', ')})`, {
    code: 'MM401',
    nextSteps: ['Run scripts/bootstrap.sh, which installs them,', 'or set MANYMODELS_PYTHON to an interpreter that has them.'],
  });
}

/**
 * The clean environment the runtime's processes get: only what Python needs, plus one BLAS
 * thread per process (more threads never helped and doubled CPU for gradient boosting).
 */
export function runtimeEnv(env: Record<string, string | undefined>, extra: Record<string, string> = {}): Record<string, string> {
  return {
    PATH: env.PATH ?? '',
    HOME: env.HOME ?? '',
    LANG: env.LANG ?? 'C.UTF-8',
    PYTHONUNBUFFERED: '1',
    PYTHONDONTWRITEBYTECODE: '1',
    OMP_NUM_THREADS: '1',
    OPENBLAS_NUM_THREADS: '1',
    MKL_NUM_THREADS: '1',
    ...extra,
  };
}

/**
 * The credentials variables a `sql` source names, passed on to the runtime's otherwise clean
 * environment (only those, only when set); the password is registered with the redaction point.
 */
export function sqlCredentialsEnv(spec: JobSpec, env: Record<string, string | undefined>): Record<string, string> {
  return spec.data.format === 'sql' && spec.data.sql ? sqlSourceEnv(spec.data.sql, env) : {};
}

/** sqlCredentialsEnv for one source's settings (`validate --data` reads a source without a JobSpec). */
export function sqlSourceEnv(sql: Pick<SqlSource, 'userEnv' | 'passwordEnv'>, env: Record<string, string | undefined>): Record<string, string> {
  const out: Record<string, string> = {};
  for (const name of [sql.userEnv, sql.passwordEnv]) {
    const value = name ? env[name] : undefined;
    if (name && value !== undefined) out[name] = value;
  }
  if (sql.passwordEnv) registerSecret(env[sql.passwordEnv], `the password in data.sql.password_env (${sql.passwordEnv})`);
  return out;
}
