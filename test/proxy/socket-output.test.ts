/**
 * SocketOutput (src/proxy/http1/socket-output.ts): writes held until the end of the event-loop
 * turn, then handed to the socket's handle (TLS sockets: as one write, or through the stream while
 * one is in flight). Real TCP and TLS
 * connections on loopback; a peer that stops reading fills the kernel's buffers, so the
 * asynchronous path and backpressure are exercised.
 */
import { after, before, describe, test } from 'node:test';
import assert from 'node:assert/strict';
import { execFileSync } from 'node:child_process';
import { createHash } from 'node:crypto';
import { once } from 'node:events';
import net from 'node:net';
import tls from 'node:tls';
import { fileURLToPath } from 'node:url';
import { SocketOutput } from '../../src/proxy/http1/socket-output.js';
import { authority } from '../helpers/test-pki.js';

const sha = (b: Buffer): string => createHash('sha256').update(b).digest('hex');
const turn = (): Promise<void> => new Promise((r) => setImmediate(r));

interface Pair {
  /** Our side, written through a SocketOutput. */
  local: net.Socket;
  /** The peer, reading. */
  peer: net.Socket;
}

let server: net.Server;
const accepted: net.Socket[] = [];

async function pair(): Promise<Pair> {
  const local = net.connect((server.address() as net.AddressInfo).port, '127.0.0.1');
  await once(local, 'connect');
  while (accepted.length === 0) await new Promise((r) => setTimeout(r, 1));
  return { local, peer: accepted.shift()! };
}

function collect(socket: net.Socket): () => Buffer {
  const chunks: Buffer[] = [];
  socket.on('data', (c: Buffer) => chunks.push(c));
  return () => Buffer.concat(chunks);
}

/** Mixed writes (heads as text, small and large buffers) with a recognisable byte pattern. */
function pieces(count: number): (string | Buffer)[] {
  const out: (string | Buffer)[] = [];
  for (let i = 0; i < count; i++) {
    if (i % 3 === 0) out.push(`HTTP/1.1 200 OK\r\nx-piece: ${i}\r\n\r\n`);
    else out.push(Buffer.alloc(i % 5 === 0 ? 64 * 1024 : 700 + i, i & 0xff));
  }
  return out;
}

function expected(ps: (string | Buffer)[]): Buffer {
  return Buffer.concat(ps.map((p) => (typeof p === 'string' ? Buffer.from(p, 'latin1') : p)));
}

