/**
 * The admin endpoints Istio users reach for (Envoy's admin API shapes): `/config_dump`,
 * `/clusters`, `/stats`, `/listeners`, `/ready`, `/logging`, `/certs` (the workload certificate
 * and root in force and the snapshot's named secrets, `CertsDump`) on the admin port, and `/healthz/ready` on the health port. Off
 * the request path, so plain node:http serves them.
 */
import http from 'node:http';
import type { AddressInfo } from 'node:net';
import type { ProxySnapshot } from '../../snapshot/index.js';
import type { ClusterManager } from '../upstream/cluster-manager.js';
import { renderClusters } from './clusters-text.js';
import { proxyLogLevels } from './log-levels.js';
import { combineWorkerStats } from './worker-stats.js';
import { certsDump } from './certs.js';
import { configDump } from './secret-summary.js';
import type { IdentityState } from '../identity/workload-identity.js';

/** What the admin endpoints read of the proxy they serve (`SkiffProxy` is one). */
export interface AdminView {
  /** The snapshot in force, or null before the first. */
  readonly snapshot: ProxySnapshot | null;
  readonly ready: boolean;
  /** ms since the epoch. */
  readonly startedAt: number;
  readonly clusterManager: ClusterManager;
  listenerList(): readonly { readonly name: string; address(): AddressInfo }[];
  /** Every counter and gauge, with Envoy's names. */
  stats(): Map<string, number>;
  /** The workload certificate in force; null before one, undefined for a proxy without an identity. */
  readonly certificate: IdentityState | null | undefined;
}

export interface AdminServerOptions {
  adminPort: number | null;
  adminAddress: string;
  healthPort: number | null;
  healthAddress: string;
  /** With several workers: the other workers' stats, which `/stats` combines with this one's. */
  otherWorkersStats?: () => Promise<ReadonlyArray<ReadonlyMap<string, number>>>;
}

type Handler = (proxy: AdminView, url: URL, method: string) => { status: number; type: string; body: string };
/** The stats `/stats` shows: this worker's, or every worker's combined. */
type StatsOf = (proxy: AdminView) => Promise<ReadonlyMap<string, number>>;

const TEXT = 'text/plain; charset=UTF-8';

const ADMIN_ROUTES: Readonly<Record<string, Handler>> = {
  '/config_dump': (p) => ({ status: 200, type: 'application/json', body: `${JSON.stringify(configDump(p.snapshot), null, 2)}\n` }),
  '/clusters': (p) => ({ status: 200, type: TEXT, body: renderClusters(p.clusterManager) }),
  '/listeners': (p) => ({
    status: 200,
    type: TEXT,
    body: p
      .listenerList()
      .map((l) => `${l.name}::${l.address().address}:${l.address().port}\n`)
      .join(''),
  }),
  // Envoy's: GET lists the loggers; POST with `level=`, `NAME=` or `paths=` changes them first.
  '/logging': (_p, url, method) => {
    if (url.searchParams.size > 0) {
      if (method !== 'POST') return { status: 405, type: TEXT, body: 'changing log levels takes a POST\n' };
      const error = proxyLogLevels.applyQuery(url.searchParams);
      if (error !== undefined) return { status: 400, type: TEXT, body: `${error}\n${proxyLogLevels.render()}` };
    }
    return { status: 200, type: TEXT, body: proxyLogLevels.render() };
  },
  '/certs': (p) => ({ status: 200, type: 'application/json', body: `${JSON.stringify(certsDump(p.certificate, p.snapshot?.secrets), null, 2)}\n` }),
  '/ready': (p) => (p.ready ? { status: 200, type: TEXT, body: 'LIVE\n' } : { status: 503, type: TEXT, body: 'PRE_INITIALIZING\n' }),
  '/server_info': (p) => ({
    status: 200,
    type: 'application/json',
    body: `${JSON.stringify({ state: p.ready ? 'LIVE' : 'PRE_INITIALIZING', uptime_current_epoch: `${Math.floor((Date.now() - p.startedAt) / 1000)}s`, node: p.snapshot?.node ?? null }, null, 2)}\n`,
  }),
};

