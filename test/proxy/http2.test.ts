/**
 * HTTP/2 cleartext through the proxy with real sockets: h2c clients routed by :authority (weights
 * included), HTTP/1.1 ↔ HTTP/2 translation in both directions, request trailers, large bodies
 * under flow control, upstream sessions shared, capped by maxConcurrentStreams and replaced
 * after GOAWAY, protocol detection on `auto` listeners, and garbage frames that cost the sender
 * its connection and nothing else.
 */
import { after, before, describe, test } from 'node:test';
import assert from 'node:assert/strict';
import net from 'node:net';
import type { ClientHttp2Session } from 'node:http2';
import { cluster, echo, eventually, forward, httpListener, request, routeConfig, snapshot, startBackend, startProxy } from './helpers.js';
import type { Backend, TestProxy } from './helpers.js';
import { grpcFrame, grpcHeaders, grpcStatusOf, h2connect, h2request, messagesOf, startH2Backend } from './http2-helpers.js';
import type { H2Backend } from './http2-helpers.js';
import { formatResponseFlags } from '../../src/telemetry/response-flags.js';
import { ISTIO_DEFAULT_RETRY_POLICY, withDefaults } from '../../src/snapshot/index.js';
import type { Route, ClusterConfigInput } from '../../src/snapshot/index.js';
import { upstreamProtocol } from '../../src/proxy/upstream/pool-http2.js';
import { Disposer } from '../helpers/disposer.js';

const H2 = { protocol: 'http2' as const };
const get = (authority: string, path = '/') => ({ ':method': 'GET', ':path': path, ':authority': authority });

