/**
 * The request path's phase runner on a real proxy: listener filters that go on, answer, wait and
 * then go on or answer, throw, add response headers, and see the connection a request came on; a
 * client that leaves while a filter waits cancels the wait, and nothing is sent for it afterwards.
 */
import { after, before, describe, test } from 'node:test';
import assert from 'node:assert/strict';
import http from 'node:http';
import net from 'node:net';
import { once } from 'node:events';
import { cluster, echo, eventually, forward, httpListener, request, routeConfig, snapshot, startBackend, startProxy } from './helpers.js';
import type { Backend, TestProxy } from './helpers.js';
import { CONTINUE, waitFor } from '../../src/proxy/filters/verdict.js';
import { localReply, type HttpFilter, type HttpFilterRequest, type HttpVerdict } from '../../src/proxy/filters/http-filter.js';
import type { ConnectionContext } from '../../src/proxy/filters/connection-filter.js';
import { ResponseFlag, formatResponseFlags } from '../../src/telemetry/response-flags.js';
import { Gate, withListenerFilters } from './filters/helpers.js';
import { Disposer } from '../helpers/disposer.js';

const DENIED = localReply(403, 'RBAC: access denied', 0, 'rbac_access_denied_matched_policy[none]');

/** A filter that answers `verdict` at once and remembers what it saw. */
function fixed(name: string, verdict: HttpVerdict, seen: HttpFilterRequest[] = []): HttpFilter {
  return {
    name,
    decide(req) {
      seen.push(req);
      return verdict;
    },
  };
}

