/**
 * `skiff proxy --control-plane URL`: wires a running SkiffProxy (or the relay to its workers) to
 * the control client and reports what happens in the proxy's log.
 */
import type { AddressInfo } from 'node:net';
import { ControlClient } from './control-client.js';
import type { ControlPlaneTls, SnapshotTarget } from './control-client.js';
import type { SkiffProxy } from './proxy.js';
import { WorkloadIdentity, type IdentityState, type InstalledCertificate } from './identity/workload-identity.js';
import type { NodeConfig } from '../snapshot/index.js';
import { watchFetchStates } from './filters/jwt/key-sets.js';

export interface ControlPlaneOptions {
  /** skiffd's push URL. */
  url: string;
  /** With an `https://` URL: the root skiffd's certificate chains to and the name it carries. */
  tls?: ControlPlaneTls;
  node: NodeConfig;
  /**
   * The workload's credential file (the pod's bootstrap token): given, the proxy gets its
   * workload certificate from the control plane's CA and keeps it rotated.
   */
  credentialFile?: string;
}

/** `http://host:port` for a bound address; a wildcard address is reached on loopback. */
export function urlOf(address: AddressInfo, path = ''): string {
  let host = address.address;
  if (host === '0.0.0.0') host = '127.0.0.1';
  else if (host === '::') host = '::1';
  return `http://${host.includes(':') ? `[${host}]` : host}:${address.port}${path}`;
}

/** One line naming every listener and where it is bound. */
export function describeListeners(proxy: SkiffProxy): string {
  const where = proxy
    .listenerList()
    .map((l) => `${l.name}=${l.address().address}:${l.address().port}`)
    .join(' ');
  return where || 'none';
}

export interface StartControlOptions {
  controlPlane: ControlPlaneOptions;
  target: SnapshotTarget;
  adminUrl?: string;
  metricsUrl?: string;
  log: (line: string) => void;
  /** Called after each applied snapshot, for a fuller log line than the version alone. */
  describe?: () => string;
}

/**
 * The proxy's workload identity through `client`, when the control plane options name a
 * credential file; installed into the proxy (its readiness waits for the first certificate).
 */
export function startWorkloadIdentity(controlPlane: ControlPlaneOptions, client: ControlClient, proxy: SkiffProxy, log: (line: string) => void): WorkloadIdentity | null {
  if (controlPlane.credentialFile === undefined) return null;
  // The CA signs for the identity the credential proves, in its trust domain: the request names none.
  // Installed into the proxy's TLS secrets (Istio's `default` and `ROOTCA`): ISTIO_MUTUAL listeners and clusters use them.
  const identity = new WorkloadIdentity({ signer: client, credentialFile: controlPlane.credentialFile, sinks: [proxy.workloadSecrets], log });
  proxy.identity = identity;
  identity.start();
  return identity;
}

/** Starts the control client and logs applied snapshots; the caller closes it on shutdown. */
export function startControlClient(opts: StartControlOptions): ControlClient {
  const client = new ControlClient({
    url: opts.controlPlane.url,
    ...(opts.controlPlane.tls !== undefined ? { tls: opts.controlPlane.tls } : {}),
    node: opts.controlPlane.node,
    target: opts.target,
    ...(opts.adminUrl !== undefined ? { adminUrl: opts.adminUrl } : {}),
    ...(opts.metricsUrl !== undefined ? { metricsUrl: opts.metricsUrl } : {}),
    log: opts.log,
  });
  client.on('applied', (version) => opts.log(`snapshot ${version} applied${opts.describe ? `; listeners: ${opts.describe()}` : ''}`));
  opts.log(`node ${opts.controlPlane.node.id} (${opts.controlPlane.node.kind}) waiting for its snapshot from ${opts.controlPlane.url}`);
  client.start();
  return client;
}

/** Where the primary hands its identity to the workers (`WorkerRelay`). */
export interface IdentityShare {
  shareIdentity(cert: InstalledCertificate | null, state: IdentityState | null): void;
}

/**
 * With several workers: the primary's workload identity, when the control plane options name a
 * credential file, each certificate handed to every worker through `relay` (a control plane
 * without a CA is passed on too, so the workers stop waiting).
 */
export function startRelayedIdentity(controlPlane: ControlPlaneOptions, client: ControlClient, relay: IdentityShare, log: (line: string) => void): WorkloadIdentity | null {
  if (controlPlane.credentialFile === undefined) return null;
  let cert: InstalledCertificate | null = null;
  const identity = new WorkloadIdentity({ signer: client, credentialFile: controlPlane.credentialFile, sinks: [{ install: (c) => (cert = c) }], log });
  identity.on('installed', (state) => relay.shareIdentity(cert, state));
  identity.on('failed', () => {
    if (identity.unavailable) relay.shareIdentity(null, null);
  });
  identity.start();
  return identity;
}

/** Reports the JWKS fetch states of `proxy`'s rules to skiffd through `client` as they change; returns the unsubscribe. */
export function reportJwksStates(client: ControlClient, proxy: SkiffProxy): () => void {
  return watchFetchStates(proxy, (states) => client.reportStatus(states));
}
