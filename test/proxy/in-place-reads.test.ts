/**
 * HTTP/1.1 connections read into one shared buffer (src/proxy/http1/in-place-reads.ts). These
 * tests interleave many connections whose heads and bodies arrive in pieces, with clients and
 * upstreams that read slowly, so any byte kept past its read without being copied would show up
 * as a corrupted body or head. The same tests run on connections whose TLS the listener
 * terminates: those are read in place once the handshake is done.
 */
import { after, before, describe, test } from 'node:test';
import assert from 'node:assert/strict';
import { createHash } from 'node:crypto';
import { once } from 'node:events';
import net from 'node:net';
import tls from 'node:tls';
import { adoptInPlace } from '../../src/proxy/http1/in-place-reads.js';
import type { ListenerConfig } from '../../src/snapshot/index.js';
import { authority } from '../helpers/test-pki.js';
import type { Leaf } from '../helpers/test-pki.js';
import { cluster, forward, httpListener, routeConfig, snapshot, startBackend, startProxy } from './helpers.js';
import type { Backend, TestProxy } from './helpers.js';

const sleep = (ms: number): Promise<void> => new Promise((r) => setTimeout(r, ms));

function sha(b: Buffer): string {
  return createHash('sha256').update(b).digest('hex');
}

/** Bytes that differ per connection and per position, so a mix-up cannot go unnoticed. */
function pattern(seed: number, length: number): Buffer {
  const out = Buffer.allocUnsafe(length);
  let x = seed * 2654435761;
  for (let i = 0; i < length; i++) {
    x = (x * 1103515245 + 12345) >>> 0;
    out[i] = x >>> 24;
  }
  return out;
}

/** Two of the responses are large enough to fill a slow client's socket buffers. */
function replyLength(seed: number): number {
  return seed < 2 ? 8 * 1024 * 1024 : 150_000 + seed * 997;
}

interface RawResponse {
  head: string;
  body: Buffer;
}

/** Reads `count` Content-Length responses off a socket, slowly when `slow` (pausing between reads). */
function readResponses(socket: net.Socket, count: number, slow: boolean): Promise<RawResponse[]> {
  return new Promise((resolve, reject) => {
    let buf = Buffer.alloc(0);
    const out: RawResponse[] = [];
    const onData = (c: Buffer): void => {
      buf = Buffer.concat([buf, c]);
      if (slow) {
        socket.pause();
        setTimeout(() => socket.resume(), 5);
      }
      for (;;) {
        const end = buf.indexOf('\r\n\r\n');
        if (end < 0) return;
        const head = buf.subarray(0, end).toString('latin1');
        const m = /content-length: (\d+)/i.exec(head);
        if (m === null) {
          reject(new Error(`no content-length in ${head}`));
          return;
        }
        const total = end + 4 + Number(m[1]);
        if (buf.length < total) return;
        out.push({ head, body: buf.subarray(end + 4, total) });
        buf = buf.subarray(total);
        if (out.length === count) {
          socket.removeListener('data', onData);
          resolve(out);
          return;
        }
      }
    };
    socket.on('data', onData);
    socket.once('error', reject);
  });
}

async function readResponse(socket: net.Socket, slow: boolean): Promise<RawResponse> {
  return (await readResponses(socket, 1, slow))[0];
}

/** A certificate for the listener that terminates TLS, made once. */
let serverLeaf: Leaf | null = null;
function listenerLeaf(): Leaf {
  serverLeaf ??= authority('mesh').issue('in-place', ['DNS:in-place.test']);
  return serverLeaf;
}

