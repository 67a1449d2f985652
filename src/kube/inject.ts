/**
 * Sidecar injection, one implementation for the mutating webhook and `skiff kube-inject`: whether
 * a pod gets a sidecar (Istio's labels and annotations), and the pod as Istio injects it — the
 * `istio-init` init container running `skiff iptables` with istio-iptables' flags, the
 * `istio-proxy` container (a native sidecar, an init container with `restartPolicy: Always`,
 * where the cluster supports it), the labels `security.istio.io/tlsMode`,
 * `service.istio.io/canonical-name` and `-revision`, the annotations `sidecar.istio.io/status` and
 * `kubectl.kubernetes.io/default-container`, the projected token (audience `istio-ca`) and the
 * root-certificate volumes, and HTTP and TCP probes rewritten to the proxy's status port with the
 * originals in `ISTIO_KUBE_APP_PROBERS` (named ports resolved to numbers, as the agent needs them).
 * With `holdApplicationUntilProxyStarts` (the mesh config's `defaultConfig`, or the pod's
 * `proxy.istio.io/config` annotation) and a regular sidecar container, the proxy goes first and
 * its postStart hook runs `skiff proxy wait`, so the kubelet starts the app only once the proxy
 * is ready, as Istio's `pilot-agent wait` hook does. A pod already injected is returned unchanged.
 */
import { parse as parseYaml } from 'yaml';
import { ISTIO_TOKEN_FILE, proxyVolumeMounts, proxyVolumes } from './manifest.js';

export interface InjectOptions {
  /** The image of `istio-proxy` and `istio-init`. */
  image: string;
  /** skiffd's push URL as pods reach it (`https://skiffd.istio-system.svc:15012`). */
  controlPlaneUrl: string;
  /** `istio-proxy` as an init container with `restartPolicy: Always` (Kubernetes ≥ 1.29). */
  nativeSidecar: boolean;
  /** The control plane's revision (`istio.io/rev`). Default `default`. */
  revision?: string;
  /** The mesh config's `defaultConfig.holdApplicationUntilProxyStarts`; a pod's annotation overrides it. */
  holdApplicationUntilProxyStarts?: boolean;
}

/** What decides injection besides the pod: its namespace's labels (absent for kube-inject, which ignores them). */
export interface InjectionContext {
  namespaceLabels?: Record<string, string>;
}

type Json = Record<string, unknown>;

interface Container {
  name: string;
  image?: string;
  ports?: Array<{ containerPort: number; name?: string; protocol?: string }>;
  readinessProbe?: Probe;
  livenessProbe?: Probe;
  startupProbe?: Probe;
  [k: string]: unknown;
}

interface Probe {
  httpGet?: { path?: string; port: number | string; scheme?: string; host?: string; httpHeaders?: unknown[] };
  tcpSocket?: { port: number | string; host?: string };
  timeoutSeconds?: number;
  [k: string]: unknown;
}

export interface PodTemplate {
  metadata?: { name?: string; generateName?: string; namespace?: string; labels?: Record<string, string>; annotations?: Record<string, string>; [k: string]: unknown };
  spec?: { containers?: Container[]; initContainers?: Container[]; volumes?: Json[]; hostNetwork?: boolean; [k: string]: unknown };
}

export const STATUS_ANNOTATION = 'sidecar.istio.io/status';
export const INJECT_KEY = 'sidecar.istio.io/inject';
/** Istio's pilot-agent status port, where rewritten app probes go. */
export const STATUS_PORT = 15020;
/** The proxy's own readiness (`/healthz/ready`). */
export const HEALTH_PORT = 15021;
export const PROXY_UID = 1337;
/** The pod annotation that overrides the mesh's proxy config for one pod, as Istio's. */
export const PROXY_CONFIG_ANNOTATION = 'proxy.istio.io/config';
/** How the image runs skiff (its ENTRYPOINT): what the postStart hook executes. */
const SKIFF_IN_IMAGE = ['node', '/opt/skiff/bin/skiff.js'];

/**
 * Whether the app waits for its proxy: the pod's `proxy.istio.io/config` annotation (ProxyConfig
 * as YAML or JSON) when it says, else the mesh default. An annotation that does not parse is
 * ignored here (the mesh default holds), as it says nothing usable.
 */
export function holdsApplication(annotations: Record<string, string> | undefined, meshDefault: boolean): boolean {
  const text = annotations?.[PROXY_CONFIG_ANNOTATION];
  if (text === undefined) return meshDefault;
  try {
    const cfg = parseYaml(text) as unknown;
    const said = typeof cfg === 'object' && cfg !== null ? (cfg as Record<string, unknown>).holdApplicationUntilProxyStarts : undefined;
    return typeof said === 'boolean' ? said : meshDefault;
  } catch {
    return meshDefault;
  }
}

