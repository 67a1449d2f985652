/**
 * Readiness of a replica's app, as the kubelet judges it: the container's `readinessProbe`
 * (httpGet or tcpSocket, against the app's local port) with its delay, period and thresholds;
 * without a probe, ready once every app port accepts connections.
 */
import http from 'node:http';
import https from 'node:https';
import net from 'node:net';
import type { Probe } from '../api/kinds/kube/container.js';

export interface ProbeTarget {
  /** Container port → local app port. */
  appPorts: Readonly<Record<number, number>>;
  /** Container port name → container port. */
  portNames: Readonly<Record<string, number>>;
}

export interface ProbeResult {
  ok: boolean;
  reason?: string;
}

/** The local port for a probe's `port` (number or name); undeclared numbers fall back to the first app port. */
function localPort(port: number | string, target: ProbeTarget): number | undefined {
  const containerPort = typeof port === 'number' ? port : target.portNames[port];
  if (containerPort !== undefined && target.appPorts[containerPort] !== undefined) return target.appPorts[containerPort];
  // The app listens on PORT, not on the number the manifest probes.
  return Object.values(target.appPorts)[0];
}

function tcpCheck(port: number, timeoutMs: number): Promise<ProbeResult> {
  return new Promise((resolve) => {
    const socket = net.connect({ host: '127.0.0.1', port });
    const finish = (result: ProbeResult): void => {
      socket.destroy();
      resolve(result);
    };
    socket.setTimeout(timeoutMs, () => finish({ ok: false, reason: `port ${port}: no connection within ${timeoutMs} ms` }));
    socket.once('connect', () => finish({ ok: true }));
    socket.once('error', (err: NodeJS.ErrnoException) => finish({ ok: false, reason: `port ${port}: ${err.code ?? err.message}` }));
  });
}

function httpCheck(get: NonNullable<Probe['httpGet']>, port: number, timeoutMs: number): Promise<ProbeResult> {
  const scheme = get.scheme === 'HTTPS' ? https : http;
  const headers: Record<string, string> = { 'user-agent': 'kube-probe/1.30' };
  for (const h of get.httpHeaders ?? []) headers[h.name] = h.value;
  return new Promise((resolve) => {
    const req = scheme.request(
      { host: '127.0.0.1', port, path: get.path ?? '/', method: 'GET', headers, agent: false, rejectUnauthorized: false },
      (res) => {
        res.resume();
        const status = res.statusCode ?? 0;
        resolve(status >= 200 && status < 400 ? { ok: true } : { ok: false, reason: `HTTP probe failed with statuscode: ${status}` });
      },
    );
    req.setTimeout(timeoutMs, () => req.destroy(new Error(`timeout after ${timeoutMs} ms`)));
    req.once('error', (err: NodeJS.ErrnoException) => resolve({ ok: false, reason: `Get ${get.path ?? '/'} on port ${port}: ${err.code ?? err.message}` }));
    req.end();
  });
}

/** One check: the probe when it is an httpGet or tcpSocket probe, else every app port accepting connections. */
export async function probeOnce(probe: Probe | undefined, target: ProbeTarget): Promise<ProbeResult> {
  const timeoutMs = (probe?.timeoutSeconds ?? 1) * 1000;
  if (probe?.httpGet) {
    const port = localPort(probe.httpGet.port, target);
    if (port === undefined) return { ok: false, reason: `probe port ${probe.httpGet.port} is not a port of the container` };
    return httpCheck(probe.httpGet, port, timeoutMs);
  }
  if (probe?.tcpSocket) {
    const port = localPort(probe.tcpSocket.port, target);
    if (port === undefined) return { ok: false, reason: `probe port ${probe.tcpSocket.port} is not a port of the container` };
    return tcpCheck(port, timeoutMs);
  }
  for (const port of Object.values(target.appPorts)) {
    const r = await tcpCheck(port, timeoutMs);
    // The usual cause: an app listening on its container port rather than on PORT.
    if (!r.ok) return { ok: false, reason: `${r.reason ?? `port ${port}`} (the app should listen on PORT/PORTS)` };
  }
  return { ok: true };
}

/** Until the first success, checks this often (a pod should not wait a whole period to start serving). */
const STARTUP_INTERVAL_MS = 200;

/** Runs the probe periodically and reports each change of readiness. */
export class ReadinessLoop {
  private timer: NodeJS.Timeout | undefined;
  private stopped = false;
  private ready = false;
  private successes = 0;
  private failures = 0;
  private everReady = false;

  constructor(
    private readonly probe: Probe | undefined,
    private readonly target: ProbeTarget,
    private readonly onChange: (ready: boolean, reason?: string) => void,
  ) {}

  start(): void {
    const delay = (this.probe?.initialDelaySeconds ?? 0) * 1000;
    this.schedule(delay);
  }

  stop(): void {
    this.stopped = true;
    if (this.timer) clearTimeout(this.timer);
  }

  private schedule(ms: number): void {
    if (this.stopped) return;
    this.timer = setTimeout(() => void this.check(), ms);
  }

  private async check(): Promise<void> {
    const result = await probeOnce(this.probe, this.target);
    if (this.stopped) return;
    const successThreshold = this.probe?.successThreshold ?? 1;
    const failureThreshold = this.probe?.failureThreshold ?? 3;
    if (result.ok) {
      this.failures = 0;
      this.successes++;
      if (!this.ready && this.successes >= successThreshold) {
        this.ready = true;
        this.everReady = true;
        this.onChange(true);
      }
    } else {
      this.successes = 0;
      this.failures++;
      // Before the first success a failure only means "not yet"; afterwards the threshold applies.
      if (this.ready && this.failures >= failureThreshold) {
        this.ready = false;
        this.onChange(false, result.reason);
      } else if (!this.everReady) {
        this.onChange(false, result.reason);
      }
    }
    // Without a probe, a ready app stays ready while it runs (the kubelet's rule); no more checks.
    if (this.probe === undefined && this.ready) return;
    const period = (this.probe?.periodSeconds ?? 10) * 1000;
    this.schedule(this.everReady ? period : Math.min(period, STARTUP_INTERVAL_MS));
  }
}
