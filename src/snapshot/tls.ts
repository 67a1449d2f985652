/**
 * TLS in the proxy snapshot: what a cluster originates towards its endpoints (Istio's
 * `ClientTLSSettings`, the DestinationRule `tls` block) and what a listener's filter chain
 * terminates (Istio's `ServerTLSSettings` and PeerAuthentication's mTLS), with their checks.
 *
 * Certificates, keys and CA bundles are PEM text in the snapshot, a file the proxy reads when it
 * applies the snapshot, or a named secret of the snapshot's `secrets` section (Istio's SDS
 * secrets such as `kubernetes://httpbin-credential`, which the control plane reads from Kubernetes
 * Secrets): naming the secret keeps its PEM text out of listeners and clusters, and the proxy
 * shows a secret only by name and serial. ISTIO_MUTUAL carries none: the proxy uses its workload
 * certificate and the mesh root (Istio's SDS secrets `default` and `ROOTCA`).
 */
import { SnapshotError, list, obj, oneOf, str } from './checks.js';

/** PEM text, inline, in a file the proxy reads, or the part of a named secret the field asks for. */
export type TlsSource = { pem: string } | { file: string } | { secret: string };

/** Which part of a named secret a field takes. */
export type TlsSecretPart = 'certificate' | 'privateKey' | 'caCertificates';

/**
 * A named secret (Envoy's SDS secret): a certificate chain with its key, CA certificates, or both,
 * as PEM text. Fields name it with `{secret: name}` and take the part they stand for.
 */
export interface TlsSecret {
  name: string;
  certificate?: string;
  privateKey?: string;
  caCertificates?: string;
}

/** Istio's `ClientTLSSettings.TLSmode`. */
export type ClientTlsMode = 'DISABLE' | 'SIMPLE' | 'MUTUAL' | 'ISTIO_MUTUAL';

/** A cluster's upstream TLS (DestinationRule `trafficPolicy.tls`, per port or subset). */
export interface ClusterTlsConfig {
  mode: ClientTlsMode;
  /** Server name sent in the ClientHello; ISTIO_MUTUAL defaults to Istio's `outbound_.PORT_.SUBSET_.HOST`. */
  sni?: string;
  /**
   * The server certificate must carry one of these as a URI SAN (SPIFFE ids) or DNS SAN. Absent:
   * SIMPLE and MUTUAL check the DNS names against `sni` when one is set; ISTIO_MUTUAL checks the
   * chain only.
   */
  subjectAltNames?: string[];
  /** Roots the server's chain is verified against; absent: the system's roots (SIMPLE, MUTUAL). */
  caCertificates?: TlsSource;
  /** MUTUAL: the certificate chain presented to the server. */
  clientCertificate?: TlsSource;
  /** MUTUAL: the key of `clientCertificate`. */
  privateKey?: TlsSource;
  /** No chain or name verification at all (SIMPLE, MUTUAL). */
  insecureSkipVerify?: boolean;
  /**
   * ALPN protocols offered on connections that do not carry HTTP (TCP proxying, CONNECT); HTTP
   * pools offer their protocol's list. Resolved by `withDefaults`.
   */
  alpn?: string[];
  /**
   * ISTIO_MUTUAL only: Istio's automatic mutual TLS. The TLS applies to the endpoints whose
   * `tlsMode` is `istio` (they run a sidecar); the others are reached in plaintext, as Envoy's
   * transport-socket match on the endpoint's `tlsMode` metadata does. Absent: every endpoint.
   */
  autoMtls?: boolean;
}

/** Istio's `ServerTLSSettings.TLSmode` for a terminating filter chain. */
export type ServerTlsMode = 'SIMPLE' | 'MUTUAL' | 'ISTIO_MUTUAL';

/** TLS a filter chain terminates. */
export interface ServerTlsConfig {
  mode: ServerTlsMode;
  /** SIMPLE, MUTUAL: the certificate chain served. */
  certificate?: TlsSource;
  /** SIMPLE, MUTUAL: its key. */
  privateKey?: TlsSource;
  /** MUTUAL: roots a client certificate must chain to (one is required). */
  caCertificates?: TlsSource;
  /** MUTUAL, ISTIO_MUTUAL: the client certificate must carry one of these SANs. */
  subjectAltNames?: string[];
  /**
   * ALPN protocols the server selects from, in its order of preference. Default: `h2`,
   * `http/1.1` on chains serving HTTP, none on TCP chains. A client offering none of them still
   * connects, without ALPN, as with Envoy.
   */
  alpn?: string[];
}

const CLIENT_MODES = ['DISABLE', 'SIMPLE', 'MUTUAL', 'ISTIO_MUTUAL'] as const;
const SERVER_MODES = ['SIMPLE', 'MUTUAL', 'ISTIO_MUTUAL'] as const;

