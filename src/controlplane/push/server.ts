/**
 * skiffd's push server: holds one HTTP/2 stream per proxy (protocol in
 * `src/snapshot/protocol.ts`), sends each its snapshot on connect and after debounced changes (as
 * a delta to a proxy that takes them and acknowledged the previous one), and tracks ACKs and
 * NACKs for `skiff proxy-status`.
 */
import { EventEmitter } from 'node:events';
import http2 from 'node:http2';
import type { Http2SecureServer, Http2Session, Http2Server, IncomingHttpHeaders, ServerHttp2Stream } from 'node:http2';
import type { AddressInfo } from 'node:net';
import { setImmediate as yieldToEventLoop } from 'node:timers/promises';
import { ProxyConnection } from './connection.js';
import { Debouncer } from './debounce.js';
import { SessionKeepalive } from './keepalive.js';
import { deltaLine, encodeSnapshot, snapshotChunks } from './encode.js';
import { CONTENT_TYPE, DELTA_FEATURE, LineSplitter, NO_CA_REASON, ProtocolError, STREAM_PATH, encodeLine, parseProxyMessage } from '../../snapshot/index.js';
import type { CertificateMessage, CertificateRefusedMessage, CsrMessage, HelloMessage, JwksFetchState, ProxyMessage } from '../../snapshot/index.js';
import type { ConnectedProxy, ProxyStatus, PushCounters, PushLogger, PushServerEvents, PushServerOptions } from './types.js';

/** Proxies send only small messages; a longer line is a broken or hostile peer. */
const MAX_PROXY_LINE = 1 << 20;
/** Sends per event-loop turn during a push, so ACKs and new connections are read meanwhile. */
const SENDS_PER_TURN = 64;

const silent: PushLogger = { info: () => {}, warn: () => {} };

export class PushServer extends EventEmitter<PushServerEvents> {
  private readonly h2: Http2Server;
  /** The same service over TLS (istiod's 15012), once `listenTls` started it. */
  private secure: Http2SecureServer | undefined;
  private readonly keepalive: SessionKeepalive;
  private readonly streams = new Set<ProxyConnection>();
  /** Proxies that said hello, by node id; usually one stream per id, more while a duplicate id is connected. */
  private readonly byId = new Map<string, Set<ProxyConnection>>();
  private readonly debouncer: Debouncer;
  private readonly sweepTimer: NodeJS.Timeout;
  private readonly log: PushLogger;
  private readonly helloTimeoutMs: number;
  private dirtyAll = false;
  private readonly dirtyIds = new Set<string>();
  private readonly reasons = new Set<string>();
  private generation = 1;
  private nonceSeq = 0;
  private closed = false;
  readonly counters: PushCounters = { pushes: 0, sends: 0, deltas: 0, unchanged: 0, acks: 0, nacks: 0 };

  constructor(private readonly opts: PushServerOptions) {
    super();
    this.log = opts.logger ?? silent;
    const keepaliveMs = opts.keepaliveMs ?? 10_000;
    const keepaliveTimeoutMs = opts.keepaliveTimeoutMs ?? 20_000;
    this.keepalive = new SessionKeepalive(keepaliveMs, keepaliveTimeoutMs, (session) => {
      const why = `keepalive PING unanswered for ${keepaliveTimeoutMs} ms`;
      for (const conn of this.streams) if (conn.stream.session === session) conn.closeReason = why;
      this.log.warn(`push: dropping a connection: ${why}`);
    });
    this.helloTimeoutMs = opts.helloTimeoutMs ?? 10_000;
    const debounceMs = opts.debounceMs ?? 100;
    this.debouncer = new Debouncer(() => this.flush(), debounceMs, Math.max(debounceMs, opts.maxDebounceMs ?? 500));
    this.h2 = http2.createServer();
    this.h2.on('session', (s) => this.onSession(s));
    this.h2.on('stream', (stream, headers) => this.onStream(stream, headers));
    this.h2.on('error', (err: Error) => this.log.warn(`push: server error: ${err.message}`));
    // One timer for every proxy: keepalive PINGs and the hello deadline.
    const sweepMs = Math.max(20, Math.min(keepaliveMs, keepaliveTimeoutMs, this.helloTimeoutMs) / 2);
    this.sweepTimer = setInterval(() => this.sweep(), sweepMs).unref();
  }

