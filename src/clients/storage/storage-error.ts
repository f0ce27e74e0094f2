// The one place a storage SDK failure becomes our RemoteError (MM608), with the SAS and the
// request stripped, so logging the kept cause cannot leak a credential.
import { RestError } from '@azure/storage-blob';
import { RemoteError } from '../../core/errors.js';
import { redactSecrets } from '../../core/redact.js';
import { RemoteErrorCode } from '../http.js';

/**
 * Wraps a storage SDK error once. RestError carries the request (URL with SAS signature) and
 * response; those are dropped from the kept cause so logging it cannot leak the SAS.
 */
export function storageError(action: string, blobName: string, err: unknown): RemoteError {
  if (err instanceof RestError) {
    const mutable = err as unknown as { request?: unknown; response?: unknown };
    mutable.request = undefined;
    mutable.response = undefined;
    err.message = redactSecrets(err.message);
    if (typeof err.stack === 'string') err.stack = redactSecrets(err.stack);
  }
  const status = err instanceof RestError ? err.statusCode : undefined;
  const code = err instanceof RestError ? err.code : undefined;
  const message = err instanceof Error ? err.message : String(err);
  return new RemoteError(redactSecrets(`Blob storage: ${action} ${blobName} failed${status ? `: HTTP ${status}` : ''}${code ? ` ${code}` : ''}: ${message}`), {
    code: RemoteErrorCode.Storage,
    status,
    serviceCode: code,
    cause: err,
  });
}
