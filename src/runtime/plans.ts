/**
 * From a workload's spec and a replica's ports to what the replica runs: the app's argv and
 * environment (the container's env plus PORT, PORTS, HOST, HOSTNAME, the sidecar as HTTP_PROXY
 * and its local service ports), the sidecar's argv, and the environment `skiff exec` uses.
 */
import type { Resource } from '../api/types.js';
import { serviceFromResource } from '../registry/kube.js';
import type { LocalServicePort } from '../registry/types.js';
import type { PodPorts } from './types.js';
import type { ReplicaPlan } from './replica-plan.js';
import type { WorkloadSpec } from './workload-spec.js';
import { expandRefs } from './env.js';
import { podRoot, rewriteMountPaths } from './volumes.js';

/** The host's environment without proxy settings (each process gets its own) or a stray PORT. */
export function baseEnvironment(env: NodeJS.ProcessEnv = process.env): Record<string, string> {
  const out: Record<string, string> = {};
  for (const [k, v] of Object.entries(env)) {
    if (v === undefined || /^(https?|no|all)_proxy$/i.test(k) || k === 'PORT' || k === 'PORTS') continue;
    out[k] = v;
  }
  return out;
}

/**
 * The variables that send an app's outbound traffic through its sidecar. Loopback is exempt:
 * as in a pod, localhost traffic does not pass the sidecar.
 */
export function proxyVariables(outboundPort: number): Record<string, string> {
  const proxy = `http://127.0.0.1:${outboundPort}`;
  const noProxy = 'localhost,127.0.0.1,::1';
  return { HTTP_PROXY: proxy, http_proxy: proxy, HTTPS_PROXY: proxy, https_proxy: proxy, NO_PROXY: noProxy, no_proxy: noProxy };
}

/** A service port a pod's sidecar serves on a loopback port of its own. */
export type ServicePortRef = Omit<LocalServicePort, 'localPort'>;

/**
 * The service ports a pod in `namespace` gets local ports for: every TCP port of every Service
 * of its namespace, in declaration order — the Services Kubernetes names in a pod's environment.
 */
export function servicePortsFor(services: readonly Resource[], namespace: string): ServicePortRef[] {
  const out: ServicePortRef[] = [];
  for (const r of services) {
    const svc = serviceFromResource(r);
    if (svc.namespace !== namespace) continue;
    for (const p of svc.ports) {
      if (p.protocol !== 'TCP') continue;
      out.push(p.name === undefined ? { service: svc.name, port: p.port } : { service: svc.name, port: p.port, portName: p.name });
    }
  }
  return out;
}

/** Kubernetes' form of a name in an environment variable: `ratings-v2` → `RATINGS_V2`. */
function envName(name: string): string {
  return name.toUpperCase().replace(/[-.]/g, '_');
}

/**
 * For clients that ignore HTTP_PROXY: where the sidecar serves each service locally, named as
 * Kubernetes names a service's address with `_LOCAL` added (`HTTPBIN_SERVICE_LOCAL_HOST`,
 * `HTTPBIN_SERVICE_LOCAL_PORT` for its first port, `HTTPBIN_SERVICE_LOCAL_PORT_HTTP` by port
 * name). Kubernetes' own `HTTPBIN_SERVICE_PORT` is not set: clients that go through HTTP_PROXY,
 * Bookinfo's among them, read it as the service port to put in the URL.
 */
export function localServiceVariables(services: readonly LocalServicePort[]): Record<string, string> {
  const out: Record<string, string> = {};
  for (const s of services) {
    const prefix = `${envName(s.service)}_SERVICE_LOCAL`;
    if (out[`${prefix}_PORT`] === undefined) {
      out[`${prefix}_HOST`] = APP_HOST;
      out[`${prefix}_PORT`] = String(s.localPort);
    }
    if (s.portName !== undefined) out[`${prefix}_PORT_${envName(s.portName)}`] = String(s.localPort);
  }
  return out;
}

/** Who a proxy serves, announced to the control plane in its hello (proxy-status shows it). */
export interface ProxyWorkload {
  name: string;
  namespace: string;
  serviceAccount: string;
  labels: Readonly<Record<string, string>>;
}