describe('request phases', () => {
  let backend: Backend;
  let proxy: TestProxy;

  const disposer = new Disposer();
  before(disposer.setup(async () => {
    backend = disposer.add(await startBackend(echo('b')), (r) => r.close());
    proxy = disposer.add(await startProxy(
      snapshot({
        listeners: [httpListener('out', 'routes')],
        routes: [routeConfig('routes', [{ name: 'svc', domains: ['*'], routes: [forward('all', 'b')] }])],
        clusters: [cluster('b', [backend.port])],
      }),
    ), (r) => r.close());
  }));

  after(() => disposer.drain());

  const stat = (name: string): number => proxy.proxy.stats().get(name) ?? 0;
  const get = (path = '/x', headers: Record<string, string> = {}) => request(proxy.port('out'), path, { headers: { host: 'svc:9080', ...headers } });
  const filters = (http: HttpFilter[]): void => withListenerFilters(proxy.proxy, 'out', { http });

  test('a filter that goes on at once: the request is forwarded as without it', async () => {
    const seen: HttpFilterRequest[] = [];
    filters([fixed('pass', CONTINUE, seen)]);
    const res = await get('/pass?q=1', { 'x-user': 'jason' });
    assert.equal(res.status, 200);
    assert.equal(JSON.parse(res.body).url, '/pass?q=1');
    assert.equal(seen.length, 1);
    assert.equal(seen[0].method, 'GET');
    assert.equal(seen[0].path, '/pass?q=1');
    assert.equal(seen[0].headers.get('x-user'), 'jason');
    // The request id is set before the listener filters run (phase 1).
    assert.ok(seen[0].headers.has('x-request-id'));
  });

  test('a filter that answers: the local reply goes out, the upstream never hears of it', async () => {
    filters([fixed('deny', DENIED)]);
    const before = backend.count;
    const n = proxy.records.length;
    const res = await get();
    assert.equal(res.status, 403);
    assert.equal(res.body, 'RBAC: access denied');
    assert.equal(backend.count, before);
    assert.equal(proxy.records[n].details, 'rbac_access_denied_matched_policy[none]');
  });

  test('a filter that waits, then goes on: the request is forwarded only then', async () => {
    const gate = new Gate<HttpFilterRequest, HttpVerdict>();
    filters([gate]);
    const upstream = stat('cluster.b.upstream_rq_total');
    const reply = get('/held');
    await eventually(() => gate.held.length === 1, 5000, 'the request at the filter');
    assert.equal(stat('cluster.b.upstream_rq_total'), upstream, 'nothing goes upstream while the filter waits');
    gate.held[0].resume(CONTINUE);
    const res = await reply;
    assert.equal(res.status, 200);
    assert.equal(JSON.parse(res.body).url, '/held');
    assert.equal(stat('cluster.b.upstream_rq_total'), upstream + 1);
    assert.equal(gate.held[0].cancelled, false);
  });

  test('a filter that waits, then answers locally', async () => {
    const gate = new Gate<HttpFilterRequest, HttpVerdict>();
    filters([gate]);
    const before = backend.count;
    const reply = get();
    await eventually(() => gate.held.length === 1, 5000, 'the request at the filter');
    gate.held[0].resume(DENIED);
    const res = await reply;
    assert.equal(res.status, 403);
    assert.equal(res.body, 'RBAC: access denied');
    assert.equal(backend.count, before);
  });

  test('filters run in order: the one after a wait runs once the wait ends', async () => {
    const gate = new Gate<HttpFilterRequest, HttpVerdict>();
    const after: HttpFilterRequest[] = [];
    filters([gate, fixed('deny', DENIED, after)]);
    const reply = get();
    await eventually(() => gate.held.length === 1, 5000, 'the request at the first filter');
    assert.equal(after.length, 0, 'the second filter waits for the first');
    gate.held[0].resume(CONTINUE);
    assert.equal((await reply).status, 403);
    assert.equal(after.length, 1);
  });

  test('a wait that resumes at once, and the flags a wait sets, reach the record', async () => {
    const sync: HttpFilter = { name: 'cached', decide: () => waitFor<HttpVerdict>((resume) => (resume(CONTINUE), () => {}), ResponseFlag.DI) };
    filters([sync]);
    const n = proxy.records.length;
    assert.equal((await get()).status, 200);
    assert.equal(formatResponseFlags(proxy.records[n].flags), 'DI');
  });

  test('a client that goes away while a filter waits: the wait is cancelled, nothing is sent for it later', async () => {
    const gate = new Gate<HttpFilterRequest, HttpVerdict>();
    filters([gate]);
    const upstream = stat('cluster.b.upstream_rq_total');
    const resets = stat('http.out.downstream_rq_rx_reset');
    const n = proxy.records.length;
    const s = net.connect(proxy.port('out'), '127.0.0.1');
    s.on('error', () => {});
    await once(s, 'connect');
    let received = 0;
    s.on('data', (d: Buffer) => (received += d.length));
    s.write('GET /gone HTTP/1.1\r\nHost: svc:9080\r\n\r\n');
    await eventually(() => gate.held.length === 1, 5000, 'the request at the filter');
    // Gone for good (a FIN alone is a half-close, after which an HTTP/1.1 client still reads its answer).
    s.resetAndDestroy();
    await eventually(() => gate.held[0].cancelled, 5000, 'the wait cancelled');
    assert.equal(stat('http.out.downstream_rq_active'), 0, 'the request is over');
    assert.equal(stat('http.out.downstream_rq_rx_reset'), resets + 1);
    assert.equal(proxy.records.length, n + 1);
    assert.equal(formatResponseFlags(proxy.records[n].flags), 'DC');
    // A late resume is ignored: no upstream request, no second record, nothing written.
    gate.held[0].resume(CONTINUE);
    gate.held[0].resume(DENIED);
    assert.equal(stat('cluster.b.upstream_rq_total'), upstream);
    assert.equal(proxy.records.length, n + 1);
    assert.equal(received, 0);
  });

  test('a filter that throws answers 500 naming it, and the proxy keeps serving', async () => {
    filters([
      {
        name: 'broken',
        decide() {
          throw new Error('bug');
        },
      },
    ]);
    const n = proxy.records.length;
    const res = await get();
    assert.equal(res.status, 500);
    assert.equal(proxy.records[n].details, 'filter_failed{broken}');
    filters([]);
    assert.equal((await get()).status, 200);
  });

  test('response side: listener filters add headers to forwarded responses, innermost first', async () => {
    const order: string[] = [];
    const tagging = (name: string): HttpFilter => ({
      name,
      decide: () => CONTINUE,
      respond(_req, status, headers) {
        order.push(name);
        headers.append('x-filtered', `${name}:${status}`);
      },
    });
    filters([tagging('outer'), tagging('inner')]);
    const res = await get();
    assert.equal(res.status, 200);
    assert.equal(res.headers['x-filtered'], 'inner:200, outer:200');
    assert.deepEqual(order, ['inner', 'outer']);
    filters([]);
  });

  test('a filter sees the connection its request came on, one context per connection', async () => {
    const seen: HttpFilterRequest[] = [];
    filters([fixed('look', CONTINUE, seen)]);
    const agent = new http.Agent({ keepAlive: true, maxSockets: 1 });
    try {
      const a = await request(proxy.port('out'), '/1', { headers: { host: 'svc:9080' }, agent });
      const b = await request(proxy.port('out'), '/2', { headers: { host: 'svc:9080' }, agent });
      assert.equal(a.status, 200);
      assert.equal(b.status, 200);
    } finally {
      agent.destroy();
    }
    assert.equal(seen.length, 2);
    const conn: ConnectionContext = seen[0].connection;
    assert.equal(seen[1].connection, conn, 'both requests of a kept-alive connection share its context');
    assert.equal(conn.listener, 'out');
    assert.equal(conn.direction, 'outbound');
    assert.equal(conn.remoteAddress, '127.0.0.1');
    assert.equal(conn.localPort, proxy.port('out'));
    assert.equal(conn.destinationPort, proxy.port('out'));
    assert.equal(conn.tls, false);
    assert.equal(conn.peerIdentity, null);
    assert.equal(conn.tunnelTarget, null);
    filters([]);
  });
});