describe('socket output', () => {
  before(async () => {
    server = net.createServer((s) => accepted.push(s));
    server.listen(0, '127.0.0.1');
    await once(server, 'listening');
  });
  after(() => server.close());

  test('writes of one turn are held, then arrive whole and in order', async () => {
    const { local, peer } = await pair();
    const received = collect(peer);
    const out = new SocketOutput(local);
    const ps = pieces(7).filter((p) => p.length < 16 * 1024);
    for (const p of ps) assert.equal(typeof p === 'string' ? out.writeLatin1(p) : out.write(p), true);
    const total = expected(ps);
    assert.equal(out.bufferedBytes, total.length, 'held until the end of the turn');
    await turn();
    assert.equal(out.bufferedBytes, 0);
    local.end();
    await once(peer, 'end');
    assert.equal(sha(received()), sha(total));
  });

  test('a peer that stops reading: writes report backpressure, drain follows, every byte arrives in order', { timeout: 30_000 }, async () => {
    const { local, peer } = await pair();
    peer.pause();
    const received = collect(peer);
    const out = new SocketOutput(local);
    const ps = pieces(3000); // about 40 MB, far more than the socket buffers hold
    let refused = 0;
    let drains = 0;
    local.on('drain', () => drains++);
    setTimeout(() => peer.resume(), 100);
    for (const p of ps) {
      const ok = typeof p === 'string' ? out.writeLatin1(p) : out.write(p);
      if (!ok) {
        refused++;
        await once(local, 'drain');
      }
    }
    await turn();
    out.flush();
    local.end();
    await once(peer, 'end');
    assert.ok(refused > 0, 'backpressure reported while the peer did not read');
    assert.ok(drains >= refused, `'drain' after each refusal (${drains} for ${refused})`);
    assert.equal(sha(received()), sha(expected(ps)));
  });

  test('flush before end: held bytes go before the FIN', async () => {
    const { local, peer } = await pair();
    const received = collect(peer);
    const out = new SocketOutput(local);
    out.writeLatin1('HTTP/1.1 200 OK\r\ncontent-length: 5\r\nconnection: close\r\n\r\n');
    out.write(Buffer.from('hello'));
    out.flush();
    local.end();
    await once(peer, 'end');
    assert.equal(received().toString('latin1'), 'HTTP/1.1 200 OK\r\ncontent-length: 5\r\nconnection: close\r\n\r\nhello');
  });

  test('writes before the connection is up go through the stream and arrive after connect', async () => {
    const local = net.connect((server.address() as net.AddressInfo).port, '127.0.0.1');
    const out = new SocketOutput(local);
    assert.equal(out.writeLatin1('GET / HTTP/1.1\r\n'), true);
    out.write(Buffer.from('host: a\r\n\r\n'));
    await once(local, 'connect');
    while (accepted.length === 0) await new Promise((r) => setTimeout(r, 1));
    const peer = accepted.shift()!;
    const received = collect(peer);
    await turn();
    local.end();
    await once(peer, 'end');
    assert.equal(received().toString('latin1'), 'GET / HTTP/1.1\r\nhost: a\r\n\r\n');
  });

  test('a peer that resets: held writes are dropped or fail into an error on the socket, never a throw', async () => {
    const { local, peer } = await pair();
    const out = new SocketOutput(local);
    const errors: Error[] = [];
    local.on('error', (e) => errors.push(e));
    peer.resetAndDestroy();
    await once(peer, 'close');
    for (let i = 0; i < 50 && !local.destroyed; i++) {
      out.write(Buffer.alloc(32 * 1024, 1));
      await turn();
    }
    assert.ok(local.destroyed, 'the socket is destroyed once the kernel refuses the writes');
    assert.ok(errors.length > 0, 'with the error on the socket');
    // Writes after that are harmless.
    out.write(Buffer.from('late'));
    out.writeLatin1('late');
    await turn();
  });

  test('destroy drops what is held', async () => {
    const { local, peer } = await pair();
    const received = collect(peer);
    const out = new SocketOutput(local);
    out.writeLatin1('never sent');
    local.destroy();
    await turn();
    await once(peer, 'close');
    assert.equal(received().length, 0);
  });

  test('SKIFF_SOCKET_WRITES=stream: the same bytes arrive through socket.write', () => {
    const module = fileURLToPath(new URL('../../src/proxy/http1/socket-output.js', import.meta.url));
    const script = `
      import net from 'node:net';
      import { createHash } from 'node:crypto';
      import { SocketOutput } from ${JSON.stringify(module)};
      const srv = net.createServer((peer) => {
        const chunks = [];
        peer.on('data', (c) => chunks.push(c));
        peer.on('end', () => { console.log(createHash('sha256').update(Buffer.concat(chunks)).digest('hex')); srv.close(); });
      }).listen(0, '127.0.0.1', async () => {
        const s = net.connect(srv.address().port, '127.0.0.1');
        await new Promise((r) => s.once('connect', r));
        const out = new SocketOutput(s);
        for (let i = 0; i < 200; i++) {
          const ok = i % 2 ? out.writeLatin1('head ' + i + '\\r\\n') : out.write(Buffer.alloc(i * 300, i & 255));
          if (!ok) await new Promise((r) => s.once('drain', r));
        }
        out.flush();
        s.end();
      });`;
    const viaStream = execFileSync(process.execPath, ['--input-type=module', '-e', script], { env: { ...process.env, SKIFF_SOCKET_WRITES: 'stream' }, encoding: 'utf8' }).trim();
    const viaHandle = execFileSync(process.execPath, ['--input-type=module', '-e', script], { env: { ...process.env, SKIFF_SOCKET_WRITES: '' }, encoding: 'utf8' }).trim();
    const ps: Buffer[] = [];
    for (let i = 0; i < 200; i++) ps.push(i % 2 ? Buffer.from(`head ${i}\r\n`, 'latin1') : Buffer.alloc(i * 300, i & 255));
    assert.equal(viaStream, sha(Buffer.concat(ps)));
    assert.equal(viaHandle, viaStream);
  });
});

