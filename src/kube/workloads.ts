/**
 * Workload instances from a Kubernetes API server: one `WorkloadInstance` per Pod that has an IP
 * and is not being deleted, published through the registry's `WorkloadSink` and removed when the
 * Pod goes. Its address is the Pod IP; its container ports are both its mesh and app ports (iptables
 * capture puts the sidecar in front of the very port the app listens on); it is ready when an
 * EndpointSlice lists it as a ready endpoint, as Istio reads readiness from EndpointSlices.
 *
 * A Pod labelled `security.istio.io/tlsMode: istio` (what injection writes) runs a sidecar: its
 * instance carries one (proxy id `<pod>.<namespace>`, as Istio's), which makes its endpoints
 * `tlsMode: istio`, so automatic mutual TLS originates ISTIO_MUTUAL to it and plaintext to pods
 * without, as Istio reads an endpoint's tlsMode from that label. A container named `istio-proxy`
 * alone does not make a sidecar: the ingress gateway's pod has one, serves plaintext and is a
 * workload instance like any other, its ports the proxy container's.
 *
 * A sidecar's pod whose traffic iptables captures (`capturedPod`) has its sidecar marked so
 * (`SidecarInfo.capture`): translation then writes the capture listeners 15001 and 15006.
 */
import type { PortMap, WorkloadInstance, WorkloadSink } from '../registry/types.js';
import type { KubeClient, KubeObject } from './client.js';
import { Informer } from './informer.js';
import type { InformerOptions } from './informer.js';

export interface KubeWorkloadsOptions {
  informer?: Pick<InformerOptions, 'watchTimeoutSeconds' | 'stallMs' | 'backoff'>;
  log?: (line: string) => void;
}

/** The label injection sets and Istio reads an endpoint's tlsMode from. */
export const TLS_MODE_LABEL = 'security.istio.io/tlsMode';

interface PodSpec {
  serviceAccountName?: string;
  initContainers?: Array<{ name: string; command?: string[]; args?: string[] }>;
  containers?: Array<{ name: string; ports?: Array<{ containerPort: number; name?: string; protocol?: string }> }>;
}

/** The annotation that sets how a pod's traffic reaches its sidecar: REDIRECT, TPROXY or NONE. */
export const INTERCEPTION_MODE_ANNOTATION = 'sidecar.istio.io/interceptionMode';

interface SliceEndpoint {
  conditions?: { ready?: boolean };
  targetRef?: { kind?: string; name?: string; namespace?: string };
}

/** Istio's ports of an injected sidecar: the outbound and inbound capture listeners and the admin port. */
const SIDECAR_OUTBOUND = 15001;
const SIDECAR_INBOUND = 15006;
const SIDECAR_ADMIN = 15000;

/**
 * Whether iptables captures the pod's traffic: the pod says so with the interception-mode
 * annotation (NONE: it does not), else it has the `istio-init` init container running
 * `iptables` (`skiff iptables`, Istio's `istio-iptables`), which injection adds. Only a pod with a
 * sidecar is asked.
 */
export function capturedPod(pod: KubeObject): boolean {
  const mode = pod.metadata.annotations?.[INTERCEPTION_MODE_ANNOTATION];
  if (mode !== undefined && mode !== '') return mode !== 'NONE';
  const spec = (pod.spec ?? {}) as PodSpec;
  return (spec.initContainers ?? []).some((c) => c.name === 'istio-init' && [...(c.command ?? []), ...(c.args ?? [])].some((a) => /(^|\/|-)iptables$/.test(a)));
}

const podKey = (namespace: string, name: string): string => `${namespace}/${name}`;

