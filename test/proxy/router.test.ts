/**
 * The router filter's decisions as an operator reads them: which failures are retried and which
 * are not, the retry budget (a cluster's maxRetries) taken and given back, retries sent to other
 * hosts, timeouts and resets answered in Envoy's words with their response code details, and the
 * cluster and listener counters `/stats` shows for each (Envoy's names).
 */
import { after, before, describe, test } from 'node:test';
import assert from 'node:assert/strict';
import net from 'node:net';
import { once } from 'node:events';
import { adminGet, answering, cluster, deadPort, echo, forward, httpListener, request, routeConfig, snapshot, startBackend, startProxy } from './helpers.js';
import type { Backend, TestProxy } from './helpers.js';
import { formatResponseFlags } from '../../src/telemetry/response-flags.js';
import type { RetryPolicy } from '../../src/snapshot/index.js';

function retryOn(attempts: number, on: RetryPolicy['retryOn'], extra: Partial<RetryPolicy> = {}): RetryPolicy {
  return { attempts, retryOn: on, retriableStatusCodes: [], backoffBaseMs: 5, ...extra };
}

/** A raw TCP upstream: `onRequest` gets each connection once a request head arrived on it. */
async function rawUpstream(onRequest: (socket: net.Socket, head: string) => void): Promise<{ port: number; close(): Promise<void>; count: number }> {
  const sockets = new Set<net.Socket>();
  const up = {
    port: 0,
    count: 0,
    close: async () => {
      for (const s of sockets) s.destroy();
      await new Promise<void>((resolve) => server.close(() => resolve()));
    },
  };
  const server = net.createServer((socket) => {
    sockets.add(socket);
    socket.on('close', () => sockets.delete(socket));
    socket.on('error', () => {});
    let buf = '';
    socket.on('data', (d: Buffer) => {
      buf += d.toString('latin1');
      const end = buf.indexOf('\r\n\r\n');
      if (end < 0) return;
      const head = buf.slice(0, end);
      buf = buf.slice(end + 4);
      up.count++;
      onRequest(socket, head);
    });
  });
  server.listen(0, '127.0.0.1');
  await once(server, 'listening');
  up.port = (server.address() as net.AddressInfo).port;
  return up;
}

/** Every counter of `/stats` under `prefix`, by name. */
async function counters(proxy: TestProxy, prefix: string): Promise<Map<string, number>> {
  const out = new Map<string, number>();
  for (const line of (await adminGet(proxy, '/stats')).body.split('\n')) {
    if (!line.startsWith(prefix)) continue;
    const colon = line.lastIndexOf(': ');
    out.set(line.slice(prefix.length, colon), Number(line.slice(colon + 2)));
  }
  return out;
}

/** How much each named counter grew while `run` ran. */
async function grown(proxy: TestProxy, prefix: string, names: string[], run: () => Promise<void>): Promise<Record<string, number>> {
  const before = await counters(proxy, prefix);
  await run();
  const after = await counters(proxy, prefix);
  return Object.fromEntries(names.map((n) => [n, (after.get(n) ?? 0) - (before.get(n) ?? 0)]));
}

