/**
 * The kubelet's probes of an injected pod's app containers, answered on the proxy's status port
 * (15020) as Istio's agent answers them: injection rewrote each container's HTTP and TCP probes to
 * `GET /app-health/<container>/<livez|readyz|startupz>` on that port and kept the originals in
 * `ISTIO_KUBE_APP_PROBERS`; the proxy runs the original against the app and answers with what it
 * got — an HTTP probe's status code (and up to 10 KiB of body) passed through, 500 when the app
 * cannot be reached or does not answer within the probe's timeout; a TCP probe 200 when the
 * port accepts a connection, else 500. Probes reach the app directly: from the proxy's uid and,
 * to an IPv4 address, from 127.0.0.6 (Istio's inbound passthrough source), which the capture
 * rules return rather than redirect to the inbound listener — so a strict mTLS policy does not
 * refuse the kubelet.
 *
 * Off the request path (one probe every few seconds): plain node:http and node:net.
 */
import http from 'node:http';
import https from 'node:https';
import net from 'node:net';

/** The original probe, as the injector keeps it. */
export interface AppProber {
  httpGet?: { path?: string; port: number; host?: string; scheme?: 'HTTP' | 'HTTPS'; httpHeaders?: Array<{ name: string; value: string }> };
  tcpSocket?: { port: number; host?: string };
  /** The kubelet's default is 1 s. */
  timeoutSeconds?: number;
}

/** `ISTIO_KUBE_APP_PROBERS`, or a prober in it, that cannot be used; the message names which. */
export class AppProberError extends Error {
  override name = 'AppProberError';
}

export const APP_PROBERS_ENV = 'ISTIO_KUBE_APP_PROBERS';
const PROBE_PATH = /^\/app-health\/[^/]+\/(livez|readyz|startupz)$/;
const BODY_LIMIT = 10 * 1024;
/** The source istio-iptables lets through to the app unredirected (`-s 127.0.0.6/32 -o lo -j RETURN`). */
const PASSTHROUGH_SOURCE = '127.0.0.6';
const sourceFor = (host: string): { localAddress?: string } => (net.isIPv4(host) ? { localAddress: PASSTHROUGH_SOURCE } : {});

const isObject = (v: unknown): v is Record<string, unknown> => typeof v === 'object' && v !== null && !Array.isArray(v);
const isPort = (v: unknown): v is number => typeof v === 'number' && Number.isInteger(v) && v > 0 && v < 65536;

/** Parses and checks the probers, as the agent does at start: a bad one is an error naming it. */
export function parseAppProbers(text: string, where = APP_PROBERS_ENV): Map<string, AppProber> {
  let raw: unknown;
  try {
    raw = JSON.parse(text);
  } catch (err) {
    throw new AppProberError(`${where} is not JSON: ${err instanceof Error ? err.message : String(err)}`);
  }
  if (!isObject(raw)) throw new AppProberError(`${where} must be a JSON object of probe paths to probes`);
  const out = new Map<string, AppProber>();
  for (const [path, value] of Object.entries(raw)) {
    const at = `${where}[${JSON.stringify(path)}]`;
    if (!PROBE_PATH.test(path)) throw new AppProberError(`${at}: the path must be /app-health/<container>/livez, readyz or startupz`);
    if (!isObject(value)) throw new AppProberError(`${at}: a probe must be an object with httpGet or tcpSocket`);
    const timeout = value.timeoutSeconds;
    if (timeout !== undefined && (typeof timeout !== 'number' || !(timeout > 0))) throw new AppProberError(`${at}.timeoutSeconds: must be a positive number`);
    const prober: AppProber = timeout !== undefined ? { timeoutSeconds: timeout } : {};
    if (isObject(value.httpGet)) {
      const g = value.httpGet;
      if (!isPort(g.port)) throw new AppProberError(`${at}.httpGet.port: ${JSON.stringify(g.port)} is not a port number`);
      if (g.scheme !== undefined && g.scheme !== 'HTTP' && g.scheme !== 'HTTPS') throw new AppProberError(`${at}.httpGet.scheme: ${JSON.stringify(g.scheme)} is neither HTTP nor HTTPS`);
      const headers = Array.isArray(g.httpHeaders) ? g.httpHeaders.filter(isObject).map((h) => ({ name: String(h.name), value: String(h.value) })) : undefined;
      prober.httpGet = {
        port: g.port,
        ...(typeof g.path === 'string' ? { path: g.path } : {}),
        ...(typeof g.host === 'string' && g.host !== '' ? { host: g.host } : {}),
        ...(g.scheme !== undefined ? { scheme: g.scheme } : {}),
        ...(headers !== undefined ? { httpHeaders: headers } : {}),
      };
    } else if (isObject(value.tcpSocket)) {
      const t = value.tcpSocket;
      if (!isPort(t.port)) throw new AppProberError(`${at}.tcpSocket.port: ${JSON.stringify(t.port)} is not a port number`);
      prober.tcpSocket = { port: t.port, ...(typeof t.host === 'string' && t.host !== '' ? { host: t.host } : {}) };
    } else {
      throw new AppProberError(`${at}: a probe must have httpGet or tcpSocket`);
    }
    out.set(path, prober);
  }
  return out;
}

