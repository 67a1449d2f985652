/**
 * The upstream side of the codec against a raw-socket backend that answers each path with exact
 * bytes: close-delimited bodies, interim 1xx responses, `Connection: close`, broken responses and
 * resets, each relayed or answered as Envoy would.
 */
import { after, before, describe, test } from 'node:test';
import assert from 'node:assert/strict';
import net from 'node:net';
import { once } from 'node:events';
import { cluster, forward, httpListener, request, routeConfig, snapshot, startProxy } from './helpers.js';
import type { TestProxy } from './helpers.js';
import { formatResponseFlags } from '../../src/telemetry/response-flags.js';
import { Disposer } from '../helpers/disposer.js';

/** What the raw backend sends back for each request path; `null` closes without answering. */
const SCRIPT: Record<string, string | null> = {
  '/close-delimited': 'HTTP/1.1 200 OK\r\ncontent-type: text/plain\r\n\r\nuntil the end',
  '/interim': 'HTTP/1.1 100 Continue\r\n\r\nHTTP/1.1 103 Early Hints\r\nlink: </a.css>\r\n\r\nHTTP/1.1 200 OK\r\ncontent-length: 5\r\n\r\nfinal',
  '/conn-close': 'HTTP/1.1 200 OK\r\ncontent-length: 2\r\nconnection: close\r\n\r\nok',
  '/garbage': 'NOT HTTP AT ALL\r\n\r\n',
  '/reset': null,
  '/truncated': 'HTTP/1.1 200 OK\r\ncontent-length: 100\r\n\r\nonly a part',
  '/bad-chunk': 'HTTP/1.1 200 OK\r\ntransfer-encoding: chunked\r\n\r\nxyz\r\n',
};

describe('upstream responses', () => {
  let server: net.Server;
  let proxy: TestProxy;
  const connections = new Set<net.Socket>();

  const disposer = new Disposer();
  before(disposer.setup(async () => {
    server = net.createServer((s) => {
      connections.add(s);
      s.on('close', () => connections.delete(s));
      s.on('error', () => {});
      let buf = '';
      s.on('data', (d: Buffer) => {
        buf += d.toString('latin1');
        const end = buf.indexOf('\r\n\r\n');
        if (end < 0) return;
        const path = buf.split(' ')[1];
        buf = buf.slice(end + 4);
        const reply = SCRIPT[path];
        if (reply === null || reply === undefined) {
          s.destroy();
          return;
        }
        s.write(reply);
        // Close-delimited, closing and broken answers end the connection.
        if (!/content-length: \d+\r\n\r\n[^]*$/.test(reply) || reply.includes('connection: close') || path === '/truncated') s.end();
      });
    });
    disposer.add(server, (s) => {
      for (const c of connections) c.destroy();
      s.close();
    });
    server.listen(0, '127.0.0.1');
    await once(server, 'listening');
    proxy = disposer.add(await startProxy(
      snapshot({
        listeners: [httpListener('out', 'r')],
        routes: [routeConfig('r', [{ name: 'all', domains: ['*'], routes: [forward('raw', 'raw')] }])],
        clusters: [cluster('raw', [(server.address() as net.AddressInfo).port])],
      }),
    ), (r) => r.close());
  }));

  after(() => disposer.drain());

  const get = (path: string) => request(proxy.port('out'), path, { headers: { host: 'x' } });

  test('a close-delimited body is relayed (chunked to an HTTP/1.1 client)', async () => {
    const res = await get('/close-delimited');
    assert.equal(res.status, 200);
    assert.equal(res.body, 'until the end');
  });

  test('interim 1xx responses are dropped; the final one is relayed', async () => {
    const res = await get('/interim');
    assert.equal(res.status, 200);
    assert.equal(res.body, 'final');
  });

  test('Connection: close from upstream is honoured and the next request gets a new connection', async () => {
    assert.equal((await get('/conn-close')).body, 'ok');
    assert.equal((await get('/conn-close')).body, 'ok');
  });

  const failures: { path: string; status: number; body: string; flags: string }[] = [
    { path: '/garbage', status: 502, body: 'upstream connect error or disconnect/reset before headers. reset reason: protocol error', flags: 'UPE' },
    { path: '/reset', status: 503, body: 'upstream connect error or disconnect/reset before headers. reset reason: connection termination', flags: 'UC' },
  ];
  for (const f of failures) {
    test(`${f.path}: ${f.status} ${f.flags}`, async () => {
      const n = proxy.records.length;
      const res = await get(f.path);
      assert.equal(res.status, f.status);
      assert.equal(res.body, f.body);
      assert.equal(formatResponseFlags(proxy.records[n].flags), f.flags);
    });
  }

  test('an upstream that dies mid-body cuts the client off (UC) rather than ending cleanly', async () => {
    const n = proxy.records.length;
    await assert.rejects(get('/truncated'));
    assert.equal(formatResponseFlags(proxy.records[n].flags), 'UC');
  });

  test('invalid chunked framing from upstream after headers cuts the client off', async () => {
    const n = proxy.records.length;
    await assert.rejects(get('/bad-chunk'));
    assert.equal(formatResponseFlags(proxy.records[n].flags), 'UPE');
  });
});
