/**
 * A cluster's `upstreamBindAddress` (Envoy's upstream bind config, which a captured sidecar's
 * inbound clusters set to 127.0.0.6): a real proxy's upstream connections leave from it over
 * HTTP/1.1, HTTP/2 and TCP alike, as the upstream sees them; a cluster without one leaves from
 * the address the system picks.
 */
import { after, before, test } from 'node:test';
import assert from 'node:assert/strict';
import { once } from 'node:events';
import http from 'node:http';
import http2 from 'node:http2';
import net from 'node:net';
import { SkiffProxy } from '../../src/proxy/proxy.js';
import type { ClusterConfigInput, ListenerConfig, ProxySnapshot } from '../../src/snapshot/index.js';
import { Disposer } from '../helpers/disposer.js';

const SOURCE = '127.0.0.6';
const disposer = new Disposer();
let proxy: SkiffProxy;

/** Listens on 127.0.0.1 and returns the port. */
async function listen(server: net.Server): Promise<number> {
  disposer.add(server, (s) => s.close());
  server.listen(0, '127.0.0.1');
  await once(server, 'listening');
  return (server.address() as net.AddressInfo).port;
}

function httpListener(name: string): ListenerConfig {
  return { name, address: '127.0.0.1', port: 0, direction: 'inbound', protocol: 'http', http: { routeConfig: name } };
}

function routeTo(name: string, cluster: string): ProxySnapshot['routes'][number] {
  return { name, virtualHosts: [{ name, domains: ['*'], routes: [{ name: 'default', match: [], action: { type: 'route', destinations: [{ cluster, weight: 100 }] } }] }] };
}

before(disposer.setup(async () => {
  // Each upstream answers with the address the connection came from.
  const h1 = await listen(http.createServer((req, res) => res.end(String(req.socket.remoteAddress))));
  const h2 = await listen(http2.createServer((req, res) => res.end(String(req.socket.remoteAddress))));
  const raw = await listen(net.createServer((s) => s.end(String(s.remoteAddress))));
  const cluster = (name: string, protocol: ClusterConfigInput['protocol'], port: number, bind: boolean): ClusterConfigInput => ({
    name,
    protocol,
    endpoints: [{ address: '127.0.0.1', port }],
    ...(bind ? { upstreamBindAddress: SOURCE } : {}),
  });
  proxy = disposer.add(await SkiffProxy.create({ adminPort: null, healthPort: null, drainTimeoutMs: 100 }), (p) => p.close());
  await proxy.applySnapshot({
    version: '1',
    node: { id: 'app-0.default', kind: 'sidecar' },
    listeners: [
      httpListener('h1'),
      httpListener('h1-unbound'),
      httpListener('h2'),
      { name: 'tcp', address: '127.0.0.1', port: 0, direction: 'inbound', protocol: 'tcp', tcp: { routes: [{ destinations: [{ cluster: 'tcp', weight: 1 }] }] } },
    ],
    routes: [routeTo('h1', 'h1'), routeTo('h1-unbound', 'h1-unbound'), routeTo('h2', 'h2')],
    clusters: [cluster('h1', 'http1', h1, true), cluster('h1-unbound', 'http1', h1, false), cluster('h2', 'http2', h2, true), cluster('tcp', 'tcp', raw, true)],
  });
}));

after(() => disposer.drain());

async function get(listener: string): Promise<string> {
  const port = proxy.listenerAddress(listener)!.port;
  const res = await fetch(`http://127.0.0.1:${port}/`);
  assert.equal(res.status, 200);
  return res.text();
}

test('HTTP/1.1 and HTTP/2 upstream connections leave from the cluster bind address', async () => {
  assert.equal(await get('h1'), SOURCE);
  assert.equal(await get('h2'), SOURCE);
});

test('a TCP cluster binds it too', async () => {
  const socket = net.connect(proxy.listenerAddress('tcp')!.port, '127.0.0.1');
  let text = '';
  socket.setEncoding('utf8').on('data', (d: string) => (text += d));
  await once(socket, 'end');
  socket.destroy();
  assert.equal(text, SOURCE);
});

test('a cluster without one leaves from the address the system picks', async () => {
  assert.equal(await get('h1-unbound'), '127.0.0.1');
});
