/**
 * The listener's downstream transport step, run on every accepted connection before anything
 * serves it. It decides, from the connection's first bytes and its destination port, how the
 * connection is served, in two stages on one mechanism (`first-bytes.ts`: bytes are read, never
 * taken — they reach the TLS layer or whatever serves the connection):
 *
 * 1. the filter-chain match (`filter-chains.ts`): a TLS ClientHello or not, the hello's SNI and
 *    ALPN, the destination port. The chosen chain's transport then applies: TLS terminated
 *    (PERMISSIVE, STRICT on a ClientHello), plaintext reset with a TCP RST (STRICT), or the bytes
 *    served as they arrive (DISABLE, PERMISSIVE plaintext). A connection no chain matches is
 *    reset too. A listener whose one chain matches everything in plaintext (every listener
 *    without filter chains) reads nothing here.
 * 2. what serves it, by the chain's protocol, on the bytes as the server sees them (decrypted
 *    once TLS is terminated): `http` — HTTP/2 when ALPN agreed `h2` or the HTTP/2 preface
 *    arrives, else HTTP/1.1; `auto` — an HTTP/1.x request line or the preface is HTTP, anything
 *    else TCP (Envoy's http_inspector); `tcp` — the TCP proxy, after the ClientHello's SNI when
 *    its routes match on it (TLS passthrough).
 */
import type net from 'node:net';
import type tls from 'node:tls';
import type { AcceptedTransport } from '../connection/connection-context.js';
import { prefaceState } from '../http2/preface.js';
import { certificateFacts, spiffeId } from '../tls/san.js';
import { SocketTlsFacts } from '../tls/tls-facts.js';
import { readClientHello } from './client-hello.js';
import type { ClientHello } from './client-hello.js';
import type { CompiledChain, FilterChains } from './filter-chains.js';
import { readFirstBytes } from './first-bytes.js';
import { DownstreamTlsStats } from './server-tls.js';
import { sniffProtocol } from './sniff.js';

/** Envoy's `listener.<address>.*` counters of the transport step. */
export class TransportStats extends DownstreamTlsStats {
  no_filter_chain_match = 0;
}

/** What the step settled about a connection, for whoever serves it (and its connection context). */
export type Transport = AcceptedTransport;

/** What serves a connection. */
export type Served = 'http1' | 'h2' | 'tcp';

/**
 * Serves a connection once the step decided: `socket` is the accepted socket or, when TLS was
 * terminated, the TLS socket over it; `initial` holds bytes already read from it.
 */
export type ServeConnection = (socket: net.Socket, chain: CompiledChain, served: Served, initial: Buffer, transport: Transport) => void;

/** What the step runs with: the binding's chains and the times it waits for first bytes. */
export interface TransportSettings {
  readonly chains: FilterChains;
  /** The destination port (the listener's own: connections reach a listener directly). */
  readonly port: number;
  /** How long to wait for a ClientHello (then: plaintext) or for `auto` to tell HTTP (then: TCP). */
  readonly detectionTimeoutMs: number;
  /** How long an `http` chain waits inside the HTTP/2 preface before serving HTTP/1.1. */
  readonly prefaceTimeoutMs: number;
  readonly stats: TransportStats;
}

const EMPTY = Buffer.alloc(0);
const UNREAD: Transport = Object.freeze({ secure: false, sni: undefined, alpn: null, peerIdentity: null, peerCertificate: null, localIdentity: null, tlsVersion: null });
const PLAINTEXT: Transport = Object.freeze({ secure: false, sni: null, alpn: null, peerIdentity: null, peerCertificate: null, localIdentity: null, tlsVersion: null });

/** Runs the step on an accepted connection; `serve` is called once, unless the step closed it. */
export function runTransportStep(socket: net.Socket, settings: TransportSettings, serve: ServeConnection): void {
  const { chains } = settings;
  const direct = chains.direct;
  if (direct !== null) {
    detectApplication(socket, direct, EMPTY, UNREAD, settings, serve);
    return;
  }
  if (!chains.readsClientHello) {
    applyChain(socket, null, EMPTY, false, settings, serve);
    return;
  }
  readFirstBytes(socket, EMPTY, settings.detectionTimeoutMs, (bytes, final) => {
    const hello = readClientHello(bytes);
    if (hello === 'more' && !final) return null;
    // A hello cut short by the client's end or the timeout is not TLS that can be terminated.
    return () => applyChain(socket, hello === 'more' ? null : hello, bytes, true, settings, serve);
  });
}

