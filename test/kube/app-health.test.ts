/**
 * The kubelet's rewritten probes, answered by a real `skiff proxy` on its status port as Istio's
 * agent answers them: `/app-health/<container>/<probe>` runs the original probe from
 * `ISTIO_KUBE_APP_PROBERS` against a real app — an HTTP probe's status passed through, a TCP probe
 * 200 when the port accepts and 500 when not, a probe the app does not answer in time 500 — and
 * `skiff proxy wait` (as `pilot-agent wait`, what injection's postStart hook runs) exits 0 once
 * the proxy is ready and 1, saying why, when it is not within the timeout.
 */
import assert from 'node:assert/strict';
import { spawn } from 'node:child_process';
import type { ChildProcess } from 'node:child_process';
import { writeFileSync } from 'node:fs';
import http from 'node:http';
import net from 'node:net';
import type { AddressInfo } from 'node:net';
import { join } from 'node:path';
import { after, before, describe, it } from 'node:test';
import { runSkiff, skiffBin, stopProcess } from '../helpers/cli.js';
import { Disposer } from '../helpers/disposer.js';
import { cluster, eventually, forward, httpListener, routeConfig, snapshot } from '../proxy/helpers.js';

interface Answer {
  status: number;
  body: string;
}

function get(port: number, path: string, headers: Record<string, string> = {}): Promise<Answer> {
  return new Promise((resolve, reject) => {
    http
      .get({ host: '127.0.0.1', port, path, headers, agent: false }, (res) => {
        let body = '';
        res.setEncoding('utf8').on('data', (d: string) => (body += d));
        res.on('end', () => resolve({ status: res.statusCode ?? 0, body }));
      })
      .on('error', reject);
  });
}

const listen = (server: net.Server): Promise<number> => new Promise((resolve) => server.listen(0, '127.0.0.1', () => resolve((server.address() as AddressInfo).port)));

/** A port nothing listens on: taken, then released. */
async function closedPort(): Promise<number> {
  const s = net.createServer();
  const port = await listen(s);
  await new Promise((r) => s.close(r));
  return port;
}

