/**
 * What the control-plane benchmark and its child processes (skiffd, simulated proxies) tell each
 * other over the IPC channel of `fork`, and the mesh they build: names shared by both sides.
 */

/** Parent → simulated-proxy process. */
export type SimCommand =
  | { cmd: 'connect'; url: string; ids: string[] }
  /** Remember each proxy's acknowledged version; report once every proxy acknowledged a newer one. */
  | { cmd: 'arm' }
  | { cmd: 'close' };

/** Simulated-proxy process → parent. Times are ms since the epoch (one clock: same machine). */
export type SimEvent =
  | { event: 'started' }
  | { event: 'synced'; lastAckAt: number; snapshotBytes: number }
  | { event: 'armed' }
  /** `messageBytes`: the largest message (characters) that brought the change, complete snapshot or delta. */
  | { event: 'acked'; lastAckAt: number; messageBytes: number }
  | { event: 'error'; message: string };

/** Parent → skiffd process. */
export type SkiffdCommand = { cmd: 'stop' };

/** skiffd process → parent. */
export type SkiffdEvent = { event: 'ready'; apiUrl: string; apiToken: string; pushUrl: string } | { event: 'error'; message: string };

/** The namespace every benchmark service and workload lives in. */
export const BENCH_NAMESPACE = 'bench';
export const SERVICE_PORT = 9080;

export const serviceName = (i: number): string => `svc-${i}`;
export const workloadName = (i: number): string => `wl-${i}`;
/** The node id of the sidecar of workload `i` (`name.namespace`, as the registry's sidecar.proxyId). */
export const proxyId = (i: number): string => `${workloadName(i)}.${BENCH_NAMESPACE}`;

/** `count` Kubernetes Services, `svc-<i>` selecting `app: svc-<i>`, as one multi-document YAML. */
export function servicesYaml(count: number): string {
  const docs: string[] = [];
  for (let i = 0; i < count; i++) {
    docs.push(
      `apiVersion: v1\nkind: Service\nmetadata:\n  name: ${serviceName(i)}\n  namespace: ${BENCH_NAMESPACE}\n` +
        `spec:\n  selector:\n    app: ${serviceName(i)}\n  ports:\n  - name: http\n    port: ${SERVICE_PORT}\n    targetPort: ${SERVICE_PORT}\n`,
    );
  }
  return docs.join('---\n');
}

/**
 * A VirtualService on `svc-0` whose route timeout is `timeoutS`: every sidecar routes to svc-0,
 * so changing the timeout changes every proxy's snapshot.
 */
export function virtualServiceYaml(timeoutS: number): string {
  return (
    `apiVersion: networking.istio.io/v1\nkind: VirtualService\nmetadata:\n  name: ${serviceName(0)}\n  namespace: ${BENCH_NAMESPACE}\n` +
    `spec:\n  hosts: [${serviceName(0)}]\n  http:\n  - timeout: ${timeoutS}s\n    route:\n    - destination:\n        host: ${serviceName(0)}\n`
  );
}