/** The argv of the proxy (sidecar or gateway) with id `id` and admin port `adminPort`. */
export function proxyArgv(
  skiff: readonly string[],
  controlPlaneUrl: string,
  id: string,
  adminPort: number,
  kind: 'sidecar' | 'gateway',
  workload: ProxyWorkload,
  credentialFile?: string,
): string[] {
  const argv = [...skiff, 'proxy', '--control-plane', controlPlaneUrl, '--id', id, '--kind', kind];
  // The pod's bootstrap token: the proxy proves its workload with it to get its certificate.
  if (credentialFile !== undefined) argv.push('--credential-file', credentialFile);
  argv.push('--workload', workload.name, '--namespace', workload.namespace, '--service-account', workload.serviceAccount);
  for (const [k, v] of Object.entries(workload.labels)) argv.push('--label', `${k}=${v}`);
  // Many proxies share the machine: each gets its own admin port, and its health and metrics
  // ports from the OS (the metrics URL reaches skiffd in the proxy's hello), all on loopback.
  argv.push('--admin-port', String(adminPort), '--health-port', '0', '--health-address', '127.0.0.1', '--drain-ms', '2000');
  argv.push('--metrics-port', '0', '--metrics-address', '127.0.0.1');
  // One worker each: a laptop runs dozens of proxies, and a second worker per proxy would double
  // their memory for throughput a local mesh never needs (docs/performance.md).
  argv.push('--concurrency', '1');
  return argv;
}

/**
 * Where apps listen. In a pod the app's port is reachable only through the pod's network, which
 * the sidecar fronts; on one machine that is loopback: an app listening on every interface would
 * answer on the machine's external address past its sidecar and every policy it enforces.
 */
export const APP_HOST = '127.0.0.1';

export interface PlanContext {
  baseEnv: Record<string, string>;
  /** Where replicas' root directories (their volumes) go. */
  stateDir: string;
  skiff: readonly string[];
  controlPlaneUrl: string;
  /** The pod's credential file (`credentials.ts`), when its proxy gets a workload certificate. */
  credentialFile?: string;
  /** For a pod without a sidecar: its namespace's service proxy (`service-proxy.ts`), the app's HTTP_PROXY. */
  serviceProxyPort?: number;
}

export function workloadPlan(spec: WorkloadSpec, name: string, ports: PodPorts, ctx: PlanContext): ReplicaPlan {
  const container = spec.env(name);
  const appPorts = spec.ports.map((p) => ports.app[p.containerPort]);
  const proxyVars = ports.outbound !== undefined ? proxyVariables(ports.outbound) : ctx.serviceProxyPort !== undefined ? proxyVariables(ctx.serviceProxyPort) : {};
  // Like Kubernetes' service variables, the container's own env wins over these.
  const serviceVars = localServiceVariables(ports.services ?? []);
  // The runtime's values win over the container's: a manifest's `HOST: 0.0.0.0` (common for
  // containers) must not expose the app, and its PORT is the container port, not the local one.
  const runtimeVars: Record<string, string> = { HOSTNAME: name, HOST: APP_HOST, ...proxyVars };
  if (appPorts.length > 0) {
    runtimeVars.PORT = String(appPorts[0]);
    runtimeVars.PORTS = appPorts.join(',');
  }
  const proxyId = `${name}.${spec.namespace}`;
  let env: Record<string, string> = { ...ctx.baseEnv, ...serviceVars, ...container, ...runtimeVars };
  // As the kubelet expands $(VAR) in a container's command and args (here also the image map's
  // command, so `redis-server --port $(PORT)` listens where the runtime put it).
  let argv = spec.argv.map((a) => (a.includes('$(') ? expandRefs(a, env) : a));
  let files: { root: string; volumes: WorkloadSpec['volumes'] } | undefined;
  if (spec.volumes.length > 0) {
    // Mount paths in the env and argv become the replica's real directories (volumes.ts).
    const root = podRoot(ctx.stateDir, spec.namespace, name);
    files = { root, volumes: spec.volumes };
    argv = argv.map((a) => rewriteMountPaths(a, root, spec.volumes));
    env = Object.fromEntries(Object.entries(env).map(([k, v]) => [k, k in container ? rewriteMountPaths(v, root, spec.volumes) : v]));
    env.SKIFF_POD_ROOT = root;
  }
  return {
    name,
    namespace: spec.namespace,
    kind: 'workload',
    owner: spec.key,
    deployment: spec.kind === 'Deployment' ? spec.name : undefined,
    hash: spec.hash,
    labels: spec.labels,
    serviceAccount: spec.serviceAccount,
    image: spec.image,
    containerName: spec.containerName,
    containerPorts: spec.ports,
    app: { argv, env, probe: spec.probe, restartPolicy: spec.restartPolicy, ...(files === undefined ? {} : { files }) },
    proxyArgv:
      ports.admin === undefined
        ? undefined
        : proxyArgv(ctx.skiff, ctx.controlPlaneUrl, proxyId, ports.admin, 'sidecar', { name, namespace: spec.namespace, serviceAccount: spec.serviceAccount, labels: spec.labels }, ctx.credentialFile),
    proxyId: ports.admin === undefined ? undefined : proxyId,
    graceMs: spec.graceMs,
    execEnv: { ...serviceVars, ...container, HOSTNAME: name, HOST: APP_HOST, ...proxyVars },
    tools: spec.tools,
  };
}