describe("the proxy's status port answering the app's probes", () => {
  let dir: string;
  let app: http.Server;
  let tcp: net.Server;
  let proxy: ChildProcess | undefined;
  let out = '';
  let statusPort = 0;
  let healthPort = 0;
  /** What the app's readiness says; the test flips it. */
  let readyStatus = 200;
  const seen: Array<{ path: string; userAgent: string | undefined; header: string | undefined; from: string | undefined }> = [];

  const disposer = new Disposer();
  before(disposer.setup(async () => {
    dir = disposer.tempDir('skiff-app-health-');
    app = http.createServer((req, res) => {
      seen.push({ path: req.url ?? '', userAgent: req.headers['user-agent'], header: req.headers['x-probe'] as string | undefined, from: req.socket.remoteAddress });
      if (req.url === '/ready') {
        res.writeHead(readyStatus, { 'content-type': 'text/plain' });
        res.end(readyStatus === 200 ? 'ok\n' : 'warming up\n');
      } else if (req.url === '/slow') {
        // Never answers: the probe's timeout decides.
      } else {
        res.writeHead(200);
        res.end('alive\n');
      }
    });
    disposer.add(app, (s) => new Promise((r) => s.close(r)));
    const appPort = await listen(app);
    tcp = disposer.add(net.createServer((s) => s.end()), (s) => new Promise((r) => s.close(r)));
    const tcpPort = await listen(tcp);
    const gone = await closedPort();
    const probers = {
      '/app-health/web/readyz': { httpGet: { path: '/ready', port: appPort, scheme: 'HTTP', httpHeaders: [{ name: 'X-Probe', value: 'kubelet' }] }, timeoutSeconds: 2 },
      '/app-health/web/livez': { httpGet: { path: '/slow', port: appPort }, timeoutSeconds: 1 },
      '/app-health/db/readyz': { tcpSocket: { port: tcpPort } },
      '/app-health/db/livez': { tcpSocket: { port: gone } },
    };
    const file = join(dir, 'snapshot.json');
    writeFileSync(file, JSON.stringify(snapshot({ version: '1', listeners: [httpListener('out', 'r')], routes: [routeConfig('r', [{ name: 'all', domains: ['*'], routes: [forward('a', 'svc')] }])], clusters: [cluster('svc', [appPort])] })));
    proxy = spawn(
      process.execPath,
      [skiffBin, 'proxy', '--snapshot', file, '--admin-port', '0', '--health-port', '0', '--health-address', '127.0.0.1', '--metrics-port', '0', '--metrics-address', '127.0.0.1', '--concurrency', '1', '--drain-ms', '100'],
      { stdio: ['ignore', 'pipe', 'pipe'], env: { ...process.env, ISTIO_KUBE_APP_PROBERS: JSON.stringify(probers), INSTANCE_IP: '127.0.0.1' } },
    );
    disposer.add(proxy, (p) => stopProcess(p));
    proxy.stderr!.setEncoding('utf8').on('data', (d: string) => (out += d));
    await eventually(() => /metrics on 127\.0\.0\.1:\d+/.test(out) && /health on [\d.]+:\d+/.test(out), 30_000, 'the proxy to start');
    statusPort = Number(/metrics on 127\.0\.0\.1:(\d+)/.exec(out)![1]);
    healthPort = Number(/health on [\d.]+:(\d+)/.exec(out)![1]);
  }));

  after(() => disposer.drain());

  it("passes an HTTP probe's status through, with the probe's headers and the kubelet's User-Agent, from the passthrough source", async () => {
    assert.deepEqual(await get(statusPort, '/app-health/web/readyz', { 'user-agent': 'kube-probe/1.30' }), { status: 200, body: 'ok\n' });
    // 127.0.0.6: the source Istio's capture rules let through to the app rather than to the inbound listener.
    assert.deepEqual(seen.at(-1), { path: '/ready', userAgent: 'kube-probe/1.30', header: 'kubelet', from: '127.0.0.6' });
    readyStatus = 503;
    assert.deepEqual(await get(statusPort, '/app-health/web/readyz'), { status: 503, body: 'warming up\n' });
    readyStatus = 200;
  });

  it('answers 500 when the app does not answer within the probe’s timeout', async () => {
    const r = await get(statusPort, '/app-health/web/livez');
    assert.equal(r.status, 500);
    assert.match(r.body, /probe HTTP GET 127\.0\.0\.1:\d+\/slow failed: no answer within 1000 ms/);
  });

  it('answers a TCP probe 200 when the port accepts a connection and 500 when it does not', async () => {
    assert.equal((await get(statusPort, '/app-health/db/readyz')).status, 200);
    const r = await get(statusPort, '/app-health/db/livez');
    assert.equal(r.status, 500);
    assert.match(r.body, /probe tcp 127\.0\.0\.1:\d+ failed: ECONNREFUSED/);
  });

  it('answers 404 for a probe it was not given, and keeps serving metrics on the same port', async () => {
    const r = await get(statusPort, '/app-health/other/readyz');
    assert.equal(r.status, 404);
    assert.match(r.body, /no app probe is configured for \/app-health\/other\/readyz/);
    assert.equal((await get(statusPort, '/stats/prometheus')).status, 200);
  });

  it('skiff proxy wait exits 0 once the proxy is ready', async () => {
    const r = await runSkiff(['proxy', 'wait', '--url', `http://127.0.0.1:${healthPort}/healthz/ready`, '--timeoutSeconds', '20'], { timeoutMs: 60_000 });
    assert.equal(r.code, 0, r.stderr);
    assert.match(r.stdout, /Waiting for the proxy to be ready \(timeout: 20 seconds\)\.\.\.\nThe proxy is ready!/);
  });

  it('skiff proxy wait exits 1 with the last error when nothing is ready in time', async () => {
    const notReady = http.createServer((_req, res) => {
      res.writeHead(503);
      res.end();
    });
    const port = await listen(notReady);
    try {
      const r = await runSkiff(['proxy', 'wait', '--url', `http://127.0.0.1:${port}/healthz/ready`, '--timeoutSeconds', '1', '--periodMillis', '100'], { timeoutMs: 60_000 });
      assert.equal(r.code, 1);
      assert.match(r.stderr, /timeout waiting for the proxy to become ready\. Last error: HTTP status code 503/);
    } finally {
      await new Promise((r) => notReady.close(r));
    }
    const gone = await closedPort();
    const r = await runSkiff(['proxy', 'wait', '--url', `http://127.0.0.1:${gone}/healthz/ready`, '--timeoutSeconds', '1', '--periodMillis', '100'], { timeoutMs: 60_000 });
    assert.equal(r.code, 1);
    assert.match(r.stderr, /Last error: ECONNREFUSED/);
  });

  it('refuses to start on probers it cannot use, naming the entry', async () => {
    const file = join(dir, 'snapshot.json');
    const r = await runSkiff(['proxy', '--snapshot', file, '--admin-port', '0', '--health-port', '0', '--metrics-port', '0'], {
      env: { ISTIO_KUBE_APP_PROBERS: JSON.stringify({ '/app-health/web/readyz': { httpGet: { path: '/ready', port: 'http' } } }) },
      timeoutMs: 60_000,
    });
    assert.notEqual(r.code, 0);
    assert.match(r.stderr, /ISTIO_KUBE_APP_PROBERS\["\/app-health\/web\/readyz"\]\.httpGet\.port: "http" is not a port number/);
  });
});
