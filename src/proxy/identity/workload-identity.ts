/**
 * The proxy's workload identity over time (what Istio's SDS agent does inside istio-proxy): make a
 * key, ask skiffd's CA to sign a request for it (proving the workload with the pod's credential),
 * install the certificate, and do it all again halfway through the certificate's life, so a new
 * one is in force well before the old one expires. Each installed certificate goes to the sinks
 * (the proxy's TLS secrets: new handshakes present it, live connections keep theirs). A refused or
 * failed request is retried with backoff while the certificate in force stays in force.
 */
import { X509Certificate } from 'node:crypto';
import { EventEmitter } from 'node:events';
import { readFile } from 'node:fs/promises';
import { CertificateRefusedError } from '../control-client.js';
import { NO_CA_REASON } from '../../snapshot/index.js';

/** Where certificate requests go: the control client's stream to skiffd. */
export interface CertificateSigner {
  requestCertificate(csr: string, credential: string | undefined): Promise<{ certChain: string[]; rootCert: string }>;
}

/** PEM text of one installed identity, as TLS needs it. */
export interface InstalledCertificate {
  /** The workload certificate first, then the signing chain. */
  certChain: string;
  privateKey: string;
  /** The roots peers' certificates must chain to. */
  roots: string;
}

/** Takes each new certificate (the proxy's TLS secrets). */
export interface IdentitySink {
  install(cert: InstalledCertificate): void;
}

/** The identity in force, as `skiff proxy-config secret` shows it. */
export interface IdentityState {
  /** The URI SAN of the workload certificate. */
  spiffeId: string;
  /** Lower-case hexadecimal. */
  serial: string;
  notBefore: Date;
  notAfter: Date;
  /** PEM, the leaf first. */
  certChain: string[];
  rootCert: string;
  rootSerial: string;
  rootNotBefore: Date;
  rootNotAfter: Date;
  /** When this certificate was installed, and when the next request is due. */
  installedAt: Date;
  rotateAt: Date;
}

export interface WorkloadIdentityOptions {
  signer: CertificateSigner;
  /** A file holding the credential sent with every request (the pod's bootstrap token); read afresh each time. */
  credentialFile?: string;
  /** The SPIFFE id the proxy expects, written into its requests (the CA decides what it signs). */
  spiffeId?: string;
  sinks?: IdentitySink[];
  log?: (line: string) => void;
  /** Share of the remaining lifetime after which the next certificate is requested. Default 0.5. */
  rotateAfter?: number;
  /** First retry delay after a failed request, doubled per failure up to `retryMaxMs`. Defaults 500 ms and 30 s. */
  retryMinMs?: number;
  retryMaxMs?: number;
}

export interface WorkloadIdentityEvents {
  installed: [state: IdentityState];
  failed: [reason: string];
}

export class WorkloadIdentity extends EventEmitter<WorkloadIdentityEvents> {
  private state: IdentityState | null = null;
  private timer: NodeJS.Timeout | null = null;
  private failures = 0;
  private closed = false;
  private running = false;
  private readonly log: (line: string) => void;
  private readonly sinks: IdentitySink[];
  private readonly readyPromise: Promise<void>;
  private markReady!: () => void;

  constructor(private readonly opts: WorkloadIdentityOptions) {
    super();
    this.log = opts.log ?? (() => {});
    this.sinks = [...(opts.sinks ?? [])];
    this.readyPromise = new Promise((resolve) => (this.markReady = resolve));
  }

  /** True once the control plane said it runs no CA: the proxy then runs without an identity. */
  unavailable = false;

  /** The certificate in force; null before the first one. */
  get current(): IdentityState | null {
    return this.state;
  }

  /** Resolves once the first certificate is installed. */
  ready(): Promise<void> {
    return this.readyPromise;
  }

  /** Adds a sink; it gets the certificate in force at once, when there is one. */
  addSink(sink: IdentitySink): void {
    this.sinks.push(sink);
    if (this.state !== null && this.installed !== null) sink.install(this.installed);
  }

  /** Requests the first certificate now. */
  start(): void {
    if (this.timer === null && !this.running && !this.closed) void this.renew();
  }

  /** Requests a new certificate now, whatever the one in force (a rotation on demand). */
  rotateNow(): Promise<void> {
    if (this.timer !== null) clearTimeout(this.timer);
    this.timer = null;
    return this.renew();
  }