/** A Pod as a workload instance, or undefined while it has no IP or is going away. */
export function workloadOfPod(pod: KubeObject, ready: boolean): WorkloadInstance | undefined {
  const status = (pod.status ?? {}) as { podIP?: string };
  if (status.podIP === undefined || status.podIP === '' || pod.metadata.deletionTimestamp !== undefined) return undefined;
  const spec = (pod.spec ?? {}) as PodSpec;
  const namespace = pod.metadata.namespace ?? 'default';
  const sidecar = pod.metadata.labels?.[TLS_MODE_LABEL] === 'istio';
  const ports: PortMap = {};
  const names: Record<number, string> = {};
  for (const c of spec.containers ?? []) {
    // An injected sidecar's own ports (its metrics) are not the workload's.
    if (sidecar && c.name === 'istio-proxy') continue;
    for (const p of c.ports ?? []) {
      if ((p.protocol ?? 'TCP') !== 'TCP') continue;
      ports[p.containerPort] = p.containerPort;
      if (p.name !== undefined) names[p.containerPort] = p.name;
    }
  }
  return {
    name: pod.metadata.name,
    namespace,
    labels: { ...pod.metadata.labels },
    serviceAccount: spec.serviceAccountName ?? 'default',
    address: status.podIP,
    ready,
    meshPorts: { ...ports },
    appPorts: { ...ports },
    ...(Object.keys(names).length > 0 ? { containerPortNames: names } : {}),
    ...(sidecar
      ? {
          sidecar: {
            outboundPort: SIDECAR_OUTBOUND,
            adminPort: SIDECAR_ADMIN,
            proxyId: `${pod.metadata.name}.${namespace}`,
            ...(capturedPod(pod) ? { capture: { inboundPort: SIDECAR_INBOUND } } : {}),
          },
        }
      : {}),
  };
}

export class KubeWorkloads {
  readonly pods: Informer;
  readonly slices: Informer;
  /** EndpointSlice (`ns/name`) → the pods it lists, with their ready condition. */
  private readonly sliceReady = new Map<string, Map<string, boolean>>();
  /** What was published, to publish only changes. */
  private readonly published = new Map<string, string>();

  constructor(
    client: KubeClient,
    private readonly sink: WorkloadSink,
    opts: KubeWorkloadsOptions = {},
  ) {
    const common = { ...opts.informer, ...(opts.log !== undefined ? { log: opts.log } : {}) };
    this.pods = new Informer(client, { path: '/api/v1/pods', ...common });
    this.slices = new Informer(client, { path: '/apis/discovery.k8s.io/v1/endpointslices', ...common });
    this.pods.onChange((_type, pod) => this.refresh(pod.metadata.namespace ?? 'default', pod.metadata.name));
    this.slices.onChange((type, slice) => this.sliceChanged(type, slice));
  }

  async start(): Promise<void> {
    this.slices.start();
    this.pods.start();
    await Promise.all([this.slices.synced, this.pods.synced]);
  }

  async stop(): Promise<void> {
    await Promise.all([this.pods.stop(), this.slices.stop()]);
  }

  private ready(key: string): boolean {
    for (const pods of this.sliceReady.values()) if (pods.get(key) === true) return true;
    return false;
  }

  private sliceChanged(type: 'ADDED' | 'MODIFIED' | 'DELETED', slice: KubeObject): void {
    const sk = podKey(slice.metadata.namespace ?? 'default', slice.metadata.name);
    const before = this.sliceReady.get(sk) ?? new Map<string, boolean>();
    const now = new Map<string, boolean>();
    if (type !== 'DELETED') {
      for (const e of (slice.endpoints ?? []) as SliceEndpoint[]) {
        if (e.targetRef?.kind !== 'Pod' || e.targetRef.name === undefined) continue;
        const k = podKey(e.targetRef.namespace ?? slice.metadata.namespace ?? 'default', e.targetRef.name);
        // An absent ready condition means ready (the API's documented default).
        now.set(k, (now.get(k) ?? false) || e.conditions?.ready !== false);
      }
    }
    if (now.size > 0) this.sliceReady.set(sk, now);
    else this.sliceReady.delete(sk);
    for (const k of new Set([...before.keys(), ...now.keys()])) {
      const [ns, name] = k.split('/');
      this.refresh(ns, name);
    }
  }

  /** Publishes the pod's instance as the caches say now, or removes it. */
  private refresh(namespace: string, name: string): void {
    const k = podKey(namespace, name);
    const pod = this.pods.get(namespace, name);
    const instance = pod === undefined ? undefined : workloadOfPod(pod, this.ready(k));
    if (instance === undefined) {
      if (this.published.delete(k)) this.sink.removeWorkload(namespace, name);
      return;
    }
    const text = JSON.stringify(instance);
    if (this.published.get(k) === text) return;
    this.published.set(k, text);
    this.sink.upsertWorkload(instance);
  }
}
