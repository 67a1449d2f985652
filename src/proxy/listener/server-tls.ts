/**
 * TLS a filter chain terminates (`ServerTlsConfig`): the certificate served (the snapshot's, or
 * the workload certificate for ISTIO_MUTUAL, rotated without touching live connections), the
 * client certificate asked for and verified (MUTUAL, ISTIO_MUTUAL) with its SANs, and ALPN.
 *
 * Node's TLS server does the handshake and the chain verification: each connection, its first
 * bytes pushed back, is handed to a `tls.Server` that never listens. A client offering none of
 * the chain's ALPN protocols is served by a twin server without ALPN, so it connects without ALPN
 * as Envoy lets it, where Node would refuse it with a fatal alert.
 */
import type net from 'node:net';
import tls from 'node:tls';
import type { ServerTlsConfig } from '../../snapshot/index.js';
import { readPem, secureContext, type NamedSecrets } from '../tls/material.js';
import type { CompiledCache } from '../tls/compiled-cache.js';
import { carriesOneOf, parseSubjectAltNames } from '../tls/san.js';
import { certificateSpiffeId, type WorkloadSecrets } from '../tls/workload-secrets.js';
import type { ClientHello } from './client-hello.js';

/** Envoy's `listener.<address>.ssl.*` counters (with `no_filter_chain_match` beside them). */
export class DownstreamTlsStats {
  'ssl.handshake' = 0;
  'ssl.connection_error' = 0;
  'ssl.fail_verify_no_cert' = 0;
  'ssl.fail_verify_san' = 0;
}

/** How one termination went. */
export interface TlsTermination {
  /** The handshake is done and the client verified as the chain asks. */
  onSecure(socket: tls.TLSSocket): void;
  /** The handshake failed, or the client's certificate was refused; the connection is closed. */
  onFailed(): void;
}

/** PEM text of a chain's own certificate. */
interface ServedMaterial {
  cert: string;
  key: string;
  ca?: string;
}

/** Node's TLS server options for the material, with or without ALPN. */
function serverOptions(material: ServedMaterial, config: ServerTlsConfig, alpn: readonly string[] | null, handshakeTimeoutMs: number): tls.TlsOptions {
  const verifyClient = config.mode !== 'SIMPLE';
  const opts: tls.TlsOptions = { cert: material.cert, key: material.key, requestCert: verifyClient, rejectUnauthorized: verifyClient, handshakeTimeout: handshakeTimeoutMs };
  if (material.ca !== undefined) opts.ca = material.ca;
  if (alpn !== null) opts.ALPNProtocols = alpn;
  return opts;
}

/**
 * The accepted socket under a TLS socket the server made: Node keeps it as `_parent` (not in the
 * typings, set on every TLS socket wrapping another since Node 0.x).
 */
function rawSocketOf(socket: tls.TLSSocket): net.Socket | undefined {
  return (socket as unknown as { _parent?: net.Socket })._parent;
}

/** A connection in its handshake. */
interface Pending {
  done: TlsTermination;
  stats: DownstreamTlsStats;
}

export class ServerTls {
  /** ALPN selected from; empty: no ALPN. */
  readonly alpn: readonly string[];
  /** True when clients present a certificate the chain verifies (MUTUAL, ISTIO_MUTUAL). */
  readonly verifiesClient: boolean;
  private readonly sans: readonly string[] | null;
  /** The server selecting from the chain's ALPN, and its twin without ALPN; built on first use. */
  private withAlpn: tls.Server | null = null;
  private withoutAlpn: tls.Server | null = null;
  /** The workload certificate version the servers present (ISTIO_MUTUAL). */
  private version = -1;
  /** Connections in their handshake, by their accepted socket. */
  private readonly pending = new WeakMap<net.Socket, Pending>();
  /** The SPIFFE id of the chain's own certificate (SIMPLE, MUTUAL), null without one. */
  private readonly ownIdentity: string | null;

  constructor(
    readonly config: ServerTlsConfig,
    alpn: readonly string[],
    private readonly own: ServedMaterial | null,
    private readonly secrets: WorkloadSecrets,
    private readonly handshakeTimeoutMs: number,
  ) {
    this.alpn = alpn;
    this.verifiesClient = config.mode !== 'SIMPLE';
    this.sans = config.subjectAltNames ?? null;
    this.ownIdentity = own === null ? null : certificateSpiffeId(own.cert);
  }

  /** The SPIFFE id of the certificate presented now (the workload's for ISTIO_MUTUAL), null without one. */
  localIdentity(): string | null {
    return this.own === null ? this.secrets.spiffeId : this.ownIdentity;
  }

  /** The material served now: the chain's own, or the current workload certificate; null before one exists. */
  private material(): ServedMaterial | null {
    if (this.own !== null) return this.own;
    const cert = this.secrets.current;
    return cert === null ? null : { cert: cert.certChain, key: cert.privateKey, ca: cert.roots };
  }

