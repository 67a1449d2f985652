/**
 * CUSTOM authorization with a gRPC provider (`envoyExtAuthzGrpc`) on a real proxy, against a real
 * `envoy.service.auth.v3.Authorization` server (@grpc/grpc-js with Envoy's messages): the
 * CheckRequest carries the request's attributes as Envoy sends them; an OK answer's headers land
 * on the forwarded request with Envoy's append semantics, its removals and response headers
 * apply; a denial gets the service's status, headers and body (flag UAEX); a failed call is
 * `statusOnError` unless `failOpen`; and the call goes over the provider cluster's own pool.
 */
import { after, before, beforeEach, describe, test } from 'node:test';
import assert from 'node:assert/strict';
import * as grpc from '@grpc/grpc-js';
import { fromJSON } from '@grpc/proto-loader';
import { cluster, deadPort, echo, forward, httpListener, request, routeConfig, snapshot, startBackend, startProxy } from './helpers.js';
import type { Backend, Echo, TestProxy } from './helpers.js';
import type { ExtAuthzProviderConfig, ProxySnapshot } from '../../src/snapshot/index.js';
import { ResponseFlag } from '../../src/telemetry/response-flags.js';
import { AUTHORIZATION_SERVICE, AUTHZ_LOADER_OPTIONS, AUTHZ_PROTO_JSON, type CheckRequest, type CheckResponse } from '../../src/proxy/filters/ext-authz/authz-proto.js';
import { Disposer } from '../helpers/disposer.js';

const PROVIDER_CLUSTER = 'outbound|9000||ext-authz.foo.svc.cluster.local';

/** The authorization server: answers what the test sets, remembers what it was asked. */
interface TestAuthz {
  port: number;
  server: grpc.Server;
  asked: CheckRequest[];
  answer: (req: CheckRequest) => Partial<CheckResponse> | grpc.ServiceError;
  delayMs: number;
}

async function startAuthz(): Promise<TestAuthz> {
  const def = fromJSON(AUTHZ_PROTO_JSON, AUTHZ_LOADER_OPTIONS)[AUTHORIZATION_SERVICE] as grpc.ServiceDefinition;
  const server = new grpc.Server();
  const t: TestAuthz = { port: 0, server, asked: [], answer: () => ({ status: { code: 0 } }), delayMs: 0 };
  server.addService(def, {
    Check: (call: grpc.ServerUnaryCall<CheckRequest, CheckResponse>, done: grpc.sendUnaryData<Partial<CheckResponse>>) => {
      t.asked.push(call.request);
      const a = t.answer(call.request);
      setTimeout(() => (a instanceof Error ? done(a) : done(null, a)), t.delayMs);
    },
  });
  t.port = await new Promise<number>((resolve, reject) => server.bindAsync('127.0.0.1:0', grpc.ServerCredentials.createInsecure(), (err, port) => (err === null ? resolve(port) : reject(err))));
  return t;
}

function option(key: string, value: string, how: { append?: boolean; appendAction?: string } = {}): object {
  return { header: { key, value }, ...(how.append === undefined ? {} : { append: { value: how.append } }), ...(how.appendAction === undefined ? {} : { appendAction: how.appendAction }) };
}

