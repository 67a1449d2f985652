/**
 * A quick loopback throughput check of the HTTP/1.1 data path (not a test): a raw-socket backend
 * serving a fixed 1 KB body, the real `skiff proxy` process in front of it, and a keep-alive
 * load generator. Prints requests/s direct and through the proxy, and the proxy's CPU per request.
 *
 * For a ratio that survives a noisy machine, the same load also runs through a minimal
 * node:http proxy (keep-alive agent), interleaved with Skiff's runs.
 *
 *   npm run build && node dist/bench/proxy-loopback.js [connections=50] [seconds=5]
 */
import { spawn } from 'node:child_process';
import { readFileSync, mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import net from 'node:net';
import { once } from 'node:events';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';

const connections = Number(process.argv[2] ?? 50);
const seconds = Number(process.argv[3] ?? 5);
const BODY = Buffer.alloc(1024, 0x78);
const RESPONSE = Buffer.concat([Buffer.from(`HTTP/1.1 200 OK\r\ncontent-type: text/plain\r\ncontent-length: ${BODY.length}\r\n\r\n`), BODY]);

async function startBackend(): Promise<net.Server> {
  const server = net.createServer((s) => {
    s.setNoDelay(true);
    let pending = '';
    s.on('data', (d: Buffer) => {
      pending += d.toString('latin1');
      let i: number;
      while ((i = pending.indexOf('\r\n\r\n')) >= 0) {
        pending = pending.slice(i + 4);
        s.write(RESPONSE);
      }
    });
    s.on('error', () => {});
  });
  server.listen(0, '127.0.0.1');
  await once(server, 'listening');
  return server;
}

/** Runs `connections` keep-alive clients for `seconds`; returns completed requests. */
async function load(port: number, host: string): Promise<number> {
  let done = 0;
  let stop = false;
  const request = Buffer.from(`GET /bench HTTP/1.1\r\nHost: ${host}\r\n\r\n`);
  const clients = Array.from({ length: connections }, async () => {
    const s = net.connect(port, '127.0.0.1');
    s.setNoDelay(true);
    await once(s, 'connect');
    let buffered = 0;
    let expect = -1;
    let head = '';
    await new Promise<void>((resolve) => {
      s.on('data', (d: Buffer) => {
        // Each response is a head with content-length 1024 followed by the body.
        let chunk = d;
        while (chunk.length > 0) {
          if (expect < 0) {
            head += chunk.toString('latin1');
            const end = head.indexOf('\r\n\r\n');
            if (end < 0) return;
            const m = /content-length: (\d+)/i.exec(head.slice(0, end));
            expect = m ? Number(m[1]) : 0;
            const rest = Buffer.from(head.slice(end + 4), 'latin1');
            head = '';
            buffered = 0;
            chunk = rest;
          }
          const take = Math.min(chunk.length, expect - buffered);
          buffered += take;
          chunk = chunk.subarray(take);
          if (buffered === expect) {
            done++;
            expect = -1;
            if (stop) {
              s.destroy();
              resolve();
              return;
            }
            s.write(request);
          }
        }
      });
      s.on('close', () => resolve());
      s.write(request);
    });
  });
  await new Promise((r) => setTimeout(r, seconds * 1000));
  stop = true;
  await Promise.race([Promise.all(clients), new Promise((r) => setTimeout(r, 2000))]);
  return done;
}

/** The idiomatic Node proxy the perf baseline measured: http.createServer + http.request with a keep-alive agent. */
const NODE_HTTP_PROXY = `
const http = require('node:http');
const agent = new http.Agent({ keepAlive: true, maxSockets: 64 });
const target = Number(process.argv[1]);
const server = http.createServer((req, res) => {
  const up = http.request({ host: '127.0.0.1', port: target, path: req.url, method: req.method, headers: req.headers, agent }, (r) => {
    res.writeHead(r.statusCode, r.headers);
    r.pipe(res);
  });
  up.on('error', () => { res.writeHead(502); res.end(); });
  req.pipe(up);
});
server.listen(0, '127.0.0.1', () => process.stderr.write('out=127.0.0.1:' + server.address().port + '\\n'));
`;

interface Measured {
  rps: number;
  cpuUsPerReq: number;
}

async function measure(pid: number, port: number): Promise<Measured> {
  await load(port, 'be'); // warm-up
  const before = cpuTicks(pid);
  const n = await load(port, 'be');
  const ticks = cpuTicks(pid) - before;
  return { rps: n / seconds, cpuUsPerReq: ((ticks / 100) * 1e6) / n }; // USER_HZ = 100
}

async function startProcess(args: string[]): Promise<{ pid: number; port: number; kill: () => void }> {
  const child = spawn(process.execPath, args, { stdio: ['ignore', 'ignore', 'pipe'] });
  let log = '';
  child.stderr.setEncoding('utf8').on('data', (d: string) => (log += d));
  while (!/out=127\.0\.0\.1:(\d+)/.test(log)) await new Promise((r) => setTimeout(r, 20));
  return { pid: child.pid!, port: Number(/out=127\.0\.0\.1:(\d+)/.exec(log)![1]), kill: () => child.kill('SIGKILL') };
}

function cpuTicks(pid: number): number {
  const fields = readFileSync(`/proc/${pid}/stat`, 'utf8').split(') ')[1].split(' ');
  return Number(fields[11]) + Number(fields[12]); // utime + stime (fields 14 and 15)
}

async function main(): Promise<void> {
  const backend = await startBackend();
  const backendPort = (backend.address() as net.AddressInfo).port;
  const dir = mkdtempSync(join(tmpdir(), 'skiff-bench-'));
  const file = join(dir, 'snapshot.json');
  writeFileSync(
    file,
    JSON.stringify({
      version: 'bench',
      node: { id: 'bench', kind: 'sidecar' },
      listeners: [{ name: 'out', address: '127.0.0.1', port: 0, direction: 'outbound', protocol: 'http', http: { routeConfig: 'r' } }],
      routes: [{ name: 'r', virtualHosts: [{ name: 'all', domains: ['*'], routes: [{ name: 'be', match: [], action: { type: 'route', destinations: [{ cluster: 'be', weight: 1 }] } }] }] }],
      clusters: [{ name: 'be', endpoints: [{ address: '127.0.0.1', port: backendPort }], lb: { policy: 'ROUND_ROBIN' } }],
    }),
  );
  const bin = fileURLToPath(new URL('../../bin/skiff.js', import.meta.url));
  const skiff = await startProcess([bin, 'proxy', '--snapshot', file, '--admin-port', '0', '--health-port', '0', '--health-address', '127.0.0.1']);
  const nodeHttp = await startProcess(['-e', NODE_HTTP_PROXY, String(backendPort)]);
  try {
    await load(backendPort, 'be'); // warm-up of the generator itself
    const direct = (await load(backendPort, 'be')) / seconds;
    const s1 = await measure(skiff.pid, skiff.port);
    const n1 = await measure(nodeHttp.pid, nodeHttp.port);
    const s2 = await measure(skiff.pid, skiff.port);
    const n2 = await measure(nodeHttp.pid, nodeHttp.port);
    const avg = (a: Measured, b: Measured): Measured => ({ rps: (a.rps + b.rps) / 2, cpuUsPerReq: (a.cpuUsPerReq + b.cpuUsPerReq) / 2 });
    const sk = avg(s1, s2);
    const nh = avg(n1, n2);
    process.stdout.write(
      `connections=${connections} seconds=${seconds} (two interleaved rounds each)\n` +
        `direct:      ${Math.round(direct)} req/s\n` +
        `skiff proxy: ${Math.round(sk.rps)} req/s, ${sk.cpuUsPerReq.toFixed(1)} µs CPU/req\n` +
        `node:http:   ${Math.round(nh.rps)} req/s, ${nh.cpuUsPerReq.toFixed(1)} µs CPU/req\n` +
        `skiff CPU per request is ${((100 * sk.cpuUsPerReq) / nh.cpuUsPerReq).toFixed(0)}% of node:http's\n`,
    );
  } finally {
    skiff.kill();
    nodeHttp.kill();
    backend.close();
    rmSync(dir, { recursive: true, force: true });
  }
}

await main();