for (const transport of ['plaintext', 'TLS'] as const) {
  describe(`HTTP/1.1 reads in place (${transport})`, { timeout: 90_000 }, () => {
    let backend: Backend;
    let splitHeads: net.Server;
    let proxy: TestProxy;
    let port: number;

    /** A client connection to the listener, connected (and with TLS, its handshake done). */
    async function connect(): Promise<net.Socket> {
      if (transport === 'plaintext') {
        const socket = net.connect(port, '127.0.0.1');
        await once(socket, 'connect');
        return socket;
      }
      const socket = tls.connect({ port, host: '127.0.0.1', servername: 'in-place.test', ca: authority('mesh').cert });
      await once(socket, 'secureConnect');
      return socket;
    }

    function mainListener(): ListenerConfig {
      const listener = httpListener('main', 'routes');
      if (transport === 'plaintext') return listener;
      const leaf = listenerLeaf();
      return { ...listener, filterChains: [{ name: 'tls', transport: { mode: 'STRICT', tls: { mode: 'SIMPLE', certificate: { pem: leaf.cert }, privateKey: { pem: leaf.key } } } }] };
    }

    before(async () => {
      // Answers each POST with a body derived from what it received: its hash and a long pattern.
      backend = await startBackend((req, res, body) => {
        const seed = Number(req.headers['x-seed']);
        const reply = Buffer.concat([Buffer.from(`${sha(body)}\n`), pattern(seed + 1000, replyLength(seed))]);
        res.writeHead(200, { 'content-type': 'application/octet-stream', 'content-length': String(reply.length), 'x-seed-echo': String(seed) });
        res.end(reply);
      });
      // An upstream that sends its response head in three pieces, a little apart.
      splitHeads = net.createServer((s) => {
        s.on('data', (d: Buffer) => {
          if (!d.includes('\r\n\r\n')) return;
          const id = /x-seed: (\d+)/i.exec(d.toString('latin1'))?.[1] ?? '?';
          const body = `answer-${id}`;
          const head = `HTTP/1.1 200 OK\r\nx-split-${id}: first-part-of-${id}\r\ncontent-length: ${body.length}\r\nx-tail: ${id}\r\n\r\n`;
          const a = Math.floor(head.length / 3);
          s.write(head.slice(0, a));
          // Each piece scheduled from the one before: two timers due together may fire in either order.
          setTimeout(() => {
            s.write(head.slice(a, 2 * a));
            setTimeout(() => s.write(head.slice(2 * a) + body), 5);
          }, 5);
        });
      });
      splitHeads.listen(0, '127.0.0.1');
      await once(splitHeads, 'listening');
      const splitPort = (splitHeads.address() as net.AddressInfo).port;
      proxy = await startProxy(
        snapshot({
          listeners: [mainListener()],
          routes: [
            routeConfig('routes', [
              { name: 'split', domains: ['split'], routes: [forward('s', 'split')] },
              { name: 'all', domains: ['*'], routes: [forward('r', 'backend')] },
            ]),
          ],
          clusters: [cluster('backend', [backend.port]), cluster('split', [splitPort])],
        }),
      );
      port = proxy.port('main');
    });

    after(async () => {
      await proxy.close();
      await backend.close();
      splitHeads.close();
    });

    test('heads and bodies split across reads on many connections at once arrive intact both ways', async () => {
      const clients = 16;
      await Promise.all(
        Array.from({ length: clients }, async (_, i) => {
          const body = pattern(i, 40_000 + i * 1231);
          const head = `POST /upload/${i} HTTP/1.1\r\nHost: any\r\nX-Seed: ${i}\r\nContent-Length: ${body.length}\r\n\r\n`;
          const socket = await connect();
          const response = readResponse(socket, i % 2 === 0);
          // The head in two writes, then the body in uneven pieces, interleaved with the others.
          socket.write(head.slice(0, 20));
          await sleep(3);
          socket.write(head.slice(20));
          for (let at = 0; at < body.length; ) {
            const n = 1000 + ((at * 7 + i * 13) % 9000);
            socket.write(body.subarray(at, at + n));
            at += n;
            if (at % 3 === 0) await sleep(1);
          }
          const r = await response;
          socket.destroy();
          assert.match(r.head, /^HTTP\/1\.1 200 /);
          assert.match(r.head, new RegExp(`x-seed-echo: ${i}\\r?$`, 'im'), `connection ${i} got its own response`);
          const nl = r.body.indexOf('\n');
          assert.equal(r.body.subarray(0, nl).toString(), sha(body), `the backend received connection ${i}'s body intact`);
          assert.equal(sha(r.body.subarray(nl + 1)), sha(pattern(i + 1000, replyLength(i))), `connection ${i} received its response body intact`);
        }),
      );
    });

    test('upstream response heads that arrive in pieces are parsed whole while other connections read', async () => {
      const results = await Promise.all(
        Array.from({ length: 8 }, async (_, i) => {
          const socket = await connect();
          const response = readResponse(socket, false);
          socket.write(`GET /h/${i} HTTP/1.1\r\nHost: split\r\nX-Seed: ${i}\r\n\r\n`);
          const r = await response;
          socket.destroy();
          return { i, r };
        }),
      );
      for (const { i, r } of results) {
        assert.match(r.head, new RegExp(`x-split-${i}: first-part-of-${i}`, 'i'));
        assert.match(r.head, new RegExp(`x-tail: ${i}`, 'i'));
        assert.equal(r.body.toString(), `answer-${i}`);
      }
    });

    test('pipelined requests held while one is in flight keep their bytes', async () => {
      const socket = await connect();
      const bodies = [pattern(50, 3000), pattern(51, 5000), pattern(52, 7000)];
      const wire = Buffer.concat(
        bodies.flatMap((b, k) => [Buffer.from(`POST /p/${k} HTTP/1.1\r\nHost: any\r\nX-Seed: ${50 + k}\r\nContent-Length: ${b.length}\r\n\r\n`), b]),
      );
      // A first request alone: the connection's first read is taken before it reads in place.
      const first = readResponses(socket, 1, false);
      socket.write(`GET /first HTTP/1.1\r\nHost: any\r\nX-Seed: 49\r\nContent-Length: 0\r\n\r\n`);
      await first;
      const responses = readResponses(socket, bodies.length, false);
      socket.write(wire);
      const got = await responses;
      socket.destroy();
      for (let k = 0; k < bodies.length; k++) {
        const nl = got[k].body.indexOf('\n');
        assert.equal(got[k].body.subarray(0, nl).toString(), sha(bodies[k]), `pipelined request ${k} reached the backend intact`);
      }
    });
  });
}