describe('HTTP/2 through the proxy', () => {
  let h2a: H2Backend;
  let h2b: H2Backend;
  let capped: H2Backend;
  let goaway: H2Backend;
  let refuse: H2Backend;
  let retiring: H2Backend;
  let h1: Backend;
  let proxy: TestProxy;
  let client: ClientHttp2Session;

  const disposer = new Disposer();
  before(disposer.setup(async () => {
    h2a = disposer.add(await startH2Backend('a', { slowMs: 200 }), (r) => r.close());
    h2b = disposer.add(await startH2Backend('b'), (r) => r.close());
    capped = disposer.add(await startH2Backend('capped', { slowMs: 200 }), (r) => r.close());
    goaway = disposer.add(await startH2Backend('goaway'), (r) => r.close());
    refuse = disposer.add(await startH2Backend('refuse'), (r) => r.close());
    retiring = disposer.add(await startH2Backend('retiring'), (r) => r.close());
    h1 = disposer.add(await startBackend(echo('h1')), (r) => r.close());
    const vhost = (name: string, routes: Route[]) => ({ name, domains: [name], routes });
    proxy = disposer.add(await startProxy(
      snapshot({
        listeners: [httpListener('out', 'routes'), httpListener('sniffed', 'routes', { protocol: 'auto', tcp: { routes: [] } })],
        routes: [
          routeConfig('routes', [
            vhost('a.example', [forward('to-a', 'a')]),
            vhost('b.example', [forward('to-b', 'b')]),
            vhost('split.example', [{ name: 'split', match: [], action: { type: 'route', destinations: [{ cluster: 'a', weight: 50 }, { cluster: 'b', weight: 50 }] } }]),
            vhost('h1.example', [forward('to-h1', 'h1')]),
            vhost('auto.example', [forward('to-auto', 'auto')]),
            vhost('capped.example', [forward('to-capped', 'capped')]),
            vhost('goaway.example', [
              forward('to-goaway', 'goaway', { action: { type: 'route', destinations: [{ cluster: 'goaway', weight: 1 }], retry: { ...ISTIO_DEFAULT_RETRY_POLICY } } }),
            ]),
            vhost('refuse.example', [
              forward('to-refuse', 'refuse', { action: { type: 'route', destinations: [{ cluster: 'refuse', weight: 1 }], retry: { ...ISTIO_DEFAULT_RETRY_POLICY } } }),
            ]),
            vhost('retiring.example', [forward('to-retiring', 'retiring')]),
            vhost('refuse-noretry.example', [forward('to-refuse-noretry', 'refuse-noretry')]),
            vhost('direct.example', [{ name: 'direct', match: [], action: { type: 'direct', status: 418, body: 'short and stout' } }]),
          ]),
        ],
        clusters: [
          cluster('a', [h2a.port], H2),
          cluster('b', [h2b.port], H2),
          cluster('h1', [h1.port], { protocol: 'http1' }),
          cluster('auto', [h2a.port], { protocol: 'auto' }),
          cluster('capped', [capped.port], { ...H2, connectionPool: { maxConcurrentStreams: 2 } }),
          cluster('goaway', [goaway.port], H2),
          cluster('refuse', [refuse.port], H2),
          cluster('retiring', [retiring.port], { ...H2, connectionPool: { maxRequestsPerConnection: 2, idleTimeoutMs: 50 } }),
          cluster('refuse-noretry', [refuse.port], H2),
        ],
      }),
    ), (r) => r.close());
    client = disposer.add(await h2connect(proxy.port('out')), (c) => c.destroy());
  }));

  after(() => disposer.drain());

  test('h2c requests are routed by :authority', async () => {
    for (const [authority, backend] of [
      ['a.example', 'a'],
      ['b.example', 'b'],
    ]) {
      const reply = await h2request(client, get(authority, '/hello?x=1'));
      assert.equal(reply.status, 200);
      assert.equal(reply.headers['x-backend'], backend);
      const seen = JSON.parse(reply.body.toString()) as { headers: Record<string, string> };
      assert.equal(seen.headers[':authority'], authority);
      assert.equal(seen.headers[':path'], '/hello?x=1');
      assert.equal(seen.headers['x-forwarded-proto'], 'http');
      assert.equal(reply.headers.server, 'envoy');
    }
  });

  test('weighted routes split h2 requests across clusters', async () => {
    const seen = new Map<string, number>();
    for (let i = 0; i < 40; i++) {
      const reply = await h2request(client, get('split.example'));
      const name = String(reply.headers['x-backend']);
      seen.set(name, (seen.get(name) ?? 0) + 1);
    }
    assert.ok((seen.get('a') ?? 0) > 0 && (seen.get('b') ?? 0) > 0, `both clusters get traffic: ${JSON.stringify([...seen])}`);
    assert.equal((seen.get('a') ?? 0) + (seen.get('b') ?? 0), 40);
  });

  test('local replies go out as HTTP/2 responses with Envoy texts and flags', async () => {
    const nr = await h2request(client, get('nowhere.example'));
    assert.equal(nr.status, 404);
    assert.equal(nr.body.length, 0);
    assert.equal(formatResponseFlags(proxy.records[proxy.records.length - 1].flags), 'NR');
    const direct = await h2request(client, get('direct.example'));
    assert.equal(direct.status, 418);
    assert.equal(direct.body.toString(), 'short and stout');
  });

  test('an HTTP/2 client reaches an HTTP/1.1 upstream: :authority becomes Host', async () => {
    const reply = await h2request(client, { ':method': 'POST', ':path': '/submit', ':authority': 'h1.example', cookie: 'a=1' }, [Buffer.from('hello '), Buffer.from('world')]);
    assert.equal(reply.status, 200);
    assert.equal(reply.headers['x-backend'], 'h1');
    const seen = JSON.parse(reply.body.toString()) as { method: string; url: string; headers: Record<string, string>; body: string };
    assert.equal(seen.method, 'POST');
    assert.equal(seen.url, '/submit');
    assert.equal(seen.headers.host, 'h1.example');
    assert.equal(seen.body, 'hello world');
    assert.equal(seen.headers.cookie, 'a=1');
  });

  test('an HTTP/1.1 client reaches an HTTP/2 upstream: Host becomes :authority, hop-by-hop fields stay behind', async () => {
    const res = await request(proxy.port('out'), '/from-h1', { method: 'POST', headers: { host: 'a.example', connection: 'keep-alive, x-hop', 'x-hop': '1', 'keep-alive': 'timeout=5' }, body: 'payload' });
    assert.equal(res.status, 200);
    assert.equal(res.headers['x-backend'], 'a');
    const seen = JSON.parse(res.body) as { protocol: string; headers: Record<string, string>; bodyLength: number };
    assert.equal(seen.protocol, 'HTTP/2');
    assert.equal(seen.headers[':authority'], 'a.example');
    assert.equal(seen.headers[':method'], 'POST');
    assert.equal(seen.bodyLength, 7);
    assert.equal(seen.headers.host, undefined);
    assert.equal(seen.headers['x-hop'], undefined);
    assert.equal(seen.headers['keep-alive'], undefined);
  });

  test('a cluster with protocol auto follows the client: HTTP/2 in, HTTP/2 out', async () => {
    const reply = await h2request(client, get('auto.example'));
    assert.equal(reply.status, 200);
    assert.equal((JSON.parse(reply.body.toString()) as { protocol: string }).protocol, 'HTTP/2');
  });

  test('request trailers reach the upstream', async () => {
    const reply = await h2request(client, { ':method': 'POST', ':path': '/trailers', ':authority': 'b.example' }, Buffer.from('body'), { 'x-checksum': 'abc123' });
    assert.equal(reply.status, 200);
    assert.equal(h2b.lastTrailers?.['x-checksum'], 'abc123');
  });

  test('large bodies stream both ways under flow control', async () => {
    const size = 8 * 1024 * 1024;
    const chunks = Array.from({ length: 64 }, () => Buffer.alloc(size / 64, 'y'));
    const up = await h2request(client, { ':method': 'POST', ':path': '/upload', ':authority': 'a.example' }, chunks);
    assert.equal((JSON.parse(up.body.toString()) as { bodyLength: number }).bodyLength, size);
    const down = await h2request(client, get('b.example', `/big/${size}`));
    assert.equal(down.body.length, size);
    // HTTP/1.1 client, HTTP/2 upstream: re-framed as chunked.
    const res = await request(proxy.port('out'), `/big/${size}`, { headers: { host: 'b.example' } });
    assert.equal(res.body.length, size);
  });

  test('requests share one upstream session; maxConcurrentStreams opens more', async () => {
    const sessionsBefore = h2b.sessions;
    await Promise.all(Array.from({ length: 10 }, () => h2request(client, get('b.example'))));
    assert.ok(h2b.sessions - sessionsBefore <= 1, 'ten requests need at most one new session');

    const calls = Array.from({ length: 6 }, () => h2request(client, grpcHeaders('capped.example', '/test.Echo/Slow'), grpcFrame('x')));
    const replies = await Promise.all(calls);
    for (const r of replies) assert.equal(grpcStatusOf(r).code, 0);
    assert.ok(capped.maxOpenPerSession <= 2, `at most 2 streams per session, saw ${capped.maxOpenPerSession}`);
    assert.ok(capped.sessions >= 3, `6 concurrent calls need 3 sessions, saw ${capped.sessions}`);
  });

  test('upstream sessions retire after maxRequestsPerConnection and close after idleTimeout', async () => {
    for (let i = 0; i < 6; i++) assert.equal((await h2request(client, get('retiring.example'))).status, 200);
    assert.equal(retiring.sessions, 3);
    const stats = () => proxy.proxy.stats();
    assert.equal(stats().get('cluster.retiring.upstream_cx_max_requests'), 3);
    await eventually(() => stats().get('cluster.retiring.upstream_cx_active') === 0, 5000, 'every session to close');
    assert.ok((stats().get('cluster.retiring.upstream_cx_http2_total') ?? 0) >= 3);
  });

  test('GOAWAY from the upstream mid-traffic: streams in flight finish, new requests get a new session', async () => {
    // A bidi stream stays open on the first session across the GOAWAY.
    const stream = client.request(grpcHeaders('goaway.example', '/test.Echo/Bidi'));
    const received: Buffer[] = [];
    stream.on('data', (c: Buffer) => received.push(c));
    const closed = new Promise<void>((resolve) => stream.on('close', resolve));
    stream.write(grpcFrame('before'));
    await eventually(() => Buffer.concat(received).includes('echo:before'), 5000, 'the first echo');
    assert.equal(goaway.sessions, 1);

    const burst = (n: number) => Promise.all(Array.from({ length: n }, (_, i) => h2request(client, grpcHeaders('goaway.example', '/test.Echo/Unary'), grpcFrame(`m${i}`))));
    const first = burst(20);
    goaway.goawayAll();
    const second = burst(20);
    for (const r of [...(await first), ...(await second)]) {
      assert.equal(grpcStatusOf(r).code, 0);
      assert.equal(messagesOf(r).length, 1);
    }
    assert.ok(goaway.sessions >= 2, `a new session after GOAWAY, saw ${goaway.sessions}`);

    stream.write(grpcFrame('after'));
    await eventually(() => Buffer.concat(received).includes('echo:after'), 5000, 'the echo after GOAWAY');
    stream.end();
    await closed;
  });

  test('a stream refused by GOAWAY is retried on a new session (Istio retries refused-stream by default)', async () => {
    assert.equal((await h2request(client, get('refuse.example'))).status, 200);
    const sessions = refuse.sessions;
    refuse.refuseNextStream();
    const reply = await h2request(client, get('refuse.example', '/second'));
    assert.equal(reply.status, 200);
    assert.equal(reply.headers['x-backend'], 'refuse');
    assert.equal(refuse.sessions, sessions + 1);
    const rec = proxy.records.find((r) => r.path === '/second')!;
    assert.equal(rec.attempts, 2);
    assert.equal(formatResponseFlags(rec.flags), '-');
  });

  test('without a retry policy a refused stream answers 503 "remote refused stream reset", flag UR', async () => {
    assert.equal((await h2request(client, get('refuse-noretry.example'))).status, 200);
    refuse.refuseNextStream();
    const reply = await h2request(client, get('refuse-noretry.example', '/refused'));
    assert.equal(reply.status, 503);
    assert.equal(reply.body.toString(), 'upstream connect error or disconnect/reset before headers. reset reason: remote refused stream reset');
    assert.equal(formatResponseFlags(proxy.records.find((r) => r.path === '/refused')!.flags), 'UR');
  });

  test('an auto listener detects the HTTP/2 preface and serves h2c', async () => {
    const sniffed = await h2connect(proxy.port('sniffed'));
    try {
      const reply = await h2request(sniffed, get('a.example'));
      assert.equal(reply.status, 200);
      assert.equal(reply.headers['x-backend'], 'a');
    } finally {
      sniffed.destroy();
    }
  });

  test('garbage after the preface costs that connection only; the proxy keeps serving', async () => {
    const errorsBefore = (await proxyStat(proxy, 'http.out.downstream_cx_protocol_error')) ?? 0;
    const closedByProxy = await new Promise<boolean>((resolve) => {
      const s = net.connect(proxy.port('out'), '127.0.0.1', () => {
        s.write('PRI * HTTP/2.0\r\n\r\nSM\r\n\r\n');
        s.write(Buffer.from('this is not an HTTP/2 frame at all, just bytes\r\n'.repeat(4)));
      });
      const timer = setTimeout(() => {
        s.destroy();
        resolve(false);
      }, 5000);
      s.on('error', () => {});
      s.on('close', () => {
        clearTimeout(timer);
        resolve(true);
      });
      s.resume();
    });
    assert.equal(closedByProxy, true);
    await eventually(async () => ((await proxyStat(proxy, 'http.out.downstream_cx_protocol_error')) ?? 0) > errorsBefore, 5000, 'the protocol error to be counted');
    const reply = await h2request(client, get('a.example'));
    assert.equal(reply.status, 200);
    const fresh = await h2connect(proxy.port('out'));
    try {
      assert.equal((await h2request(fresh, get('b.example'))).status, 200);
    } finally {
      fresh.destroy();
    }
  });
});