/**
 * A handler for the status port: answers `/app-health/…` (true) by running its probe against
 * `appHost` (the pod's IP, as Istio's agent probes it) unless the probe names its own host, and
 * leaves every other path to the caller (false).
 */
export function appProbeHandler(probers: ReadonlyMap<string, AppProber>, appHost: string): (req: http.IncomingMessage, res: http.ServerResponse) => boolean {
  return (req, res) => {
    const path = (req.url ?? '/').split('?')[0];
    if (!path.startsWith('/app-health/')) return false;
    const prober = probers.get(path);
    if (prober === undefined) {
      res.writeHead(404, { 'content-type': 'text/plain' });
      res.end(`no app probe is configured for ${path}\n`);
      return true;
    }
    const timeoutMs = (prober.timeoutSeconds ?? 1) * 1000;
    if (prober.httpGet !== undefined) probeHttp(prober.httpGet, prober.httpGet.host ?? appHost, timeoutMs, req, res);
    else if (prober.tcpSocket !== undefined) probeTcp(prober.tcpSocket.port, prober.tcpSocket.host ?? appHost, timeoutMs, res);
    return true;
  };
}

function fail(res: http.ServerResponse, why: string): void {
  if (res.headersSent) return;
  res.writeHead(500, { 'content-type': 'text/plain' });
  res.end(`${why}\n`);
}

function probeHttp(get: NonNullable<AppProber['httpGet']>, host: string, timeoutMs: number, req: http.IncomingMessage, res: http.ServerResponse): void {
  const headers: Record<string, string> = {};
  // The kubelet's User-Agent (kube-probe/…) reaches the app, as the agent forwards it.
  if (typeof req.headers['user-agent'] === 'string') headers['user-agent'] = req.headers['user-agent'];
  for (const h of get.httpHeaders ?? []) headers[h.name.toLowerCase()] = h.value;
  const lib = get.scheme === 'HTTPS' ? https : http;
  const path = get.path === undefined || get.path === '' ? '/' : get.path.startsWith('/') ? get.path : `/${get.path}`;
  const appReq = lib.request({ host, port: get.port, path, method: 'GET', headers, timeout: timeoutMs, agent: false, ...sourceFor(host), ...(get.scheme === 'HTTPS' ? { rejectUnauthorized: false } : {}) }, (appRes) => {
    // The app's status is the probe's answer; its body (bounded) helps whoever reads the pod's events.
    const chunks: Buffer[] = [];
    let size = 0;
    appRes.on('data', (d: Buffer) => {
      if (size < BODY_LIMIT) chunks.push(d.subarray(0, BODY_LIMIT - size));
      size += d.length;
    });
    appRes.on('end', () => {
      res.writeHead(appRes.statusCode ?? 500, { 'content-type': appRes.headers['content-type'] ?? 'text/plain' });
      res.end(Buffer.concat(chunks));
    });
    appRes.on('error', (err) => fail(res, `the app's answer to ${get.scheme ?? 'HTTP'} GET ${host}:${get.port}${path} broke off: ${err.message}`));
  });
  appReq.on('timeout', () => appReq.destroy(new Error(`no answer within ${timeoutMs} ms`)));
  appReq.on('error', (err: NodeJS.ErrnoException) => fail(res, `probe ${get.scheme ?? 'HTTP'} GET ${host}:${get.port}${path} failed: ${err.code ?? err.message}`));
  appReq.end();
}

function probeTcp(port: number, host: string, timeoutMs: number, res: http.ServerResponse): void {
  const socket = net.connect({ host, port, ...sourceFor(host) });
  socket.setTimeout(timeoutMs, () => socket.destroy(new Error(`no connection within ${timeoutMs} ms`)));
  socket.once('connect', () => {
    socket.destroy();
    res.writeHead(200, { 'content-type': 'text/plain' });
    res.end(`tcp ${host}:${port} accepts connections\n`);
  });
  socket.once('error', (err: NodeJS.ErrnoException) => fail(res, `probe tcp ${host}:${port} failed: ${err.code ?? err.message}`));
}