  private server(withAlpn: boolean): tls.Server | null {
    const material = this.material();
    if (material === null) return null;
    if (this.own === null && this.version !== this.secrets.version) {
      // A rotated workload certificate: new handshakes present it, live connections keep theirs.
      this.withAlpn?.setSecureContext(serverOptions(material, this.config, this.alpn, this.handshakeTimeoutMs));
      this.withoutAlpn?.setSecureContext(serverOptions(material, this.config, null, this.handshakeTimeoutMs));
      this.version = this.secrets.version;
    }
    let server = withAlpn ? this.withAlpn : this.withoutAlpn;
    if (server === null) {
      server = tls.createServer(serverOptions(material, this.config, withAlpn ? this.alpn : null, this.handshakeTimeoutMs));
      server.on('secureConnection', this.onSecureConnection);
      server.on('tlsClientError', this.onClientError);
      if (withAlpn) this.withAlpn = server;
      else this.withoutAlpn = server;
    }
    return server;
  }

  /**
   * Terminates TLS on `socket`, whose first bytes (the ClientHello `hello`) were read and are in
   * `initial`. Returns false, having done nothing, when there is no certificate to serve yet
   * (ISTIO_MUTUAL before the workload certificate arrived).
   */
  accept(socket: net.Socket, initial: Buffer, hello: ClientHello, stats: DownstreamTlsStats, done: TlsTermination): boolean {
    const withAlpn = this.alpn.length > 0 && hello.alpn.some((p) => this.alpn.includes(p));
    const server = this.server(withAlpn);
    if (server === null) return false;
    const entry: Pending = { done, stats };
    this.pending.set(socket, entry);
    socket.once('close', () => {
      if (this.pending.get(socket) !== entry) return;
      // Closed before the handshake finished: refused (an unverifiable certificate) or abandoned.
      this.pending.delete(socket);
      stats['ssl.connection_error']++;
      done.onFailed();
    });
    socket.pause();
    socket.unshift(initial);
    server.emit('connection', socket);
    return true;
  }

  private readonly onSecureConnection = (socket: tls.TLSSocket): void => {
    const raw = rawSocketOf(socket);
    const entry = raw === undefined ? undefined : this.pending.get(raw);
    if (raw === undefined || entry === undefined) {
      socket.destroy();
      return;
    }
    this.pending.delete(raw);
    if (this.sans !== null && !carriesOneOf(parseSubjectAltNames(socket.getPeerCertificate().subjectaltname), this.sans)) {
      entry.stats['ssl.fail_verify_san']++;
      // A plain close: once TLS wraps the connection its TCP handle cannot be reset safely.
      socket.destroy();
      entry.done.onFailed();
      return;
    }
    entry.stats['ssl.handshake']++;
    entry.done.onSecure(socket);
  };

  private readonly onClientError = (err: NodeJS.ErrnoException, socket: tls.TLSSocket): void => {
    const raw = rawSocketOf(socket);
    const entry = raw === undefined ? undefined : this.pending.get(raw);
    if (raw === undefined || entry === undefined) return;
    this.pending.delete(raw);
    if (err.code === 'ERR_SSL_PEER_DID_NOT_RETURN_A_CERTIFICATE') entry.stats['ssl.fail_verify_no_cert']++;
    else entry.stats['ssl.connection_error']++;
    socket.destroy();
    entry.done.onFailed();
  };
}

/**
 * Compiles a chain's server TLS: reads and checks its certificate, key and CA (throws
 * `SnapshotError` with `at` and the field); an unchanged config with unchanged files comes back
 * as the object compiled before. `alpn` is what the chain selects from unless the config says.
 */
export function compileServerTls(
  config: ServerTlsConfig,
  at: string,
  defaultAlpn: readonly string[],
  secrets: WorkloadSecrets,
  cache: CompiledCache<ServerTls>,
  handshakeTimeoutMs: number,
  named?: NamedSecrets,
): ServerTls {
  const paths = { cert: `${at}.certificate`, key: `${at}.privateKey`, ca: `${at}.caCertificates` };
  let own: ServedMaterial | null = null;
  if (config.mode !== 'ISTIO_MUTUAL') {
    own = { cert: readPem(config.certificate!, paths.cert, 'certificate', named), key: readPem(config.privateKey!, paths.key, 'privateKey', named) };
    if (config.caCertificates !== undefined) own.ca = readPem(config.caCertificates, paths.ca, 'caCertificates', named);
  }
  const alpn = config.alpn ?? defaultAlpn;
  const key = JSON.stringify([config, alpn, own, handshakeTimeoutMs]);
  return cache.get(key, () => {
    // Built once to check the material; the servers are built from the same text on first use.
    if (own !== null) secureContext(own, paths);
    return new ServerTls(config, alpn, own, secrets, handshakeTimeoutMs);
  });
}