  close(): void {
    this.closed = true;
    if (this.timer !== null) clearTimeout(this.timer);
    this.timer = null;
  }

  private installed: InstalledCertificate | null = null;

  private async renew(): Promise<void> {
    if (this.running || this.closed) return;
    this.running = true;
    try {
      const { newKeyAndCsr } = await import('./csr.js');
      const { privateKey, csr } = await newKeyAndCsr(this.opts.spiffeId);
      const credential = this.opts.credentialFile === undefined ? undefined : await readCredential(this.opts.credentialFile);
      const signed = await this.opts.signer.requestCertificate(csr, credential);
      if (this.closed) return;
      const state = describe(signed.certChain, signed.rootCert, new Date(), this.opts.rotateAfter ?? 0.5);
      const cert: InstalledCertificate = { certChain: signed.certChain.join(''), privateKey, roots: signed.rootCert };
      for (const sink of this.sinks) sink.install(cert);
      const rotated = this.state !== null;
      this.installed = cert;
      this.state = state;
      this.failures = 0;
      this.log(`workload certificate ${rotated ? 'rotated' : 'installed'}: ${state.spiffeId}, serial ${state.serial}, valid until ${state.notAfter.toISOString()}; next at ${state.rotateAt.toISOString()}`);
      this.emit('installed', state);
      this.markReady();
      this.schedule(state.rotateAt.getTime() - Date.now());
    } catch (err) {
      if (this.closed) return;
      if (err instanceof CertificateRefusedError && err.reason === NO_CA_REASON) {
        // Not a failure to retry: this control plane hands out no identities at all.
        this.unavailable = true;
        this.log('the control plane runs no certificate authority: running without a workload identity');
        this.emit('failed', err.reason);
        return;
      }
      const reason = err instanceof Error ? err.message : String(err);
      const delay = Math.min(this.opts.retryMaxMs ?? 30_000, (this.opts.retryMinMs ?? 500) * 2 ** Math.min(this.failures, 16));
      // Logged on the first failure and then on every tenth, so a long outage does not flood the log.
      if (this.failures % 10 === 0) this.log(`cannot get a workload certificate: ${reason}; retrying in ${delay} ms${this.state !== null ? ` (the certificate in force is valid until ${this.state.notAfter.toISOString()})` : ''}`);
      this.failures++;
      this.emit('failed', reason);
      this.schedule(delay);
    } finally {
      this.running = false;
    }
  }

  private schedule(delayMs: number): void {
    if (this.closed) return;
    this.timer = setTimeout(
      () => {
        this.timer = null;
        void this.renew();
      },
      Math.max(0, delayMs),
    );
    this.timer.unref();
  }
}

/** The facts of a signed chain and root, the next request due `rotateAfter` of the way from now to expiry; throws when the CA's answer is not what a proxy can use. */
function describe(certChain: string[], rootCert: string, installedAt: Date, rotateAfter: number): IdentityState {
  const leaf = new X509Certificate(certChain[0]);
  const root = new X509Certificate(rootCert);
  const uris = (leaf.subjectAltName ?? '')
    .split(', ')
    .filter((n) => n.startsWith('URI:'))
    .map((n) => n.slice(4));
  if (uris.length !== 1 || !uris[0].startsWith('spiffe://')) throw new Error(`the certificate from the CA names ${uris.length === 0 ? 'no SPIFFE id' : uris.join(', ')}`);
  const notAfter = new Date(leaf.validTo);
  return {
    spiffeId: uris[0],
    serial: leaf.serialNumber.toLowerCase(),
    notBefore: new Date(leaf.validFrom),
    notAfter,
    certChain,
    rootCert,
    rootSerial: root.serialNumber.toLowerCase(),
    rootNotBefore: new Date(root.validFrom),
    rootNotAfter: new Date(root.validTo),
    installedAt,
    rotateAt: new Date(installedAt.getTime() + Math.max(0, notAfter.getTime() - installedAt.getTime()) * rotateAfter),
  };
}

async function readCredential(file: string): Promise<string> {
  try {
    return (await readFile(file, 'utf8')).trim();
  } catch (err) {
    throw new Error(`cannot read the credential file ${file}: ${(err as NodeJS.ErrnoException).code ?? String(err)}`);
  }
}
