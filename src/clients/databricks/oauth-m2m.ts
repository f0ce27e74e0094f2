// OAuth machine-to-machine for a Databricks service principal: the client id and secret are
// exchanged at the workspace's token endpoint (`POST <host>/oidc/v1/token`, HTTP Basic client
// authentication, `grant_type=client_credentials&scope=all-apis`) for an access token valid
// about an hour, which is kept and renewed a minute before it expires (or after a 401).
import { HttpClient, RemoteErrorCode, RemoteHttpError, isRecord, type HttpClientOptions, type ServiceErrorParser, type TokenProvider } from '../http.js';

/** OAuth 2.0 errors are `{error, error_description}` (RFC 6749 §5.2). */
export const parseOAuthError: ServiceErrorParser = (body) => {
  if (!isRecord(body)) return {};
  const code = typeof body.error === 'string' ? body.error : undefined;
  const message = typeof body.error_description === 'string' ? body.error_description : undefined;
  return { code, message };
};

export const DATABRICKS_TOKEN_PATH = '/oidc/v1/token';
/** Renew this long before the token's expiry, so a request never carries one that just ran out. */
const EARLY_MS = 60_000;

export interface OAuthM2MOptions {
  host: string;
  clientId: string;
  clientSecret: string;
  http?: Partial<Omit<HttpClientOptions, 'service' | 'baseUrl' | 'tokenProvider' | 'parseServiceError'>>;
  now?: () => number;
}

export class OAuthM2MTokenProvider implements TokenProvider {
  private readonly http: HttpClient;
  private cached: { token: string; expiresAt: number } | undefined;
  private pending: Promise<string> | undefined;
  private readonly now: () => number;
  /** Tokens fetched so far (tests). */
  fetched = 0;

  constructor(private readonly options: OAuthM2MOptions) {
    this.http = new HttpClient({ ...options.http, service: 'Databricks OAuth', baseUrl: options.host, parseServiceError: parseOAuthError });
    this.now = options.now ?? Date.now;
  }

  async getToken(): Promise<string> {
    if (this.cached && this.now() < this.cached.expiresAt) return this.cached.token;
    // Concurrent callers share one request.
    this.pending ??= this.fetch().finally(() => {
      this.pending = undefined;
    });
    return this.pending;
  }

  invalidate(): void {
    this.cached = undefined;
  }

  private async fetch(): Promise<string> {
    const basic = Buffer.from(`${encodeURIComponent(this.options.clientId)}:${encodeURIComponent(this.options.clientSecret)}`).toString('base64');
    let res;
    try {
      res = await this.http.request({
        method: 'POST',
        url: DATABRICKS_TOKEN_PATH,
        body: new URLSearchParams({ grant_type: 'client_credentials', scope: 'all-apis' }).toString(),
        headers: { Authorization: `Basic ${basic}`, 'Content-Type': 'application/x-www-form-urlencoded' },
        // Asking again for a token changes nothing on the service.
        idempotent: true,
      });
    } catch (err) {
      if (err instanceof RemoteHttpError && (err.status === 400 || err.status === 401)) {
        // invalid_client and friends are a credential problem, whatever the status.
        const out = new RemoteHttpError(err.message, {
          code: RemoteErrorCode.Auth, service: err.service, method: 'POST', path: DATABRICKS_TOKEN_PATH, attempts: err.attempts, maybeProcessed: false,
          ...(err.status !== undefined ? { status: err.status } : {}), ...(err.serviceCode !== undefined ? { serviceCode: err.serviceCode } : {}), cause: err,
          nextSteps: [
            'Check DATABRICKS_CLIENT_ID and DATABRICKS_CLIENT_SECRET (or client_id / client_secret in the profile): the OAuth secret of a service principal of this workspace, not yet expired.',
            'The service principal must be added to the workspace. See docs/databricks.md#authentication.',
          ],
        });
        throw out;
      }
      throw err;
    }
    const data = res.data;
    if (!isRecord(data) || typeof data.access_token !== 'string' || !data.access_token) {
      throw new RemoteHttpError('Databricks OAuth token endpoint: no access_token in the reply', {
        code: RemoteErrorCode.UnexpectedResponse, service: 'Databricks OAuth', method: 'POST', path: DATABRICKS_TOKEN_PATH, attempts: 1, maybeProcessed: true,
      });
    }
    const seconds = typeof data.expires_in === 'number' && data.expires_in > 0 ? data.expires_in : 3600;
    // Renewed a minute early, or halfway through a token that lives less than two.
    this.cached = { token: data.access_token, expiresAt: this.now() + seconds * 1000 - Math.min(EARLY_MS, seconds * 500) };
    this.fetched++;
    return data.access_token;
  }
}