export function checkTlsSource(v: unknown, at: string): TlsSource {
  const o = obj(v, at);
  const keys = Object.keys(o);
  if (keys.length !== 1 || (keys[0] !== 'pem' && keys[0] !== 'file' && keys[0] !== 'secret')) {
    throw new SnapshotError(at, 'must be {pem: "<PEM text>"}, {file: "<path>"} or {secret: "<name in secrets>"}');
  }
  if (keys[0] === 'file') return { file: str(o.file, `${at}.file`) };
  if (keys[0] === 'secret') return { secret: str(o.secret, `${at}.secret`) };
  const pem = str(o.pem, `${at}.pem`);
  if (!pem.includes('-----BEGIN ')) throw new SnapshotError(`${at}.pem`, 'is not PEM text (no -----BEGIN line)');
  return { pem };
}

function strings(v: unknown, at: string): string[] {
  return list(v, at).map((s, i) => str(s, `${at}[${i}]`));
}

function alpnList(v: unknown, at: string): string[] {
  const out = strings(v, at);
  out.forEach((p, i) => {
    if (Buffer.byteLength(p) > 255) throw new SnapshotError(`${at}[${i}]`, 'an ALPN protocol name is at most 255 bytes');
  });
  return out;
}

function bool(v: unknown, at: string): boolean {
  if (typeof v !== 'boolean') throw new SnapshotError(at, `must be true or false, got ${JSON.stringify(v)}`);
  return v;
}

function refuse(o: Record<string, unknown>, fields: readonly string[], at: string, why: string): void {
  for (const f of fields) if (o[f] !== undefined) throw new SnapshotError(`${at}.${f}`, why);
}

/** Checks a cluster's `tls` block (Istio's ValidateTLS rules for upstream TLS); throws `SnapshotError`. */
export function checkClusterTls(v: unknown, at: string): ClusterTlsConfig {
  const o = obj(v, at);
  const out: ClusterTlsConfig = { mode: oneOf(o.mode, CLIENT_MODES, `${at}.mode`) };
  if (o.sni !== undefined) out.sni = str(o.sni, `${at}.sni`);
  if (o.subjectAltNames !== undefined) out.subjectAltNames = strings(o.subjectAltNames, `${at}.subjectAltNames`);
  if (o.caCertificates !== undefined) out.caCertificates = checkTlsSource(o.caCertificates, `${at}.caCertificates`);
  if (o.clientCertificate !== undefined) out.clientCertificate = checkTlsSource(o.clientCertificate, `${at}.clientCertificate`);
  if (o.privateKey !== undefined) out.privateKey = checkTlsSource(o.privateKey, `${at}.privateKey`);
  if (o.insecureSkipVerify !== undefined) out.insecureSkipVerify = bool(o.insecureSkipVerify, `${at}.insecureSkipVerify`);
  if (o.alpn !== undefined) out.alpn = alpnList(o.alpn, `${at}.alpn`);
  if (o.autoMtls !== undefined) {
    out.autoMtls = bool(o.autoMtls, `${at}.autoMtls`);
    if (out.mode !== 'ISTIO_MUTUAL') throw new SnapshotError(`${at}.autoMtls`, 'is only for ISTIO_MUTUAL (automatic mutual TLS towards endpoints with a sidecar)');
  }
  switch (out.mode) {
    case 'ISTIO_MUTUAL':
      refuse(o, ['caCertificates', 'clientCertificate', 'privateKey', 'insecureSkipVerify'], at, 'must be empty with ISTIO_MUTUAL (the proxy uses its workload certificate and the mesh root)');
      break;
    case 'MUTUAL':
      if (out.clientCertificate === undefined) throw new SnapshotError(`${at}.clientCertificate`, 'client certificate required for mutual tls');
      if (out.privateKey === undefined) throw new SnapshotError(`${at}.privateKey`, 'private key required for mutual tls');
      break;
    default:
  }
  if (out.insecureSkipVerify === true) refuse(o, ['caCertificates', 'subjectAltNames'], at, 'cannot be set when insecureSkipVerify is true');
  if ((out.clientCertificate === undefined) !== (out.privateKey === undefined)) {
    throw new SnapshotError(`${at}.${out.privateKey === undefined ? 'privateKey' : 'clientCertificate'}`, 'clientCertificate and privateKey go together');
  }
  return out;
}

/** Checks a filter chain's server TLS; throws `SnapshotError`. */
export function checkServerTls(v: unknown, at: string): ServerTlsConfig {
  const o = obj(v, at);
  const out: ServerTlsConfig = { mode: oneOf(o.mode, SERVER_MODES, `${at}.mode`) };
  if (o.certificate !== undefined) out.certificate = checkTlsSource(o.certificate, `${at}.certificate`);
  if (o.privateKey !== undefined) out.privateKey = checkTlsSource(o.privateKey, `${at}.privateKey`);
  if (o.caCertificates !== undefined) out.caCertificates = checkTlsSource(o.caCertificates, `${at}.caCertificates`);
  if (o.subjectAltNames !== undefined) out.subjectAltNames = strings(o.subjectAltNames, `${at}.subjectAltNames`);
  if (o.alpn !== undefined) out.alpn = alpnList(o.alpn, `${at}.alpn`);
  if (out.mode === 'ISTIO_MUTUAL') {
    refuse(o, ['certificate', 'privateKey', 'caCertificates'], at, 'must be empty with ISTIO_MUTUAL (the proxy uses its workload certificate and the mesh root)');
    return out;
  }
  if (out.certificate === undefined) throw new SnapshotError(`${at}.certificate`, `is required for ${out.mode}`);
  if (out.privateKey === undefined) throw new SnapshotError(`${at}.privateKey`, `is required for ${out.mode}`);
  if (out.mode === 'MUTUAL' && out.caCertificates === undefined) throw new SnapshotError(`${at}.caCertificates`, 'is required for MUTUAL (client certificates are verified against it)');
  return out;
}

