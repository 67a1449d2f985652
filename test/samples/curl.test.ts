/**
 * The curl stand-in as scripts see it: curl's exit codes and messages for each way a transfer
 * fails, produced by real servers that fail that way (a reset, a close without an answer, a port
 * nobody listens on, a TLS handshake that breaks, ...), `-D`/`--dump-header`, and `--help`.
 */
import assert from 'node:assert/strict';
import { mkdtempSync, readFileSync, rmSync } from 'node:fs';
import net from 'node:net';
import type { AddressInfo } from 'node:net';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { after, before, describe, test } from 'node:test';
import { closedPort, ENTRY, runClient, startApp, type App } from './helpers.js';

/** A raw TCP server that treats each connection with `onConnection`. */
async function rawServer(onConnection: (socket: net.Socket) => void): Promise<{ port: number; close(): Promise<void> }> {
  const sockets = new Set<net.Socket>();
  const server = net.createServer((socket) => {
    sockets.add(socket);
    socket.on('close', () => sockets.delete(socket));
    socket.on('error', () => undefined);
    onConnection(socket);
  });
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  return {
    port: (server.address() as AddressInfo).port,
    close: () =>
      new Promise((resolve) => {
        for (const s of sockets) s.destroy();
        server.close(() => resolve());
      }),
  };
}

/** Runs `curl -sS URL` against a server built from `onConnection` and returns the outcome. */
async function curlAgainst(scheme: 'http' | 'https', onConnection: (socket: net.Socket) => void, extra: string[] = []): Promise<{ code: number | null; stdout: string; stderr: string }> {
  const server = await rawServer(onConnection);
  try {
    return await runClient(ENTRY.curl, ['-sS', ...extra, `${scheme}://127.0.0.1:${server.port}/get`]);
  } finally {
    await server.close();
  }
}

/** Waits for the first bytes of the request (or ClientHello), then runs `then`. */
const afterRequest =
  (then: (socket: net.Socket) => void) =>
  (socket: net.Socket): void => {
    socket.once('data', () => then(socket));
  };

describe('curl exit codes and messages', () => {
  test('6: a host name that does not resolve', async () => {
    const res = await runClient(ENTRY.curl, ['-sS', 'http://no-such-host.invalid/']);
    assert.equal(res.code, 6);
    assert.equal(res.stderr, 'curl: (6) Could not resolve host: no-such-host.invalid\n');
  });

  test('7: a port nobody listens on', async () => {
    const port = await closedPort();
    const res = await runClient(ENTRY.curl, ['-sS', `http://127.0.0.1:${port}/`]);
    assert.equal(res.code, 7);
    assert.match(res.stderr, new RegExp(`^curl: \\(7\\) Failed to connect to 127\\.0\\.0\\.1 port ${port} after \\d+ ms: Couldn't connect to server\\n$`));
  });

  test('28: a server that never answers, under --max-time', async () => {
    const res = await curlAgainst('http', () => undefined, ['-m', '0.5']);
    assert.equal(res.code, 28);
    assert.match(res.stderr, /^curl: \(28\) Operation timed out after \d+ milliseconds with 0 bytes received\n$/);
  });

  test('35: a TLS handshake answered with plain HTTP, reset, or closed', async () => {
    const plain = await curlAgainst('https', afterRequest((s) => s.end('HTTP/1.1 400 Bad Request\r\n\r\n')));
    assert.equal(plain.code, 35);
    assert.equal(plain.stderr, 'curl: (35) TLS connect error: error:0A00010B:SSL routines::wrong version number\n');
    const reset = await curlAgainst('https', afterRequest((s) => s.resetAndDestroy()));
    assert.equal(reset.code, 35);
    assert.equal(reset.stderr, 'curl: (35) Recv failure: Connection reset by peer\n');
    const closed = await curlAgainst('https', afterRequest((s) => s.end()));
    assert.equal(closed.code, 35);
    assert.equal(closed.stderr, 'curl: (35) TLS connect error: error:0A000126:SSL routines::unexpected eof while reading\n');
  });

  test('52: a server that closes without answering', async () => {
    const res = await curlAgainst('http', afterRequest((s) => s.end()), ['-w', '%{http_code}']);
    assert.equal(res.code, 52);
    assert.equal(res.stderr, 'curl: (52) Empty reply from server\n');
    assert.equal(res.stdout, '000');
  });

  test('56: a server that resets the connection, before or during its answer', async () => {
    const atOnce = await curlAgainst('http', afterRequest((s) => s.resetAndDestroy()));
    assert.equal(atOnce.code, 56);
    assert.equal(atOnce.stderr, 'curl: (56) Recv failure: Connection reset by peer\n');
    const midBody = await curlAgainst(
      'http',
      afterRequest((s) => {
        s.write('HTTP/1.1 200 OK\r\ncontent-length: 100\r\n\r\nabc');
        setTimeout(() => s.resetAndDestroy(), 50);
      }),
    );
    assert.equal(midBody.code, 56);
    assert.equal(midBody.stderr, 'curl: (56) Recv failure: Connection reset by peer\n');
  });

  test('18: a body cut short by a clean close', async () => {
    const res = await curlAgainst(
      'http',
      afterRequest((s) => {
        s.write('HTTP/1.1 200 OK\r\ncontent-length: 100\r\n\r\nabc');
        setTimeout(() => s.end(), 50);
      }),
    );
    assert.equal(res.code, 18);
    assert.equal(res.stderr, 'curl: (18) end of response with 97 bytes missing\n');
  });

  test('1: a reply that is not HTTP', async () => {
    const res = await curlAgainst('http', afterRequest((s) => s.end('SSH-2.0-OpenSSH_9.6\r\n')));
    assert.equal(res.code, 1);
    assert.equal(res.stderr, 'curl: (1) Received HTTP/0.9 when not allowed\n');
  });

  test('-s alone keeps every failure quiet, with the exit code kept', async () => {
    const server = await rawServer(afterRequest((s) => s.resetAndDestroy()));
    try {
      const res = await runClient(ENTRY.curl, ['-s', `http://127.0.0.1:${server.port}/`]);
      assert.equal(res.code, 56);
      assert.equal(res.stderr, '');
    } finally {
      await server.close();
    }
  });
});

