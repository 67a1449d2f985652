/**
 * The HTTP/1.1 message writer on a real loopback socket, seen as the bytes the peer receives: a
 * held head leaves with the first body bytes or at the end of the tick, bodies framed as
 * Content-Length or chunked (small pieces coalesced with their framing, large ones streamed),
 * the last chunk with or without trailers, transient chunks copied before their buffer is
 * reused, and write batches that flush the heads held inside them.
 */
import { after, before, describe, test } from 'node:test';
import assert from 'node:assert/strict';
import net from 'node:net';
import { once } from 'node:events';
import { HeaderList } from '../../src/proxy/http/headers.js';
import { MessageWriter, beginWriteBatch, endWriteBatch } from '../../src/proxy/http1/message-writer.js';

const HEAD = 'HTTP/1.1 200 OK\r\ncontent-type: text/plain\r\n\r\n';
const LARGE = 16 * 1024 + 1;

/** A connected pair: the writer's socket and everything its peer has read so far. */
interface Pair {
  writer: MessageWriter;
  socket: net.Socket;
  received: () => Buffer;
  /** Resolves once the peer holds at least `n` bytes. */
  waitFor: (n: number) => Promise<Buffer>;
  close: () => void;
}

let server: net.Server;
const accepted: net.Socket[] = [];

before(async () => {
  server = net.createServer((s) => accepted.push(s));
  server.listen(0, '127.0.0.1');
  await once(server, 'listening');
});

after(() => server.close());

async function pair(): Promise<Pair> {
  const { port } = server.address() as net.AddressInfo;
  const peer = net.connect(port, '127.0.0.1');
  await once(peer, 'connect');
  while (accepted.length === 0) await new Promise((r) => setImmediate(r));
  const socket = accepted.shift()!;
  const chunks: Buffer[] = [];
  let waiting: { n: number; resolve: (b: Buffer) => void } | null = null;
  const received = (): Buffer => Buffer.concat(chunks);
  peer.on('data', (c: Buffer) => {
    chunks.push(c);
    if (waiting !== null && received().length >= waiting.n) {
      const w = waiting;
      waiting = null;
      w.resolve(received());
    }
  });
  return {
    writer: new MessageWriter(socket),
    socket,
    received,
    waitFor: (n) =>
      received().length >= n ? Promise.resolve(received()) : new Promise((resolve) => (waiting = { n, resolve })),
    close: () => {
      peer.destroy();
      socket.destroy();
    },
  };
}

function bytes(...parts: (string | Buffer)[]): Buffer {
  return Buffer.concat(parts.map((p) => (typeof p === 'string' ? Buffer.from(p, 'latin1') : p)));
}