  /** Starts listening; resolves once bound (port 0 picks a free one, see `address`). */
  listen(port: number, host = '127.0.0.1'): Promise<void> {
    return new Promise((resolve, reject) => {
      const onError = (err: Error): void => reject(err);
      this.h2.once('error', onError);
      this.h2.listen(port, host, () => {
        this.h2.removeListener('error', onError);
        resolve();
      });
    });
  }

  /**
   * Also serves proxies over TLS (as istiod's port 15012 beside its cleartext 15010), with a
   * serving certificate (PEM chain, leaf first) and key: the same streams, pushes and certificate
   * requests as the cleartext port.
   */
  listenTls(port: number, host: string, credentials: { cert: string; key: string }): Promise<void> {
    if (this.secure !== undefined) return Promise.reject(new Error('the push server already listens over TLS'));
    const secure = http2.createSecureServer({ cert: credentials.cert, key: credentials.key, minVersion: 'TLSv1.2' });
    this.secure = secure;
    secure.on('session', (s) => this.onSession(s));
    secure.on('stream', (stream, headers) => this.onStream(stream, headers));
    secure.on('error', (err: Error) => this.log.warn(`push: TLS server error: ${err.message}`));
    // A client that fails its handshake (an untrusted root, say) is its own problem, not skiffd's.
    secure.on('tlsClientError', (err: Error) => this.log.info(`push: TLS handshake failed: ${err.message}`));
    return new Promise((resolve, reject) => {
      const onError = (err: Error): void => reject(err);
      secure.once('error', onError);
      secure.listen(port, host, () => {
        secure.removeListener('error', onError);
        resolve();
      });
    });
  }

  /** Replaces the TLS port's certificate (a renewed one); connections already open keep theirs. */
  setTlsCredentials(credentials: { cert: string; key: string }): void {
    this.secure?.setSecureContext({ cert: credentials.cert, key: credentials.key, minVersion: 'TLSv1.2' });
  }

  /** Where the TLS port listens, once it does. */
  get tlsAddress(): AddressInfo | null {
    const a = this.secure?.address();
    return a !== undefined && a !== null && typeof a === 'object' ? a : null;
  }

  get address(): AddressInfo | null {
    const a = this.h2.address();
    return a !== null && typeof a === 'object' ? a : null;
  }

  /** The URL proxies connect to (`--control-plane`), once listening. */
  get url(): string | null {
    const a = this.address;
    if (a === null) return null;
    return `http://${a.family === 'IPv6' ? `[${a.address}]` : a.address}:${a.port}`;
  }

  /**
   * Every proxy's snapshot may have changed: recompute and send those that did, debounced; an
   * `urgent` change (an endpoint that can no longer serve) is sent without the quiet period.
   */
  pushAll(reason = 'change', urgent = false): void {
    this.dirtyAll = true;
    this.reasons.add(reason);
    this.debouncer.trigger(urgent);
  }

  /** These proxies' snapshots may have changed (ids not connected are ignored), debounced. */
  pushTo(ids: Iterable<string>, reason = 'change'): void {
    for (const id of ids) this.dirtyIds.add(id);
    this.reasons.add(reason);
    this.debouncer.trigger();
  }

  /** Resolves once no push is pending or running (the sends written; ACKs may still be on their way). */
  settled(): Promise<void> {
    return this.debouncer.idle();
  }

  connected(): ConnectedProxy[] {
    return this.helloed().map((c) => c.proxy!);
  }