describe('curl -D and --help', () => {
  let httpbin: App;
  let base: string;
  const dir = mkdtempSync(join(tmpdir(), 'skiff-curl-'));
  before(async () => {
    httpbin = await startApp(ENTRY.httpbin);
    base = `http://127.0.0.1:${httpbin.port}`;
  });
  after(async () => {
    await httpbin.stop();
    rmSync(dir, { recursive: true, force: true });
  });

  test('-D - writes the response head to stdout before the body; -o keeps the body apart', async () => {
    const res = await runClient(ENTRY.curl, ['-s', '-D', '-', `${base}/status/418`]);
    assert.equal(res.code, 0);
    assert.match(res.stdout, /^HTTP\/1\.1 418 I'm a Teapot\r\n/);
    assert.match(res.stdout, /\r\nX-More-Info: http:\/\/tools\.ietf\.org\/html\/rfc2324\r\n/i);
    assert.ok(res.stdout.endsWith("\r\n\r\nI'm a teapot!"), res.stdout);
    const headOnly = await runClient(ENTRY.curl, ['-s', '-D', '-', '-o', '/dev/null', `${base}/get`]);
    assert.match(headOnly.stdout, /^HTTP\/1\.1 200 OK\r\n[\s\S]*\r\n\r\n$/);
    assert.ok(!headOnly.stdout.includes('"url"'));
  });

  test('--dump-header FILE records every head of a redirect chain', async () => {
    const file = join(dir, 'heads.txt');
    const res = await runClient(ENTRY.curl, ['-sL', '--dump-header', file, `${base}/redirect/2`]);
    assert.equal(res.code, 0);
    assert.equal(JSON.parse(res.stdout).url, `${base}/get`);
    const heads = readFileSync(file, 'latin1');
    assert.deepEqual(
      [...heads.matchAll(/^HTTP\/1\.1 (\d+)/gm)].map((m) => m[1]),
      ['302', '302', '200'],
    );
    assert.match(heads, /^Location: \/relative-redirect\/1\r$/im);
  });

  test('--help lists the options it knows and exits 0; -V names the version', async () => {
    const help = await runClient(ENTRY.curl, ['--help']);
    assert.equal(help.code, 0);
    assert.match(help.stdout, /^Usage: curl \[options\.\.\.\] <url>\n/);
    assert.match(help.stdout, /^ -D, --dump-header <filename> +Write the received headers to <filename>$/m);
    assert.match(help.stdout, /^ -s, --silent +Silent mode$/m);
    assert.equal((await runClient(ENTRY.curl, ['--help', 'all'])).code, 0);
    const version = await runClient(ENTRY.curl, ['-V']);
    assert.equal(version.code, 0);
    assert.match(version.stdout, /^curl 8\.16\.0 /);
  });
});