/** Stage 1: the chain for what was read, and its transport. */
function applyChain(socket: net.Socket, hello: ClientHello | null, initial: Buffer, read: boolean, settings: TransportSettings, serve: ServeConnection): void {
  const { stats } = settings;
  const chain = settings.chains.select({ port: settings.port, hello });
  if (chain === null) {
    stats.no_filter_chain_match++;
    reset(socket);
    return;
  }
  if (hello === null) {
    if (chain.mode === 'STRICT') {
      // Plaintext to STRICT mTLS: a reset, as Envoy's (curl exits 56, "Connection reset by peer").
      stats.no_filter_chain_match++;
      reset(socket);
      return;
    }
    detectApplication(socket, chain, initial, read ? PLAINTEXT : UNREAD, settings, serve);
    return;
  }
  if (chain.mode === 'DISABLE' || chain.tls === null) {
    // TLS passed through as it is (a passthrough route picks its cluster by the SNI).
    detectApplication(socket, chain, initial, { ...PLAINTEXT, sni: hello.sni }, settings, serve);
    return;
  }
  const accepted = chain.tls.accept(socket, initial, hello, stats, {
    onSecure(tlsSocket: tls.TLSSocket) {
      const alpn = typeof tlsSocket.alpnProtocol === 'string' ? tlsSocket.alpnProtocol : null;
      const serverTls = chain.tls;
      const cert = serverTls?.verifiesClient === true ? tlsSocket.getPeerCertificate() : null;
      const transport: Transport = {
        secure: true,
        sni: hello.sni,
        alpn,
        peerIdentity: spiffeId(cert),
        peerCertificate: certificateFacts(cert),
        localIdentity: serverTls?.localIdentity() ?? null,
        tlsVersion: tlsSocket.getProtocol(),
        tlsFacts: new SocketTlsFacts(tlsSocket),
      };
      detectApplication(tlsSocket, chain, EMPTY, transport, settings, serve);
    },
    onFailed() {
      // Closed, not reset: a TCP handle under a TLS layer must not be reset from under it.
      socket.destroy();
    },
  });
  if (!accepted) {
    // No certificate to present yet (ISTIO_MUTUAL before the workload certificate arrived).
    stats['ssl.connection_error']++;
    reset(socket);
  }
}

/** Stage 2: what serves the connection, by the chain's protocol. */
function detectApplication(socket: net.Socket, chain: CompiledChain, initial: Buffer, transport: Transport, settings: TransportSettings, serve: ServeConnection): void {
  switch (chain.protocol) {
    case 'http': {
      if (transport.alpn === 'h2' || transport.alpn === 'http/1.1') {
        serve(socket, chain, transport.alpn === 'h2' ? 'h2' : 'http1', initial, transport);
        return;
      }
      // A connection that stalls inside the preface goes to HTTP/1.1, whose codec answers what it can.
      readFirstBytes(socket, initial, settings.prefaceTimeoutMs, (bytes, final) => {
        const state = final ? 'http1' : prefaceState(bytes);
        return state === 'more' ? null : () => serve(socket, chain, state, bytes, transport);
      });
      return;
    }
    case 'tcp':
      if (!chain.needsSni || transport.sni !== undefined) {
        serve(socket, chain, 'tcp', initial, transport);
        return;
      }
      readFirstBytes(socket, initial, settings.detectionTimeoutMs, (bytes, final) => {
        const hello = readClientHello(bytes);
        if (hello === 'more' && !final) return null;
        return () => serve(socket, chain, 'tcp', bytes, withSni(transport, hello === null || hello === 'more' ? null : hello.sni));
      });
      return;
    default:
      readFirstBytes(socket, initial, settings.detectionTimeoutMs, (bytes, final) => {
        const kind = final ? 'tcp' : sniffProtocol(bytes);
        if (kind === 'more') return null;
        if (kind !== 'tcp') return () => serve(socket, chain, kind, bytes, transport);
        return () => serve(socket, chain, 'tcp', bytes, transport.sni !== undefined ? transport : withSni(transport, sniOf(bytes)));
      });
  }
}

function withSni(transport: Transport, sni: string | null): Transport {
  return { ...transport, sni };
}

/** The SNI of a ClientHello at the start of `bytes`, null when they are not one or it has none. */
function sniOf(bytes: Buffer): string | null {
  const hello = readClientHello(bytes);
  return hello === null || hello === 'more' ? null : hello.sni;
}

/** Ends a connection with a TCP RST. */
function reset(socket: net.Socket): void {
  if (socket.destroyed) return;
  socket.resetAndDestroy();
}
