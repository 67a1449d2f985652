/**
 * The HTTP/1.1 codec seen from the wire: keep-alive and pipelining, chunked bodies both ways,
 * trailers, Expect: 100-continue, large bodies streamed, and malformed or slow clients answered
 * with 400 / 408 / 431 / 501 without disturbing anyone else.
 */
import { after, before, describe, test } from 'node:test';
import assert from 'node:assert/strict';
import http from 'node:http';
import net from 'node:net';
import { once } from 'node:events';
import { cluster, echo, eventually, forward, httpListener, rawExchange, request, routeConfig, snapshot, startBackend, startProxy } from './helpers.js';
import type { Backend, TestProxy } from './helpers.js';
import { Disposer } from '../helpers/disposer.js';

const DOWNLOAD = 50 * 1024 * 1024;
let downloadWritten = 0;

describe('HTTP/1.1 codec', () => {
  let backend: Backend;
  let streaming: Backend;
  /** Uploads the streaming backend has seen: body bytes so far, and whether the request ended before its body did. */
  const uploads: { bytes: number; aborted: boolean }[] = [];
  let proxy: TestProxy;
  let port: number;

  const disposer = new Disposer();
  before(disposer.setup(async () => {
    backend = disposer.add(await startBackend((req, res, body) => {
      if (req.url === '/chunked') {
        res.writeHead(200, { 'content-type': 'text/plain' });
        res.write('hello ');
        res.write('chunked ');
        res.end('world');
        return;
      }
      if (req.url === '/trailers') {
        res.writeHead(200, { 'content-type': 'text/plain', trailer: 'x-checksum' });
        res.write('body');
        res.addTrailers({ 'x-checksum': 'abc123' });
        res.end();
        return;
      }
      if (req.url === '/request-trailers') {
        res.writeHead(200, { 'content-type': 'application/json' });
        res.end(JSON.stringify({ trailers: req.trailers, body: body.toString() }));
        return;
      }
      if (req.url === '/head-length') {
        res.writeHead(200, { 'content-length': '1234' });
        res.end();
        return;
      }
      if (req.url === '/big-download') {
        // 50 MB written as fast as the proxy takes it; `downloadWritten` tracks progress.
        res.writeHead(200, { 'content-type': 'application/octet-stream', 'content-length': String(DOWNLOAD) });
        const piece = Buffer.alloc(64 * 1024, 0x62);
        const pump = (): void => {
          while (downloadWritten < DOWNLOAD) {
            downloadWritten += piece.length;
            if (!res.write(piece)) {
              res.once('drain', pump);
              return;
            }
          }
          res.end();
        };
        pump();
        return;
      }
      if (req.url === '/fixed') {
        res.writeHead(200, { 'content-length': '2' });
        res.end('ok');
        return;
      }
      if (req.url === '/no-content') {
        res.writeHead(204);
        res.end();
        return;
      }
      echo('backend')(req, res, body);
    }), (r) => r.close());
    // Counts request body bytes as they stream and answers with totals.
    streaming = disposer.add(await startBackend(
      (req, res) => {
        let bytes = 0;
        let chunks = 0;
        if (req.url === '/stall') {
          req.pause();
          setTimeout(() => req.resume(), 600);
        }
        if (req.url === '/upload') {
          uploads.push({ bytes: 0, aborted: false });
          const upload = uploads[uploads.length - 1];
          req.on('data', (c: Buffer) => (upload.bytes += c.length));
          req.on('close', () => (upload.aborted = !req.complete));
          return;
        }
        req.on('data', (c: Buffer) => {
          bytes += c.length;
          chunks++;
        });
        req.on('end', () => {
          res.writeHead(200, { 'content-type': 'application/json' });
          res.end(JSON.stringify({ bytes, chunks }));
        });
      },
      { streamBody: true },
    ), (r) => r.close());
    proxy = disposer.add(await startProxy(
      snapshot({
        listeners: [httpListener('main', 'routes', { http: { routeConfig: 'routes', maxRequestHeadersKb: 4, requestHeadersTimeoutMs: 300, acceptHttp10: true } })],
        routes: [
          routeConfig('routes', [
            { name: 'stream', domains: ['stream'], routes: [forward('s', 'stream')] },
            { name: 'all', domains: ['*'], routes: [forward('r', 'backend')] },
          ]),
        ],
        clusters: [cluster('backend', [backend.port]), cluster('stream', [streaming.port])],
      }),
    ), (r) => r.close());
    port = proxy.port('main');
  }));

  after(() => disposer.drain());

  async function stillServing(): Promise<void> {
    const res = await request(port, '/alive', { headers: { host: 'x' } });
    assert.equal(res.status, 200, 'the proxy still answers other clients');
  }

  test('keep-alive: several requests on one connection reuse one upstream connection', async () => {
    const agent = new http.Agent({ keepAlive: true, maxSockets: 1 });
    const before = backend.count;
    for (let i = 0; i < 5; i++) {
      const res = await request(port, `/k${i}`, { agent, headers: { host: 'x' } });
      assert.equal(res.status, 200);
    }
    agent.destroy();
    assert.equal(backend.count - before, 5);
    const host = [...proxy.proxy.clusterManager.get('backend')!.endpoints][0];
    assert.equal(host.stats.cx_total, 1, 'one upstream connection carried every request');
  });

  test('pipelined requests are answered in order', async () => {
    const raw = await rawExchange(port, 'GET /p1 HTTP/1.1\r\nHost: x\r\n\r\nGET /p2 HTTP/1.1\r\nHost: x\r\n\r\nGET /p3 HTTP/1.1\r\nHost: x\r\nConnection: close\r\n\r\n');
    const urls = [...raw.matchAll(/"url":"(\/p\d)"/g)].map((m) => m[1]);
    assert.deepEqual(urls, ['/p1', '/p2', '/p3']);
    assert.equal(raw.match(/HTTP\/1\.1 200 OK/g)?.length, 3);
  });

  test('chunked response from upstream is relayed chunked', async () => {
    const raw = await rawExchange(port, 'GET /chunked HTTP/1.1\r\nHost: x\r\nConnection: close\r\n\r\n');
    assert.match(raw, /transfer-encoding: chunked/i);
    const res = await request(port, '/chunked', { headers: { host: 'x' } });
    assert.equal(res.body, 'hello chunked world');
  });

  test('chunked request body reaches the upstream whole', async () => {
    const body = '5\r\nhello\r\n6\r\n world\r\n0\r\n\r\n';
    const raw = await rawExchange(port, `POST /upload HTTP/1.1\r\nHost: x\r\nTransfer-Encoding: chunked\r\nConnection: close\r\n\r\n${body}`);
    assert.match(raw, /^HTTP\/1\.1 200/);
    assert.match(raw, /"bodyLength":11/);
    assert.match(raw, /"body":"hello world"/);
  });

  test('response trailers reach the client', async () => {
    const res = await new Promise<{ trailers: NodeJS.Dict<string>; body: string }>((resolve, reject) => {
      http
        .get({ host: '127.0.0.1', port, path: '/trailers', headers: { host: 'x' }, agent: false }, (r) => {
          let body = '';
          r.setEncoding('utf8');
          r.on('data', (c: string) => (body += c));
          r.on('end', () => resolve({ trailers: r.trailers, body }));
        })
        .on('error', reject);
    });
    assert.equal(res.body, 'body');
    assert.equal(res.trailers['x-checksum'], 'abc123');
  });

  test('request trailers reach the upstream', async () => {
    const raw = await rawExchange(port, 'POST /request-trailers HTTP/1.1\r\nHost: x\r\nTransfer-Encoding: chunked\r\nConnection: close\r\n\r\n4\r\ndata\r\n0\r\nx-sum: 42\r\n\r\n');
    assert.match(raw, /"x-sum":"42"/);
    assert.match(raw, /"body":"data"/);
  });

  test('HEAD and 204 responses carry no body, HEAD keeps content-length', async () => {
    const raw = await rawExchange(port, 'HEAD /head-length HTTP/1.1\r\nHost: x\r\n\r\nGET /no-content HTTP/1.1\r\nHost: x\r\nConnection: close\r\n\r\n');
    const [first, second] = raw.split(/(?=HTTP\/1\.1 )/);
    assert.match(first, /^HTTP\/1\.1 200/);
    assert.match(first, /content-length: 1234/);
    assert.ok(first.endsWith('\r\n\r\n'), 'no body after the HEAD response');
    assert.match(second, /^HTTP\/1\.1 204/);
  });

  test('Expect: 100-continue gets 100 before the body is sent', async () => {
    const socket = net.connect(port, '127.0.0.1');
    await once(socket, 'connect');
    socket.write('POST /upload HTTP/1.1\r\nHost: x\r\nContent-Length: 5\r\nExpect: 100-continue\r\nConnection: close\r\n\r\n');
    let got = '';
    socket.setEncoding('latin1');
    await new Promise<void>((resolve) => {
      socket.on('data', (d: string) => {
        got += d;
        if (got.includes('100 Continue')) resolve();
      });
    });
    assert.match(got, /^HTTP\/1\.1 100 Continue\r\n\r\n/);
    socket.write('hello');
    await once(socket, 'end');
    assert.match(got, /HTTP\/1\.1 200 OK/);
    assert.match(got, /"bodyLength":5/);
    assert.doesNotMatch(got, /"expect"/, 'the Expect header is not forwarded');
    socket.destroy();
  });

  test('a 50 MB body streams through without being buffered whole', async () => {
    // The backend stops reading for a while: if the proxy honours backpressure, the client can
    // only push a few socket buffers' worth meanwhile, never the whole body.
    const chunk = Buffer.alloc(64 * 1024, 0x61);
    const total = 50 * 1024 * 1024;
    let sent = 0;
    let sentWhileStalled = -1;
    const result = await new Promise<{ bytes: number; chunks: number }>((resolve, reject) => {
      const req = http.request({ host: '127.0.0.1', port, path: '/stall', method: 'POST', headers: { host: 'stream', 'content-length': String(total) }, agent: false }, (res) => {
        let s = '';
        res.setEncoding('utf8');
        res.on('data', (c: string) => (s += c));
        res.on('end', () => resolve(JSON.parse(s) as { bytes: number; chunks: number }));
      });
      req.on('error', reject);
      setTimeout(() => (sentWhileStalled = sent), 400);
      const pump = (): void => {
        while (sent < total) {
          sent += chunk.length;
          if (!req.write(chunk)) {
            req.once('drain', pump);
            return;
          }
        }
        req.end();
      };
      pump();
    });
    assert.equal(result.bytes, total);
    assert.ok(result.chunks > 10, `the body arrived in pieces (${result.chunks})`);
    assert.ok(sentWhileStalled >= 0 && sentWhileStalled < 20 * 1024 * 1024, `the client could push ${Math.round(sentWhileStalled / 1048576)} MB while the backend was not reading`);
  });

  test('a slow reader holds the upstream back instead of the proxy buffering the response', async () => {
    const socket = net.connect(port, '127.0.0.1');
    await once(socket, 'connect');
    socket.write('GET /big-download HTTP/1.1\r\nHost: x\r\nConnection: close\r\n\r\n');
    socket.pause();
    await new Promise((r) => setTimeout(r, 400));
    const writtenWhilePaused = downloadWritten;
    assert.ok(writtenWhilePaused < 20 * 1024 * 1024, `the backend wrote ${Math.round(writtenWhilePaused / 1048576)} MB while the client read nothing`);
    let received = 0;
    socket.on('data', (d: Buffer) => (received += d.length));
    socket.resume();
    await once(socket, 'end');
    assert.ok(received > DOWNLOAD, 'the whole body arrived once the client read');
    socket.destroy();
  });

  test('HTTP/1.0 client: keep-alive on request, close otherwise; chunked upstream bodies are close-delimited', async () => {
    const raw = await rawExchange(port, 'GET /fixed HTTP/1.0\r\nHost: x\r\nConnection: keep-alive\r\n\r\nGET /chunked HTTP/1.0\r\nHost: x\r\n\r\n');
    const [first, second] = raw.split(/(?=HTTP\/1\.1 )/);
    assert.match(first, /connection: keep-alive/i);
    assert.match(second, /connection: close/i);
    assert.doesNotMatch(second, /transfer-encoding/i);
    assert.ok(second.endsWith('hello chunked world'));
  });

  const malformed: { name: string; send: string | string[]; status: RegExp }[] = [
    { name: 'bad request line', send: 'GARBAGE\r\n\r\n', status: /^HTTP\/1\.1 400 Bad Request/ },
    { name: 'request line without version', send: 'GET /\r\nHost: x\r\n\r\n', status: /^HTTP\/1\.1 400/ },
    { name: 'space before colon in header', send: 'GET / HTTP/1.1\r\nHost : x\r\n\r\n', status: /^HTTP\/1\.1 400/ },
    { name: 'missing Host on HTTP/1.1', send: 'GET / HTTP/1.1\r\n\r\n', status: /^HTTP\/1\.1 400/ },
    { name: 'oversized headers', send: `GET / HTTP/1.1\r\nHost: x\r\nX-Big: ${'a'.repeat(5000)}\r\n\r\n`, status: /^HTTP\/1\.1 431 Request Header Fields Too Large/ },
    { name: 'invalid chunk size', send: 'POST / HTTP/1.1\r\nHost: x\r\nTransfer-Encoding: chunked\r\n\r\nzz\r\nhello\r\n0\r\n\r\n', status: /^HTTP\/1\.1 400/ },
    { name: 'missing CRLF after chunk data', send: 'POST / HTTP/1.1\r\nHost: x\r\nTransfer-Encoding: chunked\r\n\r\n5\r\nhelloXX0\r\n\r\n', status: /^HTTP\/1\.1 400/ },
    { name: 'both Content-Length and Transfer-Encoding', send: 'POST / HTTP/1.1\r\nHost: x\r\nContent-Length: 5\r\nTransfer-Encoding: chunked\r\n\r\n0\r\n\r\n', status: /^HTTP\/1\.1 400/ },
    { name: 'unsupported transfer coding', send: 'POST / HTTP/1.1\r\nHost: x\r\nTransfer-Encoding: gzip\r\n\r\n', status: /^HTTP\/1\.1 501/ },
    { name: 'invalid Content-Length', send: 'POST / HTTP/1.1\r\nHost: x\r\nContent-Length: 5x\r\n\r\nhello', status: /^HTTP\/1\.1 400/ },
    { name: 'conflicting Content-Length', send: 'POST / HTTP/1.1\r\nHost: x\r\nContent-Length: 5\r\nContent-Length: 6\r\n\r\nhello', status: /^HTTP\/1\.1 400/ },
    { name: 'control character in header value', send: 'GET / HTTP/1.1\r\nHost: x\r\nX-A: a\x01b\r\n\r\n', status: /^HTTP\/1\.1 400/ },
    { name: 'unsupported HTTP version', send: 'GET / HTTP/2.1\r\nHost: x\r\n\r\n', status: /^HTTP\/1\.1 505/ },
  ];

  for (const m of malformed) {
    test(`malformed: ${m.name}`, async () => {
      const raw = await rawExchange(port, m.send);
      assert.match(raw, m.status);
      assert.match(raw, /connection: close/i);
      await stillServing();
    });
  }

  test('a slow client sending headers byte by byte gets 408 and others are served meanwhile', async () => {
    const socket = net.connect(port, '127.0.0.1');
    await once(socket, 'connect');
    socket.on('error', () => {});
    let got = '';
    socket.setEncoding('latin1');
    socket.on('data', (d: string) => (got += d));
    const closed = once(socket, 'close');
    const text = 'GET /slow HTTP/1.1\r\nHost: x\r\nX-Padding: ' + 'p'.repeat(200) + '\r\n\r\n';
    let i = 0;
    const drip = setInterval(() => {
      if (i < text.length && !socket.destroyed) socket.write(text[i++]);
    }, 20);
    await stillServing();
    await closed;
    clearInterval(drip);
    assert.match(got, /^HTTP\/1\.1 408/);
    assert.ok(i < text.length, 'the head was still incomplete when the proxy gave up');
    await stillServing();
  });

  test('a client vanishing mid-body: the upstream request is aborted and the proxy serves on', async () => {
    const socket = net.connect(port, '127.0.0.1');
    await once(socket, 'connect');
    const upload = uploads.length;
    socket.write('POST /upload HTTP/1.1\r\nHost: stream\r\nContent-Length: 100000\r\n\r\npartial');
    await eventually(() => (uploads[upload]?.bytes ?? 0) === 'partial'.length, 5000, 'the partial body at the backend');
    socket.destroy();
    await eventually(() => uploads[upload].aborted, 5000, 'the upstream request to be aborted');
    await stillServing();
  });

  test('codec errors are recorded with DPE', async () => {
    const before = proxy.records.length;
    await rawExchange(port, 'NOT HTTP AT ALL\r\n\r\n');
    const rec = proxy.records.slice(before).find((r) => r.status === 400);
    assert.ok(rec, 'a record for the 400');
  });
});
