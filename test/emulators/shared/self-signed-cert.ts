// A throw-away self-signed TLS certificate for 127.0.0.1, made with `openssl` at test time, so
// emulators can serve HTTPS to the Azure SDKs (core-rest-pipeline refuses bearer tokens over http).
import { execFileSync } from 'node:child_process';
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';

export interface SelfSignedCertificate {
  readonly key: string;
  readonly cert: string;
}

/**
 * A one-day EC certificate with SAN IP:127.0.0.1; `undefined` when openssl is not available,
 * so the HTTPS emulator tests skip on such a machine, but not under CI (scripts/bootstrap.sh
 * installs openssl there), where a missing openssl fails them as a missing tmux or PostgreSQL does.
 */
export function selfSignedCertificate(): SelfSignedCertificate | undefined {
  const dir = fs.mkdtempSync(path.join(os.tmpdir(), 'mm-emu-tls-'));
  try {
    execFileSync('openssl', [
      'req', '-x509', '-newkey', 'ec', '-pkeyopt', 'ec_paramgen_curve:prime256v1', '-nodes', '-days', '1',
      '-subj', '/CN=127.0.0.1', '-addext', 'subjectAltName=IP:127.0.0.1',
      '-keyout', path.join(dir, 'key.pem'), '-out', path.join(dir, 'cert.pem'),
    ], { stdio: 'ignore' });
    return { key: fs.readFileSync(path.join(dir, 'key.pem'), 'utf8'), cert: fs.readFileSync(path.join(dir, 'cert.pem'), 'utf8') };
  } catch (err) {
    if (process.env.CI === 'true') throw new Error(`openssl could not make the emulators' TLS certificate under CI: ${String(err)}`);
    return undefined;
  } finally {
    fs.rmSync(dir, { recursive: true, force: true });
  }
}
