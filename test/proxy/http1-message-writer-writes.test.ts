/**
 * How many writes the HTTP/1.1 message writer makes for a message, seen through `socket.write`,
 * which carries every write when writes go through the stream (`SKIFF_SOCKET_WRITES=stream`, as
 * on TLS sockets): a head leaves in one write with a body of up to 16 KiB, a chunk in one write
 * with its framing; a larger body or chunk is written apart from its head, as the caller's own
 * buffer, never copied. The bytes are real and read by a real peer.
 */
import { after, before, describe, test } from 'node:test';
import type { TestContext } from 'node:test';
import assert from 'node:assert/strict';
import net from 'node:net';
import { once } from 'node:events';

// Read by the socket output when its module loads.
process.env.SKIFF_SOCKET_WRITES = 'stream';
const { MessageWriter } = await import('../../src/proxy/http1/message-writer.js');

const HEAD = 'HTTP/1.1 200 OK\r\ncontent-type: text/plain\r\n\r\n';
const LIMIT = 16 * 1024;

let server: net.Server;
const accepted: net.Socket[] = [];

before(async () => {
  server = net.createServer((s) => accepted.push(s));
  server.listen(0, '127.0.0.1');
  await once(server, 'listening');
});

after(() => server.close());

interface Recorded {
  writer: InstanceType<typeof MessageWriter>;
  /** Every `socket.write` so far, as the bytes it carried (strings are written as latin1 here). */
  writes: () => (string | Uint8Array)[];
  /** Resolves once the peer has read `n` bytes. */
  received: (n: number) => Promise<void>;
  close: () => void;
}

async function recorded(t: TestContext): Promise<Recorded> {
  const { port } = server.address() as net.AddressInfo;
  const peer = net.connect(port, '127.0.0.1');
  await once(peer, 'connect');
  while (accepted.length === 0) await new Promise((r) => setImmediate(r));
  const socket = accepted.shift()!;
  let got = 0;
  let waiting: { n: number; resolve: () => void } | null = null;
  peer.on('data', (c: Buffer) => {
    got += c.length;
    if (waiting !== null && got >= waiting.n) waiting.resolve();
  });
  const write = t.mock.method(socket, 'write');
  return {
    writer: new MessageWriter(socket),
    writes: () => write.mock.calls.map((c) => c.arguments[0]),
    received: (n) => (got >= n ? Promise.resolve() : new Promise((resolve) => (waiting = { n, resolve }))),
    close: () => {
      peer.destroy();
      socket.destroy();
    },
  };
}

function latin1(w: string | Uint8Array): Buffer {
  return typeof w === 'string' ? Buffer.from(w, 'latin1') : Buffer.from(w);
}

describe('HTTP/1.1 message writer: writes per message', () => {
  test('a head and a body of up to 16 KiB leave in one write', async (t) => {
    for (const size of [5, LIMIT]) {
      const r = await recorded(t);
      const body = Buffer.alloc(size, 0x61);
      r.writer.holdHead(HEAD, false);
      r.writer.data(body, false);
      r.writer.end(null);
      await r.received(HEAD.length + size);
      assert.deepEqual(r.writes().map(latin1), [Buffer.concat([Buffer.from(HEAD), body])], `body of ${size}`);
      r.close();
    }
  });

  test('a larger body leaves after its head as the caller buffer itself', async (t) => {
    const r = await recorded(t);
    const body = Buffer.alloc(LIMIT + 1, 0x62);
    r.writer.holdHead(HEAD, false);
    r.writer.data(body, false);
    r.writer.end(null);
    await r.received(HEAD.length + body.length);
    const writes = r.writes();
    assert.equal(writes.length, 2);
    assert.deepEqual(latin1(writes[0]), Buffer.from(HEAD));
    assert.equal(writes[1], body, 'not copied');
    r.close();
  });

  test('a chunk of up to 16 KiB leaves in one write with its framing (and the held head)', async (t) => {
    const r = await recorded(t);
    const big = Buffer.alloc(LIMIT, 0x63);
    r.writer.holdHead(HEAD, true);
    r.writer.data(Buffer.from('hello'), false);
    r.writer.data(big, false);
    r.writer.end(null);
    const want = [
      Buffer.from(`${HEAD}5\r\nhello\r\n`),
      Buffer.concat([Buffer.from(`${LIMIT.toString(16)}\r\n`), big, Buffer.from('\r\n')]),
      Buffer.from('0\r\n\r\n'),
    ];
    await r.received(want.reduce((n, b) => n + b.length, 0));
    assert.deepEqual(r.writes().map(latin1), want);
    r.close();
  });

  test('a larger chunk leaves as its size line, the caller buffer itself, and CRLF', async (t) => {
    const r = await recorded(t);
    const big = Buffer.alloc(LIMIT + 1, 0x64);
    r.writer.holdHead(HEAD, true);
    r.writer.data(big, false);
    r.writer.end(null);
    await r.received(HEAD.length + 6 + big.length + 2 + 5);
    const writes = r.writes();
    assert.deepEqual(writes.slice(0, 2).map(latin1), [Buffer.from(HEAD), Buffer.from(`${(LIMIT + 1).toString(16)}\r\n`)]);
    assert.equal(writes[2], big, 'not copied');
    assert.deepEqual(writes.slice(3).map(latin1), [Buffer.from('\r\n'), Buffer.from('0\r\n\r\n')]);
    r.close();
  });
});
