/**
 * The upstream connect path against real servers: plaintext and TLS (a test CA, a TLS server
 * asking for client certificates), the options a cluster's TLS compiles to (client certificate,
 * SNI, ALPN per upstream protocol, the SAN check), ISTIO_MUTUAL on the proxy's workload
 * certificate and its rotation, the connect timeout over a stalled handshake, Envoy's failure
 * texts, the `ssl.*` counters, and reads in place over TLS.
 */
import { after, before, describe, test } from 'node:test';
import assert from 'node:assert/strict';
import { once } from 'node:events';
import net from 'node:net';
import tls from 'node:tls';
import { connectUpstream, transportFailureText } from '../../../src/proxy/upstream/connect.js';
import type { ConnectFailure, ConnectOptions } from '../../../src/proxy/upstream/connect.js';
import { ClusterCounters } from '../../../src/proxy/upstream/counters.js';
import { compileUpstreamTls } from '../../../src/proxy/upstream/upstream-tls.js';
import type { UpstreamTls } from '../../../src/proxy/upstream/upstream-tls.js';
import { CompiledCache } from '../../../src/proxy/tls/compiled-cache.js';
import { WorkloadSecrets } from '../../../src/proxy/tls/workload-secrets.js';
import { SnapshotError, withDefaults } from '../../../src/snapshot/index.js';
import type { ClusterTlsConfig } from '../../../src/snapshot/index.js';
import { authority, spiffe } from '../../helpers/test-pki.js';
import type { Authority, Leaf } from '../../helpers/test-pki.js';
import { deadPort } from '../helpers.js';
import { Disposer } from '../../helpers/disposer.js';

const VERIFY_FAILED = 'TLS_error:|268435581:SSL routines:OPENSSL_internal:CERTIFICATE_VERIFY_FAILED:TLS_error_end';

/** What a TLS test server saw of one handshake. */
interface Handshake {
  servername: string | false | null;
  alpnOffered: string[];
  alpn: string | false | null;
  clientSans: string | undefined;
  clientSerial: string | undefined;
}

interface TlsServer {
  port: number;
  handshakes: Handshake[];
  /**
   * The next handshake the server completes. With TLS 1.3 the client is connected before the
   * server has the client's Finished, so tests wait for the server's side.
   */
  next(): Promise<Handshake>;
  close(): Promise<void>;
}

/** A TLS echo server presenting `leaf`, asking for a client certificate chained to `clientCa` when given. */
async function startTlsServer(leaf: Leaf, clientCa: Authority | null): Promise<TlsServer> {
  const handshakes: Handshake[] = [];
  const waiting: ((h: Handshake) => void)[] = [];
  let offered: string[] = [];
  const sockets = new Set<net.Socket>();
  const server = tls.createServer({
    cert: leaf.cert,
    key: leaf.key,
    ...(clientCa !== null ? { ca: clientCa.cert, requestCert: true, rejectUnauthorized: true } : {}),
    ALPNCallback: ({ protocols }) => {
      offered = protocols;
      return protocols[0];
    },
  });
  server.on('secureConnection', (s: tls.TLSSocket) => {
    const peer = s.getPeerCertificate();
    const hasPeer = peer !== null && Object.keys(peer).length > 0;
    const h: Handshake = {
      servername: s.servername,
      alpnOffered: offered,
      alpn: s.alpnProtocol,
      clientSans: hasPeer ? peer.subjectaltname : undefined,
      clientSerial: hasPeer ? peer.serialNumber : undefined,
    };
    handshakes.push(h);
    offered = [];
    for (const w of waiting.splice(0)) w(h);
    s.on('error', () => {});
    s.on('data', (d: Buffer) => s.write(d));
    s.on('end', () => s.end());
  });
  server.on('connection', (s: net.Socket) => {
    sockets.add(s);
    s.on('close', () => sockets.delete(s));
  });
  server.on('tlsClientError', () => {});
  server.listen(0, '127.0.0.1');
  await once(server, 'listening');
  return {
    port: (server.address() as net.AddressInfo).port,
    handshakes,
    next: () => new Promise((resolve) => waiting.push(resolve)),
    close: async () => {
      for (const s of sockets) s.destroy();
      await new Promise<void>((resolve) => server.close(() => resolve()));
    },
  };
}

type Outcome = { ok: true; socket: net.Socket } | { ok: false; failure: ConnectFailure };