describe('HTTP/1.1 message writer', () => {
  test('a held head with a small body leaves as head then body', async () => {
    const p = await pair();
    p.writer.holdHead(HEAD, false);
    p.writer.data(Buffer.from('hello'), false);
    p.writer.end(null);
    const want = bytes(HEAD, 'hello');
    assert.deepEqual(await p.waitFor(want.length), want);
    p.close();
  });

  test('a held head with no body leaves at the end of the tick', async () => {
    const p = await pair();
    p.writer.holdHead(HEAD, false);
    assert.deepEqual(await p.waitFor(HEAD.length), bytes(HEAD));
    p.close();
  });

  test('a large Content-Length body follows its head unframed', async () => {
    const p = await pair();
    const body = Buffer.alloc(LARGE, 0x61);
    p.writer.holdHead(HEAD, false);
    p.writer.data(body, false);
    p.writer.end(null);
    const want = bytes(HEAD, body);
    assert.deepEqual(await p.waitFor(want.length), want);
    p.close();
  });

  test('body pieces after the first go out as given', async () => {
    const p = await pair();
    p.writer.holdHead(HEAD, false);
    p.writer.data(Buffer.from('one,'), false);
    p.writer.data(Buffer.from('two'), false);
    p.writer.end(null);
    const want = bytes(HEAD, 'one,two');
    assert.deepEqual(await p.waitFor(want.length), want);
    p.close();
  });

  test('chunked: small and large chunks framed with their size, then the last chunk', async () => {
    const p = await pair();
    const large = Buffer.alloc(LARGE, 0x62);
    p.writer.holdHead(HEAD, true);
    p.writer.data(Buffer.from('hello'), false);
    p.writer.data(large, false);
    p.writer.data(Buffer.from('!'), false);
    p.writer.end(null);
    const want = bytes(HEAD, '5\r\nhello\r\n', `${LARGE.toString(16)}\r\n`, large, '\r\n', '1\r\n!\r\n', '0\r\n\r\n');
    assert.deepEqual(await p.waitFor(want.length), want);
    p.close();
  });

  test('chunked: a large first chunk follows the held head', async () => {
    const p = await pair();
    const large = Buffer.alloc(LARGE, 0x63);
    p.writer.holdHead(HEAD, true);
    p.writer.data(large, false);
    p.writer.end(null);
    const want = bytes(HEAD, `${LARGE.toString(16)}\r\n`, large, '\r\n0\r\n\r\n');
    assert.deepEqual(await p.waitFor(want.length), want);
    p.close();
  });

  test('chunked with no body: the head and the last chunk', async () => {
    const p = await pair();
    p.writer.holdHead(HEAD, true);
    p.writer.end(null);
    const want = bytes(HEAD, '0\r\n\r\n');
    assert.deepEqual(await p.waitFor(want.length), want);
    p.close();
  });

  test('chunked with trailers: the last chunk carries them; an empty trailer list is none', async () => {
    const p = await pair();
    p.writer.holdHead(HEAD, true);
    p.writer.data(Buffer.from('body'), false);
    p.writer.end(HeaderList.from([['X-Checksum', 'abc123']]));
    p.writer.holdHead(HEAD, true);
    p.writer.end(HeaderList.from([]));
    const want = bytes(HEAD, '4\r\nbody\r\n', '0\r\nx-checksum: abc123\r\n\r\n', HEAD, '0\r\n\r\n');
    assert.deepEqual(await p.waitFor(want.length), want);
    p.close();
  });

  test('a message after a chunked one is framed by its own head', async () => {
    const p = await pair();
    p.writer.holdHead(HEAD, true);
    p.writer.end(null);
    p.writer.writeHead('HTTP/1.1 304 Not Modified\r\n\r\n');
    p.writer.end(null);
    p.writer.writeHead(Buffer.from('HTTP/1.1 204 No Content\r\n\r\n', 'latin1'));
    const want = bytes(HEAD, '0\r\n\r\n', 'HTTP/1.1 304 Not Modified\r\n\r\n', 'HTTP/1.1 204 No Content\r\n\r\n');
    assert.deepEqual(await p.waitFor(want.length), want);
    p.close();
  });

  test('writeHead sends a held head first', async () => {
    const p = await pair();
    p.writer.holdHead(HEAD, false);
    p.writer.writeHead('HTTP/1.1 204 No Content\r\n\r\n');
    const want = bytes(HEAD, 'HTTP/1.1 204 No Content\r\n\r\n');
    assert.deepEqual(await p.waitFor(want.length), want);
    p.close();
  });

  test('transient chunks are copied: reusing their buffer after the call changes nothing sent', async () => {
    for (const chunked of [false, true]) {
      for (const size of [5, LARGE]) {
        const p = await pair();
        const chunk = Buffer.alloc(size, 0x78);
        p.writer.holdHead(HEAD, chunked);
        p.writer.data(Buffer.from('-'), false);
        p.writer.data(chunk, true);
        chunk.fill(0x79);
        p.writer.end(null);
        const original = Buffer.alloc(size, 0x78);
        const want = chunked
          ? bytes(HEAD, '1\r\n-\r\n', `${size.toString(16)}\r\n`, original, '\r\n0\r\n\r\n')
          : bytes(HEAD, '-', original);
        assert.deepEqual(await p.waitFor(want.length), want, `chunked=${chunked} size=${size}`);
        p.close();
      }
    }
  });

  test('sendNow puts a held head on the socket before it is ended', async () => {
    const p = await pair();
    p.writer.holdHead(HEAD, false);
    p.writer.sendNow();
    p.socket.end();
    assert.deepEqual(await p.waitFor(HEAD.length), bytes(HEAD));
    p.close();
  });

  test('a head with latin1 bytes leaves byte for byte on every path', async () => {
    // obs-text in a header value is one byte per character on the wire, never UTF-8.
    const head = 'HTTP/1.1 200 OK\r\nx-note: caf\u00e9\r\n\r\n';
    const large = Buffer.alloc(LARGE, 0x64);
    const latin1 = (text: string): Buffer => Buffer.from(text, 'latin1');
    const p = await pair();
    p.writer.holdHead(head, false);
    p.writer.data(Buffer.from('x'), false);
    p.writer.end(null);
    p.writer.holdHead(head, true);
    p.writer.data(Buffer.from('y'), false);
    p.writer.end(null);
    p.writer.holdHead(head, true);
    p.writer.data(large, false);
    p.writer.end(null);
    p.writer.holdHead(head, true);
    p.writer.end(null);
    p.writer.writeHead(head);
    p.writer.writeHead(latin1(head));
    const want = bytes(
      latin1(head), 'x',
      latin1(head), '1\r\ny\r\n0\r\n\r\n',
      latin1(head), `${LARGE.toString(16)}\r\n`, large, '\r\n0\r\n\r\n',
      latin1(head), '0\r\n\r\n',
      latin1(head),
      latin1(head),
    );
    assert.deepEqual(await p.waitFor(want.length), want);
    p.close();
  });

  test('a held head ended without a body leaves', async () => {
    const p = await pair();
    p.writer.holdHead(HEAD, false);
    p.writer.end(null);
    assert.deepEqual(await p.waitFor(HEAD.length), bytes(HEAD));
    p.close();
  });

  test('a head held after an earlier one was sent at once still leaves on its own', async () => {
    const p = await pair();
    p.writer.holdHead(HEAD, false);
    p.writer.writeHead('HTTP/1.1 204 No Content\r\n\r\n');
    const first = bytes(HEAD, 'HTTP/1.1 204 No Content\r\n\r\n');
    assert.deepEqual(await p.waitFor(first.length), first);
    p.writer.holdHead('HTTP/1.1 304 Not Modified\r\n\r\n', false);
    const want = bytes(first, 'HTTP/1.1 304 Not Modified\r\n\r\n');
    assert.deepEqual(await p.waitFor(want.length), want);
    assert.equal(p.writer.bufferedBytes, 0, 'everything sent was taken by the kernel');
    p.close();
  });

  test('a write batch flushes the heads held inside it when it ends', async () => {
    // A head held inside a batch waits for the batch, not for the end of the tick: if the batch's
    // end did not send it, it would never leave.
    const a = await pair();
    const b = await pair();
    beginWriteBatch();
    beginWriteBatch();
    a.writer.holdHead(HEAD, false);
    b.writer.holdHead('HTTP/1.1 404 Not Found\r\n\r\n', false);
    endWriteBatch();
    endWriteBatch();
    assert.deepEqual(await a.waitFor(HEAD.length), bytes(HEAD));
    assert.deepEqual(await b.waitFor(26), bytes('HTTP/1.1 404 Not Found\r\n\r\n'));
    // A later batch starts empty and flushes what it holds in the same way.
    beginWriteBatch();
    a.writer.holdHead('HTTP/1.1 204 No Content\r\n\r\n', false);
    endWriteBatch();
    const want = bytes(HEAD, 'HTTP/1.1 204 No Content\r\n\r\n');
    assert.deepEqual(await a.waitFor(want.length), want);
    a.close();
    b.close();
  });
});