describe('an accepted TLS connection read in place', () => {
  test("after the handshake its bytes reach the reader, none arrive as 'data', and what it writes still leaves", async () => {
    const leaf = listenerLeaf();
    const terminator = tls.createServer({ cert: leaf.cert, key: leaf.key });
    const reads: string[] = [];
    let dataEvents = 0;
    terminator.on('secureConnection', (accepted: tls.TLSSocket) => {
      const socket = adoptInPlace(accepted, (bytes) => {
        reads.push(bytes.toString());
        socket.write(`echo:${bytes.toString()}`);
      });
      assert.equal(socket, accepted, 'a TLS socket is switched itself, not replaced');
      socket.on('data', () => dataEvents++);
      socket.on('end', () => socket.end());
    });
    // Connections are handed to the TLS server as the listener hands them, it never listens itself.
    const listener = net.createServer((raw) => terminator.emit('connection', raw));
    listener.listen(0, '127.0.0.1');
    await once(listener, 'listening');
    const client = tls.connect({ port: (listener.address() as net.AddressInfo).port, host: '127.0.0.1', servername: 'in-place.test', ca: authority('mesh').cert });
    await once(client, 'secureConnect');
    const echoed: string[] = [];
    client.on('data', (d: Buffer) => echoed.push(d.toString()));
    for (const word of ['one', 'two', 'three']) {
      client.write(word);
      while (!echoed.join('').endsWith(`echo:${word}`)) await sleep(2);
    }
    client.end();
    await once(client, 'close');
    listener.close();
    assert.equal(reads.join(''), 'onetwothree');
    assert.equal(dataEvents, 0, "no 'data' event once the socket reads in place");
  });
});
