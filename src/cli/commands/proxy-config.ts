/**
 * `skiff proxy-config listeners|routes|clusters|endpoints|secret|ratelimit|all WORKLOAD [-n NS] [-o json]`: one
 * proxy's configuration (and, for `secret`, its workload certificate and the mesh root) as it runs, read from the proxy's own admin endpoints (found through
 * skiffd's proxy status), like istioctl proxy-config; `all` is every table in turn (or, with
 * -o json, the whole snapshot with the endpoints' health). `proxy-config log WORKLOAD
 * [--level LEVEL | --level NAME:LEVEL,...] [-r]` shows, and sets, the proxy's log levels
 * through its admin `/logging` as istioctl does.
 */
import type { Command } from 'commander';
import { InvalidArgumentError } from 'commander';
import type { ProxyStatusReport } from '../../controlplane/push/status-handler.js';
import type { ProxySnapshot } from '../../snapshot/index.js';
import { DEFAULT_LOG_LEVEL, LOG_LEVELS, LOGGERS, isLogLevel, isLoggerName } from '../../proxy/admin/log-levels.js';
import type { CertsDump } from '../../proxy/admin/certs.js';
import { withStateDir } from '../state-dir-option.js';

type Section = 'listeners' | 'routes' | 'clusters' | 'endpoints' | 'all' | 'log' | 'secret' | 'ratelimit';

const SECTIONS: Readonly<Record<string, Section>> = {
  listeners: 'listeners',
  listener: 'listeners',
  l: 'listeners',
  routes: 'routes',
  route: 'routes',
  r: 'routes',
  clusters: 'clusters',
  cluster: 'clusters',
  c: 'clusters',
  endpoints: 'endpoints',
  endpoint: 'endpoints',
  ep: 'endpoints',
  all: 'all',
  log: 'log',
  logging: 'log',
  secret: 'secret',
  secrets: 'secret',
  s: 'secret',
  ratelimit: 'ratelimit',
  ratelimits: 'ratelimit',
  rl: 'ratelimit',
};

interface ProxyConfigOptions {
  namespace: string;
  output: 'table' | 'json';
  level?: string;
  reset?: boolean;
  stateDir?: string;
}

function section(value: string): Section {
  const s = SECTIONS[value];
  if (s === undefined) throw new InvalidArgumentError(`unknown config type "${value}" (use listeners, routes, clusters, endpoints, secret, ratelimit, all or log)`);
  return s;
}

/** `--level`: `LEVEL` for every logger, or `NAME:LEVEL,...`; as the admin's `/logging` query. */
function logLevels(value: string): string {
  const parts = value.split(',').map((p) => p.trim());
  if (parts.length === 1 && !parts[0].includes(':')) {
    if (!isLogLevel(parts[0])) throw new InvalidArgumentError(`unknown log level "${parts[0]}" (levels: ${LOG_LEVELS.join(', ')})`);
    return `level=${parts[0]}`;
  }
  for (const p of parts) {
    const [logger, level = ''] = p.split(':');
    if (!isLoggerName(logger)) throw new InvalidArgumentError(`unknown logger "${logger}" in "${p}" (loggers: ${LOGGERS.join(', ')})`);
    if (!isLogLevel(level)) throw new InvalidArgumentError(`unknown log level "${level}" in "${p}" (levels: ${LOG_LEVELS.join(', ')})`);
  }
  return `paths=${encodeURIComponent(parts.join(','))}`;
}

function output(value: string): 'table' | 'json' {
  if (value !== 'json' && value !== 'table') throw new InvalidArgumentError(`unknown output format "${value}" (use json)`);
  return value;
}