function connect(port: number, opts: Partial<ConnectOptions> & { tls: UpstreamTls | null }): Promise<Outcome> {
  return new Promise((resolve) => {
    connectUpstream('127.0.0.1', port, { timeoutMs: 5000, traffic: 'tcp', ...opts }, {
      onConnected: (socket) => resolve({ ok: true, socket }),
      onConnectFailed: (failure) => resolve({ ok: false, failure }),
    });
  });
}

async function connected(outcome: Promise<Outcome>): Promise<net.Socket> {
  const o = await outcome;
  if (!o.ok) assert.fail(`expected a connection, got ${JSON.stringify(o.failure)}`);
  return o.socket;
}

async function failed(outcome: Promise<Outcome>): Promise<ConnectFailure> {
  const o = await outcome;
  if (o.ok) {
    o.socket.destroy();
    assert.fail('expected the connection to fail');
  }
  return o.failure;
}

/** Writes a line and reads the echo back. */
async function echoes(socket: net.Socket, line: string): Promise<string> {
  socket.write(line);
  const [data] = (await once(socket, 'data')) as [Buffer];
  socket.destroy();
  return data.toString();
}

const pem = (text: string): { pem: string } => ({ pem: text });


/** A server that accepts connections and never answers (a TLS handshake left hanging); `accepted` fills as they come. */
async function muteServer(): Promise<{ server: net.Server; accepted: net.Socket[] }> {
  const accepted: net.Socket[] = [];
  const server = net.createServer((s) => {
    s.on('error', () => {});
    s.resume();
    accepted.push(s);
  });
  server.listen(0, '127.0.0.1');
  await once(server, 'listening');
  return { server, accepted };
}
describe('upstream connect path', () => {
  let mesh: Authority;
  let other: Authority;
  let httpbin: Leaf;
  let curl: Leaf;
  let stranger: Leaf;
  let plainEcho: net.Server;
  let plainPort: number;
  let mtls: TlsServer;
  let simple: TlsServer;
  const cache = new CompiledCache<UpstreamTls>();
  const secrets = new WorkloadSecrets();

  const compile = (config: ClusterTlsConfig, s: WorkloadSecrets = secrets): UpstreamTls => {
    const t = compileUpstreamTls(withDefaults({ name: 'outbound|8000||httpbin.foo.svc.cluster.local', tls: config }).tls!, 'clusters[0].tls', s, cache);
    assert.ok(t !== null);
    return t;
  };
  const mutual = (extra: Partial<ClusterTlsConfig> = {}): UpstreamTls =>
    compile({ mode: 'MUTUAL', clientCertificate: pem(curl.cert), privateKey: pem(curl.key), caCertificates: pem(mesh.cert), ...extra });

  const disposer = new Disposer();
  before(disposer.setup(async () => {
    mesh = authority('mesh');
    other = authority('other');
    httpbin = mesh.issue('httpbin', [`URI:${spiffe('foo', 'httpbin')}`, 'DNS:httpbin.example.com']);
    curl = mesh.issue('curl', [`URI:${spiffe('foo', 'curl')}`]);
    stranger = other.issue('stranger', [`URI:${spiffe('foo', 'curl')}`]);
    plainEcho = net.createServer((s) => {
      s.on('error', () => {});
      s.pipe(s);
    });
    disposer.add(plainEcho, (s) => new Promise<void>((resolve) => s.close(() => resolve())));
    plainEcho.listen(0, '127.0.0.1');
    await once(plainEcho, 'listening');
    plainPort = (plainEcho.address() as net.AddressInfo).port;
    mtls = disposer.add(await startTlsServer(httpbin, mesh), (r) => r.close());
    simple = disposer.add(await startTlsServer(httpbin, null), (r) => r.close());
  }));

  after(() => disposer.drain());

  test('plaintext: connects and carries bytes', async () => {
    assert.equal(await echoes(await connected(connect(plainPort, { tls: null })), 'ping'), 'ping');
  });

  test('a refused connect is a remote connection failure with the text Envoy prints', async () => {
    const f = await failed(connect(await deadPort(), { tls: null }));
    assert.deepEqual(f, { reason: 'remote connection failure', transportFailure: 'delayed connect error: Connection refused', stage: 'connect' });
  });

  test('the connect timeout covers the TLS handshake: a server that never answers the ClientHello times out', async () => {
    const mute = net.createServer((s) => s.on('error', () => {}));
    mute.listen(0, '127.0.0.1');
    await once(mute, 'listening');
    try {
      const f = await failed(connect((mute.address() as net.AddressInfo).port, { tls: compile({ mode: 'SIMPLE', caCertificates: pem(mesh.cert) }), timeoutMs: 200 }));
      assert.deepEqual(f, { reason: 'connection timeout', transportFailure: '', stage: 'timeout' });
    } finally {
      mute.close();
    }
  });

  test('SIMPLE: the server chain is verified against the CA given, SNI is sent, and bytes flow', async () => {
    const seen = simple.next();
    const socket = await connected(connect(simple.port, { tls: compile({ mode: 'SIMPLE', caCertificates: pem(mesh.cert), sni: 'httpbin.example.com' }) }));
    assert.equal((socket as tls.TLSSocket).encrypted, true);
    assert.equal(await echoes(socket, 'over tls'), 'over tls');
    const h = await seen;
    assert.equal(h.servername, 'httpbin.example.com');
    assert.equal(h.clientSans, undefined, 'SIMPLE presents no client certificate');
  });

  test('SIMPLE with an SNI the certificate does not name is refused (the DNS names are checked against the SNI)', async () => {
    const counters = new ClusterCounters();
    const f = await failed(connect(simple.port, { tls: compile({ mode: 'SIMPLE', caCertificates: pem(mesh.cert), sni: 'other.example.com' }), counters }));
    assert.deepEqual(f, { reason: 'remote connection failure', transportFailure: VERIFY_FAILED, stage: 'tls' });
    assert.equal(counters.get('ssl.fail_verify_san'), 1);
  });

  test('a server chained to an unknown root is refused with CERTIFICATE_VERIFY_FAILED', async () => {
    const counters = new ClusterCounters();
    const f = await failed(connect(simple.port, { tls: compile({ mode: 'SIMPLE', caCertificates: pem(other.cert) }), counters }));
    assert.deepEqual(f, { reason: 'remote connection failure', transportFailure: VERIFY_FAILED, stage: 'tls' });
    assert.equal(counters.get('ssl.fail_verify_error'), 1);
    assert.equal(counters.get('ssl.handshake'), 0);
    // A caller that keeps no counters hears the same failure.
    assert.deepEqual(await failed(connect(simple.port, { tls: compile({ mode: 'SIMPLE', caCertificates: pem(other.cert) }) })), f);
  });

  test('insecureSkipVerify connects to a server no root vouches for', async () => {
    const socket = await connected(connect(simple.port, { tls: compile({ mode: 'SIMPLE', insecureSkipVerify: true }) }));
    assert.equal(await echoes(socket, 'x'), 'x');
  });

  test('MUTUAL: the client certificate reaches a server that requires one, and the handshake is counted', async () => {
    const counters = new ClusterCounters();
    const seen = mtls.next();
    const socket = await connected(connect(mtls.port, { tls: mutual({ subjectAltNames: [spiffe('foo', 'httpbin')] }), counters }));
    assert.equal(await echoes(socket, 'hello'), 'hello');
    assert.equal((await seen).clientSans, `URI:${spiffe('foo', 'curl')}`);
    assert.equal(counters.get('ssl.handshake'), 1);
  });

  test('the SAN check refuses a server whose SPIFFE id is not the one asked for', async () => {
    const counters = new ClusterCounters();
    const f = await failed(connect(mtls.port, { tls: mutual({ subjectAltNames: [spiffe('foo', 'reviews')] }), counters }));
    assert.deepEqual(f, { reason: 'remote connection failure', transportFailure: VERIFY_FAILED, stage: 'tls' });
    assert.equal(counters.get('ssl.fail_verify_san'), 1);
  });

  test('the SAN check accepts a DNS name among the wanted ones', async () => {
    const socket = await connected(connect(mtls.port, { tls: mutual({ subjectAltNames: [spiffe('foo', 'reviews'), 'httpbin.example.com'] }) }));
    socket.destroy();
  });

  test('a client certificate from another root is refused by the server', async () => {
    const t = compile({ mode: 'MUTUAL', clientCertificate: pem(stranger.cert), privateKey: pem(stranger.key), caCertificates: pem(mesh.cert) });
    // TLS 1.3: the client finishes its handshake first; the server's refusal closes the connection.
    const outcome = await connect(mtls.port, { tls: t });
    if (outcome.ok) {
      outcome.socket.write('x');
      const [closedWithError] = (await once(outcome.socket, 'close')) as [boolean];
      assert.ok(closedWithError || outcome.socket.readableEnded, 'the server closed the connection');
    }
    assert.ok(!mtls.handshakes.some((h) => h.clientSerial === stranger.serial), 'the server never accepted the stranger');
  });

  test('ALPN: a TCP connection offers the cluster list, HTTP connections their protocol (Istio lists for ISTIO_MUTUAL)', async () => {
    const s = new WorkloadSecrets();
    s.install({ certChain: curl.cert, privateKey: curl.key, roots: mesh.cert });
    const istio = compile({ mode: 'ISTIO_MUTUAL' }, s);
    for (const [traffic, list] of [
      ['tcp', ['istio-peer-exchange', 'istio']],
      ['http1', ['istio-http/1.1', 'istio', 'http/1.1']],
      ['http2', ['istio-h2', 'istio', 'h2']],
    ] as const) {
      const seen = mtls.next();
      const socket = await connected(connect(mtls.port, { tls: istio, traffic }));
      assert.deepEqual((await seen).alpnOffered, list, traffic);
      socket.destroy();
    }
    const seen = simple.next();
    const socket = await connected(connect(simple.port, { tls: compile({ mode: 'SIMPLE', caCertificates: pem(mesh.cert) }), traffic: 'http2' }));
    const h = await seen;
    assert.deepEqual(h.alpnOffered, ['h2']);
    assert.equal(h.alpn, 'h2');
    socket.destroy();
  });

  test('ISTIO_MUTUAL: Istio\'s SNI for the cluster, the workload certificate presented, refused as Envoy words it before one exists', async () => {
    const s = new WorkloadSecrets();
    const t = compile({ mode: 'ISTIO_MUTUAL', subjectAltNames: [spiffe('foo', 'httpbin')] }, s);
    assert.deepEqual(await failed(connect(mtls.port, { tls: t })), { reason: 'local connection failure', transportFailure: 'Secret is not supplied by SDS', stage: 'tls' });

    s.install({ certChain: curl.cert, privateKey: curl.key, roots: mesh.cert });
    let seen = mtls.next();
    const first = await connected(connect(mtls.port, { tls: t }));
    let h = await seen;
    assert.equal(h.servername, 'outbound_.8000_._.httpbin.foo.svc.cluster.local');
    assert.equal(h.clientSerial, curl.serial);

    // Rotation: new connections present the new certificate; the live one keeps working.
    const rotated = mesh.issue('curl-rotated', [`URI:${spiffe('foo', 'curl')}`]);
    s.install({ certChain: rotated.cert, privateKey: rotated.key, roots: mesh.cert });
    seen = mtls.next();
    const second = await connected(connect(mtls.port, { tls: t }));
    h = await seen;
    assert.equal(h.clientSerial, rotated.serial);
    assert.equal(await echoes(first, 'still here'), 'still here');
    second.destroy();
  });

  test('a connection opened to read in place keeps doing so over TLS (bytes reach onread, no data events)', async () => {
    const got: Buffer[] = [];
    const buffer = Buffer.alloc(1024);
    const socket = await connected(
      connect(mtls.port, { tls: mutual(), onread: { buffer, callback: (n: number, b: Uint8Array) => (got.push(Buffer.from(b.subarray(0, n))), true) } }),
    );
    let dataEvents = 0;
    socket.on('data', () => dataEvents++);
    socket.write('in place');
    while (Buffer.concat(got).toString() !== 'in place') await new Promise((r) => setTimeout(r, 5));
    assert.equal(dataEvents, 0);
    socket.destroy();
  });

  test('cancel before the connection is made reports nothing and closes the socket', async () => {
    let reported = false;
    const attempt = connectUpstream('127.0.0.1', plainPort, { timeoutMs: 5000, tls: null, traffic: 'tcp' }, {
      onConnected: () => (reported = true),
      onConnectFailed: () => (reported = true),
    });
    attempt.cancel();
    await once(attempt.socket, 'close');
    assert.equal(reported, false);
  });

  test('connect failures are worded as Envoy prints them; a code it has no text for is printed as is', () => {
    const err = (code: string | undefined, message = 'connect failed'): NodeJS.ErrnoException => Object.assign(new Error(message), code === undefined ? {} : { code });
    assert.equal(transportFailureText(err('ECONNRESET')), 'delayed connect error: Connection reset by peer');
    assert.equal(transportFailureText(err('EHOSTUNREACH')), 'delayed connect error: No route to host');
    assert.equal(transportFailureText(err('ENETUNREACH')), 'delayed connect error: Network is unreachable');
    assert.equal(transportFailureText(err('ETIMEDOUT')), 'delayed connect error: Connection timed out');
    assert.equal(transportFailureText(err('EADDRNOTAVAIL')), 'delayed connect error: Cannot assign requested address');
    assert.equal(transportFailureText(err('ENOTFOUND')), 'delayed connect error: Name or service not known');
    assert.equal(transportFailureText(err('EAI_AGAIN')), 'delayed connect error: Temporary failure in name resolution');
    assert.equal(transportFailureText(err('EPROTO')), 'delayed connect error: EPROTO');
    assert.equal(transportFailureText(err(undefined, 'socket hang up')), 'delayed connect error: socket hang up');
  });

  test('a peer that answers the ClientHello with plaintext fails TLS as Envoy words it, counted as a connection error', async () => {
    const talker = net.createServer((s) => {
      s.on('error', () => {});
      s.end('HTTP/1.1 400 Bad Request\r\ncontent-length: 0\r\n\r\n');
    });
    talker.listen(0, '127.0.0.1');
    await once(talker, 'listening');
    try {
      const counters = new ClusterCounters();
      const f = await failed(connect((talker.address() as net.AddressInfo).port, { tls: compile({ mode: 'SIMPLE', caCertificates: pem(mesh.cert) }), counters }));
      assert.deepEqual(f, { reason: 'remote connection failure', transportFailure: 'TLS_error:|268435703:SSL routines:OPENSSL_internal:WRONG_VERSION_NUMBER:TLS_error_end', stage: 'tls' });
      assert.equal(counters.get('ssl.connection_error'), 1);
      assert.equal(counters.get('ssl.fail_verify_error'), 0);
      assert.equal(counters.get('ssl.fail_verify_san'), 0);
      assert.equal(counters.get('ssl.handshake'), 0);
    } finally {
      talker.close();
    }
  });

  test('a peer that hangs up during the handshake is a remote connection failure at the TLS stage, with no transport text', async () => {
    const hangUp = net.createServer((s) => {
      s.on('error', () => {});
      s.once('data', () => s.end());
    });
    hangUp.listen(0, '127.0.0.1');
    await once(hangUp, 'listening');
    try {
      const counters = new ClusterCounters();
      const f = await failed(connect((hangUp.address() as net.AddressInfo).port, { tls: compile({ mode: 'SIMPLE', caCertificates: pem(mesh.cert) }), counters }));
      assert.deepEqual(f, { reason: 'remote connection failure', transportFailure: '', stage: 'tls' });
      assert.equal(counters.get('ssl.connection_error'), 1);
    } finally {
      hangUp.close();
    }
  });

  test('the connect timeout closes the attempt: the server sees the connection go', async () => {
    const { server: mute, accepted } = await muteServer();
    try {
      const f = await failed(connect((mute.address() as net.AddressInfo).port, { tls: compile({ mode: 'SIMPLE', caCertificates: pem(mesh.cert) }), timeoutMs: 100 }));
      assert.equal(f.reason, 'connection timeout');
      while (accepted.length === 0) await new Promise((r) => setTimeout(r, 5));
      const [peer] = accepted;
      if (!peer.readableEnded && !peer.destroyed) await Promise.race([once(peer, 'end'), once(peer, 'close')]);
      assert.ok(peer.readableEnded || peer.destroyed, 'the server saw the connection closed');
    } finally {
      for (const s of accepted) s.destroy();
      mute.close();
    }
  });

  test('once connected, the connection is the caller\'s: a later hang-up or reset counts no TLS failure and throws nowhere', async () => {
    const uncaught: unknown[] = [];
    const onUncaught = (err: unknown): void => void uncaught.push(err);
    process.on('uncaughtException', onUncaught);
    try {
      // TLS: a connection closed after the handshake is no handshake failure.
      const counters = new ClusterCounters();
      const seen = mtls.next();
      const socket = await connected(connect(mtls.port, { tls: mutual(), counters }));
      await seen;
      socket.end();
      await once(socket, 'close');
      assert.equal(counters.get('ssl.handshake'), 1);
      assert.equal(counters.get('ssl.connection_error'), 0);

      // TLS: the server resets the connection once it carries bytes; that error is the caller's.
      const raw: net.Socket[] = [];
      const tlsResetter = tls.createServer({ cert: httpbin.cert, key: httpbin.key }, (s) => {
        s.on('error', () => {});
        s.once('data', () => raw.at(-1)?.resetAndDestroy());
      });
      tlsResetter.on('connection', (s: net.Socket) => raw.push(s));
      tlsResetter.listen(0, '127.0.0.1');
      await once(tlsResetter, 'listening');
      try {
        const resetCounters = new ClusterCounters();
        const reset = await connected(connect((tlsResetter.address() as net.AddressInfo).port, { tls: compile({ mode: 'SIMPLE', caCertificates: pem(mesh.cert) }), counters: resetCounters }));
        const errors: string[] = [];
        reset.on('error', (e: NodeJS.ErrnoException) => errors.push(e.code ?? e.message));
        reset.write('x');
        await new Promise((resolve) => reset.once('close', resolve));
        assert.deepEqual(errors, ['ECONNRESET'], 'the reset reached the caller');
        assert.equal(resetCounters.get('ssl.handshake'), 1);
        assert.equal(resetCounters.get('ssl.connection_error'), 0, 'a reset after the handshake is no handshake failure');
      } finally {
        tlsResetter.close();
      }

      // Plaintext: the peer resets the connection; the caller put no 'error' listener on the socket.
      const resetter = net.createServer((s) => s.once('data', () => s.resetAndDestroy()));
      resetter.listen(0, '127.0.0.1');
      await once(resetter, 'listening');
      try {
        const plain = await connected(connect((resetter.address() as net.AddressInfo).port, { tls: null }));
        plain.write('x');
        // Not `once(plain, 'close')`: that would listen for 'error' itself.
        await new Promise((resolve) => plain.once('close', resolve));
      } finally {
        resetter.close();
      }
      await new Promise((r) => setImmediate(r));
      assert.deepEqual(uncaught, []);
    } finally {
      process.off('uncaughtException', onUncaught);
    }
  });

  test('a socket destroyed by its owner before it connects is reported once, at the stage it had reached', async () => {
    const { server: mute, accepted } = await muteServer();
    const port = (mute.address() as net.AddressInfo).port;
    try {
      for (const counters of [new ClusterCounters(), undefined]) {
        const reports: ConnectFailure[] = [];
        let connectedCalls = 0;
        const attempt = connectUpstream('127.0.0.1', port, { timeoutMs: 5000, tls: compile({ mode: 'SIMPLE', caCertificates: pem(mesh.cert) }), traffic: 'tcp', ...(counters !== undefined ? { counters } : {}) }, {
          onConnected: () => connectedCalls++,
          onConnectFailed: (f) => reports.push(f),
        });
        // TCP is up and the ClientHello unanswered: the handshake is under way.
        while (accepted.length === 0) await new Promise((r) => setTimeout(r, 5));
        accepted.length = 0;
        attempt.socket.destroy();
        await new Promise((resolve) => attempt.socket.once('close', resolve));
        await new Promise((r) => setImmediate(r));
        assert.deepEqual(reports, [{ reason: 'remote connection failure', transportFailure: '', stage: 'tls' }]);
        assert.equal(connectedCalls, 0);
        if (counters !== undefined) assert.equal(counters.get('ssl.connection_error'), 1);
      }

      // Before TCP connects: the connect stage, no TLS failure counted.
      const reports: ConnectFailure[] = [];
      const counters = new ClusterCounters();
      const attempt = connectUpstream('127.0.0.1', port, { timeoutMs: 5000, tls: null, traffic: 'tcp', counters }, {
        onConnected: () => assert.fail('destroyed before connecting'),
        onConnectFailed: (f) => reports.push(f),
      });
      attempt.socket.destroy();
      await new Promise((resolve) => attempt.socket.once('close', resolve));
      await new Promise((r) => setImmediate(r));
      assert.deepEqual(reports, [{ reason: 'remote connection failure', transportFailure: '', stage: 'connect' }]);
      assert.equal(counters.get('ssl.connection_error'), 0);
    } finally {
      for (const s of accepted) s.destroy();
      mute.close();
    }
  });

  test('cancel before a missing workload certificate is reported reports nothing', async () => {
    const t = compile({ mode: 'ISTIO_MUTUAL', subjectAltNames: [spiffe('foo', 'never-issued')] }, new WorkloadSecrets());
    let reported = 0;
    const attempt = connectUpstream('127.0.0.1', plainPort, { timeoutMs: 5000, tls: t, traffic: 'tcp' }, {
      onConnected: () => reported++,
      onConnectFailed: () => reported++,
    });
    attempt.cancel();
    await new Promise((r) => setImmediate(r));
    assert.equal(reported, 0);
    // Without cancel, the same attempt is reported.
    const f = await failed(connect(plainPort, { tls: t }));
    assert.equal(f.reason, 'local connection failure');
  });

  test('cancel after the connection is made changes nothing: the connection stays up', async () => {
    let failures = 0;
    const attempt = await new Promise<{ cancel(): void; socket: net.Socket }>((resolve) => {
      const a = connectUpstream('127.0.0.1', plainPort, { timeoutMs: 5000, tls: null, traffic: 'tcp' }, {
        onConnected: () => resolve(a),
        onConnectFailed: () => failures++,
      });
    });
    attempt.cancel();
    assert.equal(attempt.socket.destroyed, false);
    assert.equal(await echoes(attempt.socket, 'after cancel'), 'after cancel');
    assert.equal(failures, 0);
  });

  test('half-open: by default a peer\'s end closes our side too; allowHalfOpen keeps it writable', async () => {
    const received: string[] = [];
    const ender = net.createServer((s) => {
      s.on('error', () => {});
      s.on('data', (d: Buffer) => received.push(d.toString()));
      s.end();
    });
    ender.listen(0, '127.0.0.1');
    await once(ender, 'listening');
    const port = (ender.address() as net.AddressInfo).port;
    try {
      const closing = await connected(connect(port, { tls: null }));
      closing.resume();
      await once(closing, 'end');
      await new Promise((r) => setImmediate(r));
      assert.equal(closing.writable, false, 'without allowHalfOpen our side ends with the peer\'s');

      const halfOpen = await connected(connect(port, { tls: null, allowHalfOpen: true }));
      halfOpen.resume();
      await once(halfOpen, 'end');
      await new Promise((r) => setImmediate(r));
      assert.equal(halfOpen.writable, true, 'with allowHalfOpen our side stays writable');
      halfOpen.end('late words');
      await once(halfOpen, 'close');
      while (!received.includes('late words')) await new Promise((r) => setTimeout(r, 5));
    } finally {
      ender.close();
    }
  });

  test('bad certificates are refused when the snapshot is checked, naming the field', () => {
    const cases: [ClusterTlsConfig, string, RegExp][] = [
      [{ mode: 'SIMPLE', caCertificates: { file: '/nonexistent/ca.pem' } }, 'clusters[0].tls.caCertificates.file', /cannot read \/nonexistent\/ca\.pem: ENOENT/],
      [{ mode: 'SIMPLE', caCertificates: pem('-----BEGIN CERTIFICATE-----\nnot base64\n-----END CERTIFICATE-----\n') }, 'clusters[0].tls.caCertificates', /cannot be parsed/],
      [{ mode: 'MUTUAL', clientCertificate: pem(curl.cert), privateKey: pem(httpbin.key) }, 'clusters[0].tls.privateKey', /does not match the certificate/],
      [{ mode: 'MUTUAL', clientCertificate: pem(curl.cert), privateKey: pem('-----BEGIN PRIVATE KEY-----\nAAAA\n-----END PRIVATE KEY-----\n') }, 'clusters[0].tls.privateKey', /not a usable private key/],
    ];
    for (const [config, path, reason] of cases) {
      assert.throws(
        () => compile(config),
        (err: unknown) => err instanceof SnapshotError && err.path === path && reason.test(err.reason),
        path,
      );
    }
  });

  test('certificates named by file are read', async () => {
    const t = compile({ mode: 'MUTUAL', clientCertificate: { file: curl.certFile }, privateKey: { file: curl.keyFile }, caCertificates: { file: mesh.certFile } });
    const seen = mtls.next();
    const socket = await connected(connect(mtls.port, { tls: t }));
    assert.equal((await seen).clientSerial, curl.serial);
    socket.destroy();
  });

  test('an unchanged config compiles to the same object (pools built on it are kept)', () => {
    const config: ClusterTlsConfig = { mode: 'SIMPLE', caCertificates: pem(mesh.cert) };
    assert.equal(compile(config), compile({ ...config }));
    assert.notEqual(compile(config), compile({ ...config, sni: 'x.example.com' }));
  });
});