/** Istio's ALPN lists (pilot/pkg/networking/util). */
export const ALPN = Object.freeze({
  /** What an ISTIO_MUTUAL cluster offers for TCP. */
  inMesh: Object.freeze(['istio-peer-exchange', 'istio']),
  /** … for a cluster speaking HTTP/2. */
  inMeshH2: Object.freeze(['istio-peer-exchange', 'istio', 'h2']),
  /** What an ISTIO_MUTUAL HTTP/1.1 connection offers (Istio's ALPN override per upstream protocol). */
  inMeshHttp11: Object.freeze(['istio-http/1.1', 'istio', 'http/1.1']),
  /** … an HTTP/2 connection. */
  inMeshHttp2: Object.freeze(['istio-h2', 'istio', 'h2']),
  /** What a server chain serving HTTP selects from by default. */
  http: Object.freeze(['h2', 'http/1.1']),
});

/**
 * Istio's SNI for ISTIO_MUTUAL towards a cluster named `outbound|PORT|SUBSET|HOST`:
 * `outbound_.PORT_.SUBSET_.HOST`; undefined for other names.
 */
export function istioMutualSni(clusterName: string): string | undefined {
  const parts = clusterName.split('|');
  if (parts.length !== 4 || parts[0] !== 'outbound') return undefined;
  return `outbound_.${parts[1]}_.${parts[2]}_.${parts[3]}`;
}

/** A cluster's TLS with defaults resolved (`withDefaults`): ALPN, and ISTIO_MUTUAL's SNI. */
export function resolveClusterTls(tls: ClusterTlsConfig, clusterName: string, protocol: string): ClusterTlsConfig {
  const out: ClusterTlsConfig = { ...tls };
  if (tls.mode === 'DISABLE') return out;
  if (tls.mode === 'ISTIO_MUTUAL') {
    if (out.sni === undefined) {
      const sni = istioMutualSni(clusterName);
      if (sni !== undefined) out.sni = sni;
    }
    out.alpn ??= [...(protocol === 'http2' ? ALPN.inMeshH2 : ALPN.inMesh)];
  } else if (out.alpn === undefined && protocol === 'http2') out.alpn = ['h2'];
  return out;
}

function pemText(v: unknown, at: string): string {
  const pem = str(v, at);
  if (!pem.includes('-----BEGIN ')) throw new SnapshotError(at, 'is not PEM text (no -----BEGIN line)');
  return pem;
}

/** Checks the snapshot's `secrets` section: unique names, PEM parts, a key only with its certificate. */
export function checkTlsSecrets(v: unknown, at: string): TlsSecret[] {
  const names = new Set<string>();
  return list(v, at).map((item, i) => {
    const iat = `${at}[${i}]`;
    const o = obj(item, iat);
    const secret: TlsSecret = { name: str(o.name, `${iat}.name`) };
    if (names.has(secret.name)) throw new SnapshotError(`${iat}.name`, `duplicate secret name ${JSON.stringify(secret.name)}`);
    names.add(secret.name);
    for (const part of ['certificate', 'privateKey', 'caCertificates'] as const) {
      if (o[part] !== undefined) secret[part] = pemText(o[part], `${iat}.${part}`);
    }
    if ((secret.certificate === undefined) !== (secret.privateKey === undefined)) {
      throw new SnapshotError(`${iat}.${secret.privateKey === undefined ? 'privateKey' : 'certificate'}`, 'certificate and privateKey go together');
    }
    if (secret.certificate === undefined && secret.caCertificates === undefined) throw new SnapshotError(iat, 'holds neither a certificate nor CA certificates');
    return secret;
  });
}

/**
 * Checks that a `{secret}` source names a secret of the snapshot holding the part its field takes;
 * other sources pass.
 */
export function checkSecretRef(source: TlsSource | undefined, part: TlsSecretPart, at: string, secrets: ReadonlyMap<string, TlsSecret>): void {
  if (source === undefined || !('secret' in source)) return;
  const secret = secrets.get(source.secret);
  if (secret === undefined) throw new SnapshotError(`${at}.secret`, `no secret named ${JSON.stringify(source.secret)} in secrets`);
  if (secret[part] === undefined) throw new SnapshotError(`${at}.secret`, `secret ${JSON.stringify(source.secret)} holds no ${part}`);
}
