/**
 * gRPC through the proxy with real h2c sockets on both sides: unary calls keep their trailers and
 * grpc-status, trailers-only answers stay trailers-only, bidi streams flow message by message,
 * and the proxy's own answers (faults, no healthy upstream, timeouts, overflow) reach gRPC
 * clients as Envoy sends them: HTTP 200 with grpc-status and grpc-message, trailers-only.
 */
import { after, before, describe, test } from 'node:test';
import assert from 'node:assert/strict';
import http2 from 'node:http2';
import type { ClientHttp2Session } from 'node:http2';
import { cluster, deadPort, eventually, forward, httpListener, request, routeConfig, snapshot, startProxy } from './helpers.js';
import type { TestProxy } from './helpers.js';
import { grpcFrame, grpcHeaders, grpcStatusOf, h2connect, h2request, messagesOf, readGrpcFrames, startH2Backend } from './http2-helpers.js';
import type { H2Backend } from './http2-helpers.js';
import { formatResponseFlags } from '../../src/telemetry/response-flags.js';
import { ISTIO_DEFAULT_RETRY_POLICY } from '../../src/snapshot/index.js';
import type { Route } from '../../src/snapshot/index.js';
import { Disposer } from '../helpers/disposer.js';

const H2 = { protocol: 'http2' as const };