/** A probe port as a number: a name is looked up among the container's ports, as the kubelet does. */
function portNumber(port: number | string, c: Container): number | string {
  if (typeof port === 'number') return port;
  if (/^\d+$/.test(port)) return Number(port);
  return c.ports?.find((p) => p.name === port)?.containerPort ?? port;
}

/**
 * Whether a pod is injected, as Istio's webhook selectors and injection policy decide: never when
 * already injected, on the host network, or when the pod says `sidecar.istio.io/inject: "false"`
 * (label, or annotation); when the pod says "true", unless its namespace is labelled
 * `istio-injection: disabled`; else as its namespace's `istio-injection` label (or an `istio.io/rev`
 * naming this revision) says. Without namespace labels (kube-inject), a pod that says nothing is
 * injected, as istioctl kube-inject does.
 */
export function shouldInject(pod: PodTemplate, ctx: InjectionContext, revision = 'default'): boolean {
  const meta = pod.metadata ?? {};
  if (meta.annotations?.[STATUS_ANNOTATION] !== undefined) return false;
  if (pod.spec?.hostNetwork === true) return false;
  const said = meta.labels?.[INJECT_KEY] ?? meta.annotations?.[INJECT_KEY];
  if (said !== undefined && ['false', 'n', 'no', 'off'].includes(said.toLowerCase())) return false;
  const ns = ctx.namespaceLabels;
  if (ns === undefined) return true;
  if (ns['istio-injection'] === 'disabled') return false;
  if (said !== undefined && ['true', 'y', 'yes', 'on'].includes(said.toLowerCase())) return true;
  if (ns['istio-injection'] === 'enabled') return true;
  const rev = meta.labels?.['istio.io/rev'] ?? ns['istio.io/rev'];
  return rev !== undefined && rev === revision;
}

const probeKinds = [
  ['readinessProbe', 'readyz'],
  ['livenessProbe', 'livez'],
  ['startupProbe', 'startupz'],
] as const;

