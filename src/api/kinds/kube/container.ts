/**
 * Kubernetes core/v1 Container and its parts (env, ports, probes, resources, security context,
 * volume mounts) with the fields manifests commonly use, and the defaults the API server applies.
 */
import type { Static } from 'typebox';
import { Bool, Enum, Int32, Int64, IntOrString, List, MapOf, OneOf, Opt, Quantity, Str, StringList, Strict } from '../../schema-kit.js';

const KeySelector = (what: string) =>
  Strict({
    name: Opt(Str({ description: `Name of the ${what}.` })),
    key: Str({ description: `The key of the ${what} to select.` }),
    optional: Opt(Bool()),
  });

export const EnvVarSource = OneOf(
  Strict({
    fieldRef: Opt(Strict({ apiVersion: Opt(Str({ default: 'v1' })), fieldPath: Str() })),
    resourceFieldRef: Opt(Strict({ containerName: Opt(Str()), resource: Str(), divisor: Opt(Quantity()) })),
    configMapKeyRef: Opt(KeySelector('ConfigMap')),
    secretKeyRef: Opt(KeySelector('Secret')),
  }),
  [['fieldRef', 'resourceFieldRef', 'configMapKeyRef', 'secretKeyRef']],
);

export const EnvVar = OneOf(
  Strict({ name: Str({ minLength: 1 }), value: Opt(Str()), valueFrom: Opt(EnvVarSource) }),
  [['value', 'valueFrom']],
);

export const EnvFromSource = OneOf(
  Strict({
    prefix: Opt(Str()),
    configMapRef: Opt(Strict({ name: Opt(Str()), optional: Opt(Bool()) })),
    secretRef: Opt(Strict({ name: Opt(Str()), optional: Opt(Bool()) })),
  }),
  [['configMapRef', 'secretRef']],
);

const Protocol = Enum(['TCP', 'UDP', 'SCTP'] as const, { default: 'TCP' });

export const ContainerPort = Strict({
  name: Opt(Str({ description: 'IANA_SVC_NAME: at most 15 characters, lowercase alphanumerics and "-".' })),
  containerPort: Int32({ minimum: 1, maximum: 65535 }),
  hostPort: Opt(Int32({ minimum: 0, maximum: 65535 })),
  hostIP: Opt(Str()),
  protocol: Opt(Protocol),
});

const HTTPHeader = Strict({ name: Str(), value: Str() });

export const Probe = OneOf(
  Strict({
    exec: Opt(Strict({ command: Opt(StringList()) })),
    httpGet: Opt(Strict({
      path: Opt(Str({ default: '/' })),
      port: IntOrString(),
      host: Opt(Str()),
      scheme: Opt(Enum(['HTTP', 'HTTPS'] as const, { default: 'HTTP' })),
      httpHeaders: Opt(List(HTTPHeader)),
    })),
    tcpSocket: Opt(Strict({ port: IntOrString(), host: Opt(Str()) })),
    grpc: Opt(Strict({ port: Int32({ minimum: 1, maximum: 65535 }), service: Opt(Str()) })),
    initialDelaySeconds: Opt(Int32({ minimum: 0 })),
    timeoutSeconds: Opt(Int32({ minimum: 1, default: 1 })),
    periodSeconds: Opt(Int32({ minimum: 1, default: 10 })),
    successThreshold: Opt(Int32({ minimum: 1, default: 1 })),
    failureThreshold: Opt(Int32({ minimum: 1, default: 3 })),
    terminationGracePeriodSeconds: Opt(Int64({ minimum: 1 })),
  }),
  [['exec', 'httpGet', 'tcpSocket', 'grpc']],
);
export type Probe = Static<typeof Probe>;

const LifecycleHandler = OneOf(
  Strict({
    exec: Opt(Strict({ command: Opt(StringList()) })),
    httpGet: Opt(Strict({ path: Opt(Str()), port: IntOrString(), host: Opt(Str()), scheme: Opt(Enum(['HTTP', 'HTTPS'] as const)), httpHeaders: Opt(List(HTTPHeader)) })),
    tcpSocket: Opt(Strict({ port: IntOrString(), host: Opt(Str()) })),
    sleep: Opt(Strict({ seconds: Int64({ minimum: 0 }) })),
  }),
  [['exec', 'httpGet', 'tcpSocket', 'sleep']],
);

export const ResourceRequirements = Strict({
  limits: Opt(MapOf(Quantity())),
  requests: Opt(MapOf(Quantity())),
  claims: Opt(List(Strict({ name: Str(), request: Opt(Str()) }))),
});

const SeccompProfile = Strict({
  type: Enum(['RuntimeDefault', 'Unconfined', 'Localhost'] as const),
  localhostProfile: Opt(Str()),
});

export const SecurityContext = Strict({
  allowPrivilegeEscalation: Opt(Bool()),
  capabilities: Opt(Strict({ add: Opt(StringList()), drop: Opt(StringList()) })),
  privileged: Opt(Bool()),
  readOnlyRootFilesystem: Opt(Bool()),
  runAsNonRoot: Opt(Bool()),
  runAsUser: Opt(Int64({ minimum: 0 })),
  runAsGroup: Opt(Int64({ minimum: 0 })),
  procMount: Opt(Str()),
  seccompProfile: Opt(SeccompProfile),
  seLinuxOptions: Opt(Strict({ user: Opt(Str()), role: Opt(Str()), type: Opt(Str()), level: Opt(Str()) })),
  appArmorProfile: Opt(Strict({ type: Str(), localhostProfile: Opt(Str()) })),
});

export const VolumeMount = Strict({
  name: Str(),
  mountPath: Str({ minLength: 1 }),
  subPath: Opt(Str()),
  subPathExpr: Opt(Str()),
  readOnly: Opt(Bool()),
  recursiveReadOnly: Opt(Str()),
  mountPropagation: Opt(Enum(['None', 'HostToContainer', 'Bidirectional'] as const)),
});

export const Container = Strict({
  name: Str({ description: 'DNS-1123 label, unique within the pod.' }),
  image: Opt(Str()),
  imagePullPolicy: Opt(Enum(['Always', 'IfNotPresent', 'Never'] as const)),
  command: Opt(StringList()),
  args: Opt(StringList()),
  workingDir: Opt(Str()),
  env: Opt(List(EnvVar)),
  envFrom: Opt(List(EnvFromSource)),
  ports: Opt(List(ContainerPort)),
  resources: Opt(ResourceRequirements),
  readinessProbe: Opt(Probe),
  livenessProbe: Opt(Probe),
  startupProbe: Opt(Probe),
  lifecycle: Opt(Strict({ postStart: Opt(LifecycleHandler), preStop: Opt(LifecycleHandler), stopSignal: Opt(Str()) })),
  securityContext: Opt(SecurityContext),
  volumeMounts: Opt(List(VolumeMount)),
  volumeDevices: Opt(List(Strict({ name: Str(), devicePath: Str() }))),
  restartPolicy: Opt(Enum(['Always'] as const)),
  stdin: Opt(Bool()),
  stdinOnce: Opt(Bool()),
  tty: Opt(Bool()),
  terminationMessagePath: Opt(Str()),
  terminationMessagePolicy: Opt(Enum(['File', 'FallbackToLogsOnError'] as const)),
  resizePolicy: Opt(List(Strict({ resourceName: Str(), restartPolicy: Str() }))),
});
export type Container = Static<typeof Container>;
