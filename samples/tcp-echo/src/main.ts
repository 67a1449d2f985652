/**
 * tcp-echo: a TCP server that answers every newline-terminated line with `<prefix> <line>`,
 * keeping the connection open until the client closes it. Invoked like Istio's image,
 * `main.js "9000,9001,9002" "<prefix>"`. Under a local runtime the ports come from the
 * environment instead: PORTS (comma list) replaces the argument's list, or PORT alone means
 * that one port; HOST, when set, is the one address listened on (the runtime keeps apps on
 * loopback).
 */
import net from 'node:net';
import type { AddressInfo } from 'node:net';
import { exitOnSignals, hostFromEnv } from '../../lib/app-server.js';

function parsePorts(list: string, source: string): number[] {
  const ports = list.split(',').map((p) => p.trim()).filter((p) => p !== '').map(Number);
  if (ports.length === 0 || ports.some((p) => !Number.isInteger(p) || p < 0 || p > 65535)) {
    process.stderr.write(`tcp-echo: ${source}="${list}" is not a comma-separated list of TCP ports\n`);
    process.exit(2);
  }
  return ports;
}

const [portArg, prefixArg] = process.argv.slice(2);
const ports = process.env.PORTS
  ? parsePorts(process.env.PORTS, 'PORTS')
  : process.env.PORT
    ? parsePorts(process.env.PORT, 'PORT')
    : parsePorts(portArg ?? '9000', 'ports argument');
const prefix = prefixArg ?? process.env.TCP_ECHO_PREFIX ?? 'hello';
const host = hostFromEnv();

function serve(socket: net.Socket): void {
  let pending = '';
  socket.setEncoding('utf8');
  socket.on('data', (chunk: string) => {
    pending += chunk;
    let newline: number;
    while ((newline = pending.indexOf('\n')) >= 0) {
      const line = pending.slice(0, newline + 1);
      pending = pending.slice(newline + 1);
      process.stdout.write(`request: ${line}`);
      socket.write(`${prefix} ${line}`);
    }
  });
  // An unterminated last line is dropped, as the original does; the reply side closes with the client's.
  socket.on('end', () => socket.end());
  socket.on('error', () => socket.destroy());
}

const servers = ports.map((port) => {
  const server = net.createServer(serve);
  server.on('error', (err) => {
    process.stderr.write(`tcp-echo: cannot listen on port ${port}: ${err.message}\n`);
    process.exit(1);
  });
  server.listen(port, host, () => process.stdout.write(`tcp-echo listening on ${(server.address() as AddressInfo).port}, prefix: ${prefix}\n`));
  return server;
});

exitOnSignals('tcp-echo', (done) => {
  let open = servers.length;
  for (const server of servers) server.close(() => --open === 0 && done());
});