describe('router: what is retried, the retry budget, and the counters', () => {
  let good: Backend;
  let failing: Backend;
  let notFound: Backend;
  let slow: Backend;
  /** 503 on a request's first try, 200 after 300 ms on a retry. */
  let failOnce: Backend;
  /** 503 on a request's first two tries, 200 on the third. */
  let failTwice: Backend;
  /** 503 on a request's first try, 500 on the next. */
  let then500: Backend;
  let dead: number;
  let headersThenReset: Awaited<ReturnType<typeof rawUpstream>>;
  let closeWithoutAnswer: Awaited<ReturnType<typeof rawUpstream>>;
  let garbage: Awaited<ReturnType<typeof rawUpstream>>;
  let proxy: TestProxy;

  before(async () => {
    good = await startBackend(echo('good'));
    failing = await startBackend(answering(503, 'backend unavailable'));
    notFound = await startBackend(answering(404, 'no such thing'));
    slow = await startBackend((req, res, body) => setTimeout(() => echo('slow')(req, res, body), 400));
    failOnce = await startBackend((req, res, body) => {
      if (req.headers['x-envoy-attempt-count'] === '1') {
        res.writeHead(503, { 'content-type': 'text/plain' });
        res.end('first try fails');
        return;
      }
      setTimeout(() => echo('fail-once')(req, res, body), 300);
    });
    failTwice = await startBackend((req, res, body) => {
      if (req.headers['x-envoy-attempt-count'] !== '3') {
        res.writeHead(503, { 'content-type': 'text/plain' });
        res.end('not yet');
        return;
      }
      echo('fail-twice')(req, res, body);
    });
    then500 = await startBackend((req, res) => {
      res.writeHead(req.headers['x-envoy-attempt-count'] === '1' ? 503 : 500, { 'content-type': 'text/plain' });
      res.end('no');
    });
    dead = await deadPort();
    headersThenReset = await rawUpstream((socket) => {
      socket.write('HTTP/1.1 200 OK\r\ncontent-length: 100\r\n\r\npartial');
      setTimeout(() => socket.resetAndDestroy(), 20);
    });
    closeWithoutAnswer = await rawUpstream((socket) => socket.destroy());
    garbage = await rawUpstream((socket) => socket.end('this is not HTTP at all\r\n\r\n'));
    const route = (name: string, c: string, extra: object = {}) => ({ name, domains: [name], routes: [forward(name, c, extra)] });
    const to = (c: string, extra: object = {}) => ({ action: { type: 'route', destinations: [{ cluster: c, weight: 1 }], ...extra } });
    proxy = await startProxy(
      snapshot({
        listeners: [httpListener('out', 'routes')],
        routes: [
          routeConfig('routes', [
            route('404-not-retried', 'not-found', to('not-found', { retry: retryOn(2, ['5xx']) })),
            route('dead-not-retried', 'dead', to('dead', { retry: retryOn(2, ['retriable-status-codes'], { retriableStatusCodes: [409] }) })),
            route('per-try-not-retried', 'slow', to('slow', { retry: retryOn(2, ['retriable-status-codes'], { retriableStatusCodes: [409], perTryTimeoutMs: 100 }) })),
            route('route-timeout', 'slow', to('slow', { timeoutMs: 100 })),
            route('budget', 'fail-once', to('fail-once', { retry: retryOn(1, ['5xx']) })),
            route('budget-no-retry', 'fail-once', to('fail-once')),
            route('retry-then-500', 'then-500', to('then-500', { retry: retryOn(1, ['retriable-status-codes'], { retriableStatusCodes: [503] }) })),
            route('two-retries-one-slot', 'fail-twice', to('fail-twice', { retry: retryOn(2, ['5xx']) })),
            route('backoff', 'failing', to('failing', { retry: retryOn(2, ['5xx'], { backoffBaseMs: 20_000 }) })),
            route('always-503', 'failing', to('failing', { retry: retryOn(1, ['5xx']) })),
            route('other-host', 'failing-and-good', to('failing-and-good', { retry: retryOn(1, ['5xx'], { retryIgnorePreviousHosts: true }) })),
            route('empty', 'empty', to('empty')),
            route('reset-after-headers', 'headers-then-reset', to('headers-then-reset')),
            route('closed', 'close-without-answer', to('close-without-answer')),
            route('closed-retried', 'close-without-answer', to('close-without-answer', { retry: retryOn(1, ['reset']) })),
            route('garbage', 'garbage', to('garbage')),
          ]),
        ],
        clusters: [
          cluster('not-found', [notFound.port]),
          cluster('dead', [dead]),
          cluster('slow', [slow.port]),
          cluster('fail-once', [failOnce.port], { connectionPool: { maxRetries: 1 } }),
          cluster('fail-twice', [failTwice.port], { connectionPool: { maxRetries: 1 } }),
          cluster('then-500', [then500.port]),
          cluster('failing', [failing.port]),
          cluster('failing-and-good', [failing.port, good.port], { lb: { policy: 'RANDOM' } }),
          cluster('empty', []),
          cluster('headers-then-reset', [headersThenReset.port]),
          cluster('close-without-answer', [closeWithoutAnswer.port]),
          cluster('garbage', [garbage.port]),
        ],
      }),
    );
  });

  after(async () => {
    await proxy.close();
    await Promise.all([good, failing, notFound, slow, failOnce, failTwice, then500].map((b) => b.close()));
    await Promise.all([headersThenReset, closeWithoutAnswer, garbage].map((u) => u.close()));
  });

  const get = (host: string) => request(proxy.port('out'), '/', { headers: { host } });
  const last = () => proxy.records[proxy.records.length - 1];

  test('an answer the policy does not name is relayed after one try, and counted as completed', async () => {
    const before = notFound.count;
    const c = await grown(proxy, 'cluster.not-found.', ['upstream_rq_retry', 'upstream_rq_completed', 'upstream_rq_404', 'upstream_rq_4xx'], async () => {
      const res = await get('404-not-retried');
      assert.equal(res.status, 404);
      assert.equal(res.body, 'no such thing');
    });
    assert.equal(notFound.count - before, 1);
    assert.equal(last().attempts, 1);
    assert.deepEqual(c, { upstream_rq_retry: 0, upstream_rq_completed: 1, upstream_rq_404: 1, upstream_rq_4xx: 1 });
  });

  test('a connect failure under a policy that retries only some status codes is not retried: UF, no URX, no reset counted', async () => {
    let res = { status: 0, body: '' };
    const c = await grown(proxy, 'cluster.dead.', ['upstream_rq_rx_reset', 'upstream_rq_retry'], async () => {
      res = await get('dead-not-retried');
    });
    assert.deepEqual(c, { upstream_rq_rx_reset: 0, upstream_rq_retry: 0 });
    assert.equal(res.status, 503);
    assert.equal(res.body, 'upstream connect error or disconnect/reset before headers. reset reason: remote connection failure, transport failure reason: delayed connect error: Connection refused');
    assert.equal(formatResponseFlags(last().flags), 'UF');
    assert.equal(last().attempts, 1);
    assert.equal(last().details, 'upstream_reset_before_response_started{remote_connection_failure}');
  });

  test('a per-try timeout the policy does not retry is answered 504 UT at once, counted as both timeouts', async () => {
    const before = slow.count;
    const c = await grown(proxy, 'cluster.slow.', ['upstream_rq_per_try_timeout', 'upstream_rq_timeout', 'upstream_rq_retry'], async () => {
      const res = await get('per-try-not-retried');
      assert.equal(res.status, 504);
      assert.equal(res.body, 'upstream request timeout');
    });
    assert.equal(slow.count - before, 1);
    assert.equal(formatResponseFlags(last().flags), 'UT');
    assert.equal(last().details, 'upstream_per_try_timeout');
    assert.deepEqual(c, { upstream_rq_per_try_timeout: 1, upstream_rq_timeout: 1, upstream_rq_retry: 0 });
  });

  test('the route timeout: 504 UT, details upstream_response_timeout, the cluster and listener timeouts counted', async () => {
    const cl = await grown(proxy, 'cluster.slow.', ['upstream_rq_timeout', 'upstream_rq_per_try_timeout'], async () => {
      const ls = await grown(proxy, 'http.out.', ['downstream_rq_timeout'], async () => {
        const res = await get('route-timeout');
        assert.equal(res.status, 504);
        assert.equal(res.body, 'upstream request timeout');
      });
      assert.deepEqual(ls, { downstream_rq_timeout: 1 });
    });
    assert.deepEqual(cl, { upstream_rq_timeout: 1, upstream_rq_per_try_timeout: 0 });
    assert.equal(last().details, 'upstream_response_timeout');
  });

  test('the retry budget: a retry in flight holds the one slot, a second request meanwhile gets its 503 with UO; the slot comes back', async () => {
    const c = await grown(proxy, 'cluster.fail-once.', ['upstream_rq_retry', 'upstream_rq_retry_success', 'upstream_rq_retry_overflow'], async () => {
      const first = get('budget');
      // The first request's retry waits 300 ms on the upstream; send the second meanwhile.
      await new Promise((r) => setTimeout(r, 120));
      const n = proxy.records.length;
      const second = await get('budget');
      assert.equal(second.status, 503);
      assert.equal(second.body, 'first try fails');
      assert.equal(formatResponseFlags(proxy.records[n].flags), 'UO');
      assert.equal((await first).status, 200);
      // Both finished: the slot is free again, and a third request's retry is allowed.
      const third = await get('budget');
      assert.equal(third.status, 200);
      assert.equal(formatResponseFlags(last().flags), '-');
    });
    assert.equal(c.upstream_rq_retry, 2);
    assert.equal(c.upstream_rq_retry_success, 2);
  });

  test('a request that finishes without retrying does not give back a slot another request holds', async () => {
    const first = get('budget');
    await new Promise((r) => setTimeout(r, 120));
    // The first request's retry holds the one slot; this one takes none and ends at once.
    assert.equal((await get('budget-no-retry')).status, 503);
    const n = proxy.records.length;
    const third = await get('budget');
    assert.equal(third.status, 503);
    assert.equal(formatResponseFlags(proxy.records[n].flags), 'UO');
    assert.equal((await first).status, 200);
  });

  test('a retry answered with a 500 is no retry success', async () => {
    const c = await grown(proxy, 'cluster.then-500.', ['upstream_rq_retry', 'upstream_rq_retry_success'], async () => {
      assert.equal((await get('retry-then-500')).status, 500);
    });
    assert.deepEqual(c, { upstream_rq_retry: 1, upstream_rq_retry_success: 0 });
  });

  test('one request keeps its one budget slot across its second retry', async () => {
    const res = await get('two-retries-one-slot');
    assert.equal(res.status, 200);
    assert.equal(last().attempts, 3);
    assert.equal(formatResponseFlags(last().flags), '-');
  });

  test('a client that leaves during a retry backoff: the request ends, the proxy goes on serving', async () => {
    await new Promise<void>((resolve) => {
      const socket = net.connect(proxy.port('out'), '127.0.0.1', () => {
        socket.write('GET / HTTP/1.1\r\nhost: backoff\r\n\r\n');
        // The first try's 503 arrives within milliseconds; the backoff before the retry is up to 20 s.
        setTimeout(() => {
          socket.destroy();
          resolve();
        }, 150);
      });
    });
    const res = await get('404-not-retried');
    assert.equal(res.status, 404);
  });

  test('retries used up: the last answer relayed with URX, upstream_rq_retry_limit_exceeded counted, no retry success', async () => {
    const c = await grown(proxy, 'cluster.failing.', ['upstream_rq_retry', 'upstream_rq_retry_limit_exceeded', 'upstream_rq_retry_success'], async () => {
      const res = await get('always-503');
      assert.equal(res.status, 503);
    });
    assert.equal(formatResponseFlags(last().flags), 'URX');
    assert.deepEqual(c, { upstream_rq_retry: 1, upstream_rq_retry_limit_exceeded: 1, upstream_rq_retry_success: 0 });
  });

  test('with previous hosts left out, the one retry goes to the other host: every request succeeds', async () => {
    // A random pick without the predicate would send about a quarter of these twice to the failing host.
    for (let i = 0; i < 24; i++) {
      const res = await get('other-host');
      assert.equal(res.status, 200, `request ${i}`);
      const r = last();
      if (r.attempts === 2) assert.equal(r.upstreamHost, `127.0.0.1:${good.port}`);
    }
  });

  test('a cluster without endpoints: 503 "no healthy upstream", UH', async () => {
    const res = await get('empty');
    assert.equal(res.status, 503);
    assert.equal(res.body, 'no healthy upstream');
    assert.equal(formatResponseFlags(last().flags), 'UH');
    assert.equal(last().details, 'no_healthy_upstream');
  });

  test('a connection reset after the response began cuts the client off: UC, counted as upstream_rq_rx_reset', async () => {
    const c = await grown(proxy, 'cluster.headers-then-reset.', ['upstream_rq_rx_reset'], async () => {
      await assert.rejects(get('reset-after-headers'));
    });
    assert.deepEqual(c, { upstream_rq_rx_reset: 1 });
    assert.equal(formatResponseFlags(last().flags), 'UC');
    assert.equal(last().details, 'upstream_reset_after_response_started');
  });

  test('a connection closed before any answer: 503 UC in Envoy words, counted as a reset, retried only under a reset policy', async () => {
    const before = closeWithoutAnswer.count;
    const c = await grown(proxy, 'cluster.close-without-answer.', ['upstream_rq_rx_reset', 'upstream_rq_retry'], async () => {
      const res = await get('closed');
      assert.equal(res.status, 503);
      assert.equal(res.body, 'upstream connect error or disconnect/reset before headers. reset reason: connection termination');
    });
    assert.equal(formatResponseFlags(last().flags), 'UC');
    assert.equal(last().details, 'upstream_reset_before_response_started{connection_termination}');
    assert.deepEqual(c, { upstream_rq_rx_reset: 1, upstream_rq_retry: 0 });
    assert.equal(closeWithoutAnswer.count - before, 1);

    const retried = await get('closed-retried');
    assert.equal(retried.status, 503);
    assert.equal(retried.body, 'upstream connect error or disconnect/reset before headers. retried and the latest reset reason: connection termination');
    assert.equal(last().attempts, 2);
    assert.equal(closeWithoutAnswer.count - before, 3);
  });

  test('an upstream that does not speak HTTP: 502 with the protocol error in the details', async () => {
    const res = await get('garbage');
    assert.equal(res.status, 502);
    assert.equal(last().details, 'upstream_reset_before_response_started{protocol_error}');
    assert.match(res.body, /^upstream connect error or disconnect\/reset before headers\. reset reason: protocol error/);
  });
});

