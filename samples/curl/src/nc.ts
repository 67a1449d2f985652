/**
 * A minimal netcat client (`nc [-w seconds] HOST PORT`): sends stdin to a TCP server and prints
 * what comes back, closing its sending side at the end of stdin and exiting when the server
 * closes. Enough for Istio's TCP tasks (`(date; sleep 1) | nc host port`). Plain TCP does not
 * go through HTTP_PROXY.
 */
import net from 'node:net';

function usage(message: string): never {
  process.stderr.write(`nc: ${message}\nusage: nc [-w seconds] HOST PORT\n`);
  process.exit(1);
}

const args = process.argv.slice(2);
let idleMs: number | undefined;
const positional: string[] = [];
for (let i = 0; i < args.length; i++) {
  const arg = args[i];
  if (arg === '-w') {
    const secs = Number(args[++i]);
    if (!Number.isFinite(secs) || secs <= 0) usage(`-w needs a positive number of seconds`);
    idleMs = secs * 1000;
  } else if (arg === '-v' || arg === '-N' || arg === '-q0') continue;
  else if (arg.startsWith('-')) usage(`unsupported option ${arg}`);
  else positional.push(arg);
}
const [host, portText] = positional;
const port = Number(portText);
if (host === undefined || !Number.isInteger(port) || port <= 0 || port > 65535) usage('expected HOST and PORT');

const socket = net.connect({ host, port, allowHalfOpen: true });
if (idleMs !== undefined) {
  socket.setTimeout(idleMs, () => socket.destroy());
}
socket.on('connect', () => process.stdin.pipe(socket));
socket.on('data', (chunk) => process.stdout.write(chunk));
socket.on('error', (err) => {
  process.stderr.write(`nc: ${host}:${port}: ${err.message}\n`);
  process.exitCode = 1;
});
socket.on('close', () => process.exit());
