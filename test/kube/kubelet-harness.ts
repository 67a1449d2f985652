/**
 * The parts of a cluster the fake API server does not play, for tests that run a mesh on it:
 * the controllers and the kubelet, each working through the API as the real ones do (informers
 * to read, requests to write), so the admission webhooks see what they would see.
 *
 * - Deployment controller (and ReplicaSet's part): each Deployment gets `spec.replicas` Pods from
 *   its template, created through the API — so the injection webhook injects them — named
 *   `<deployment>-<template hash>-<random>`, labelled `pod-template-hash`, owned by the
 *   ReplicaSet `<deployment>-<hash>`.
 * - Kubelet: each Pod gets an IP from `podCidr` and is reported Running and Ready (status
 *   subresource), its containers listed by name; `onPodRunning` lets the test start what the pod
 *   runs (its app, its proxy) when it does.
 * - EndpointSlice controller: each Service with a selector gets one EndpointSlice
 *   (`kubernetes.io/service-name`) of the Pods it selects that have an IP, ready as their Ready
 *   condition, ports resolved from the Service's `targetPort` (a name through the container ports).
 */
import { createHash } from 'node:crypto';
import { KubeApiError, KubeClient } from '../../src/kube/client.js';
import type { KubeObject } from '../../src/kube/client.js';
import { Informer } from '../../src/kube/informer.js';

interface PodSpecLike {
  containers?: Array<{ name: string; ports?: Array<{ containerPort: number; name?: string; protocol?: string }> }>;
  initContainers?: Array<{ name: string; restartPolicy?: string }>;
}

export interface KubeletHarnessOptions {
  /** The first three octets of the pods' addresses, e.g. `10.244.0`. */
  podCidr: string;
  /** Called once per Pod when it is reported running, with its IP. */
  onPodRunning?: (pod: KubeObject, ip: string) => void;
  log?: (line: string) => void;
}

const labelsMatch = (selector: Record<string, string>, labels: Record<string, string> | undefined): boolean =>
  Object.keys(selector).length > 0 && Object.entries(selector).every(([k, v]) => labels?.[k] === v);

export class KubeletHarness {
  private readonly client: KubeClient;
  private readonly deployments: Informer;
  private readonly pods: Informer;
  private readonly services: Informer;
  private readonly slices: Informer;
  private nextIp = 10;
  private readonly running = new Set<string>();
  private timer: NodeJS.Timeout | undefined;
  private busy = false;
  private readonly log: (line: string) => void;

  constructor(
    server: string,
    private readonly opts: KubeletHarnessOptions,
  ) {
    this.client = new KubeClient({ server, origin: 'kubelet harness', token: () => 'kubelet' });
    this.log = opts.log ?? (() => undefined);
    this.deployments = new Informer(this.client, { path: '/apis/apps/v1/deployments' });
    this.pods = new Informer(this.client, { path: '/api/v1/pods' });
    this.services = new Informer(this.client, { path: '/api/v1/services' });
    this.slices = new Informer(this.client, { path: '/apis/discovery.k8s.io/v1/endpointslices' });
  }

  async start(): Promise<void> {
    for (const i of this.informers()) i.start();
    await Promise.all(this.informers().map((i) => i.synced));
    // A reconcile loop, as controllers resync: simple, and every pass reads the informers' caches.
    this.timer = setInterval(() => void this.reconcile(), 200);
  }

  async stop(): Promise<void> {
    clearInterval(this.timer);
    await Promise.all(this.informers().map((i) => i.stop()));
    this.client.close();
  }

  private informers(): Informer[] {
    return [this.deployments, this.pods, this.services, this.slices];
  }

  /** The pods of a namespace as the API server has them now. */
  podsOf(namespace: string): KubeObject[] {
    return this.pods.list().filter((p) => p.metadata.namespace === namespace);
  }

  private async reconcile(): Promise<void> {
    if (this.busy) return;
    this.busy = true;
    try {
      for (const d of this.deployments.list()) await this.scale(d);
      for (const p of this.pods.list()) await this.runPod(p);
      for (const s of this.services.list()) await this.writeSlice(s);
    } catch (err) {
      this.log(`harness: ${err instanceof Error ? err.message : String(err)}`);
    } finally {
      this.busy = false;
    }
  }

