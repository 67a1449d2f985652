/**
 * The CA's service to proxies: authenticate the caller, then sign its request for the identity it
 * proved, in the mesh's current trust domain, for the configured lifetime.
 */
import type { CsrAuthenticator, CsrCaller } from './authenticate.js';
import type { IssuedCertificate, MeshCa } from './mesh-ca.js';

export interface WorkloadCertificatesOptions {
  ca: MeshCa;
  authenticator: CsrAuthenticator;
  /** The mesh config's trust domain as of now (it may change with the `istio` ConfigMap). */
  trustDomain: () => string;
  /** Lifetime of each certificate. */
  ttlMs: number;
  log?: (line: string) => void;
}

export class WorkloadCertificates {
  constructor(private readonly opts: WorkloadCertificatesOptions) {}

  get rootCert(): string {
    return this.opts.ca.rootCert;
  }

  /** Signs `csrPem` for the caller's proven identity; rejects with the reason otherwise. */
  async issue(caller: CsrCaller, csrPem: string): Promise<IssuedCertificate> {
    const identity = await this.opts.authenticator.authenticate(caller);
    const issued = await this.opts.ca.sign(csrPem, identity, this.opts.trustDomain(), this.opts.ttlMs);
    this.opts.log?.(`ca: signed ${issued.spiffeId} for ${caller.node.id} (serial ${issued.serial}, until ${issued.notAfter.toISOString()})`);
    return issued;
  }
}
