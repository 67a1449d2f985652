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
 *   runs (its app, its proxy) when it does. With a `runtime` (`netns-pods.ts`: a network
 *   namespace per pod and its containers' processes) the Pod is first reported with its IP and
 *   not ready, started in the background (pods start in parallel), and reported Running and Ready
 *   once the runtime says it is; a pod that fails to start is listed in `failures()`.
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

/** What runs a pod's containers for real. */
export interface PodRuntime {
  /** Starts `pod` at `ip`; resolves once it is ready, throws naming what failed. */
  run(pod: KubeObject, ip: string): Promise<void>;
  /** The cluster's Services now (for the pods' DNS). */
  setServices(services: readonly KubeObject[]): void;
}

export interface KubeletHarnessOptions {
  /** The first three octets of the pods' addresses, e.g. `10.244.0`. */
  podCidr: string;
  /** Called once per Pod when it is reported running, with its IP. */
  onPodRunning?: (pod: KubeObject, ip: string) => void;
  /** Runs the pods' containers; without it pods are only reported running. */
  runtime?: PodRuntime;
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
  private stopped = false;
  private readonly failed: string[] = [];
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
    this.stopped = true;
    clearInterval(this.timer);
    await Promise.all(this.informers().map((i) => i.stop()));
    this.client.close();
  }

  private informers(): Informer[] {
    return [this.deployments, this.pods, this.services, this.slices];
  }

  /** The pods the runtime could not start, each with why. */
  failures(): readonly string[] {
    return this.failed;
  }

  /** The pods of a namespace as the API server has them now. */
  podsOf(namespace: string): KubeObject[] {
    return this.pods.list().filter((p) => p.metadata.namespace === namespace);
  }

  private async reconcile(): Promise<void> {
    if (this.busy) return;
    this.busy = true;
    try {
      this.opts.runtime?.setServices(this.services.list());
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
    const runtime = this.opts.runtime;
    try {
      await this.writeStatus(p, ip, runtime === undefined);
    } catch (err) {
      this.running.delete(key);
      if (err instanceof KubeApiError && err.code === 409) return;
      throw err;
    }
    this.opts.onPodRunning?.(p, ip);
    if (runtime === undefined) return;
    // In the background: a pod waits for its volumes and probes, and the others start meanwhile.
    void runtime.run(p, ip).then(
      () => this.markReady(p, ip),
      (err: unknown) => {
        if (this.stopped) return;
        const why = err instanceof Error ? err.message : String(err);
        this.failed.push(`${key}: ${why}`);
        this.log(`harness: pod ${key} failed to start: ${why}`);
      },
    );
  }

  /** The pod's status as the kubelet reports it: its IP, and Running and Ready or still starting. */
  private async writeStatus(p: KubeObject, ip: string, ready: boolean): Promise<void> {
    const spec = (p.spec ?? {}) as PodSpecLike;
    const now = new Date().toISOString();
    const containerStatus = (name: string): object => ({
      name,
      ready,
      started: ready,
      restartCount: 0,
      image: name,
      imageID: '',
      state: ready ? { running: { startedAt: now } } : { waiting: { reason: 'PodInitializing' } },
    });
    const conditions = ready ? ['PodScheduled', 'Initialized', 'ContainersReady', 'Ready'] : ['PodScheduled'];
    await this.client.request('PUT', `/api/v1/namespaces/${p.metadata.namespace ?? 'default'}/pods/${p.metadata.name}/status`, {
      ...p,
      status: {
        phase: ready ? 'Running' : 'Pending',
        podIP: ip,
        podIPs: [{ ip }],
        hostIP: '10.0.0.1',
        startTime: now,
        conditions: [
          ...conditions.map((type) => ({ type, status: 'True', lastTransitionTime: now })),
          ...(ready ? [] : [{ type: 'Ready', status: 'False', lastTransitionTime: now, reason: 'ContainersNotReady' }]),
        ],
        containerStatuses: (spec.containers ?? []).map((c) => containerStatus(c.name)),
        initContainerStatuses: (spec.initContainers ?? []).map((c) => containerStatus(c.name)),
      },
    });
  }

  /**
   * Reports a started pod Running and Ready, on its current version: tried again (a conflict, an
   * API server busy enough to drop a connection) until it is written or the harness stops.
   */
  private async markReady(p: KubeObject, ip: string): Promise<void> {
    const ns = p.metadata.namespace ?? 'default';
    for (let attempt = 1; !this.stopped; attempt++) {
      try {
        const current = await this.client.request('GET', `/api/v1/namespaces/${ns}/pods/${p.metadata.name}`);
        await this.writeStatus(current, ip, true);
        return;
      } catch (err) {
        if (err instanceof KubeApiError && err.code === 404) return;
        if (attempt % 10 === 0) this.log(`harness: pod ${ns}/${p.metadata.name} not yet reported ready: ${err instanceof Error ? err.message : String(err)}`);
        await new Promise((r) => setTimeout(r, 200));
      }
    }
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
