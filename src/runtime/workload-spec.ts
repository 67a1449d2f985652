/**
 * The desired workloads of a set of resources: each Deployment and bare Pod reduced to what the
 * runtime needs to run its replicas (command, ports, probe, labels, env builder), checked up
 * front. A workload that cannot run (no local command for its image, a missing ConfigMap key...)
 * does not hold the others back: it is listed apart with the reason its pods wait, as a kubelet
 * leaves such pods waiting (ErrImageNeverPull, CreateContainerConfigError).
 */
import { randomUUID } from 'node:crypto';
import type { Resource } from '../api/types.js';
import type { Container, Probe } from '../api/kinds/kube/container.js';
import type { PodSpec, PodTemplateSpec } from '../api/kinds/kube/pod.js';
import type { DeploymentSpec } from '../api/kinds/kube/workloads.js';
import { ContainerConfigError, resolveCommand, type WaitingReason } from './command.js';
import { containerEnv, envSources, type EnvSources } from './env.js';
import { templateHash } from './pod-names.js';
import type { ImageMap } from './types.js';
import { mountedVolumes, type MountedVolume } from './volumes.js';

export interface ContainerPortSpec {
  containerPort: number;
  name?: string;
  protocol: string;
}

export interface WorkloadSpec {
  /** `Deployment/ns/name` or `Pod/ns/name`. */
  key: string;
  kind: 'Deployment' | 'Pod';
  name: string;
  namespace: string;
  replicas: number;
  /** Hash of the pod template: replicas of an older template are replaced. */
  hash: string;
  /** The pod's labels (a Deployment's pods also carry `pod-template-hash`). */
  labels: Record<string, string>;
  annotations: Record<string, string>;
  serviceAccount: string;
  containerName: string;
  image?: string;
  argv: string[];
  ports: ContainerPortSpec[];
  probe?: Probe;
  restartPolicy: 'Always' | 'OnFailure' | 'Never';
  graceMs: number;
  tools: Record<string, string[]>;
  /** The container's environment for the replica named `pod`. */
  env(pod: string): Record<string, string>;
  /** Containers beyond the first, which do not run locally. */
  ignoredContainers: string[];
  /** Whether the pod runs with a sidecar (`sidecarInjected`). */
  sidecar: boolean;
  /** The container's configMap and secret volumes, written as files when a replica starts (`volumes.ts`). */
  volumes: MountedVolume[];
}

/** Istio's annotation (and, in newer releases, label) that opts a pod out of injection. */
export const INJECT_ANNOTATION = 'sidecar.istio.io/inject';
/** Istio's namespace label; `disabled` keeps every pod of the namespace without a sidecar. */
export const NAMESPACE_INJECTION_LABEL = 'istio-injection';

/**
 * Whether a pod gets a sidecar, as Istio's injector decides it for the local mesh, where
 * sidecars are the default: none when its namespace is labelled `istio-injection: disabled`, or
 * when the pod says `sidecar.istio.io/inject: "false"` (annotation or label); a sidecar otherwise.
 */
export function sidecarInjected(namespaceLabels: Readonly<Record<string, string>> | undefined, pod: { labels: Readonly<Record<string, string>>; annotations: Readonly<Record<string, string>> }): boolean {
  if (namespaceLabels?.[NAMESPACE_INJECTION_LABEL] === 'disabled') return false;
  return pod.annotations[INJECT_ANNOTATION] !== 'false' && pod.labels[INJECT_ANNOTATION] !== 'false';
}

/** A workload whose pods cannot start, and why: they are shown waiting, as a kubelet shows them. */
export interface WaitingWorkload extends Pick<WorkloadSpec, 'key' | 'kind' | 'name' | 'namespace' | 'replicas' | 'hash' | 'labels' | 'serviceAccount' | 'image'> {
  container?: string;
  /** The pods' STATUS, as kubectl shows a waiting container's reason. */
  reason: WaitingReason;
  /** What is wrong and how to fix it. */
  message: string;
}

export interface DesiredState {
  workloads: WorkloadSpec[];
  /** Workloads that cannot run until their config changes. */
  waiting: WaitingWorkload[];
  services: Resource[];
}

