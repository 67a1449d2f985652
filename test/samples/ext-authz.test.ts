/**
 * ext-authz: Istio's external authorizer sample as a real process, both of its check services —
 * HTTP and `envoy.service.auth.v3.Authorization/Check` over gRPC (asked by a @grpc/grpc-js client
 * with Envoy's messages) — deciding by the same rule with the same texts: `x-ext-authz: allow`
 * allows, any other value denies with the sample's body; over gRPC a request without the header is
 * decided by the source principal's service account (`-allow_service_account`, default `a`).
 */
import { after, before, describe, test } from 'node:test';
import assert from 'node:assert/strict';
import http from 'node:http';
import * as grpc from '@grpc/grpc-js';
import { fromJSON } from '@grpc/proto-loader';
import { AUTHORIZATION_SERVICE, AUTHZ_LOADER_OPTIONS, AUTHZ_PROTO_JSON, type CheckRequest, type CheckResponse, type HeaderValueOption } from '../../src/proxy/filters/ext-authz/authz-proto.js';
import { ENTRY, startApp, type App } from './helpers.js';
import { Disposer } from '../helpers/disposer.js';

const DENY_BODY = 'denied by ext_authz for not found header `x-ext-authz: allow` in the request';

/** The sample's two ports, read from its `listening on` lines. */
function samplePorts(app: App): { http: number; grpc: number } {
  const out = app.stdout();
  return { http: Number(/HTTP server listening on (\d+)/.exec(out)?.[1]), grpc: Number(/gRPC server listening on (\d+)/.exec(out)?.[1]) };
}

type CheckClient = grpc.Client & { Check(req: CheckRequest, cb: (err: grpc.ServiceError | null, res?: CheckResponse) => void): void };

function checkClient(port: number): CheckClient {
  const def = fromJSON(AUTHZ_PROTO_JSON, AUTHZ_LOADER_OPTIONS)[AUTHORIZATION_SERVICE] as grpc.ServiceDefinition;
  const Client = grpc.makeGenericClientConstructor(def, 'Authorization');
  return new Client(`127.0.0.1:${port}`, grpc.credentials.createInsecure()) as unknown as CheckClient;
}

function ask(client: CheckClient, headers: Record<string, string>, principal = ''): Promise<CheckResponse> {
  const req: CheckRequest = {
    attributes: {
      source: { address: { socketAddress: { address: '10.0.0.1', portValue: 40000 } }, principal },
      destination: { address: { socketAddress: { address: '10.0.0.2', portValue: 8000 } } },
      request: { http: { method: 'GET', path: '/headers', host: 'httpbin.foo:8000', headers: { ':path': '/headers', ...headers } } },
    },
  };
  return new Promise((resolve, reject) => client.Check(req, (err, res) => (err !== null || res === undefined ? reject(err ?? new Error('no answer')) : resolve(res))));
}

const headerOf = (options: readonly HeaderValueOption[] | undefined, name: string): string | undefined => options?.find((h) => h.header?.key === name)?.header?.value;

function httpCheck(port: number, headers: Record<string, string>): Promise<{ status: number; headers: http.IncomingHttpHeaders; body: string }> {
  return new Promise((resolve, reject) => {
    http
      .get({ host: '127.0.0.1', port, path: '/headers', headers }, (res) => {
        let body = '';
        res.setEncoding('utf8').on('data', (d: string) => (body += d));
        res.on('end', () => resolve({ status: res.statusCode ?? 0, headers: res.headers, body }));
      })
      .on('error', reject);
  });
}

