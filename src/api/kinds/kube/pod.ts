/**
 * Kubernetes core/v1 PodSpec, volumes and pod templates (shared by Pod and Deployment), and the
 * checks the API server makes that matter for running them locally (names, ports, mounts).
 */
import type { Static } from 'typebox';
import { Bool, Enum, Int32, Int64, List, MapOf, OneOf, Opt, Quantity, Str, StringList, StringMap, Strict, Struct } from '../../schema-kit.js';
import type { Issue } from '../../types.js';
import { dns1123LabelProblem } from '../../metadata.js';
import { Container, type Probe } from './container.js';

const KeyToPath = Strict({ key: Str(), path: Str(), mode: Opt(Int32({ minimum: 0, maximum: 511 })) });
const LocalRef = Strict({ name: Opt(Str()) });

const VolumeSources = {
  emptyDir: Opt(Strict({ medium: Opt(Str()), sizeLimit: Opt(Quantity()) })),
  configMap: Opt(Strict({ name: Opt(Str()), items: Opt(List(KeyToPath)), defaultMode: Opt(Int32({ minimum: 0, maximum: 511 })), optional: Opt(Bool()) })),
  secret: Opt(Strict({ secretName: Opt(Str()), items: Opt(List(KeyToPath)), defaultMode: Opt(Int32({ minimum: 0, maximum: 511 })), optional: Opt(Bool()) })),
  hostPath: Opt(Strict({ path: Str(), type: Opt(Str()) })),
  persistentVolumeClaim: Opt(Strict({ claimName: Str(), readOnly: Opt(Bool()) })),
  downwardAPI: Opt(Strict({
    items: Opt(List(Strict({
      path: Str(),
      fieldRef: Opt(Strict({ apiVersion: Opt(Str()), fieldPath: Str() })),
      resourceFieldRef: Opt(Strict({ containerName: Opt(Str()), resource: Str(), divisor: Opt(Quantity()) })),
      mode: Opt(Int32({ minimum: 0, maximum: 511 })),
    }))),
    defaultMode: Opt(Int32({ minimum: 0, maximum: 511 })),
  })),
  projected: Opt(Strict({ sources: Opt(List(Struct())), defaultMode: Opt(Int32({ minimum: 0, maximum: 511 })) })),
  csi: Opt(Struct()),
  ephemeral: Opt(Struct()),
  nfs: Opt(Strict({ server: Str(), path: Str(), readOnly: Opt(Bool()) })),
};

export const Volume = OneOf(
  Strict({ name: Str({ description: 'DNS-1123 label, unique within the pod.' }), ...VolumeSources }),
  [Object.keys(VolumeSources)],
);

const Toleration = Strict({
  key: Opt(Str()),
  operator: Opt(Enum(['Exists', 'Equal'] as const)),
  value: Opt(Str()),
  effect: Opt(Enum(['NoSchedule', 'PreferNoSchedule', 'NoExecute'] as const)),
  tolerationSeconds: Opt(Int64()),
});

const PodSecurityContext = Strict({
  runAsUser: Opt(Int64({ minimum: 0 })),
  runAsGroup: Opt(Int64({ minimum: 0 })),
  runAsNonRoot: Opt(Bool()),
  fsGroup: Opt(Int64({ minimum: 0 })),
  fsGroupChangePolicy: Opt(Str()),
  supplementalGroups: Opt(List(Int64({ minimum: 0 }))),
  supplementalGroupsPolicy: Opt(Str()),
  sysctls: Opt(List(Strict({ name: Str(), value: Str() }))),
  seccompProfile: Opt(Strict({ type: Str(), localhostProfile: Opt(Str()) })),
  seLinuxOptions: Opt(Strict({ user: Opt(Str()), role: Opt(Str()), type: Opt(Str()), level: Opt(Str()) })),
  appArmorProfile: Opt(Strict({ type: Str(), localhostProfile: Opt(Str()) })),
});

export const PodSpec = Strict({
  containers: List(Container, { minItems: 1 }),
  initContainers: Opt(List(Container)),
  volumes: Opt(List(Volume)),
  serviceAccountName: Opt(Str()),
  serviceAccount: Opt(Str({ description: 'Deprecated alias of serviceAccountName.' })),
  automountServiceAccountToken: Opt(Bool()),
  restartPolicy: Opt(Enum(['Always', 'OnFailure', 'Never'] as const, { default: 'Always' })),
  terminationGracePeriodSeconds: Opt(Int64({ minimum: 0, default: 30 })),
  activeDeadlineSeconds: Opt(Int64({ minimum: 1 })),
  dnsPolicy: Opt(Enum(['ClusterFirst', 'ClusterFirstWithHostNet', 'Default', 'None'] as const)),
  dnsConfig: Opt(Strict({ nameservers: Opt(StringList()), searches: Opt(StringList()), options: Opt(List(Strict({ name: Str(), value: Opt(Str()) }))) })),
  nodeSelector: Opt(StringMap()),
  nodeName: Opt(Str()),
  hostNetwork: Opt(Bool()),
  hostPID: Opt(Bool()),
  hostIPC: Opt(Bool()),
  shareProcessNamespace: Opt(Bool()),
  hostname: Opt(Str()),
  subdomain: Opt(Str()),
  hostAliases: Opt(List(Strict({ ip: Str(), hostnames: Opt(StringList()) }))),
  securityContext: Opt(PodSecurityContext),
  imagePullSecrets: Opt(List(LocalRef)),
  affinity: Opt(Struct({ description: 'Node, pod and anti-affinity scheduling rules (kept as written).' })),
  tolerations: Opt(List(Toleration)),
  topologySpreadConstraints: Opt(List(Struct())),
  schedulerName: Opt(Str()),
  priorityClassName: Opt(Str()),
  priority: Opt(Int32()),
  runtimeClassName: Opt(Str()),
  enableServiceLinks: Opt(Bool()),
  preemptionPolicy: Opt(Str()),
  overhead: Opt(MapOf(Quantity())),
  setHostnameAsFQDN: Opt(Bool()),
  os: Opt(Strict({ name: Enum(['linux', 'windows'] as const) })),
  hostUsers: Opt(Bool()),
  readinessGates: Opt(List(Strict({ conditionType: Str() }))),
});
export type PodSpec = Static<typeof PodSpec>;