function specFor(
  kind: 'Deployment' | 'Pod',
  r: Resource,
  template: PodTemplateSpec,
  replicas: number,
  sources: EnvSources,
  images: ImageMap | undefined,
  maxGraceMs: number,
  namespaceLabels: Readonly<Record<string, string>> | undefined,
): WorkloadSpec {
  const namespace = r.metadata.namespace ?? 'default';
  const name = r.metadata.name;
  const podSpec: PodSpec = template.spec;
  const where = `${kind} ${namespace}/${name}`;
  const container: Container = podSpec.containers[0];
  const annotations = { ...(template.metadata?.annotations ?? {}) };
  const command = resolveCommand(annotations, container, images, where);
  const sidecar = sidecarInjected(namespaceLabels, { labels: template.metadata?.labels ?? {}, annotations });
  // A pod whose sidecar comes or goes (its namespace relabelled) is a new pod, as a re-injected one is.
  const hash = sidecar || annotations[INJECT_ANNOTATION] === 'false' ? templateHash(template) : templateHash({ ...template, metadata: { ...template.metadata, annotations: { ...annotations, [INJECT_ANNOTATION]: 'false' } } });
  const labels = { ...(template.metadata?.labels ?? {}) };
  if (kind === 'Deployment') labels['pod-template-hash'] = hash;
  // An empty serviceAccountName (Istio's redis sample has one) means the default account, as in Kubernetes.
  const serviceAccount = podSpec.serviceAccountName || podSpec.serviceAccount || 'default';
  const uid = randomUUID();
  const containerWhere = `${where}: spec${kind === 'Deployment' ? '.template.spec' : ''}.containers[0]`;
  const env = (pod: string): Record<string, string> =>
    containerEnv(container, { name: pod, namespace, uid, labels, annotations, serviceAccount }, sources, command.env, containerWhere);
  // Building the env once reports a missing ConfigMap or Secret now rather than at spawn time.
  env(`${name}-check`);
  const volumes = mountedVolumes(container, podSpec, namespace, sources, containerWhere);
  const graceSeconds = podSpec.terminationGracePeriodSeconds ?? 30;
  return {
    key: `${kind}/${namespace}/${name}`,
    kind,
    name,
    namespace,
    replicas,
    hash,
    labels,
    annotations,
    serviceAccount,
    containerName: container.name,
    image: container.image,
    argv: command.argv,
    ports: (container.ports ?? []).map((p) => ({ containerPort: p.containerPort, name: p.name, protocol: p.protocol ?? 'TCP' })),
    probe: container.readinessProbe,
    restartPolicy: kind === 'Deployment' ? 'Always' : (podSpec.restartPolicy ?? 'Always'),
    graceMs: Math.min(graceSeconds * 1000, maxGraceMs),
    tools: command.tools,
    env,
    ignoredContainers: podSpec.containers.slice(1).map((c) => c.name),
    sidecar,
    volumes,
  };
}

/** The pods of a workload that cannot start, with the reason they wait. */
function waitingFor(kind: 'Deployment' | 'Pod', r: Resource, template: PodTemplateSpec, replicas: number, err: unknown): WaitingWorkload {
  const namespace = r.metadata.namespace ?? 'default';
  const hash = templateHash(template);
  const labels = { ...(template.metadata?.labels ?? {}) };
  if (kind === 'Deployment') labels['pod-template-hash'] = hash;
  const container = template.spec.containers[0];
  return {
    key: `${kind}/${namespace}/${r.metadata.name}`,
    kind,
    name: r.metadata.name,
    namespace,
    replicas,
    hash,
    labels,
    serviceAccount: template.spec.serviceAccountName ?? template.spec.serviceAccount ?? 'default',
    ...(container?.image !== undefined ? { image: container.image } : {}),
    ...(container !== undefined ? { container: container.name } : {}),
    reason: err instanceof ContainerConfigError ? err.reason : 'CreateContainerConfigError',
    message: err instanceof Error ? err.message : String(err),
  };
}

/**
 * Reads Deployments, Pods and Services (ConfigMaps and Secrets feed the env) from `resources`;
 * other kinds are not the runtime's. A workload that cannot run is listed in `waiting`.
 */
export function desiredState(resources: readonly Resource[], images: ImageMap | undefined, maxGraceMs: number): DesiredState {
  const sources = envSources(resources);
  const namespaceLabels = new Map(resources.filter((r) => r.kind === 'Namespace').map((r) => [r.metadata.name, r.metadata.labels]));
  const workloads: WorkloadSpec[] = [];
  const waiting: WaitingWorkload[] = [];
  for (const r of resources) {
    let kind: 'Deployment' | 'Pod';
    let template: PodTemplateSpec;
    let replicas: number;
    if (r.kind === 'Deployment') {
      const spec = r.spec as DeploymentSpec;
      [kind, template, replicas] = ['Deployment', spec.template, spec.replicas ?? 1];
    } else if (r.kind === 'Pod') {
      [kind, template, replicas] = ['Pod', { metadata: { labels: r.metadata.labels, annotations: r.metadata.annotations }, spec: r.spec as PodSpec }, 1];
    } else {
      continue;
    }
    try {
      workloads.push(specFor(kind, r, template, replicas, sources, images, maxGraceMs, namespaceLabels.get(r.metadata.namespace ?? 'default')));
    } catch (err) {
      waiting.push(waitingFor(kind, r, template, replicas, err));
    }
  }
  return { workloads, waiting, services: resources.filter((r) => r.kind === 'Service') };
}