describe('the ext-authz sample', () => {
  let app: App;
  let ports: { http: number; grpc: number };
  let client: CheckClient;

  const disposer = new Disposer();
  before(disposer.setup(async () => {
    app = disposer.add(await startApp(ENTRY.extAuthz, { PORT: '', PORTS: '0,0' }, [], 2), (a) => a.stop());
    ports = samplePorts(app);
    client = disposer.add(checkClient(ports.grpc), (c) => c.close());
  }));

  after(() => disposer.drain());

  test('listens on the two ports the runtime maps (PORTS: HTTP first, gRPC second)', () => {
    assert.ok(ports.http > 0 && ports.grpc > 0 && ports.http !== ports.grpc, app.stdout());
  });

  test('gRPC: x-ext-authz: allow is OK, with the allowed result, what the check saw and the override header', async () => {
    const res = await ask(client, { 'x-ext-authz': 'allow' });
    assert.equal(res.status?.code, grpc.status.OK);
    assert.equal(res.deniedResponse ?? null, null);
    const headers = res.okResponse?.headers;
    assert.equal(headerOf(headers, 'x-ext-authz-check-result'), 'allowed');
    assert.equal(headerOf(headers, 'x-ext-authz-additional-header-override'), 'grpc-additional-header-override-value');
    const received = headerOf(headers, 'x-ext-authz-check-received') ?? '';
    assert.match(received, /headers:\{key:"x-ext-authz" value:"allow"\}/);
    assert.match(received, /source:\{address:\{socket_address:\{address:"10\.0\.0\.1" port_value:40000\}\}\}/);
    assert.match(app.stdout(), /\[gRPCv3\]\[allowed\]: httpbin\.foo:8000\/headers, attributes: /);
  });

  test('gRPC: any other value is PERMISSION_DENIED with a 403, the denied result and the sample\'s body', async () => {
    const res = await ask(client, { 'x-ext-authz': 'deny' });
    assert.equal(res.status?.code, grpc.status.PERMISSION_DENIED);
    assert.equal(res.okResponse ?? null, null);
    assert.equal(res.deniedResponse?.status?.code, 403);
    assert.equal(res.deniedResponse?.body, DENY_BODY);
    assert.equal(headerOf(res.deniedResponse?.headers, 'x-ext-authz-check-result'), 'denied');
  });

  test('gRPC: without the header, the source principal\'s service account decides', async () => {
    assert.equal((await ask(client, {}, 'spiffe://cluster.local/ns/foo/sa/a')).status?.code, grpc.status.OK);
    assert.equal((await ask(client, {}, 'spiffe://cluster.local/ns/foo/sa/sleep')).status?.code, grpc.status.PERMISSION_DENIED);
    assert.equal((await ask(client, {})).status?.code, grpc.status.PERMISSION_DENIED, 'no principal, no header');
    assert.equal((await ask(client, { 'x-ext-authz': 'deny' }, 'spiffe://cluster.local/ns/foo/sa/a')).status?.code, grpc.status.PERMISSION_DENIED, 'the header decides when present');
  });

  test('HTTP: the same rule and texts', async () => {
    const allowed = await httpCheck(ports.http, { 'x-ext-authz': 'allow' });
    assert.equal(allowed.status, 200);
    assert.equal(allowed.headers['x-ext-authz-check-result'], 'allowed');
    const denied = await httpCheck(ports.http, { 'x-ext-authz': 'deny' });
    assert.equal(denied.status, 403);
    assert.equal(denied.body, DENY_BODY);
    assert.equal(denied.headers['x-ext-authz-check-result'], 'denied');
  });
});

test('ext-authz: -allow_service_account names the service account allowed without the header', async () => {
  const app = await startApp(ENTRY.extAuthz, { PORT: '0', GRPC_PORT: '0' }, ['-allow_service_account=sleep'], 2);
  const client = checkClient(samplePorts(app).grpc);
  try {
    assert.equal((await ask(client, {}, 'spiffe://cluster.local/ns/foo/sa/sleep')).status?.code, grpc.status.OK);
    assert.equal((await ask(client, {}, 'spiffe://cluster.local/ns/foo/sa/a')).status?.code, grpc.status.PERMISSION_DENIED);
  } finally {
    client.close();
    await app.stop();
  }
});
