/** tcp-echo: every line comes back prefixed, on each configured port, over one open connection. */
import assert from 'node:assert/strict';
import net from 'node:net';
import { test } from 'node:test';
import { ENTRY, eventually, runClient, startApp } from './helpers.js';

/** Opens a connection and returns helpers to send text and read what has arrived. */
async function connect(port: number): Promise<{ send(text: string): void; received(): string; until(text: string): Promise<string>; end(): Promise<string> }> {
  const socket = net.connect(port, '127.0.0.1');
  await new Promise<void>((resolve, reject) => socket.once('connect', resolve).once('error', reject));
  let data = '';
  socket.setEncoding('utf8').on('data', (d: string) => (data += d));
  const closed = new Promise<void>((resolve) => socket.once('close', () => resolve()));
  return {
    send: (text) => void socket.write(text),
    received: () => data,
    until: async (text) => {
      for (let i = 0; i < 500 && !data.includes(text); i++) await new Promise((r) => setTimeout(r, 10));
      return data;
    },
    end: async () => {
      socket.end();
      await closed;
      return data;
    },
  };
}

test('tcp-echo prefixes each line and keeps the connection open until the client closes', async () => {
  const app = await startApp(ENTRY.tcpEcho, { PORT: '', PORTS: '0,0' }, ['9000,9001,9002', 'one'], 2);
  try {
    assert.equal(app.ports.length, 2);
    for (const port of app.ports) {
      const conn = await connect(port);
      conn.send('hello\nwor');
      assert.equal(await conn.until('one hello\n'), 'one hello\n');
      conn.send('ld\n');
      assert.equal(await conn.until('one world\n'), 'one hello\none world\n');
      conn.send('no newline');
      // The unterminated last line gets no answer; the server closes when we do.
      assert.equal(await conn.end(), 'one hello\none world\n');
    }
    await eventually(() => app.stdout().includes('request: hello'));
    assert.match(app.stdout(), /request: hello/);
  } finally {
    await app.stop();
  }
});

test('tcp-echo takes PORT when PORTS is unset, and works with the nc client', async () => {
  const app = await startApp(ENTRY.tcpEcho, {}, ['9000', 'two']);
  try {
    assert.equal(app.ports.length, 1);
    const nc = await runClient(ENTRY.nc, ['127.0.0.1', String(app.port)], {}, 'Mon Nov 12 23:24:57 UTC 2022\n');
    assert.equal(nc.code, 0);
    assert.equal(nc.stdout, 'two Mon Nov 12 23:24:57 UTC 2022\n');
  } finally {
    await app.stop();
  }
});

test('tcp-echo rejects a malformed port list with a clear message', async () => {
  const res = await runClient(ENTRY.tcpEcho, ['90a0', 'x']);
  assert.equal(res.code, 2);
  assert.match(res.stderr, /ports argument="90a0" is not a comma-separated list of TCP ports/);
});