function renderStats(stats: ReadonlyMap<string, number>, filter: string | null): string {
  let re: RegExp | null = null;
  if (filter !== null && filter !== '') {
    try {
      re = new RegExp(filter);
    } catch {
      re = null;
    }
  }
  const lines: string[] = [];
  for (const [name, value] of [...stats].sort((a, b) => (a[0] < b[0] ? -1 : a[0] > b[0] ? 1 : 0))) {
    if (re === null || re.test(name)) lines.push(`${name}: ${value}`);
  }
  return lines.length === 0 ? '' : `${lines.join('\n')}\n`;
}

export class AdminServer {
  private constructor(
    private readonly admin: http.Server | null,
    private readonly health: http.Server | null,
  ) {}

  static async start(proxy: AdminView, opts: AdminServerOptions): Promise<AdminServer> {
    const others = opts.otherWorkersStats;
    const statsOf: StatsOf = others === undefined ? (p) => Promise.resolve(p.stats()) : async (p) => combineWorkerStats(p.stats(), await others());
    const admin = opts.adminPort === null ? null : await listen(adminHandler(proxy, statsOf), opts.adminPort, opts.adminAddress);
    let health: http.Server | null = null;
    try {
      health = opts.healthPort === null ? null : await listen(healthHandler(proxy), opts.healthPort, opts.healthAddress);
    } catch (err) {
      admin?.close();
      throw err;
    }
    return new AdminServer(admin, health);
  }

  adminAddress(): AddressInfo | null {
    return (this.admin?.address() as AddressInfo | null) ?? null;
  }

  healthAddress(): AddressInfo | null {
    return (this.health?.address() as AddressInfo | null) ?? null;
  }

  async close(): Promise<void> {
    await Promise.all([this.admin, this.health].map((s) => (s === null ? Promise.resolve() : closeServer(s))));
  }
}

function adminHandler(proxy: AdminView, statsOf: StatsOf): http.RequestListener {
  return (req, res) => {
    const url = new URL(req.url ?? '/', 'http://admin');
    if (url.pathname === '/stats') {
      void statsOf(proxy).then(
        (stats) => {
          res.writeHead(200, { 'content-type': TEXT });
          res.end(renderStats(stats, url.searchParams.get('filter')));
        },
        (err: unknown) => {
          res.writeHead(500, { 'content-type': TEXT });
          res.end(`stats unavailable: ${err instanceof Error ? err.message : String(err)}\n`);
        },
      );
      return;
    }
    const handler = ADMIN_ROUTES[url.pathname];
    if (handler === undefined) {
      res.writeHead(404, { 'content-type': TEXT });
      res.end(`invalid path. admin commands are:\n${[...Object.keys(ADMIN_ROUTES), '/stats'].sort().join('\n')}\n`);
      return;
    }
    const out = handler(proxy, url, req.method ?? 'GET');
    res.writeHead(out.status, { 'content-type': out.type });
    res.end(out.body);
  };
}

function healthHandler(proxy: AdminView): http.RequestListener {
  return (req, res) => {
    const path = (req.url ?? '/').split('?')[0];
    if (path !== '/healthz/ready') {
      res.writeHead(404);
      res.end();
      return;
    }
    res.writeHead(proxy.ready ? 200 : 503, { 'content-type': TEXT });
    res.end();
  };
}

function listen(handler: http.RequestListener, port: number, host: string): Promise<http.Server> {
  const server = http.createServer(handler);
  server.keepAliveTimeout = 5000;
  return new Promise((resolve, reject) => {
    server.once('error', reject);
    // Exclusive: under --concurrency the admin belongs to one worker, never shared through the primary.
    server.listen({ port, host, exclusive: true }, () => {
      server.removeListener('error', reject);
      resolve(server);
    });
  });
}

function closeServer(s: http.Server): Promise<void> {
  return new Promise((resolve) => {
    s.close(() => resolve());
    s.closeAllConnections();
  });
}