  status(): ProxyStatus[] {
    return this.helloed()
      .map((c) => c.status())
      .sort((a, b) => (a.id < b.id ? -1 : a.id > b.id ? 1 : a.connectedAt - b.connectedAt));
  }

  /** Stops listening and drops every stream; proxies keep their snapshots and reconnect elsewhere or later. */
  async close(): Promise<void> {
    if (this.closed) return;
    this.closed = true;
    this.debouncer.stop();
    clearInterval(this.sweepTimer);
    const done = [this.h2, ...(this.secure !== undefined ? [this.secure] : [])].map((server) => new Promise<void>((resolve) => server.close(() => resolve())));
    this.keepalive.destroyAll();
    await Promise.all(done);
  }

  private helloed(): ProxyConnection[] {
    const out: ProxyConnection[] = [];
    for (const same of this.byId.values()) for (const c of same) out.push(c);
    return out;
  }

  private onSession(session: Http2Session): void {
    if (this.closed) {
      session.destroy();
      return;
    }
    this.keepalive.add(session);
    session.on('error', (err) => this.log.warn(`push: connection error: ${err.message}`));
  }

  private onStream(stream: ServerHttp2Stream, headers: IncomingHttpHeaders): void {
    stream.on('error', () => {}); // 'close' follows; the connection is handled there
    if (headers[':path'] !== STREAM_PATH) {
      stream.respond({ ':status': 404, 'content-type': 'text/plain' });
      stream.end(`no such path; proxies connect to POST ${STREAM_PATH}\n`);
      return;
    }
    if (headers[':method'] !== 'POST') {
      stream.respond({ ':status': 405, allow: 'POST', 'content-type': 'text/plain' });
      stream.end(`${STREAM_PATH} takes POST\n`);
      return;
    }
    const conn = new ProxyConnection(stream);
    this.streams.add(conn);
    stream.respond({ ':status': 200, 'content-type': CONTENT_TYPE });
    stream.setEncoding('utf8');
    const lines = new LineSplitter((line) => this.onLine(conn, line), MAX_PROXY_LINE);
    stream.on('data', (chunk: string) => {
      try {
        lines.push(chunk);
      } catch (err) {
        this.refuse(conn, err instanceof Error ? err.message : String(err));
      }
    });
    stream.on('drain', () => {
      conn.blocked = false;
      if (conn.again) void this.send(conn);
    });
    stream.on('close', () => this.onClose(conn));
  }

  private onLine(conn: ProxyConnection, line: string): void {
    if (conn.closed) return;
    let msg: ProxyMessage;
    try {
      msg = parseProxyMessage(line);
    } catch (err) {
      this.refuse(conn, err instanceof ProtocolError ? err.message : String(err));
      return;
    }
    if (msg.type === 'hello') {
      if (conn.proxy !== null) this.refuse(conn, 'hello sent twice on one stream');
      else this.onHello(conn, msg);
      return;
    }
    if (conn.proxy === null) {
      this.refuse(conn, `the first message must be hello, got ${msg.type}`);
      return;
    }
    const proxy = conn.proxy;
    if (msg.type === 'csr') {
      void this.answerCsr(conn, proxy, msg);
      return;
    }
    if (msg.type === 'status') {
      this.onStatus(conn, proxy, msg.jwks);
      return;
    }
    if (msg.type === 'ack') {
      conn.acked = { version: msg.version, nonce: msg.nonce };
      this.counters.acks++;
      this.emit('ack', proxy, msg.version);
      return;
    }
    conn.lastNack = { version: msg.version, path: msg.error.path, reason: msg.error.reason, at: Date.now() };
    conn.nackedNonce = msg.nonce;
    this.counters.nacks++;
    this.log.warn(`push: ${proxy.id} refused snapshot ${msg.version}: ${msg.error.path ? `${msg.error.path}: ` : ''}${msg.error.reason}`);
    this.emit('nack', proxy, conn.lastNack);
    if (conn.sentDelta && conn.sent?.nonce === msg.nonce && isDeltaRefusal(msg.error.path)) {
      // The proxy could not apply the delta itself (another base, a position it lacks): the whole snapshot settles it.
      // A refusal of the content would only repeat, so that one waits for the next change like any NACK.
      conn.forceFull = true;
      void this.send(conn);
    }
  }

