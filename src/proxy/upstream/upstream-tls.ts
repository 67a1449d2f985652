/**
 * A cluster's upstream TLS compiled from the snapshot (`ClusterTlsConfig`): the secure context
 * (the snapshot's certificates, or the proxy's workload certificate for ISTIO_MUTUAL), the server
 * name, the ALPN list for what the connection will carry, and the check of the server's names.
 * Compiled once per distinct config; every connection to the cluster's hosts takes its options.
 */
import type { ConnectionOptions, PeerCertificate } from 'node:tls';
import { ALPN } from '../../snapshot/index.js';
import type { ClusterTlsConfig, EndpointConfig } from '../../snapshot/index.js';
import { readPem, secureContext, type NamedSecrets } from '../tls/material.js';
import { SAN_MISMATCH_CODE } from '../tls/failure-text.js';
import { carriesOneOf, parseSubjectAltNames } from '../tls/san.js';
import type { WorkloadSecrets } from '../tls/workload-secrets.js';
import type { CompiledCache } from '../tls/compiled-cache.js';

/** What an upstream connection carries, which picks the ALPN protocols it offers. */
export type UpstreamTraffic = 'http1' | 'http2' | 'tcp';

function sanError(wanted: readonly string[], cert: PeerCertificate): Error {
  const err = new Error(`the server certificate carries none of ${wanted.join(', ')} (it has ${cert.subjectaltname ?? 'no SAN'})`) as NodeJS.ErrnoException;
  err.code = SAN_MISMATCH_CODE;
  return err;
}

export class UpstreamTls {
  readonly mode: ClusterTlsConfig['mode'];
  /** Automatic mutual TLS: only endpoints whose `tlsMode` is `istio` get this TLS (`tlsForEndpoint`). */
  readonly autoMtls: boolean;
  private readonly servername: string;
  private readonly verify: boolean;
  private readonly alpn: Readonly<Record<UpstreamTraffic, readonly string[] | undefined>>;
  private readonly fixed: ConnectionOptions['secureContext'] | null;
  /** The names the server certificate must carry (SANs, or the SNI); empty: the chain alone. */
  private readonly names: readonly string[];

  constructor(
    readonly config: ClusterTlsConfig,
    private readonly secrets: WorkloadSecrets,
    fixed: ConnectionOptions['secureContext'] | null,
  ) {
    this.mode = config.mode;
    this.autoMtls = config.autoMtls === true;
    this.servername = config.sni ?? '';
    this.verify = config.insecureSkipVerify !== true;
    this.fixed = fixed;
    this.names = config.subjectAltNames ?? (config.mode !== 'ISTIO_MUTUAL' && config.sni !== undefined ? [config.sni] : []);
    const base = config.alpn;
    const withoutH2 = base?.filter((p) => p !== 'h2');
    this.alpn =
      config.mode === 'ISTIO_MUTUAL'
        ? { tcp: base, http1: ALPN.inMeshHttp11, http2: ALPN.inMeshHttp2 }
        : { tcp: base, http1: withoutH2 !== undefined && withoutH2.length > 0 ? withoutH2 : undefined, http2: ['h2'] };
  }

  /**
   * Node's `tls.connect` options for one connection, or null when ISTIO_MUTUAL has no workload
   * certificate yet (the connection cannot be made).
   */
  connectOptions(traffic: UpstreamTraffic): ConnectionOptions | null {
    const context = this.fixed ?? this.secrets.secureContext();
    if (context === null) return null;
    const opts: ConnectionOptions = {
      secureContext: context,
      // '' sends no SNI: Node would otherwise send the host name of a DNS endpoint.
      servername: this.servername,
      rejectUnauthorized: this.verify,
      checkServerIdentity: this.checkServerIdentity,
    };
    const alpn = this.alpn[traffic];
    if (alpn !== undefined) opts.ALPNProtocols = alpn;
    return opts;
  }

  /** This proxy's SPIFFE id on these connections: the workload's under ISTIO_MUTUAL, else null. */
  localIdentity(): string | null {
    return this.mode === 'ISTIO_MUTUAL' ? this.secrets.spiffeId : null;
  }

  /** Runs once the chain verified: the server must carry one of the wanted names. */
  private readonly checkServerIdentity = (_host: string, cert: PeerCertificate): Error | undefined => {
    if (this.names.length === 0 || carriesOneOf(parseSubjectAltNames(cert.subjectaltname), this.names)) return undefined;
    return sanError(this.names, cert);
  };
}

/**
 * The TLS a connection to an endpoint originates: the cluster's, except under automatic mutual
 * TLS towards an endpoint without a sidecar (its `tlsMode` is not `istio`), which gets plaintext.
 */
export function tlsForEndpoint(tls: UpstreamTls | null, endpoint: EndpointConfig): UpstreamTls | null {
  return tls !== null && tls.autoMtls && endpoint.tlsMode !== 'istio' ? null : tls;
}

/**
 * Compiles a cluster's TLS; null for DISABLE. Reads and checks the certificates it names (throws
 * `SnapshotError` with `at` and the field); an unchanged config with unchanged files comes back
 * as the object compiled before.
 */
export function compileUpstreamTls(
  config: ClusterTlsConfig,
  at: string,
  secrets: WorkloadSecrets,
  cache: CompiledCache<UpstreamTls>,
  named?: NamedSecrets,
): UpstreamTls | null {
  if (config.mode === 'DISABLE') return null;
  const paths = { cert: `${at}.clientCertificate`, key: `${at}.privateKey`, ca: `${at}.caCertificates` };
  const parts: { cert?: string; key?: string; ca?: string } = {};
  if (config.clientCertificate !== undefined) parts.cert = readPem(config.clientCertificate, paths.cert, 'certificate', named);
  if (config.privateKey !== undefined) parts.key = readPem(config.privateKey, paths.key, 'privateKey', named);
  if (config.caCertificates !== undefined) parts.ca = readPem(config.caCertificates, paths.ca, 'caCertificates', named);
  const key = JSON.stringify([config, parts.cert, parts.key, parts.ca]);
  return cache.get(key, () => new UpstreamTls(config, secrets, config.mode === 'ISTIO_MUTUAL' ? null : secureContext(parts, paths)));
}
