/**
 * The service proxy of sidecar-less pods (kube-proxy's part): a Service name resolves to a ready
 * endpoint's mesh port and the request arrives there in origin form without proxy fields; an
 * endpoint that resets resets the client too (curl's exit 56 against STRICT); a Service with no
 * ready endpoint refuses.
 */
import { strict as assert } from 'node:assert';
import net from 'node:net';
import { after, it } from 'node:test';
import { ServiceProxy, resolveService } from '../../src/runtime/service-proxy.js';
import type { RegistrySnapshot, WorkloadInstance } from '../../src/registry/types.js';

const closers: (() => unknown)[] = [];
after(async () => {
  for (const c of closers) await c();
});

function workload(name: string, namespace: string, meshPort: number, ready = true): WorkloadInstance {
  return { name, namespace, labels: { app: 'httpbin' }, serviceAccount: 'httpbin', address: '127.0.0.1', ready, meshPorts: { 8080: meshPort }, appPorts: { 8080: meshPort } };
}

function registry(workloads: WorkloadInstance[]): { snapshot: () => RegistrySnapshot } {
  const services = ['foo', 'bar'].map((ns) => ({ name: 'httpbin', namespace: ns, hostname: `httpbin.${ns}.svc.cluster.local`, ports: [{ name: 'http', port: 8000, targetPort: 8080, protocol: 'TCP' as const }], selector: { app: 'httpbin' } }));
  return { snapshot: () => ({ services, workloads }) };
}

async function listen(onConnection: (s: net.Socket) => void): Promise<number> {
  const server = net.createServer(onConnection);
  await new Promise<void>((r) => server.listen(0, '127.0.0.1', r));
  closers.push(() => server.close());
  return (server.address() as net.AddressInfo).port;
}

it('resolves short and qualified names in the namespace as cluster DNS does', () => {
  const reg = registry([workload('httpbin-1', 'foo', 41000), workload('httpbin-2', 'bar', 42000, false)]);
  const opts = { namespace: 'foo', registry: reg };
  assert.deepEqual(resolveService('httpbin', 8000, opts), { kind: 'endpoint', address: '127.0.0.1', port: 41000 });
  assert.deepEqual(resolveService('httpbin.foo.svc.cluster.local', 8000, opts), { kind: 'endpoint', address: '127.0.0.1', port: 41000 });
  assert.deepEqual(resolveService('httpbin.bar', 8000, opts), { kind: 'no-endpoint', service: 'httpbin.bar:8000' });
  assert.deepEqual(resolveService('example.com', 80, opts), { kind: 'external' });
});

it('forwards the request in origin form to the endpoint and relays a reset from it', async () => {
  const heads: string[] = [];
  const okPort = await listen((s) =>
    s.once('data', (d: Buffer) => {
      heads.push(d.toString('latin1'));
      s.end('HTTP/1.1 200 OK\r\ncontent-length: 2\r\nconnection: close\r\n\r\nok');
    }),
  );
  const resetPort = await listen((s) => s.once('data', () => s.resetAndDestroy()));
  const reg = registry([workload('httpbin-1', 'foo', okPort), workload('httpbin-2', 'bar', resetPort)]);
  const proxy = new ServiceProxy({ namespace: 'legacy', registry: reg });
  const port = await proxy.listen();
  closers.push(() => proxy.close());
  const send = (text: string): Promise<{ data: string; error?: string }> =>
    new Promise((resolve) => {
      const c = net.connect(port, '127.0.0.1', () => c.write(text));
      let data = '';
      c.on('data', (d: Buffer) => (data += d.toString()));
      c.on('error', (err: NodeJS.ErrnoException) => resolve({ data, error: err.code ?? err.message }));
      c.on('close', () => resolve({ data }));
    });
  const ok = await send('GET http://httpbin.foo:8000/ip HTTP/1.1\r\nHost: httpbin.foo:8000\r\nProxy-Connection: Keep-Alive\r\nAccept: */*\r\n\r\n');
  assert.match(ok.data, /^HTTP\/1.1 200 OK/);
  assert.equal(heads[0], 'GET /ip HTTP/1.1\r\nHost: httpbin.foo:8000\r\nAccept: */*\r\n\r\n');
  const reset = await send('GET http://httpbin.bar:8000/ip HTTP/1.1\r\nHost: httpbin.bar:8000\r\n\r\n');
  assert.equal(reset.error, 'ECONNRESET', 'the endpoint reset the connection, so the client sees a reset');
  const none = await send('GET http://httpbin.bar:8000/ip HTTP/1.1\r\nHost: httpbin.bar:8000\r\n\r\n'.replace(/bar/g, 'baz'));
  assert.equal(none.error, undefined, 'a name that is no Service goes out directly (and fails as DNS does)');
});