export function register(program: Command): void {
  withStateDir(
    program
      .command('proxy-config')
      .alias('pc')
      .description("Show a proxy's listeners, routes, clusters, endpoints, secrets (workload certificate and root) or rate-limit filters as it runs them, or its log levels (like istioctl proxy-config)")
      .argument('<type>', 'listeners, routes, clusters, endpoints, secret, ratelimit, all, or log', section)
      .argument('<workload>', 'pod name (POD or POD.NAMESPACE), node id, or deploy/NAME for any replica of a Deployment')
      .option('-n, --namespace <ns>', "the workload's namespace", 'default')
      .option('-o, --output <format>', 'json for the full configuration', output, 'table')
      .option('--level <levels>', `log: set every logger (LEVEL) or some (NAME:LEVEL,...); levels ${LOG_LEVELS.join(', ')}; loggers ${LOGGERS.join(', ')}`, logLevels)
      .option('-r, --reset', `log: every logger back to ${DEFAULT_LOG_LEVEL} (before --level)`),
  ).action(async (type: Section, workload: string, opts: ProxyConfigOptions) => {
    if (type !== 'log' && (opts.level !== undefined || opts.reset === true)) throw new InvalidArgumentError('--level and --reset go with proxy-config log');
    const { apiGet, apiRequest } = await import('../skiffd-client.js');
    const { PROXY_STATUS_PATH } = await import('../../controlplane/push/status-handler.js');
    const tables = await import('../proxy-tables.js');
    const report = await apiGet<ProxyStatusReport>(PROXY_STATUS_PATH, opts.stateDir);
    const proxy = tables.findProxy(report.proxies, workload, opts.namespace);
    if (proxy === undefined) {
      const known = report.proxies.map((p) => tables.proxyName(p)).join(', ') || 'none';
      throw new Error(`no proxy for workload "${workload}" in namespace "${opts.namespace}" is connected to skiffd (connected: ${known})`);
    }
    const name = tables.proxyName(proxy);
    if (proxy.adminUrl === undefined) throw new Error(`proxy ${name} announced no admin URL, so its configuration cannot be read`);
    const admin = proxy.adminUrl;
    const fetchAdmin = async (path: string): Promise<unknown> => {
      try {
        return await apiRequest({ apiUrl: admin }, 'GET', path);
      } catch (err) {
        throw new Error(`cannot read ${path} from proxy ${name} at ${admin}: ${err instanceof Error ? err.message : String(err)}`);
      }
    };
    if (type === 'log') {
      // istioctl's order: a reset first, then the levels asked for; the loggers as they then are.
      const postAdmin = (query: string): Promise<unknown> => apiRequest({ apiUrl: admin }, 'POST', `/logging?${query}`);
      try {
        if (opts.reset === true) await postAdmin(`level=${DEFAULT_LOG_LEVEL}`);
        if (opts.level !== undefined) await postAdmin(opts.level);
      } catch (err) {
        throw new Error(`cannot set the log levels of proxy ${name} at ${admin}: ${err instanceof Error ? err.message : String(err)}`);
      }
      const text = await fetchAdmin('/logging');
      process.stdout.write(typeof text === 'string' ? text : '');
      return;
    }
    if (type === 'secret') {
      const dump = (await fetchAdmin('/certs')) as CertsDump;
      if (typeof dump !== 'object' || dump === null || !Array.isArray(dump.secrets)) throw new Error(`proxy ${name} answered /certs with something else than its secrets`);
      if (!dump.identity && dump.secrets.length === 0 && opts.output !== 'json') throw new Error(`proxy ${name} runs without a workload identity (it was started without --credential-file), so it holds no secrets`);
      process.stdout.write(opts.output === 'json' ? `${JSON.stringify(dump, null, 2)}\n` : tables.secretsTable(dump));
      return;
    }
    const snap = (await fetchAdmin('/config_dump')) as ProxySnapshot;
    if (typeof snap !== 'object' || snap === null || !Array.isArray(snap.listeners)) {
      throw new Error(`proxy ${name} has no snapshot applied yet (its status: ${proxy.state})`);
    }
    let json: unknown;
    let table: string;
    switch (type) {
      case 'all': {
        const bound = await fetchAdmin('/listeners');
        const text = await fetchAdmin('/clusters');
        const health = tables.parseEndpointHealth(typeof text === 'string' ? text : '');
        json = { ...snap, endpoints: health };
        table = [
          tables.clustersTable(snap),
          tables.listenersTable(snap, tables.parseListenerAddresses(typeof bound === 'string' ? bound : '')),
          tables.routesTable(snap),
          tables.endpointsTable(health),
        ].join('\n');
        break;
      }
      case 'listeners': {
        const bound = await fetchAdmin('/listeners');
        json = snap.listeners;
        table = tables.listenersTable(snap, tables.parseListenerAddresses(typeof bound === 'string' ? bound : ''));
        break;
      }
      case 'routes':
        json = snap.routes;
        table = tables.routesTable(snap);
        break;
      case 'clusters':
        json = snap.clusters;
        table = tables.clustersTable(snap);
        break;
      case 'endpoints': {
        const text = await fetchAdmin('/clusters');
        const health = tables.parseEndpointHealth(typeof text === 'string' ? text : '');
        json = health;
        table = tables.endpointsTable(health);
        break;
      }
      case 'ratelimit': {
        // The listeners' rate-limit filters and the routes' and virtual hosts' own settings.
        json = (await import('../../controlplane/observe/ratelimit-listing.js')).rateLimitConfig(snap);
        table = (await import('../proxy-ratelimit-table.js')).rateLimitsTable(snap);
        break;
      }
    }
    process.stdout.write(opts.output === 'json' ? `${JSON.stringify(json, null, 2)}\n` : table);
  });
}