/** The pod (or pod template) with its sidecar; the input is not modified. */
export function injectPod(input: PodTemplate, opts: InjectOptions, workloadName?: string): PodTemplate {
  const pod = structuredClone(input);
  const meta = (pod.metadata ??= {});
  const spec = (pod.spec ??= {});
  const apps = spec.containers ?? [];
  const labels = { ...meta.labels };
  const name = workloadName ?? meta.name ?? meta.generateName?.replace(/-$/, '') ?? apps[0]?.name ?? 'unknown';
  labels['security.istio.io/tlsMode'] = 'istio';
  labels['service.istio.io/canonical-name'] ??= labels['app.kubernetes.io/name'] ?? labels.app ?? name;
  labels['service.istio.io/canonical-revision'] ??= labels['app.kubernetes.io/version'] ?? labels.version ?? 'latest';
  meta.labels = labels;

  // HTTP and TCP probes go through the proxy's status port, which runs the app's own (mTLS would
  // refuse the kubelet, and capture would send its TCP probe to the proxy rather than the app).
  const probers: Record<string, Json> = {};
  for (const c of apps) {
    for (const [field, suffix] of probeKinds) {
      const probe = c[field];
      if (probe === undefined) continue;
      const path = `/app-health/${c.name}/${suffix}`;
      const timeout = typeof probe.timeoutSeconds === 'number' ? { timeoutSeconds: probe.timeoutSeconds } : {};
      if (probe.httpGet !== undefined) {
        probers[path] = { httpGet: { ...probe.httpGet, port: portNumber(probe.httpGet.port, c) }, ...timeout };
        c[field] = { ...probe, httpGet: { path, port: STATUS_PORT, ...(probe.httpGet.scheme !== undefined ? { scheme: 'HTTP' } : {}) } };
      } else if (probe.tcpSocket !== undefined) {
        probers[path] = { tcpSocket: { ...probe.tcpSocket, port: portNumber(probe.tcpSocket.port, c) }, ...timeout };
        const { tcpSocket: _tcp, ...rest } = probe;
        c[field] = { ...rest, httpGet: { path, port: STATUS_PORT } };
      }
    }
  }

  const init: Container = {
    name: 'istio-init',
    image: opts.image,
    args: ['iptables', '-p', '15001', '-z', '15006', '-u', String(PROXY_UID), '-m', 'REDIRECT', '-i', '*', '-x', '', '-b', '*', '-d', `${STATUS_PORT},${HEALTH_PORT},15090`],
    securityContext: { runAsUser: 0, runAsGroup: 0, runAsNonRoot: false, allowPrivilegeEscalation: false, readOnlyRootFilesystem: false, privileged: false, capabilities: { add: ['NET_ADMIN', 'NET_RAW'], drop: ['ALL'] } },
  };
  const proxy: Container = {
    name: 'istio-proxy',
    image: opts.image,
    args: ['proxy', '--kind', 'sidecar', '--control-plane', opts.controlPlaneUrl, '--credential-file', ISTIO_TOKEN_FILE, '--id', '$(POD_NAME).$(POD_NAMESPACE)', '--workload', '$(POD_NAME)', '--namespace', '$(POD_NAMESPACE)', '--service-account', '$(SERVICE_ACCOUNT)'],
    env: [
      { name: 'POD_NAME', valueFrom: { fieldRef: { fieldPath: 'metadata.name' } } },
      { name: 'POD_NAMESPACE', valueFrom: { fieldRef: { fieldPath: 'metadata.namespace' } } },
      { name: 'INSTANCE_IP', valueFrom: { fieldRef: { fieldPath: 'status.podIP' } } },
      { name: 'SERVICE_ACCOUNT', valueFrom: { fieldRef: { fieldPath: 'spec.serviceAccountName' } } },
      ...(Object.keys(probers).length > 0 ? [{ name: 'ISTIO_KUBE_APP_PROBERS', value: JSON.stringify(probers) }] : []),
    ],
    ports: [{ containerPort: 15090, name: 'http-envoy-prom', protocol: 'TCP' }],
    readinessProbe: { httpGet: { path: '/healthz/ready', port: HEALTH_PORT }, periodSeconds: 15, failureThreshold: 4 },
    securityContext: { runAsUser: PROXY_UID, runAsGroup: PROXY_UID, runAsNonRoot: true, allowPrivilegeEscalation: false, readOnlyRootFilesystem: true, privileged: false, capabilities: { drop: ['ALL'] } },
    volumeMounts: proxyVolumeMounts(),
  };
  if (opts.nativeSidecar) {
    // Started before the app containers, which wait for its startup probe: the app never runs without its proxy.
    proxy.restartPolicy = 'Always';
    proxy.startupProbe = { httpGet: { path: '/healthz/ready', port: HEALTH_PORT }, periodSeconds: 1, failureThreshold: 600 };
    spec.initContainers = [init, ...(spec.initContainers ?? []), proxy];
  } else if (holdsApplication(meta.annotations, opts.holdApplicationUntilProxyStarts ?? false)) {
    // The kubelet starts containers in order and the next only once a postStart hook returned: the
    // proxy first, its hook waiting until it is ready, then the app.
    proxy.lifecycle = { postStart: { exec: { command: [...SKIFF_IN_IMAGE, 'proxy', 'wait'] } } };
    spec.initContainers = [init, ...(spec.initContainers ?? [])];
    spec.containers = [proxy, ...apps];
  } else {
    spec.initContainers = [init, ...(spec.initContainers ?? [])];
    spec.containers = [...apps, proxy];
  }
  spec.volumes = [...(spec.volumes ?? []), ...proxyVolumes()];
  const annotations = { ...meta.annotations };
  if (apps[0] !== undefined) {
    annotations['kubectl.kubernetes.io/default-container'] ??= apps[0].name;
    annotations['kubectl.kubernetes.io/default-logs-container'] ??= apps[0].name;
  }
  annotations[STATUS_ANNOTATION] = JSON.stringify({
    initContainers: opts.nativeSidecar ? ['istio-init', 'istio-proxy'] : ['istio-init'],
    containers: opts.nativeSidecar ? [] : ['istio-proxy'],
    volumes: ['istio-envoy', 'istio-token', 'istiod-ca-cert'],
    imagePullSecrets: null,
    revision: opts.revision ?? 'default',
  });
  meta.annotations = annotations;
  return pod;
}

/** Where a workload kind keeps its pod template. */
function templateOf(obj: Json): { template: PodTemplate; set: (t: PodTemplate) => void } | undefined {
  const kind = obj.kind;
  const spec = obj.spec as Json | undefined;
  if (kind === 'Pod') return { template: obj, set: (t) => Object.assign(obj, t) };
  if (spec === undefined) return undefined;
  if (kind === 'CronJob') {
    const job = (spec.jobTemplate as Json | undefined)?.spec as Json | undefined;
    const t = job?.template as PodTemplate | undefined;
    return t === undefined || job === undefined ? undefined : { template: t, set: (n) => (job.template = n) };
  }
  if (['Deployment', 'DaemonSet', 'StatefulSet', 'ReplicaSet', 'Job', 'ReplicationController', 'DeploymentConfig'].includes(String(kind))) {
    const t = spec.template as PodTemplate | undefined;
    return t === undefined ? undefined : { template: t, set: (n) => (spec.template = n) };
  }
  return undefined;
}

/**
 * `kube-inject` of one manifest object: its pod template injected unless the template opts out
 * (or is already injected); other kinds are returned as they are.
 */
export function injectObject(obj: Json, opts: InjectOptions): Json {
  const out = structuredClone(obj);
  const found = templateOf(out);
  if (found === undefined || !shouldInject(found.template, {}, opts.revision)) return out;
  const name = (out.metadata as { name?: string } | undefined)?.name;
  found.set(injectPod(found.template, opts, name));
  return out;
}