describe('router: the consistent-hash key reaches the pick', () => {
  let backends: Backend[];
  let proxy: TestProxy;

  before(async () => {
    backends = await Promise.all(['a', 'b', 'c'].map((n) => startBackend(echo(n))));
    proxy = await startProxy(
      snapshot({
        listeners: [httpListener('out', 'routes')],
        routes: [routeConfig('routes', [{ name: 'sticky', domains: ['sticky'], routes: [forward('sticky', 'sticky')] }])],
        clusters: [cluster('sticky', backends.map((b) => b.port), { lb: { policy: 'RING_HASH', hash: { header: 'x-user' } } })],
      }),
    );
  });

  after(async () => {
    await proxy.close();
    await Promise.all(backends.map((b) => b.close()));
  });

  test('requests with one x-user all reach one host; other users spread over the hosts', async () => {
    const hostOf = async (user: string): Promise<string> => {
      const res = await request(proxy.port('out'), '/', { headers: { host: 'sticky', 'x-user': user } });
      assert.equal(res.status, 200);
      return proxy.records[proxy.records.length - 1].upstreamHost;
    };
    for (const user of ['jason', 'alice']) {
      const hosts = new Set<string>();
      for (let i = 0; i < 12; i++) hosts.add(await hostOf(user));
      assert.equal(hosts.size, 1, `${user} went to ${[...hosts].join(', ')}`);
    }
    const spread = new Set<string>();
    for (let i = 0; i < 30; i++) spread.add(await hostOf(`user-${i}`));
    assert.ok(spread.size > 1, 'thirty users all hashed to one host');
  });
});