  private onHello(conn: ProxyConnection, hello: HelloMessage): void {
    const proxy: ConnectedProxy = { id: hello.node.id, node: hello.node, connectedAt: Date.now() };
    if (hello.adminUrl !== undefined) proxy.adminUrl = hello.adminUrl;
    if (hello.metricsUrl !== undefined) proxy.metricsUrl = hello.metricsUrl;
    const remote = conn.stream.session?.socket?.remoteAddress;
    if (remote !== undefined) proxy.remoteAddress = remote;
    conn.proxy = proxy;
    conn.deltas = hello.features?.includes(DELTA_FEATURE) === true;
    // Two streams with one id (a duplicate id, or a reconnect before the old stream was noticed
    // dead) are both served, as istiod does; refusing one would make the pair flap.
    const same = this.byId.get(proxy.id) ?? new Set<ProxyConnection>();
    if (same.size > 0) this.log.warn(`push: ${proxy.id} connected again while ${same.size} stream(s) with that id are open`);
    same.add(conn);
    this.byId.set(proxy.id, same);
    this.log.info(`push: ${proxy.id} connected`);
    this.emit('connect', proxy);
    void this.send(conn);
  }

  /** Keeps what the proxy reports of its JWKS fetches; a key set that turns failed is logged once. */
  private onStatus(conn: ProxyConnection, proxy: ConnectedProxy, jwks: JwksFetchState[]): void {
    const failedBefore = new Set(conn.jwks.filter((j) => j.state === 'failed').map((j) => j.uri));
    for (const j of jwks) {
      if (j.state === 'failed' && !failedBefore.has(j.uri)) this.log.warn(`push: ${proxy.id} cannot fetch the JWKS ${j.uri}: ${j.error}`);
    }
    conn.jwks = jwks;
  }

  /** Signs the proxy's certificate request through `opts.certificates`, answering on its stream. */
  private async answerCsr(conn: ProxyConnection, proxy: ConnectedProxy, msg: CsrMessage): Promise<void> {
    let answer: CertificateMessage | CertificateRefusedMessage;
    const sign = this.opts.certificates;
    if (sign === undefined) {
      answer = { type: 'certificate-refused', requestId: msg.requestId, reason: NO_CA_REASON };
    } else {
      try {
        const issued = await sign(proxy, { csr: msg.csr, ...(msg.credential !== undefined ? { credential: msg.credential } : {}) });
        answer = { type: 'certificate', requestId: msg.requestId, certChain: issued.certChain, rootCert: issued.rootCert };
      } catch (err) {
        const reason = err instanceof Error ? err.message : String(err);
        this.log.warn(`push: no certificate for ${proxy.id}: ${reason}`);
        answer = { type: 'certificate-refused', requestId: msg.requestId, reason };
      }
    }
    conn.write(encodeLine(answer));
  }

  private refuse(conn: ProxyConnection, reason: string): void {
    if (conn.closed) return;
    this.log.warn(`push: closing stream${conn.proxy ? ` of ${conn.proxy.id}` : ''}: ${reason}`);
    conn.refuse(reason);
    this.forget(conn, reason);
  }

  private onClose(conn: ProxyConnection): void {
    conn.closed = true;
    this.streams.delete(conn);
    this.forget(conn, conn.closeReason ?? 'stream closed');
  }

  private forget(conn: ProxyConnection, reason: string): void {
    const proxy = conn.proxy;
    const same = proxy === null ? undefined : this.byId.get(proxy.id);
    if (proxy === null || same?.delete(conn) !== true) return;
    if (same.size === 0) this.byId.delete(proxy.id);
    this.log.info(`push: ${proxy.id} disconnected (${reason})`);
    this.emit('disconnect', proxy, reason);
  }