  private async scale(d: KubeObject): Promise<void> {
    const ns = d.metadata.namespace ?? 'default';
    const spec = d.spec as { replicas?: number; template: { metadata?: { labels?: Record<string, string>; annotations?: Record<string, string> }; spec: unknown } };
    const hash = createHash('sha256').update(JSON.stringify(spec.template)).digest('hex').slice(0, 10);
    const rs = `${d.metadata.name}-${hash}`;
    const owned = this.pods.list().filter((p) => p.metadata.namespace === ns && (p.metadata.ownerReferences as Array<{ name: string }> | undefined)?.some((o) => o.name === rs));
    for (let i = owned.length; i < (spec.replicas ?? 1); i++) {
      const pod = {
        apiVersion: 'v1',
        kind: 'Pod',
        metadata: {
          generateName: `${rs}-`,
          namespace: ns,
          labels: { ...spec.template.metadata?.labels, 'pod-template-hash': hash },
          ...(spec.template.metadata?.annotations !== undefined ? { annotations: spec.template.metadata.annotations } : {}),
          ownerReferences: [{ apiVersion: 'apps/v1', kind: 'ReplicaSet', name: rs, uid: `${rs}-uid`, controller: true }],
        },
        spec: spec.template.spec,
      };
      const made = await this.client.request('POST', `/api/v1/namespaces/${ns}/pods`, pod);
      this.log(`harness: created pod ${ns}/${made.metadata.name}`);
      // Wait for the informer to see it before counting again.
      return;
    }
  }

  private async runPod(p: KubeObject): Promise<void> {
    const key = `${p.metadata.namespace ?? 'default'}/${p.metadata.name}`;
    const status = (p.status ?? {}) as { podIP?: string; phase?: string };
    if (this.running.has(key) || (status.podIP !== undefined && status.podIP !== '')) return;
    this.running.add(key);
    const ip = `${this.opts.podCidr}.${this.nextIp++}`;
    const spec = (p.spec ?? {}) as PodSpecLike;
    const now = new Date().toISOString();
    const containerStatus = (name: string): object => ({ name, ready: true, started: true, restartCount: 0, image: name, imageID: '', state: { running: { startedAt: now } } });
    try {
      await this.client.request('PUT', `/api/v1/namespaces/${p.metadata.namespace ?? 'default'}/pods/${p.metadata.name}/status`, {
        ...p,
        status: {
          phase: 'Running',
          podIP: ip,
          podIPs: [{ ip }],
          hostIP: '10.0.0.1',
          startTime: now,
          conditions: ['PodScheduled', 'Initialized', 'ContainersReady', 'Ready'].map((type) => ({ type, status: 'True', lastTransitionTime: now })),
          containerStatuses: (spec.containers ?? []).map((c) => containerStatus(c.name)),
          initContainerStatuses: (spec.initContainers ?? []).map((c) => containerStatus(c.name)),
        },
      });
    } catch (err) {
      this.running.delete(key);
      if (err instanceof KubeApiError && err.code === 409) return;
      throw err;
    }
    this.opts.onPodRunning?.(p, ip);
  }

  private async writeSlice(s: KubeObject): Promise<void> {
    const ns = s.metadata.namespace ?? 'default';
    const spec = s.spec as { selector?: Record<string, string>; ports?: Array<{ name?: string; port: number; targetPort?: number | string; protocol?: string }> };
    if (spec.selector === undefined) return;
    const pods = this.pods.list().filter((p) => p.metadata.namespace === ns && labelsMatch(spec.selector!, p.metadata.labels) && ((p.status as { podIP?: string } | undefined)?.podIP ?? '') !== '');
    pods.sort((a, b) => a.metadata.name.localeCompare(b.metadata.name));
    const first = pods[0]?.spec as PodSpecLike | undefined;
    const portOf = (target: number | string | undefined, port: number): number => {
      if (typeof target === 'number') return target;
      if (target === undefined) return port;
      return first?.containers?.flatMap((c) => c.ports ?? []).find((cp) => cp.name === target)?.containerPort ?? port;
    };
    const name = `${s.metadata.name}-slice`;
    const slice = {
      apiVersion: 'discovery.k8s.io/v1',
      kind: 'EndpointSlice',
      metadata: { name, namespace: ns, labels: { 'kubernetes.io/service-name': s.metadata.name, 'endpointslice.kubernetes.io/managed-by': 'endpointslice-controller.k8s.io' } },
      addressType: 'IPv4',
      endpoints: pods.map((p) => ({
        addresses: [(p.status as { podIP: string }).podIP],
        conditions: { ready: (p.status as { conditions?: Array<{ type: string; status: string }> }).conditions?.some((c) => c.type === 'Ready' && c.status === 'True') === true },
        targetRef: { kind: 'Pod', name: p.metadata.name, namespace: ns },
      })),
      ports: (spec.ports ?? []).map((p) => ({ ...(p.name !== undefined ? { name: p.name } : {}), port: portOf(p.targetPort, p.port), protocol: p.protocol ?? 'TCP' })),
    };
    const path = `/apis/discovery.k8s.io/v1/namespaces/${ns}/endpointslices`;
    const current = this.slices.get(ns, name);
    if (current === undefined) await this.client.request('POST', path, slice);
    else if (JSON.stringify(current.endpoints ?? []) !== JSON.stringify(slice.endpoints) || JSON.stringify(current.ports ?? []) !== JSON.stringify(slice.ports)) {
      await this.client.request('PUT', `${path}/${name}`, { ...slice, metadata: { ...slice.metadata, resourceVersion: current.metadata.resourceVersion } });
    }
  }
}