describe('router: request bodies, timers and the circuit breaker', () => {
  let good: Backend;
  let failing: Backend;
  let slow: Backend;
  let proxy: TestProxy;

  before(async () => {
    good = await startBackend(echo('good'));
    failing = await startBackend(answering(503, 'backend unavailable'));
    slow = await startBackend((req, res, body) => setTimeout(() => echo('slow')(req, res, body), 400));
    const route = (name: string, c: string, extra: object = {}) => ({ name, domains: [name], routes: [forward(name, c, { action: { type: 'route', destinations: [{ cluster: c, weight: 1 }], ...extra } })] });
    proxy = await startProxy(
      snapshot({
        listeners: [httpListener('out', 'routes')],
        routes: [
          routeConfig('routes', [
            route('upload-timeout', 'good', { timeoutMs: 200 }),
            route('upload-per-try', 'slow', { retry: retryOn(1, ['retriable-status-codes'], { retriableStatusCodes: [409], perTryTimeoutMs: 150 }) }),
            route('timeout-in-backoff', 'failing', { timeoutMs: 100, retry: retryOn(2, ['5xx'], { backoffBaseMs: 20_000 }) }),
            route('retry-503', 'failing', { retry: retryOn(2, ['5xx']) }),
            route('upload', 'good'),
            route('one-connection', 'one-connection'),
          ]),
        ],
        clusters: [
          cluster('good', [good.port]),
          cluster('failing', [failing.port]),
          cluster('slow', [slow.port]),
          cluster('one-connection', [slow.port], { connectionPool: { maxConnections: 1, http1MaxPendingRequests: 1 } }),
        ],
      }),
    );
  });

  after(async () => {
    await proxy.close();
    await Promise.all([good, failing, slow].map((b) => b.close()));
  });

  const last = () => proxy.records[proxy.records.length - 1];

  /** Sends the head at once and the body `delayMs` later; resolves with the status and body. */
  function slowUpload(host: string, body: string, delayMs: number): Promise<{ status: number; body: string }> {
    return new Promise((resolve, reject) => {
      const socket = net.connect(proxy.port('out'), '127.0.0.1');
      let got = '';
      socket.on('data', (d: Buffer) => (got += d.toString('latin1')));
      socket.on('error', reject);
      socket.on('end', () => {
        const [head, rest] = [got.slice(0, got.indexOf('\r\n\r\n')), got.slice(got.indexOf('\r\n\r\n') + 4)];
        resolve({ status: Number(head.split(' ')[1]), body: rest });
      });
      socket.write(`POST /upload HTTP/1.1\r\nhost: ${host}\r\ncontent-length: ${body.length}\r\nconnection: close\r\n\r\n`);
      setTimeout(() => socket.write(body), delayMs);
    });
  }

  test('the route timeout starts once the whole request arrived: an upload slower than the timeout is answered', async () => {
    const res = await slowUpload('upload-timeout', 'hello', 400);
    assert.equal(res.status, 200);
    // The raw body may be chunked: the echo's JSON is in it either way.
    assert.match(res.body, /"bodyLength":5\b/);
  });

  test('the per-try timeout starts once the whole request arrived, and then runs', async () => {
    const res = await slowUpload('upload-per-try', 'hello', 100);
    assert.equal(res.status, 504);
    assert.equal(last().details, 'upstream_per_try_timeout');
  });

  test('the route timeout during a retry backoff answers 504 UT', async () => {
    const res = await request(proxy.port('out'), '/', { headers: { host: 'timeout-in-backoff' } });
    assert.equal(res.status, 504);
    assert.equal(res.body, 'upstream request timeout');
    assert.equal(formatResponseFlags(last().flags), 'UT');
    assert.equal(last().details, 'upstream_response_timeout');
  });

  test('a request body beyond the retry buffer (1 MiB) is not retried: the 503 is relayed after one try', async () => {
    const before = failing.count;
    const res = await request(proxy.port('out'), '/upload', { method: 'POST', headers: { host: 'retry-503' }, body: 'x'.repeat(1024 * 1024 + 4096) });
    assert.equal(res.status, 503);
    assert.equal(failing.count - before, 1);
    const small = await request(proxy.port('out'), '/upload', { method: 'POST', headers: { host: 'retry-503' }, body: 'x'.repeat(1000) });
    assert.equal(small.status, 503);
    assert.equal(failing.count - before, 4, 'the small body was tried three times');
  });

  test('a 16 MiB upload arrives whole: the body waits for the upstream to drain and goes on', async () => {
    const body = 'y'.repeat(16 * 1024 * 1024);
    const res = await request(proxy.port('out'), '/upload', { method: 'POST', headers: { host: 'upload' }, body });
    assert.equal(res.status, 200);
    assert.equal((JSON.parse(res.body) as { bodyLength: number }).bodyLength, body.length);
  });

  test('the circuit breaker open: 503 UO, details upstream_reset_before_response_started{overflow}', async () => {
    const n = proxy.records.length;
    const replies = await Promise.all([0, 1, 2, 3].map(() => request(proxy.port('out'), '/', { headers: { host: 'one-connection' } })));
    assert.deepEqual(replies.map((r) => r.status).sort(), [200, 200, 503, 503]);
    const over = proxy.records.slice(n).filter((r) => r.status === 503);
    assert.deepEqual(over.map((r) => [formatResponseFlags(r.flags), r.details]), [
      ['UO', 'upstream_reset_before_response_started{overflow}'],
      ['UO', 'upstream_reset_before_response_started{overflow}'],
    ]);
    assert.equal(replies.find((r) => r.status === 503)!.body, 'upstream connect error or disconnect/reset before headers. reset reason: overflow');
  });
});
