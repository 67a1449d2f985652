/**
 * Proof of workload on Kubernetes, as istiod checks it: a proxy's certificate request carries its
 * pod's projected service-account token (audience `istio-ca`), which is sent to the API server in
 * a TokenReview; only an authenticated token for that audience whose user is a service account
 * (`system:serviceaccount:<namespace>:<name>`) proves an identity, and that identity is the only
 * one the CA signs for. It fits skiffd's `CsrAuthenticator` seam (`startSkiffd({ ca: {
 * authenticator } })`); what the proxy claims in its hello is never trusted.
 */
import { KubeApiError } from './client.js';
import type { KubeClient } from './client.js';

/** The audience Istio's CA tokens carry. */
export const ISTIO_CA_AUDIENCE = 'istio-ca';

export class TokenReviewError extends Error {
  override name = 'TokenReviewError';
}

interface TokenReviewStatus {
  authenticated?: boolean;
  error?: string;
  user?: { username?: string };
  audiences?: string[];
}

const SA_USER = /^system:serviceaccount:([a-z0-9]([-a-z0-9]*[a-z0-9])?):([a-z0-9]([-.a-z0-9]*[a-z0-9])?)$/;

export class TokenReviewAuthenticator {
  constructor(
    private readonly client: KubeClient,
    private readonly audiences: readonly string[] = [ISTIO_CA_AUDIENCE],
  ) {}

  async authenticate(caller: { credential?: string }): Promise<{ namespace: string; serviceAccount: string }> {
    const token = caller.credential;
    if (token === undefined || token === '') throw new TokenReviewError('the request carries no credential (the pod\'s istio-ca service-account token)');
    let status: TokenReviewStatus;
    try {
      const review = await this.client.request<{ status?: TokenReviewStatus }>('POST', '/apis/authentication.k8s.io/v1/tokenreviews', {
        apiVersion: 'authentication.k8s.io/v1',
        kind: 'TokenReview',
        spec: { token, audiences: this.audiences },
      });
      status = review.status ?? {};
    } catch (err) {
      throw new TokenReviewError(`the token could not be reviewed: ${err instanceof KubeApiError || err instanceof Error ? err.message : String(err)}`);
    }
    if (status.authenticated !== true) throw new TokenReviewError(`the token is not authenticated${status.error !== undefined && status.error !== '' ? `: ${status.error}` : ''}`);
    // An API server that reviews audiences says which of ours the token is for; none is a refusal.
    if (status.audiences !== undefined && !status.audiences.some((a) => this.audiences.includes(a))) {
      throw new TokenReviewError(`the token is not for the audience ${this.audiences.join(', ')} (it is for ${status.audiences.join(', ') || 'none'})`);
    }
    const username = status.user?.username ?? '';
    const m = SA_USER.exec(username);
    if (m === null) throw new TokenReviewError(`the token's user "${username}" is not a service account`);
    return { namespace: m[1], serviceAccount: m[3] };
  }
}
