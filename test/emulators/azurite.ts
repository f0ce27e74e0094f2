// Starts and stops a private Azurite blob service for a test file: a free port, in-memory
// storage, a temp working directory; optionally HTTPS with Azure AD (OAuth) tokens accepted.
// Shared by the Azure ML and Synapse emulator tests and the Synapse engine's end-to-end test.
import { type ChildProcess, spawn } from 'node:child_process';
import { mkdtempSync, realpathSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';

/** Azurite's documented development account (public, fixed; not a secret of anyone's). */
export const AZURITE_ACCOUNT = 'devstoreaccount1';
export const AZURITE_ACCOUNT_KEY = 'Eby8vdM02xNOcqFlqUwJPLlmEtlCDXJ1OUzFT50uSRZ6IFsuFq2UVErCz4I6tq/K1SZFPTOtr/KBHBeksoGMGw==';

export interface AzuriteBlob {
  /** e.g. http://127.0.0.1:41234/devstoreaccount1 */
  blobEndpoint: string;
  connectionString: string;
  port: number;
  stop(): Promise<void>;
}

const repoRoot = fileURLToPath(new URL('../../', import.meta.url));

export interface AzuriteOptions {
  timeoutMs?: number;
  /**
   * Serve HTTPS with this key and certificate, and accept bearer tokens (`--oauth basic`:
   * Azurite checks a JWT's issuer, audience and lifetime, not its signature). The storage SDK
   * sends bearer tokens over HTTPS only, so this is how a client's Azure AD path is tested.
   */
  tls?: { key: string; cert: string };
}

export async function startAzuriteBlob(options: AzuriteOptions = {}): Promise<AzuriteBlob> {
  const bin = join(repoRoot, 'node_modules', '.bin', 'azurite-blob');
  let script: string;
  try {
    script = realpathSync(bin);
  } catch {
    throw new Error(`Azurite is not installed (${bin} is missing); run npm install.`);
  }
  const workDir = mkdtempSync(join(tmpdir(), 'mm-azurite-'));
  const tlsArgs: string[] = [];
  if (options.tls) {
    writeFileSync(join(workDir, 'key.pem'), options.tls.key);
    writeFileSync(join(workDir, 'cert.pem'), options.tls.cert);
    tlsArgs.push('--cert', join(workDir, 'cert.pem'), '--key', join(workDir, 'key.pem'), '--oauth', 'basic');
  }
  const child: ChildProcess = spawn(
    process.execPath,
    [
      script,
      '--blobHost', '127.0.0.1',
      '--blobPort', '0',
      '--inMemoryPersistence',
      '--extentMemoryLimit', '64',
      '--silent',
      '--disableTelemetry',
      // @azure/storage-blob may speak a newer service version than this Azurite knows.
      '--skipApiVersionCheck',
      '--loose',
      ...tlsArgs,
    ],
    { cwd: workDir, stdio: ['ignore', 'pipe', 'pipe'] },
  );

  let output = '';
  const port = await new Promise<number>((resolve, reject) => {
    const timer = setTimeout(() => {
      child.kill('SIGKILL');
      reject(new Error(`Azurite did not start within ${options.timeoutMs ?? 15_000} ms. Output:\n${output}`));
    }, options.timeoutMs ?? 15_000);
    const onData = (chunk: Buffer): void => {
      output += chunk.toString('utf8');
      const m = /successfully listens on https?:\/\/[^:]+:(\d+)/.exec(output);
      if (m) {
        clearTimeout(timer);
        resolve(Number(m[1]));
      }
    };
    child.stdout?.on('data', onData);
    child.stderr?.on('data', onData);
    child.once('exit', (code, signal) => {
      clearTimeout(timer);
      reject(new Error(`Azurite exited before listening (code ${code}, signal ${signal}). Output:\n${output}`));
    });
    child.once('error', (err) => {
      clearTimeout(timer);
      reject(new Error(`Azurite could not be spawned: ${err.message}`));
    });
  }).catch((err: unknown) => {
    rmSync(workDir, { recursive: true, force: true });
    throw err;
  });

  const scheme = options.tls ? 'https' : 'http';
  const blobEndpoint = `${scheme}://127.0.0.1:${port}/${AZURITE_ACCOUNT}`;
  return {
    blobEndpoint,
    port,
    connectionString: `DefaultEndpointsProtocol=${scheme};AccountName=${AZURITE_ACCOUNT};AccountKey=${AZURITE_ACCOUNT_KEY};BlobEndpoint=${blobEndpoint};`,
    async stop(): Promise<void> {
      if (child.exitCode === null && child.signalCode === null) {
        const exited = new Promise<void>((resolve) => child.once('exit', () => resolve()));
        child.kill('SIGTERM');
        const timer = setTimeout(() => child.kill('SIGKILL'), 3_000);
        await exited;
        clearTimeout(timer);
      }
      rmSync(workDir, { recursive: true, force: true });
    },
  };
}