/** The metadata a pod template may carry (no name/namespace checks; Kubernetes generates them). */
export const TemplateMeta = Strict({
  name: Opt(Str()),
  namespace: Opt(Str()),
  labels: Opt(StringMap()),
  annotations: Opt(StringMap()),
  creationTimestamp: Opt(Str({ nullable: true })),
});

export const PodTemplateSpec = Strict({ metadata: Opt(TemplateMeta), spec: PodSpec });
export type PodTemplateSpec = Static<typeof PodTemplateSpec>;

type Path = Array<string | number>;
const err = (path: Path, message: string): Issue => ({ severity: 'error', path, message });

/** IANA_SVC_NAME: 1-15 chars of [a-z0-9-], with a letter, no leading/trailing or double '-'. */
export function portNameProblem(name: string): string | undefined {
  if (name.length > 15) return 'must be no more than 15 characters';
  if (!/^[a-z0-9]([a-z0-9-]*[a-z0-9])?$/.test(name) || name.includes('--')) {
    return "must contain only lowercase alphanumerics and '-', not start or end with '-' nor contain '--'";
  }
  if (!/[a-z]/.test(name)) return 'must contain at least one letter';
  return undefined;
}

function checkProbePort(probe: Probe | undefined, path: Path, portNames: ReadonlySet<string>, out: Issue[]): void {
  const port = probe?.httpGet?.port ?? probe?.tcpSocket?.port;
  const at = [...path, probe?.httpGet ? 'httpGet' : 'tcpSocket', 'port'];
  if (typeof port === 'number' && (port < 1 || port > 65535)) out.push(err(at, `port must be between 1 and 65535 (got ${port})`));
  if (typeof port === 'string' && !portNames.has(port)) out.push(err(at, `port "${port}" is not a named port of this container`));
}

/** Checks a PodSpec at `path` beyond its schema: unique names, port names, probe ports, mounts. */
export function podSpecRules(spec: PodSpec, path: Path): Issue[] {
  const out: Issue[] = [];
  const volumes = new Set<string>();
  spec.volumes?.forEach((v, i) => {
    const p = dns1123LabelProblem(v.name);
    if (p !== undefined) out.push(err([...path, 'volumes', i, 'name'], `invalid volume name "${v.name}": ${p}`));
    if (!Object.keys(VolumeSources).some((k) => (v as Record<string, unknown>)[k] !== undefined)) {
      out.push(err([...path, 'volumes', i], `volume "${v.name}" needs a source (emptyDir, configMap, secret, ...)`));
    }
    if (volumes.has(v.name)) out.push(err([...path, 'volumes', i, 'name'], `duplicate volume name "${v.name}"`));
    volumes.add(v.name);
  });
  const names = new Set<string>();
  const check = (c: Container, at: Path): void => {
    const p = dns1123LabelProblem(c.name);
    if (p !== undefined) out.push(err([...at, 'name'], `invalid container name "${c.name}": ${p}`));
    if (names.has(c.name)) out.push(err([...at, 'name'], `duplicate container name "${c.name}"`));
    names.add(c.name);
    const portNames = new Set<string>();
    c.ports?.forEach((port, j) => {
      if (port.name === undefined) return;
      const np = portNameProblem(port.name);
      if (np !== undefined) out.push(err([...at, 'ports', j, 'name'], `invalid port name "${port.name}": ${np}`));
      if (portNames.has(port.name)) out.push(err([...at, 'ports', j, 'name'], `duplicate port name "${port.name}"`));
      portNames.add(port.name);
    });
    for (const probe of ['readinessProbe', 'livenessProbe', 'startupProbe'] as const) {
      const pr = c[probe];
      if (pr === undefined) continue;
      if (!pr.exec && !pr.httpGet && !pr.tcpSocket && !pr.grpc) {
        out.push(err([...at, probe], 'a probe needs one of exec, httpGet, tcpSocket or grpc'));
      }
      checkProbePort(pr, [...at, probe], portNames, out);
    }
    c.env?.forEach((e, j) => {
      if (e.valueFrom !== undefined && Object.keys(e.valueFrom).length === 0) {
        out.push(err([...at, 'env', j, 'valueFrom'], 'valueFrom needs one of fieldRef, resourceFieldRef, configMapKeyRef or secretKeyRef'));
      }
    });
    c.volumeMounts?.forEach((m, j) => {
      if (!volumes.has(m.name)) out.push(err([...at, 'volumeMounts', j, 'name'], `volume "${m.name}" is not defined in volumes`));
    });
  };
  spec.initContainers?.forEach((c, i) => check(c, [...path, 'initContainers', i]));
  spec.containers.forEach((c, i) => check(c, [...path, 'containers', i]));
  return out;
}