describe('socket output over TLS', () => {
  let tlsServer: tls.Server;
  const secured: tls.TLSSocket[] = [];

  before(async () => {
    const mesh = authority('mesh');
    const leaf = mesh.issue('output', ['DNS:output.test']);
    tlsServer = tls.createServer({ cert: leaf.cert, key: leaf.key }, (s) => secured.push(s));
    tlsServer.listen(0, '127.0.0.1');
    await once(tlsServer, 'listening');
  });
  after(() => tlsServer.close());

  async function tlsPair(): Promise<{ local: tls.TLSSocket; peer: tls.TLSSocket }> {
    const local = tls.connect({ port: (tlsServer.address() as net.AddressInfo).port, host: '127.0.0.1', servername: 'output.test', ca: authority('mesh').cert });
    await once(local, 'secureConnect');
    while (secured.length === 0) await new Promise((r) => setTimeout(r, 1));
    return { local, peer: secured.shift()! };
  }

  test('the writes of one turn leave together, as one TLS record', async () => {
    const { local, peer } = await tlsPair();
    const chunks: Buffer[] = [];
    peer.on('data', (c: Buffer) => chunks.push(c));
    const out = new SocketOutput(local);
    const ps = pieces(7).filter((p) => p.length < 16 * 1024);
    for (const p of ps) assert.equal(typeof p === 'string' ? out.writeLatin1(p) : out.write(p), true);
    const total = expected(ps);
    assert.equal(out.bufferedBytes, total.length, 'held until the end of the turn');
    await turn();
    local.end();
    await once(peer, 'end');
    assert.equal(sha(Buffer.concat(chunks)), sha(total));
    // Each TLS record is decrypted into one read: seven writes sent one by one would be seven.
    assert.equal(chunks.length, 1, `one record for the turn's ${ps.length} writes`);
  });

  test('a peer that stops reading: writes report backpressure, drain follows, every byte arrives in order', { timeout: 30_000 }, async () => {
    const { local, peer } = await tlsPair();
    peer.pause();
    const received = collect(peer);
    const out = new SocketOutput(local);
    const ps = pieces(1500);
    let refused = 0;
    setTimeout(() => peer.resume(), 100);
    for (const p of ps) {
      const ok = typeof p === 'string' ? out.writeLatin1(p) : out.write(p);
      if (!ok) {
        refused++;
        await once(local, 'drain');
      }
    }
    await turn();
    out.flush();
    local.end();
    await once(peer, 'end');
    assert.ok(refused > 0, 'backpressure reported while the peer did not read');
    assert.equal(sha(received()), sha(expected(ps)));
  });

  test('writes through the stream while a held turn is being written follow it, in order', async () => {
    const { local, peer } = await tlsPair();
    const received = collect(peer);
    const out = new SocketOutput(local);
    out.writeLatin1('one ');
    out.flush(); // written to the TLS layer, which completes it in a later turn
    local.write('two '); // the stream's write waits for it
    out.writeLatin1('three ');
    out.flush(); // the stream is busy: this goes after its write
    local.write(Buffer.alloc(40 * 1024, 0x34)); // more than one record, through the stream
    out.write(Buffer.from(' five'));
    await turn();
    await turn();
    out.writeLatin1(' six');
    out.flush();
    local.end();
    await once(peer, 'end');
    assert.equal(received().toString('latin1'), `one two three ${'4'.repeat(40 * 1024)} five six`);
  });

  test('flush before end: held bytes go before the close', async () => {
    const { local, peer } = await tlsPair();
    const received = collect(peer);
    const out = new SocketOutput(local);
    out.writeLatin1('HTTP/1.1 200 OK\r\ncontent-length: 5\r\nconnection: close\r\n\r\n');
    out.write(Buffer.from('hello'));
    out.flush();
    local.end();
    await once(peer, 'end');
    assert.equal(received().toString('latin1'), 'HTTP/1.1 200 OK\r\ncontent-length: 5\r\nconnection: close\r\n\r\nhello');
  });
});