async function proxyStat(p: TestProxy, name: string): Promise<number | undefined> {
  return p.proxy.stats().get(name);
}

describe('upstream protocol choice', () => {
  const cases: { name: string; cluster: Partial<ClusterConfigInput>; downstream: string; upgrade?: string; want: 'http1' | 'http2' }[] = [
    { name: 'http2 port, HTTP/1.1 client', cluster: { protocol: 'http2' }, downstream: 'HTTP/1.1', want: 'http2' },
    { name: 'http1 port, HTTP/2 client', cluster: { protocol: 'http1' }, downstream: 'HTTP/2', want: 'http1' },
    { name: 'http1 port with h2UpgradePolicy UPGRADE', cluster: { protocol: 'http1', connectionPool: { h2Upgrade: true } }, downstream: 'HTTP/1.1', want: 'http2' },
    { name: 'sniffed port, HTTP/2 client', cluster: { protocol: 'auto' }, downstream: 'HTTP/2', want: 'http2' },
    { name: 'sniffed port, HTTP/1.1 client', cluster: { protocol: 'auto' }, downstream: 'HTTP/1.1', want: 'http1' },
    { name: 'useClientProtocol on an http2 port', cluster: { protocol: 'http2', connectionPool: { useClientProtocol: true } }, downstream: 'HTTP/1.1', want: 'http1' },
    { name: 'WebSocket upgrade on an http2 port', cluster: { protocol: 'http2' }, downstream: 'HTTP/1.1', upgrade: 'websocket', want: 'http1' },
  ];
  for (const c of cases) {
    test(c.name, () => {
      const config = withDefaults({ name: 'c', ...c.cluster });
      assert.equal(upstreamProtocol(config, { protocol: c.downstream, upgrade: c.upgrade ?? null }), c.want);
    });
  }
});