describe('gRPC through the proxy', () => {
  let echo: H2Backend;
  let slow: H2Backend;
  let sick: H2Backend;
  let healthy: H2Backend;
  let proxy: TestProxy;
  let client: ClientHttp2Session;

  const disposer = new Disposer();
  before(disposer.setup(async () => {
    echo = disposer.add(await startH2Backend('echo'), (r) => r.close());
    slow = disposer.add(await startH2Backend('slow', { slowMs: 2000 }), (r) => r.close());
    const dead = await deadPort();
    sick = disposer.add(await startH2Backend('sick'), (r) => r.close());
    sick.failFlaky(1000);
    healthy = disposer.add(await startH2Backend('healthy'), (r) => r.close());
    const vhost = (name: string, routes: Route[]) => ({ name, domains: [name], routes });
    proxy = disposer.add(await startProxy(
      snapshot({
        listeners: [httpListener('out', 'routes')],
        routes: [
          routeConfig('routes', [
            vhost('echo:50051', [forward('echo', 'outbound|50051||echo', { action: { type: 'route', destinations: [{ cluster: 'outbound|50051||echo', weight: 1 }], retry: { ...ISTIO_DEFAULT_RETRY_POLICY } } })]),
            vhost('nohosts:50051', [forward('nohosts', 'outbound|50051||nohosts')]),
            vhost('fault:50051', [forward('fault', 'outbound|50051||echo', { fault: { abort: { grpcStatus: 'RESOURCE_EXHAUSTED', percent: 100 } } })]),
            vhost('timeout:50051', [forward('timeout', 'outbound|50051||slow', { action: { type: 'route', destinations: [{ cluster: 'outbound|50051||slow', weight: 1 }], timeoutMs: 100 } })]),
            vhost('deadline:50051', [forward('deadline', 'outbound|50051||slow')]),
            vhost('retry:50051', [
              forward('retry', 'outbound|50051||echo', {
                action: { type: 'route', destinations: [{ cluster: 'outbound|50051||echo', weight: 1 }], retry: { attempts: 2, retryOn: ['unavailable'], retriableStatusCodes: [], backoffBaseMs: 5 } },
              }),
            ]),
            vhost('limited:50051', [forward('limited', 'outbound|50051||limited')]),
            vhost('dead:50051', [forward('dead', 'outbound|50051||dead')]),
            vhost('outlier:50051', [forward('outlier', 'outbound|50051||outlier')]),
          ]),
        ],
        clusters: [
          cluster('outbound|50051||echo', [echo.port], H2),
          cluster('outbound|50051||nohosts', [], H2),
          cluster('outbound|50051||slow', [slow.port], H2),
          cluster('outbound|50051||dead', [dead], H2),
          cluster('outbound|50051||outlier', [sick.port, healthy.port], { ...H2, outlierDetection: { consecutive5xxErrors: 2, maxEjectionPercent: 50 } }),
          cluster('outbound|50051||limited', [slow.port], { ...H2, connectionPool: { http2MaxRequests: 1 } }),
        ],
      }),
    ), (r) => r.close());
    client = disposer.add(await h2connect(proxy.port('out')), (c) => c.destroy());
  }));

  after(() => disposer.drain());

  const lastRecord = () => proxy.records[proxy.records.length - 1];

  test('a unary call keeps its response headers, message, trailers and grpc-status', async () => {
    const reply = await h2request(client, grpcHeaders('echo:50051', '/test.Echo/Unary', { 'x-user': 'alice' }), grpcFrame('hello'));
    assert.equal(reply.status, 200);
    assert.equal(reply.headers['content-type'], 'application/grpc');
    assert.equal(reply.headers['x-backend'], 'echo');
    assert.deepEqual(messagesOf(reply), ['echo:hello']);
    assert.equal(reply.trailers?.['grpc-status'], '0');
    assert.equal(reply.trailers?.['x-trailer'], 'echo');
    // The upstream saw the call as the client made it, plus the proxy's headers.
    assert.equal(echo.lastHeaders?.[':authority'], 'echo:50051');
    assert.equal(echo.lastHeaders?.te, 'trailers');
    assert.equal(echo.lastHeaders?.['x-user'], 'alice');
    assert.ok(echo.lastHeaders?.['x-request-id']);
    assert.equal(lastRecord().protocol, 'HTTP/2');
    assert.equal(lastRecord().status, 200);
  });

  test('a trailers-only error from the upstream passes through trailers-only', async () => {
    const reply = await h2request(client, grpcHeaders('echo:50051', '/test.Echo/Denied'), grpcFrame('x'));
    assert.equal(reply.status, 200);
    assert.equal(reply.headersOnly, true);
    assert.equal(reply.trailers, null);
    assert.deepEqual(grpcStatusOf(reply), { code: 7, message: 'denied by backend' });
  });

  test('a bidi stream echoes each message before the client sends the next', async () => {
    const req = client.request(grpcHeaders('echo:50051', '/test.Echo/Bidi'));
    let buf: Buffer = Buffer.alloc(0);
    const received: string[] = [];
    let waiter: (() => void) | null = null;
    req.on('data', (c: Buffer) => {
      const { messages, rest } = readGrpcFrames(Buffer.concat([buf, c]));
      buf = rest;
      received.push(...messages.map((m) => m.toString()));
      waiter?.();
    });
    const next = (n: number) => new Promise<void>((resolve) => (waiter = () => received.length >= n && resolve()));
    let trailers: http2.IncomingHttpHeaders | null = null;
    req.on('trailers', (t: http2.IncomingHttpHeaders) => {
      trailers = t;
    });
    const closed = new Promise<void>((resolve) => req.on('close', resolve));
    for (let i = 1; i <= 5; i++) {
      const got = next(i);
      req.write(grpcFrame(`m${i}`));
      // The echo of message i must arrive while the request stream is still open.
      await got;
    }
    req.end();
    await closed;
    assert.deepEqual(received, ['echo:m1', 'echo:m2', 'echo:m3', 'echo:m4', 'echo:m5']);
    assert.equal((trailers as http2.IncomingHttpHeaders | null)?.['grpc-status'], '0');
  });

  test('a fault abort with grpcStatus answers HTTP 200, trailers-only, flag FI', async () => {
    const before = echo.calls.get('/test.Echo/Unary') ?? 0;
    const reply = await h2request(client, grpcHeaders('fault:50051', '/test.Echo/Unary'), grpcFrame('x'));
    assert.equal(reply.status, 200);
    assert.equal(reply.headersOnly, true);
    assert.deepEqual(grpcStatusOf(reply), { code: 8, message: 'fault filter abort' });
    assert.equal(reply.headers['content-type'], 'application/grpc');
    assert.equal(echo.calls.get('/test.Echo/Unary') ?? 0, before);
    assert.equal(formatResponseFlags(lastRecord().flags), 'FI');
  });

  test('no healthy upstream reaches a gRPC client as UNAVAILABLE, trailers-only, flag UH', async () => {
    const reply = await h2request(client, grpcHeaders('nohosts:50051', '/test.Echo/Unary'), grpcFrame('x'));
    assert.equal(reply.status, 200);
    assert.equal(reply.headersOnly, true);
    assert.deepEqual(grpcStatusOf(reply), { code: 14, message: 'no healthy upstream' });
    assert.equal(reply.headers['content-length'], undefined);
    assert.equal(formatResponseFlags(lastRecord().flags), 'UH');
    assert.equal(lastRecord().status, 200);
  });

  test('no route reaches a gRPC client as UNIMPLEMENTED (404), flag NR', async () => {
    const reply = await h2request(client, grpcHeaders('unknown:50051', '/test.Echo/Unary'), grpcFrame('x'));
    assert.equal(reply.status, 200);
    assert.equal(grpcStatusOf(reply).code, 12);
    assert.equal(formatResponseFlags(lastRecord().flags), 'NR');
  });

  test('an upstream that refuses connections: UNAVAILABLE with Envoy\'s reset text, flag UF', async () => {
    const reply = await h2request(client, grpcHeaders('dead:50051', '/test.Echo/Unary'), grpcFrame('x'));
    assert.equal(reply.status, 200);
    assert.deepEqual(grpcStatusOf(reply), {
      code: 14,
      message: 'upstream connect error or disconnect/reset before headers. reset reason: remote connection failure, transport failure reason: delayed connect error: Connection refused',
    });
    assert.equal(formatResponseFlags(lastRecord().flags), 'UF');
  });

  test('an upstream stream reset after the response began resets the client stream, flag UR', async () => {
    const reply = await h2request(client, grpcHeaders('echo:50051', '/test.Echo/Reset'), grpcFrame('x'));
    assert.equal(reply.status, 200);
    assert.deepEqual(messagesOf(reply), ['partial']);
    assert.equal(reply.trailers, null);
    assert.equal(reply.rstCode, http2.constants.NGHTTP2_INTERNAL_ERROR);
    await eventually(() => proxy.records.some((r) => r.path === '/test.Echo/Reset'), 5000, 'the record');
    assert.equal(formatResponseFlags(proxy.records.find((r) => r.path === '/test.Echo/Reset')!.flags), 'UR');
  });

  test('the route timeout answers 504 as Envoy does for gRPC: UNAVAILABLE "upstream request timeout", flag UT', async () => {
    const reply = await h2request(client, grpcHeaders('timeout:50051', '/test.Echo/Slow'), grpcFrame('x'));
    assert.equal(reply.status, 200);
    assert.equal(reply.headersOnly, true);
    assert.deepEqual(grpcStatusOf(reply), { code: 14, message: 'upstream request timeout' });
    assert.equal(formatResponseFlags(lastRecord().flags), 'UT');
  });

  test('grpc-timeout bounds a call whose route has no timeout', async () => {
    const reply = await h2request(client, grpcHeaders('deadline:50051', '/test.Echo/Slow', { 'grpc-timeout': '100m' }), grpcFrame('x'));
    assert.deepEqual(grpcStatusOf(reply), { code: 14, message: 'upstream request timeout' });
    assert.equal(formatResponseFlags(lastRecord().flags), 'UT');
  });

  test('retryOn unavailable retries a trailers-only UNAVAILABLE and the client sees the retry succeed', async () => {
    echo.failFlaky(1);
    const before = echo.calls.get('/test.Echo/Flaky') ?? 0;
    const reply = await h2request(client, grpcHeaders('retry:50051', '/test.Echo/Flaky'), grpcFrame('x'));
    assert.equal(grpcStatusOf(reply).code, 0);
    assert.deepEqual(messagesOf(reply), ['healed']);
    assert.equal((echo.calls.get('/test.Echo/Flaky') ?? 0) - before, 2);
    assert.equal(lastRecord().attempts, 2);
  });

  test('when retries run out the last UNAVAILABLE passes through with flag URX', async () => {
    echo.failFlaky(5);
    const reply = await h2request(client, grpcHeaders('retry:50051', '/test.Echo/Flaky'), grpcFrame('x'));
    assert.deepEqual(grpcStatusOf(reply), { code: 14, message: 'try again' });
    assert.equal(lastRecord().attempts, 3);
    assert.equal(formatResponseFlags(lastRecord().flags), 'URX');
    echo.failFlaky(0);
  });

  test('outlier detection counts grpc-status UNAVAILABLE as a 503 and ejects the failing endpoint', async () => {
    const codes: number[] = [];
    for (let i = 0; i < 10; i++) codes.push(grpcStatusOf(await h2request(client, grpcHeaders('outlier:50051', '/test.Echo/Flaky'), grpcFrame('x'))).code);
    assert.equal(sick.calls.get('/test.Echo/Flaky'), 2, 'two consecutive UNAVAILABLE answers eject the endpoint');
    assert.deepEqual(codes.slice(4), [0, 0, 0, 0, 0, 0]);
    assert.equal(proxy.proxy.stats().get('cluster.outbound|50051||outlier.outlier_detection.ejections_enforced_consecutive_5xx'), 1);
  });

  test('http2MaxRequests overflow reaches a gRPC client as UNAVAILABLE with flag UO', async () => {
    const first = h2request(client, grpcHeaders('limited:50051', '/test.Echo/Slow', { 'grpc-timeout': '300m' }), grpcFrame('x'));
    await eventually(() => (slow.calls.get('/test.Echo/Slow') ?? 0) > 0, 5000, 'the first call to reach the backend');
    const second = await h2request(client, grpcHeaders('limited:50051', '/test.Echo/Unary'), grpcFrame('x'));
    assert.equal(second.status, 200);
    assert.equal(grpcStatusOf(second).code, 14);
    assert.match(grpcStatusOf(second).message, /reset reason: overflow/);
    assert.equal(formatResponseFlags(proxy.records.find((r) => r.path === '/test.Echo/Unary' && r.authority === 'limited:50051')!.flags), 'UO');
    await first;
  });

  test('a client cancelling its stream (RST_STREAM) cancels the upstream stream too', async () => {
    const req = client.request(grpcHeaders('echo:50051', '/test.Echo/Hold'));
    req.on('error', () => {});
    req.write(grpcFrame('wait'));
    await eventually(() => (echo.calls.get('/test.Echo/Hold') ?? 0) > 0, 5000, 'the call to reach the backend');
    const cancelledBefore = echo.cancelled;
    req.close(http2.constants.NGHTTP2_CANCEL);
    await eventually(() => echo.cancelled > cancelledBefore, 5000, 'the backend to see the cancellation');
    await eventually(() => proxy.records.some((r) => r.path === '/test.Echo/Hold'), 5000, 'the record');
    assert.match(formatResponseFlags(proxy.records.find((r) => r.path === '/test.Echo/Hold')!.flags), /DC/);
  });

  test('a gRPC request over HTTP/1.1 gets its local replies in gRPC form too', async () => {
    const res = await request(proxy.port('out'), '/test.Echo/Unary', { method: 'POST', headers: { host: 'nohosts:50051', 'content-type': 'application/grpc' }, body: grpcFrame('x') });
    assert.equal(res.status, 200);
    assert.equal(res.headers['grpc-status'], '14');
    assert.equal(res.headers['grpc-message'], 'no healthy upstream');
  });
});