describe('ext_authz with a gRPC authorization service', () => {
  let app: Backend;
  let authz: TestAuthz;
  let proxy: TestProxy;
  let dead: number;
  let version = 0;

  const apply = async (provider: Partial<ExtAuthzProviderConfig> = {}): Promise<void> => {
    const snap: ProxySnapshot = snapshot({
      version: String(++version),
      listeners: [httpListener('inbound_8000', 'inbound', { direction: 'inbound' })],
      routes: [routeConfig('inbound', [{ name: 'all', domains: ['*'], routes: [forward('app', 'app')] }])],
      clusters: [cluster('app', [app.port]), cluster(PROVIDER_CLUSTER, [authz.port], { protocol: 'http2' }), cluster('dead', [dead], { protocol: 'http2' })],
      authorization: {
        policies: [{ name: 'ext-authz', namespace: 'foo', action: 'CUSTOM', provider: 'sample-ext-authz-grpc', rules: [{ to: [{ operation: { paths: ['/headers'] } }] }] }],
        providers: [{ name: 'sample-ext-authz-grpc', kind: 'grpc', cluster: PROVIDER_CLUSTER, authority: 'ext-authz.foo.svc.cluster.local', ...provider }],
      },
    });
    await proxy.proxy.applySnapshot(snap);
  };
  const stat = (name: string): number => proxy.proxy.stats().get(name) ?? 0;

  const disposer = new Disposer();
  before(disposer.setup(async () => {
    app = disposer.add(await startBackend(echo('httpbin')), (r) => r.close());
    authz = disposer.add(await startAuthz(), (a) => a.server.forceShutdown());
    dead = await deadPort();
    proxy = disposer.add(await startProxy(null), (r) => r.close());
  }));

  beforeEach(async () => {
    authz.asked.length = 0;
    authz.answer = () => ({ status: { code: 0 } });
    authz.delayMs = 0;
    await apply();
  });

  after(() => disposer.drain());

  test('the CheckRequest carries the peers, the request and every header as Envoy sends them', async () => {
    const r = await request(proxy.port('inbound_8000'), '/headers?a=1', { method: 'POST', headers: { 'x-ext-authz': 'allow', 'x-two': 'a', 'content-type': 'text/plain' }, body: 'hello' });
    assert.equal(r.status, 200);
    assert.equal(authz.asked.length, 1);
    const a = authz.asked[0].attributes;
    const http = a.request.http;
    assert.equal(http.method, 'POST');
    assert.equal(http.path, '/headers?a=1', 'the path keeps its query');
    assert.equal(http.query, '', 'the query field stays empty, as in Envoy');
    assert.equal(http.host, `127.0.0.1:${proxy.port('inbound_8000')}`);
    assert.equal(http.scheme, 'http');
    assert.equal(http.protocol, 'HTTP/1.1');
    assert.equal(http.size, 0, 'the body bytes received when the check goes out, as Envoy counts them');
    assert.equal(http.headers[':authority'], http.host);
    assert.equal(http.headers[':method'], 'POST');
    assert.equal(http.headers[':path'], '/headers?a=1');
    assert.equal(http.headers['x-ext-authz'], 'allow');
    assert.equal(http.headers['content-type'], 'text/plain');
    assert.equal(http.headers.host, undefined, 'Host travels as :authority');
    assert.match(http.id ?? '', /^[0-9a-f-]{36}$/, 'the id is the request id');
    assert.equal(http.headers['x-request-id'], http.id);
    assert.equal(a.source?.address?.socketAddress?.address, '127.0.0.1');
    assert.ok((a.source?.address?.socketAddress?.portValue ?? 0) > 0);
    assert.equal(a.destination?.address?.socketAddress?.portValue, proxy.port('inbound_8000'));
    assert.equal(a.source?.principal, '', 'no client certificate, no principal');
    assert.ok((a.request.time?.seconds ?? 0) > 1_600_000_000);
  });

  test('repeated request headers reach the service joined with a comma', async () => {
    // Node's client folds nothing it does not know: send the header twice on the wire.
    const { rawExchange } = await import('./helpers.js');
    await rawExchange(proxy.port('inbound_8000'), 'GET /headers HTTP/1.1\r\nhost: a.example\r\nx-multi: one\r\nx-multi: two\r\nconnection: close\r\n\r\n');
    assert.equal(authz.asked.at(-1)?.attributes.request.http.headers['x-multi'], 'one,two');
  });

  test('an OK answer edits the forwarded request as Envoy does, and adds its response headers', async () => {
    authz.answer = () => ({
      status: { code: 0 },
      okResponse: {
        headers: [
          option('x-appended', 'new', { append: true }),
          option('x-overwritten', 'new', { append: false }),
          option('x-added', 'new'),
          option('x-kept', 'new', { appendAction: 'ADD_IF_ABSENT' }),
          option('x-absent', 'new', { appendAction: 'OVERWRITE_IF_EXISTS' }),
          option('x-ext-authz-check-result', 'allowed', { append: false }),
        ],
        headersToRemove: ['x-secret', 'host'],
        responseHeadersToAdd: [option('x-to-client', 'hello')],
      } as unknown as CheckResponse['okResponse'],
    });
    const r = await request(proxy.port('inbound_8000'), '/headers', {
      headers: { 'x-appended': 'old', 'x-overwritten': 'old', 'x-added': 'old', 'x-kept': 'old', 'x-secret': 's3cret' },
    });
    assert.equal(r.status, 200);
    const seen = JSON.parse(r.body) as Echo;
    const lines = (name: string): string[] => seen.rawHeaders.filter(([k]) => k.toLowerCase() === name).map(([, v]) => v);
    assert.deepEqual(lines('x-appended'), ['old,new'], 'append: true joins onto the existing value');
    assert.deepEqual(lines('x-overwritten'), ['new'], 'append: false overwrites');
    assert.deepEqual(lines('x-added'), ['old', 'new'], 'no append, default action: one more line');
    assert.deepEqual(lines('x-kept'), ['old'], 'ADD_IF_ABSENT keeps a present header');
    assert.deepEqual(lines('x-absent'), [], 'OVERWRITE_IF_EXISTS adds nothing');
    assert.deepEqual(lines('x-ext-authz-check-result'), ['allowed']);
    assert.deepEqual(lines('x-secret'), [], 'headers_to_remove');
    assert.equal(lines('host').length, 1, 'Host is never removed');
    assert.equal(r.headers['x-to-client'], 'hello');
  });

  test('a denial answers with the service\'s status, headers and body, flag UAEX', async () => {
    authz.answer = () => ({
      status: { code: 7 },
      deniedResponse: { status: { code: 401 }, headers: [option('x-ext-authz-check-result', 'denied')], body: 'denied by the test' } as unknown as CheckResponse['deniedResponse'],
    });
    const upstreamBefore = app.count;
    const r = await request(proxy.port('inbound_8000'), '/headers', { headers: { 'x-ext-authz': 'deny' } });
    assert.equal(r.status, 401);
    assert.equal(r.body, 'denied by the test');
    assert.equal(r.headers['x-ext-authz-check-result'], 'denied');
    assert.equal(app.count, upstreamBefore, 'a denied request never reaches the app');
    const rec = proxy.records.at(-1);
    assert.equal(rec?.details, 'ext_authz_denied');
    assert.equal((rec?.flags ?? 0) & ResponseFlag.UAEX, ResponseFlag.UAEX);
  });

  test('a status other than OK without a denied response is a plain 403', async () => {
    authz.answer = () => ({ status: { code: 7 } });
    const r = await request(proxy.port('inbound_8000'), '/headers');
    assert.equal(r.status, 403);
    assert.equal(r.body, '');
    assert.equal(proxy.records.at(-1)?.details, 'ext_authz_denied');
  });

  test('a path no CUSTOM policy covers is not checked', async () => {
    const r = await request(proxy.port('inbound_8000'), '/ip');
    assert.equal(r.status, 200);
    assert.equal(authz.asked.length, 0);
  });

  test('the call goes on the provider cluster\'s pool, counted as its requests', async () => {
    const before = stat(`cluster.${PROVIDER_CLUSTER}.upstream_rq_total`);
    await request(proxy.port('inbound_8000'), '/headers');
    await request(proxy.port('inbound_8000'), '/headers');
    assert.equal(stat(`cluster.${PROVIDER_CLUSTER}.upstream_rq_total`), before + 2);
    assert.equal(stat(`cluster.${PROVIDER_CLUSTER}.upstream_cx_total`), 1, 'both calls share one HTTP/2 connection');
  });

  test('a failed call is statusOnError (403 by default, flag UAEX), or passes with failOpen', async () => {
    authz.answer = () => Object.assign(new Error('down for the test'), { code: grpc.status.UNAVAILABLE, details: 'down for the test', metadata: new grpc.Metadata() });
    let r = await request(proxy.port('inbound_8000'), '/headers');
    assert.equal(r.status, 403);
    assert.equal(proxy.records.at(-1)?.details, 'ext_authz_error');
    assert.equal((proxy.records.at(-1)?.flags ?? 0) & ResponseFlag.UAEX, ResponseFlag.UAEX);
    await apply({ statusOnError: 503 });
    assert.equal((await request(proxy.port('inbound_8000'), '/headers')).status, 503);
    await apply({ failOpen: true });
    r = await request(proxy.port('inbound_8000'), '/headers');
    assert.equal(r.status, 200);
    assert.equal((JSON.parse(r.body) as Echo).name, 'httpbin');
  });

  test('an unreachable service and a service slower than the timeout are errors too', async () => {
    await apply({ cluster: 'dead' });
    assert.equal((await request(proxy.port('inbound_8000'), '/headers')).status, 403);
    assert.equal(proxy.records.at(-1)?.details, 'ext_authz_error');
    await apply({ cluster: 'dead', failOpen: true });
    assert.equal((await request(proxy.port('inbound_8000'), '/headers')).status, 200);
    authz.delayMs = 400;
    await apply({ timeoutMs: 50 });
    const r = await request(proxy.port('inbound_8000'), '/headers', { headers: { 'x-ext-authz': 'allow' } });
    assert.equal(r.status, 403);
    assert.equal(proxy.records.at(-1)?.details, 'ext_authz_error');
  });
});
