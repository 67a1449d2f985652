/**
 * `skiff authz check WORKLOAD` (like `istioctl x authz check`): the AuthorizationPolicies and
 * their rules in force on a workload's proxy, and its JWT rules, read from the proxy's own
 * configuration. `skiff authz explain WORKLOAD [--method M] [--path P] [-H k:v] [--port N]
 * [--from-principal P | --from NS/SA] [--source-ip IP] [--request-principal ISS/SUB] [--claim k=v]
 * [--tcp]`: whether the proxy allows such a request, and the policy and rule that decide it,
 * evaluated by the proxy's own authorization engine on its configuration.
 */
import type { Command } from 'commander';
import { InvalidArgumentError } from 'commander';
import type { ProxyStatusReport } from '../../controlplane/push/status-handler.js';
import type { ProxySnapshot } from '../../snapshot/index.js';
import { withStateDir } from '../state-dir-option.js';

interface CommonOptions {
  namespace: string;
  stateDir?: string;
}

interface ExplainOptions extends CommonOptions {
  method: string;
  path: string;
  host?: string;
  header: Record<string, string>;
  port?: number;
  fromPrincipal?: string;
  from?: string;
  trustDomain: string;
  sourceIp: string;
  requestPrincipal?: string;
  claim: Record<string, unknown>;
  tcp?: boolean;
}

/** The snapshot the workload's proxy runs, read from its admin `/config_dump`. */
async function runningSnapshot(workload: string, opts: CommonOptions): Promise<ProxySnapshot> {
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
  const snap = (await apiRequest({ apiUrl: proxy.adminUrl }, 'GET', '/config_dump')) as ProxySnapshot;
  if (typeof snap !== 'object' || snap === null || !Array.isArray(snap.listeners)) throw new Error(`proxy ${name} has no snapshot applied yet (its status: ${proxy.state})`);
  return snap;
}

function keyValue(sep: string, what: string) {
  return (value: string, previous: Record<string, string> = {}): Record<string, string> => {
    const at = value.indexOf(sep);
    if (at <= 0) throw new InvalidArgumentError(`${what} "${value}" is not NAME${sep}VALUE`);
    return { ...previous, [value.slice(0, at).trim()]: value.slice(at + 1).trim() };
  };
}

function port(value: string): number {
  const n = Number(value);
  if (!Number.isInteger(n) || n < 1 || n > 65535) throw new InvalidArgumentError(`"${value}" is not a port`);
  return n;
}

export function register(program: Command): void {
  const authz = program.command('authz').description('Inspect the authorization a workload\'s proxy enforces (like istioctl x authz)');
  withStateDir(
    authz
      .command('check')
      .description('List the AuthorizationPolicies and rules (and JWT rules) in force on a workload\'s proxy')
      .argument('<workload>', 'pod name (POD or POD.NAMESPACE), node id, or deploy/NAME for any replica of a Deployment')
      .option('-n, --namespace <ns>', "the workload's namespace", 'default'),
  ).action(async (workload: string, opts: CommonOptions) => {
    const { checkReport } = await import('../authz-report.js');
    process.stdout.write(checkReport(await runningSnapshot(workload, opts)));
  });
  withStateDir(
    authz
      .command('explain')
      .description('Say whether a workload\'s proxy allows a request, and which policy and rule decide it')
      .argument('<workload>', 'pod name (POD or POD.NAMESPACE), node id, or deploy/NAME for any replica of a Deployment')
      .option('-n, --namespace <ns>', "the workload's namespace", 'default')
      .option('--method <method>', 'HTTP method', 'GET')
      .option('--path <path>', 'request path', '/')
      .option('--host <host>', 'Host / :authority')
      .option('-H, --header <name:value>', 'a request header (repeatable)', keyValue(':', 'header'), {})
      .option('--port <port>', 'the port policies name (default: the workload\'s first port)', port)
      .option('--from-principal <principal>', 'the caller\'s identity (cluster.local/ns/NS/sa/SA); none: a plaintext caller')
      .option('--from <ns/sa>', 'the caller\'s namespace and service account')
      .option('--trust-domain <domain>', 'trust domain of --from', 'cluster.local')
      .option('--source-ip <ip>', 'the caller\'s address', '127.0.0.1')
      .option('--request-principal <iss/sub>', 'the principal of a verified JWT')
      .option('--claim <name=value>', 'a claim of the verified JWT (repeatable; a,b for a list)', keyValue('=', 'claim'), {})
      .option('--tcp', 'a TCP connection instead of an HTTP request'),
  ).action(async (workload: string, opts: ExplainOptions) => {
    const { explainRequest } = await import('../authz-report.js');
    let principal = opts.fromPrincipal?.replace(/^spiffe:\/\//, '') ?? null;
    if (opts.from !== undefined) {
      const [ns, sa] = opts.from.split('/');
      if (ns === undefined || sa === undefined || ns === '' || sa === '') throw new InvalidArgumentError(`--from "${opts.from}" is not NAMESPACE/SERVICE_ACCOUNT`);
      principal = `${opts.trustDomain}/ns/${ns}/sa/${sa}`;
    }
    const claims: Record<string, unknown> = {};
    for (const [k, v] of Object.entries(opts.claim)) claims[k] = String(v).includes(',') ? String(v).split(',') : v;
    const e = explainRequest(await runningSnapshot(workload, opts), {
      tcp: opts.tcp === true,
      method: opts.method.toUpperCase(),
      path: opts.path,
      host: opts.host ?? workload,
      headers: opts.header,
      port: opts.port ?? null,
      sourceIp: opts.sourceIp,
      principal,
      requestPrincipal: opts.requestPrincipal ?? null,
      claims,
    });
    process.stdout.write(`${e.decision}: ${e.reason}\n${e.trace.map((t) => `  ${t}\n`).join('')}`);
  });
}