  /** One push round: the proxies marked dirty get their latest snapshot if it changed. */
  private async flush(): Promise<void> {
    this.generation++;
    this.counters.pushes++;
    const targets = this.dirtyAll ? this.helloed() : [...this.dirtyIds].flatMap((id) => [...(this.byId.get(id) ?? [])]);
    const all = [...this.reasons];
    const reasons = all.length > 3 ? `${all.slice(0, 3).join(', ')} and ${all.length - 3} more` : all.join(', ');
    this.dirtyAll = false;
    this.dirtyIds.clear();
    this.reasons.clear();
    const sendsBefore = this.counters.sends;
    let n = 0;
    for (const conn of targets) {
      await this.send(conn);
      if (++n % SENDS_PER_TURN === 0) await yieldToEventLoop();
    }
    this.log.info(`push ${this.generation} (${reasons}): ${this.counters.sends - sendsBefore} of ${targets.length} proxies sent a new snapshot`);
  }

  /** Sends the proxy its latest snapshot; serialised per stream, and deferred while the stream is full. */
  private send(conn: ProxyConnection): Promise<void> {
    if (conn.inflight !== null || conn.blocked) {
      conn.again = true;
      return conn.inflight ?? Promise.resolve();
    }
    const run = async (): Promise<void> => {
      do {
        conn.again = false;
        await this.sendLatest(conn);
      } while (conn.again && !conn.blocked && !conn.closed);
    };
    conn.inflight = run().finally(() => (conn.inflight = null));
    return conn.inflight;
  }

  private async sendLatest(conn: ProxyConnection): Promise<void> {
    const proxy = conn.proxy;
    if (proxy === null || conn.closed) return;
    let line: string | (string | Buffer)[];
    let version: string;
    let delta = false;
    try {
      const snapshot = await this.opts.snapshotFor(proxy);
      if (conn.closed) return;
      const encoded = encodeSnapshot(snapshot);
      conn.error = null;
      if (conn.sent?.hash === encoded.hash && !conn.forceFull) {
        this.counters.unchanged++;
        return;
      }
      version = `${this.generation}-${encoded.hash}`;
      const nonce = (++this.nonceSeq).toString(36);
      // A delta only against content the proxy confirmed it holds; anything else gets the whole snapshot.
      const base = conn.sent;
      if (conn.deltas && !conn.forceFull && base !== null && conn.sentContent !== null && conn.state === 'SYNCED') {
        line = deltaLine(conn.sentContent, encoded, version, nonce, base.version);
        delta = true;
      } else {
        line = snapshotChunks(encoded, version, nonce);
      }
      conn.sent = { version, nonce, hash: encoded.hash };
      conn.sentContent = encoded;
      conn.sentDelta = delta;
      conn.forceFull = false;
      conn.snapshotNode = snapshot.node;
    } catch (err) {
      conn.error = `cannot compute the snapshot: ${err instanceof Error ? err.message : String(err)}`;
      this.log.warn(`push: ${proxy.id}: ${conn.error}`);
      return;
    }
    conn.write(line);
    this.counters.sends++;
    if (delta) this.counters.deltas++;
    this.emit('send', proxy, version);
  }

  private sweep(): void {
    const now = Date.now();
    this.keepalive.sweep(now);
    for (const conn of this.streams) {
      if (conn.proxy === null && !conn.closed && now - conn.openedAt > this.helloTimeoutMs) this.refuse(conn, `no hello within ${this.helloTimeoutMs} ms`);
    }
  }
}

/** A NACK of a delta that did not fit the proxy's snapshot (paths `base` and `delta…`), not of its content. */
function isDeltaRefusal(path: string): boolean {
  return path === 'base' || path === 'delta' || path.startsWith('delta.');
}

/** Creates a push server (not yet listening; call `listen`). */
export function createPushServer(opts: PushServerOptions): PushServer {
  return new PushServer(opts);
}
