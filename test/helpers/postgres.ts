// A real PostgreSQL server for the tests (Debian's postgresql package): initdb and pg_ctl in a
// temporary folder, on a free 127.0.0.1 port, with a password (scram-sha-256) for the user `mm`.
// PostgreSQL refuses to run as root, so under uid 0 the server runs as `nobody` (runuser) with
// its folder given to it. `postgresBin()` is null when PostgreSQL is not installed: a test skips
// then, except under CI=true, where that is a failure (scripts/bootstrap.sh installs it).
// The Python tests have the same server in pyspark-templates/tests/pg_server.py.
import { execFileSync } from 'node:child_process';
import { chmodSync, chownSync, existsSync, mkdtempSync, readdirSync, rmSync, writeFileSync } from 'node:fs';
import { createServer } from 'node:net';
import { tmpdir } from 'node:os';
import path from 'node:path';

export const PG_USER = 'mm';
export const PG_PASSWORD = 'pg-e2e-Secret-4417';

/** The newest /usr/lib/postgresql/<version>/bin with pg_ctl, or pg_ctl's folder on PATH; null without one. */
export function postgresBin(): string | null {
  const root = '/usr/lib/postgresql';
  const versions = existsSync(root) ? readdirSync(root).filter((v) => existsSync(path.join(root, v, 'bin', 'pg_ctl'))) : [];
  versions.sort((a, b) => Number(a) - Number(b));
  if (versions.length) return path.join(root, versions.at(-1)!, 'bin');
  for (const dir of (process.env.PATH ?? '').split(':')) if (dir && existsSync(path.join(dir, 'pg_ctl'))) return dir;
  return null;
}

/** Throws under CI=true when PostgreSQL is missing; otherwise whether the tests can run. */
export function havePostgres(): boolean {
  const bin = postgresBin();
  if (!bin && process.env.CI === 'true') throw new Error('PostgreSQL is missing: scripts/bootstrap.sh installs it (postgresql) for the tests');
  return bin !== null;
}

export function freePort(): Promise<number> {
  return new Promise((resolve, reject) => {
    const srv = createServer();
    srv.once('error', reject);
    srv.listen(0, '127.0.0.1', () => {
      const { port } = srv.address() as { port: number };
      srv.close(() => resolve(port));
    });
  });
}

export interface PostgresServer {
  readonly url: string;
  readonly port: number;
  /** Runs SQL (psql commands such as \copy too) as the user mm. */
  psql(sql: string): string;
  stop(): void;
}

export async function startPostgres(): Promise<PostgresServer> {
  const bin = postgresBin();
  if (!bin) throw new Error('PostgreSQL is not installed');
  const dir = mkdtempSync(path.join(tmpdir(), 'mm-pg-'));
  const port = await freePort();
  const asUser = process.getuid?.() === 0 ? ['runuser', '-u', 'nobody', '--'] : [];
  const nobody = (): { uid: number; gid: number } => {
    const ids = execFileSync('id', ['-u', 'nobody'], { encoding: 'utf8' }).trim();
    const gid = execFileSync('id', ['-g', 'nobody'], { encoding: 'utf8' }).trim();
    return { uid: Number(ids), gid: Number(gid) };
  };
  const pw = path.join(dir, 'pw');
  writeFileSync(pw, `${PG_PASSWORD}\n`);
  if (asUser.length) {
    const { uid, gid } = nobody();
    chmodSync(dir, 0o700);
    chownSync(dir, uid, gid);
    chownSync(pw, uid, gid);
  }
  const run = (tool: string, args: string[]): void => {
    const [cmd, ...rest] = [...asUser, path.join(bin, tool), ...args];
    execFileSync(cmd!, rest, { stdio: 'pipe', timeout: 120_000 });
  };
  const data = path.join(dir, 'data');
  run('initdb', ['-D', data, '-U', PG_USER, '--auth=scram-sha-256', `--pwfile=${pw}`, '-E', 'UTF8', '--no-sync', '--no-instructions']);
  run('pg_ctl', ['-D', data, '-l', path.join(dir, 'log'), '-w', '-o', `-p ${port} -k ${dir} -c listen_addresses=127.0.0.1 -c fsync=off`, 'start']);
  const psqlBin = existsSync(path.join(bin, 'psql')) ? path.join(bin, 'psql') : 'psql';
  return {
    url: `postgresql://127.0.0.1:${port}/postgres`,
    port,
    psql: (sql) =>
      execFileSync(psqlBin, ['-X', '-q', '-v', 'ON_ERROR_STOP=1', '-h', '127.0.0.1', '-p', String(port), '-U', PG_USER, '-d', 'postgres', '-f', '-'], {
        input: sql,
        encoding: 'utf8',
        env: { PATH: process.env.PATH ?? '', PGPASSWORD: PG_PASSWORD },
      }),
    stop: () => {
      try {
        run('pg_ctl', ['-D', data, '-m', 'immediate', 'stop']);
      } finally {
        rmSync(dir, { recursive: true, force: true });
      }
    },
  };
}
