/**
 * From a workload's spec and a replica's ports to what the replica runs: the app's argv and
 * environment (the container's env plus PORT, PORTS, HOST, HOSTNAME and the sidecar as
 * HTTP_PROXY), the sidecar's argv, and the environment `skiff exec` uses.
 */
import type { PodPorts } from './types.js';
import type { ReplicaPlan } from './replica-plan.js';
import type { WorkloadSpec } from './workload-spec.js';

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

/** Who a proxy serves, announced to the control plane in its hello (proxy-status shows it). */
export interface ProxyWorkload {
  name: string;
  namespace: string;
  serviceAccount: string;
  labels: Readonly<Record<string, string>>;
}

/** The argv of the proxy (sidecar or gateway) with id `id` and admin port `adminPort`. */
export function proxyArgv(skiff: readonly string[], controlPlaneUrl: string, id: string, adminPort: number, kind: 'sidecar' | 'gateway', workload: ProxyWorkload): string[] {
  const argv = [...skiff, 'proxy', '--control-plane', controlPlaneUrl, '--id', id, '--kind', kind];
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
  skiff: readonly string[];
  controlPlaneUrl: string;
}

export function workloadPlan(spec: WorkloadSpec, name: string, ports: PodPorts, ctx: PlanContext): ReplicaPlan {
  const container = spec.env(name);
  const appPorts = spec.ports.map((p) => ports.app[p.containerPort]);
  const proxyVars = ports.outbound === undefined ? {} : proxyVariables(ports.outbound);
  // The runtime's values win over the container's: a manifest's `HOST: 0.0.0.0` (common for
  // containers) must not expose the app, and its PORT is the container port, not the local one.
  const runtimeVars: Record<string, string> = { HOSTNAME: name, HOST: APP_HOST, ...proxyVars };
  if (appPorts.length > 0) {
    runtimeVars.PORT = String(appPorts[0]);
    runtimeVars.PORTS = appPorts.join(',');
  }
  const proxyId = `${name}.${spec.namespace}`;
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
    containerPorts: spec.ports,
    app: { argv: spec.argv, env: { ...ctx.baseEnv, ...container, ...runtimeVars }, probe: spec.probe, restartPolicy: spec.restartPolicy },
    proxyArgv:
      ports.admin === undefined
        ? undefined
        : proxyArgv(ctx.skiff, ctx.controlPlaneUrl, proxyId, ports.admin, 'sidecar', { name, namespace: spec.namespace, serviceAccount: spec.serviceAccount, labels: spec.labels }),
    proxyId: ports.admin === undefined ? undefined : proxyId,
    graceMs: spec.graceMs,
    execEnv: { ...container, HOSTNAME: name, HOST: APP_HOST, ...proxyVars },
    tools: spec.tools,
  };
}
