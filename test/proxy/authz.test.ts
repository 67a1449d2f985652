/**
 * Authorization on a real proxy, from the snapshot's `authorization` section: an inbound HTTP
 * listener answers 403 `RBAC: access denied` with the deciding rule in the record's details, a TCP
 * listener closes a denied connection before opening its upstream, the ports policies name are the
 * listener's `policyPort`, outbound listeners are never checked, and a new snapshot replaces the
 * policies of the requests that follow.
 */
import { after, before, describe, test } from 'node:test';
import assert from 'node:assert/strict';
import net from 'node:net';
import { once } from 'node:events';
import { cluster, echo, forward, httpListener, request, routeConfig, snapshot, startBackend, startProxy } from './helpers.js';
import type { Backend, TestProxy } from './helpers.js';
import type { AuthorizationConfig, ProxySnapshot } from '../../src/snapshot/index.js';
import { Disposer } from '../helpers/disposer.js';

async function tcpEchoServer(): Promise<{ port: number; connections: () => number; close: () => Promise<void> }> {
  let n = 0;
  const sockets = new Set<net.Socket>();
  const server = net.createServer((s) => {
    n++;
    sockets.add(s);
    s.on('error', () => {});
    s.on('close', () => sockets.delete(s));
    s.on('data', (d: Buffer) => s.write(`hello ${d.toString()}`));
    s.on('end', () => s.end());
  });
  server.listen(0, '127.0.0.1');
  await once(server, 'listening');
  return {
    port: (server.address() as net.AddressInfo).port,
    connections: () => n,
    close: async () => {
      for (const s of sockets) s.destroy();
      await new Promise<void>((r) => server.close(() => r()));
    },
  };
}

/** What a TCP client reads before its connection ends. */
function exchangeTcp(port: number, text: string): Promise<string> {
  return new Promise((resolve) => {
    let data = '';
    const s = net.connect(port, '127.0.0.1', () => s.end(text));
    s.setEncoding('latin1');
    s.on('data', (d: string) => (data += d));
    s.on('error', () => {});
    s.on('close', () => resolve(data));
  });
}

describe('authorization on a proxy', () => {
  let app: Backend;
  let tcpApp: Awaited<ReturnType<typeof tcpEchoServer>>;
  let proxy: TestProxy;

  const snap = (authorization: AuthorizationConfig | undefined, version: string): ProxySnapshot =>
    snapshot({
      version,
      listeners: [
        httpListener('inbound_8000', 'inbound', { direction: 'inbound', policyPort: 8000 }),
        httpListener('outbound', 'inbound'),
        { name: 'inbound_9000', address: '127.0.0.1', port: 0, direction: 'inbound', protocol: 'tcp', tcp: { routes: [{ destinations: [{ cluster: 'tcp', weight: 1 }] }] }, policyPort: 9000 },
        { name: 'inbound_9001', address: '127.0.0.1', port: 0, direction: 'inbound', protocol: 'tcp', tcp: { routes: [{ destinations: [{ cluster: 'tcp', weight: 1 }] }] }, policyPort: 9001 },
      ],
      routes: [routeConfig('inbound', [{ name: 'all', domains: ['*'], routes: [forward('app', 'app')] }])],
      clusters: [cluster('app', [app.port]), cluster('tcp', [tcpApp.port])],
      ...(authorization === undefined ? {} : { authorization }),
    });

  const disposer = new Disposer();
  before(disposer.setup(async () => {
    app = disposer.add(await startBackend(echo('app')), (r) => r.close());
    tcpApp = disposer.add(await tcpEchoServer(), (r) => r.close());
    proxy = disposer.add(await startProxy(null), (r) => r.close());
  }));

  after(() => disposer.drain());

  test('a DENY policy answers 403 RBAC: access denied, naming its rule in the record', async () => {
    await proxy.proxy.applySnapshot(
      snap(
        {
          policies: [
            {
              name: 'deny-method-get',
              namespace: 'foo',
              action: 'DENY',
              rules: [{ to: [{ operation: { methods: ['GET'] } }], when: [{ key: 'request.headers[x-token]', notValues: ['admin'] }] }],
            },
          ],
        },
        '1',
      ),
    );
    const port = proxy.port('inbound_8000');
    const get = await request(port, '/get', { headers: { 'x-token': 'guest' } });
    assert.equal(get.status, 403);
    assert.equal(get.body, 'RBAC: access denied');
    assert.equal(proxy.records.at(-1)?.details, 'rbac_access_denied_matched_policy[ns[foo]-policy[deny-method-get]-rule[0]]');
    assert.equal((await request(port, '/get', { headers: { 'x-token': 'admin' } })).status, 200);
    assert.equal((await request(port, '/post', { method: 'POST', headers: { 'x-token': 'guest' } })).status, 200);
    assert.equal((await request(proxy.port('outbound'), '/get', { headers: { 'x-token': 'guest' } })).status, 200, 'outbound listeners are not checked');
  });

  test('TCP connections to a port no ALLOW rule names are closed before any upstream connection', async () => {
    await proxy.proxy.applySnapshot(snap({ policies: [{ name: 'tcp-policy', namespace: 'foo', action: 'ALLOW', rules: [{ to: [{ operation: { ports: ['9000'] } }] }] }] }, '2'));
    assert.equal(await exchangeTcp(proxy.port('inbound_9000'), 'port 9000'), 'hello port 9000');
    const before = tcpApp.connections();
    assert.equal(await exchangeTcp(proxy.port('inbound_9001'), 'port 9001'), '');
    assert.equal(tcpApp.connections(), before, 'no upstream connection for a denied one');
    const record = proxy.records.findLast((r) => r.kind === 'tcp' && r.listener === 'inbound_9001');
    assert.equal(record?.details, 'rbac_access_denied_matched_policy[none]');
  });

  test('an HTTP-only field turns an ALLOW rule off for TCP, while HTTP requests still match it', async () => {
    await proxy.proxy.applySnapshot(snap({ policies: [{ name: 'tcp-policy', namespace: 'foo', action: 'ALLOW', rules: [{ to: [{ operation: { methods: ['GET'], ports: ['9000', '8000'] } }] }] }] }, '3'));
    assert.equal(await exchangeTcp(proxy.port('inbound_9000'), 'port 9000'), '');
    assert.equal((await request(proxy.port('inbound_8000'), '/get')).status, 200);
    assert.equal((await request(proxy.port('inbound_8000'), '/post', { method: 'POST' })).status, 403);
  });

  test('a snapshot without policies lets everything through again', async () => {
    await proxy.proxy.applySnapshot(snap(undefined, '4'));
    assert.equal(await exchangeTcp(proxy.port('inbound_9001'), 'port 9001'), 'hello port 9001');
    assert.equal((await request(proxy.port('inbound_8000'), '/post', { method: 'POST' })).status, 200);
  });
});
