/**
 * The runtime's pods as Kubernetes Pod objects, for `skiff get pods -o json|yaml|jsonpath` and
 * `skiff describe pod`: what kubectl users read (`metadata.name`, `metadata.labels`,
 * `status.phase`, `status.podIP`, `status.containerStatuses`...). Each container port's
 * `hostPort` is the local port clients reach it on (its sidecar's inbound port), `hostIP` the
 * loopback address every pod shares.
 */
import type { PodPhase, PodStatus } from '../runtime/types.js';

const LOOPBACK = '127.0.0.1';
/** The sidecar's container name, as Istio injects it. */
export const PROXY_CONTAINER = 'istio-proxy';

/** Kubernetes' pod phase for a STATUS: waiting containers leave a pod Pending, a crash-looping one Running. */
export function podPhase(status: PodPhase): 'Pending' | 'Running' | 'Succeeded' | 'Failed' {
  switch (status) {
    case 'Running':
    case 'CrashLoopBackOff':
    case 'Terminating':
      return 'Running';
    case 'Completed':
      return 'Succeeded';
    case 'Error':
      return 'Failed';
    case 'Pending':
    case 'ImageNotMapped':
    case 'CreateContainerConfigError':
      return 'Pending';
  }
}

/** True when the pod runs a sidecar beside its app. */
export function hasSidecar(p: PodStatus): boolean {
  return p.kind === 'workload' && p.ports.outbound !== undefined;
}

type ContainerState = { running: { startedAt: string } } | { waiting: { reason: string; message?: string } } | { terminated: { reason: string; exitCode: number } };

function appState(p: PodStatus): ContainerState {
  switch (p.status) {
    case 'Running':
    case 'Terminating':
      return { running: { startedAt: p.startedAt } };
    case 'Completed':
      return { terminated: { reason: 'Completed', exitCode: 0 } };
    case 'Error':
      return { terminated: { reason: 'Error', exitCode: Number(/exit code (\d+)/.exec(p.reason ?? '')?.[1] ?? 1) } };
    default:
      return { waiting: { reason: p.status === 'Pending' ? 'ContainerCreating' : p.status, ...(p.reason !== undefined ? { message: p.reason } : {}) } };
  }
}

function appPorts(p: PodStatus): { containerPort: number; hostPort: number; hostIP: string; protocol: 'TCP' }[] {
  return Object.entries(p.ports.mesh).map(([container, mesh]) => ({ containerPort: Number(container), hostPort: mesh, hostIP: LOOPBACK, protocol: 'TCP' }));
}

/** One pod as Kubernetes' API would return it. */
export function podObject(p: PodStatus): Record<string, unknown> {
  const gateway = p.kind === 'gateway';
  const appName = gateway ? PROXY_CONTAINER : (p.container ?? 'app');
  const containers: Record<string, unknown>[] = [{ name: appName, ...(p.image !== undefined ? { image: p.image } : {}), ports: appPorts(p) }];
  const statuses: Record<string, unknown>[] = [
    { name: appName, ...(p.image !== undefined ? { image: p.image } : {}), ready: p.ready, restartCount: p.restarts, started: p.pids.app !== undefined || p.pids.proxy !== undefined, state: appState(p) },
  ];
  if (hasSidecar(p)) {
    containers.push({ name: PROXY_CONTAINER, ports: p.ports.admin !== undefined ? [{ name: 'admin', containerPort: p.ports.admin, protocol: 'TCP' }] : [] });
    const running = p.pids.proxy !== undefined;
    statuses.push({ name: PROXY_CONTAINER, ready: p.ready, restartCount: 0, started: running, state: running ? { running: { startedAt: p.startedAt } } : { waiting: { reason: 'PodInitializing' } } });
  }
  const hash = p.labels['pod-template-hash'];
  const owner = p.deployment !== undefined ? [{ apiVersion: 'apps/v1', kind: 'ReplicaSet', name: hash !== undefined ? `${p.deployment}-${hash}` : p.deployment, controller: true }] : undefined;
  const ready = p.ready ? 'True' : 'False';
  return {
    apiVersion: 'v1',
    kind: 'Pod',
    metadata: { name: p.name, namespace: p.namespace, labels: p.labels, creationTimestamp: p.startedAt, ...(owner !== undefined ? { ownerReferences: owner } : {}) },
    spec: { serviceAccountName: p.serviceAccount, containers },
    status: {
      phase: podPhase(p.status),
      conditions: [
        { type: 'Ready', status: ready },
        { type: 'ContainersReady', status: ready },
      ],
      hostIP: LOOPBACK,
      podIP: LOOPBACK,
      podIPs: [{ ip: LOOPBACK }],
      startTime: p.startedAt,
      containerStatuses: statuses,
    },
  };
}
