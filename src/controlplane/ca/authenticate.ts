/**
 * Who is asking for a certificate: the step that turns a certificate request's credential into
 * the one workload identity the CA will sign for. The CA signs nothing else; a caller that proves
 * no identity gets no certificate.
 *
 * On the local runtime the proof is a bootstrap token: the runtime draws a random token for each
 * pod it starts, hands it to that pod's proxy in a file only the user can read, and answers which
 * pod (namespace, service account) a token belongs to (`BootstrapTokenAuthenticator`). In
 * Kubernetes mode the proof is the pod's projected service-account token (audience `istio-ca`),
 * which an implementation of this interface checks with a TokenReview, as istiod does.
 */
import type { NodeConfig } from '../../snapshot/index.js';
import type { WorkloadIdentity } from './mesh-ca.js';

/** What the CA knows of a certificate request's caller. */
export interface CsrCaller {
  /** The credential the proxy presented with its request; absent when it sent none. */
  credential?: string;
  /** The node from the proxy's hello (what it claims to be; never trusted for the identity). */
  node: NodeConfig;
}

/** A caller whose credential proves no identity; the text says why (it reaches the proxy's log). */
export class CsrAuthenticationError extends Error {
  constructor(message: string) {
    super(message);
    this.name = 'CsrAuthenticationError';
  }
}

export interface CsrAuthenticator {
  /** The identity the caller proved, or a `CsrAuthenticationError`. */
  authenticate(caller: CsrCaller): WorkloadIdentity | Promise<WorkloadIdentity>;
}

/** Answers which pod a bootstrap token was handed to; undefined for a token it never issued. */
export type BootstrapTokenLookup = (token: string) => WorkloadIdentity | undefined;

/** The local runtime's proof of workload: a per-pod random token (see the module comment). */
export class BootstrapTokenAuthenticator implements CsrAuthenticator {
  constructor(private readonly lookup: BootstrapTokenLookup) {}

  authenticate(caller: CsrCaller): WorkloadIdentity {
    if (caller.credential === undefined || caller.credential === '') throw new CsrAuthenticationError('the request carries no credential (a bootstrap token)');
    const identity = this.lookup(caller.credential);
    if (identity === undefined) throw new CsrAuthenticationError('the credential is not a bootstrap token of any running pod');
    return identity;
  }
}
