/**
 * What `skiff manifest generate` prints and `skiff install` applies, as `istioctl manifest
 * generate` does for istiod: the CRDs of every Istio kind Skiff serves (from the API definitions),
 * the `istio-system` namespace, skiffd's ServiceAccount and least-privilege RBAC, its Deployment
 * (two replicas), Service and PodDisruptionBudget, the sidecar-injection and validation webhook
 * configurations, and the ingress gateway's Deployment, Service and ServiceAccount. One image runs
 * skiffd, the proxy and `skiff iptables` (see the Dockerfile).
 */
import { generateCrds, kinds } from '../api/index.js';

export interface ManifestOptions {
  /** The image every container runs. */
  image: string;
  /** Where skiffd and the gateway run (Istio's root namespace). Default `istio-system`. */
  namespace?: string;
  /** skiffd's replicas. Default 2. */
  replicas?: number;
}

export type ManifestObject = Record<string, unknown> & { apiVersion: string; kind: string; metadata: { name: string; namespace?: string; labels?: Record<string, string> } };

/** skiffd's ports: push (proxies' config stream, Istio's xDS port) and the webhooks' HTTPS server. */
export const SKIFFD_PUSH_PORT = 15010;
/** The push port over TLS, where proxies in pods connect (istiod's 15012). */
export const SKIFFD_PUSH_TLS_PORT = 15012;
export const SKIFFD_WEBHOOK_PORT = 15017;
/** The name of skiffd's Deployment, Service, ServiceAccount and RBAC objects. */
export const SKIFFD_NAME = 'skiffd';
export const INJECTOR_WEBHOOK = 'skiff-sidecar-injector';
export const VALIDATOR_WEBHOOK = 'skiff-validator';

/** Where a proxy finds its pod's istio-ca token and the mesh root, as Istio mounts them. */
export const ISTIO_TOKEN_FILE = '/var/run/secrets/tokens/istio-token';
export const ROOT_CERT_FILE = '/var/run/secrets/istio/root-cert.pem';

/** A proxy's volumes: the projected istio-ca token, the `istio-ca-root-cert` ConfigMap, scratch space. */
export function proxyVolumes(): Array<Record<string, unknown>> {
  return [
    { name: 'istio-envoy', emptyDir: { medium: 'Memory' } },
    { name: 'istio-token', projected: { sources: [{ serviceAccountToken: { audience: 'istio-ca', expirationSeconds: 43200, path: 'istio-token' } }] } },
    { name: 'istiod-ca-cert', configMap: { name: 'istio-ca-root-cert' } },
  ];
}

export function proxyVolumeMounts(): Array<Record<string, unknown>> {
  return [
    { name: 'istio-envoy', mountPath: '/etc/istio/proxy' },
    { name: 'istio-token', mountPath: '/var/run/secrets/tokens' },
    { name: 'istiod-ca-cert', mountPath: '/var/run/secrets/istio' },
  ];
}

const istioGroups = (): string[] => [...new Set(kinds.filter((k) => k.group.endsWith('.istio.io')).map((k) => k.group))].sort();
const istioResources = (group: string): string[] => kinds.filter((k) => k.group === group).map((k) => k.plural).sort();

/**
 * skiffd's cluster-wide permissions, each for what it does: read the mesh's config and workloads
 * (informers), publish the root certificate to every namespace (`istio-ca-root-cert`), fill in the
 * webhooks' CA bundle, and check proxies' tokens (TokenReview). Nothing else is written.
 */
export function skiffdClusterRules(): object[] {
  return [
    { apiGroups: [''], resources: ['namespaces', 'services', 'pods', 'secrets'], verbs: ['get', 'list', 'watch'] },
    { apiGroups: ['discovery.k8s.io'], resources: ['endpointslices'], verbs: ['get', 'list', 'watch'] },
    ...istioGroups().map((g) => ({ apiGroups: [g], resources: istioResources(g), verbs: ['get', 'list', 'watch'] })),
    { apiGroups: [''], resources: ['configmaps'], verbs: ['get', 'list', 'watch', 'create', 'update', 'patch'] },
    { apiGroups: ['admissionregistration.k8s.io'], resources: ['mutatingwebhookconfigurations'], resourceNames: [INJECTOR_WEBHOOK], verbs: ['get', 'update', 'patch'] },
    { apiGroups: ['admissionregistration.k8s.io'], resources: ['validatingwebhookconfigurations'], resourceNames: [VALIDATOR_WEBHOOK], verbs: ['get', 'update', 'patch'] },
    { apiGroups: ['authentication.k8s.io'], resources: ['tokenreviews'], verbs: ['create'] },
  ];
}

export function generateManifest(opts: ManifestOptions): ManifestObject[] {
  const ns = opts.namespace ?? 'istio-system';
  const labels = { app: SKIFFD_NAME, istio: 'pilot' };
  const gatewayLabels = { app: 'istio-ingressgateway', istio: 'ingressgateway' };
  const webhookService = { name: SKIFFD_NAME, namespace: ns, port: 443 };
  const podSecurity = { runAsNonRoot: true, runAsUser: 1337, runAsGroup: 1337 };
  const containerSecurity = { allowPrivilegeEscalation: false, readOnlyRootFilesystem: true, capabilities: { drop: ['ALL'] } };
  const crds = generateCrds() as ManifestObject[];
  return [
    ...crds,
    { apiVersion: 'v1', kind: 'Namespace', metadata: { name: ns, labels: { 'kubernetes.io/metadata.name': ns } } },
    { apiVersion: 'v1', kind: 'ServiceAccount', metadata: { name: SKIFFD_NAME, namespace: ns, labels } },
    { apiVersion: 'rbac.authorization.k8s.io/v1', kind: 'ClusterRole', metadata: { name: SKIFFD_NAME, labels }, rules: skiffdClusterRules() },
    {
      apiVersion: 'rbac.authorization.k8s.io/v1',
      kind: 'ClusterRoleBinding',
      metadata: { name: SKIFFD_NAME, labels },
      roleRef: { apiGroup: 'rbac.authorization.k8s.io', kind: 'ClusterRole', name: SKIFFD_NAME },
      subjects: [{ kind: 'ServiceAccount', name: SKIFFD_NAME, namespace: ns }],
    },
    // The CA root the replicas share: a Secret of its own namespace only.
    { apiVersion: 'rbac.authorization.k8s.io/v1', kind: 'Role', metadata: { name: SKIFFD_NAME, namespace: ns, labels }, rules: [{ apiGroups: [''], resources: ['secrets'], verbs: ['create', 'update', 'patch'] }] },
    {
      apiVersion: 'rbac.authorization.k8s.io/v1',
      kind: 'RoleBinding',
      metadata: { name: SKIFFD_NAME, namespace: ns, labels },
      roleRef: { apiGroup: 'rbac.authorization.k8s.io', kind: 'Role', name: SKIFFD_NAME },
      subjects: [{ kind: 'ServiceAccount', name: SKIFFD_NAME, namespace: ns }],
    },
    {
      apiVersion: 'apps/v1',
      kind: 'Deployment',
      metadata: { name: SKIFFD_NAME, namespace: ns, labels },
      spec: {
        replicas: opts.replicas ?? 2,
        selector: { matchLabels: labels },
        template: {
          metadata: { labels: { ...labels, 'sidecar.istio.io/inject': 'false' } },
          spec: {
            serviceAccountName: SKIFFD_NAME,
            securityContext: podSecurity,
            containers: [
              {
                name: 'discovery',
                image: opts.image,
                args: ['skiffd', '--state-dir', '/var/lib/skiff', '--push-port', String(SKIFFD_PUSH_PORT), '--root-namespace', ns],
                ports: [
                  { name: 'grpc-xds', containerPort: SKIFFD_PUSH_PORT, protocol: 'TCP' },
                  { name: 'https-dns', containerPort: SKIFFD_PUSH_TLS_PORT, protocol: 'TCP' },
                  { name: 'https-webhooks', containerPort: SKIFFD_WEBHOOK_PORT, protocol: 'TCP' },
                ],
                // The TLS push port listens on the pod's address (the cleartext one on loopback only).
                readinessProbe: { tcpSocket: { port: SKIFFD_PUSH_TLS_PORT }, periodSeconds: 3 },
                resources: { requests: { cpu: '500m', memory: '512Mi' } },
                securityContext: containerSecurity,
                volumeMounts: [{ name: 'state', mountPath: '/var/lib/skiff' }],
              },
            ],
            volumes: [{ name: 'state', emptyDir: {} }],
          },
        },
      },
    },
    {
      apiVersion: 'v1',
      kind: 'Service',
      metadata: { name: SKIFFD_NAME, namespace: ns, labels },
      spec: {
        selector: labels,
        ports: [
          { name: 'grpc-xds', port: SKIFFD_PUSH_PORT, targetPort: SKIFFD_PUSH_PORT, protocol: 'TCP' },
          { name: 'https-dns', port: SKIFFD_PUSH_TLS_PORT, targetPort: SKIFFD_PUSH_TLS_PORT, protocol: 'TCP' },
          { name: 'https-webhook', port: 443, targetPort: SKIFFD_WEBHOOK_PORT, protocol: 'TCP' },
        ],
      },
    },
    { apiVersion: 'policy/v1', kind: 'PodDisruptionBudget', metadata: { name: SKIFFD_NAME, namespace: ns, labels }, spec: { minAvailable: 1, selector: { matchLabels: labels } } },
    {
      apiVersion: 'admissionregistration.k8s.io/v1',
      kind: 'MutatingWebhookConfiguration',
      metadata: { name: INJECTOR_WEBHOOK, labels },
      // Two webhooks, as Istio's: pods of a namespace labelled istio-injection=enabled (unless the
      // pod opts out), and pods that opt in by label in a namespace that says nothing.
      webhooks: [
        {
          name: 'namespace.sidecar-injector.skiff.io',
          clientConfig: { service: { ...webhookService, path: '/inject' } },
          rules: [{ operations: ['CREATE'], apiGroups: [''], apiVersions: ['v1'], resources: ['pods'] }],
          namespaceSelector: { matchExpressions: [{ key: 'istio-injection', operator: 'In', values: ['enabled'] }] },
          objectSelector: { matchExpressions: [{ key: 'sidecar.istio.io/inject', operator: 'NotIn', values: ['false'] }] },
          sideEffects: 'None',
          admissionReviewVersions: ['v1'],
          failurePolicy: 'Fail',
          reinvocationPolicy: 'Never',
        },
        {
          name: 'object.sidecar-injector.skiff.io',
          clientConfig: { service: { ...webhookService, path: '/inject' } },
          rules: [{ operations: ['CREATE'], apiGroups: [''], apiVersions: ['v1'], resources: ['pods'] }],
          namespaceSelector: {
            matchExpressions: [
              { key: 'istio-injection', operator: 'DoesNotExist' },
              { key: 'istio.io/rev', operator: 'DoesNotExist' },
            ],
          },
          objectSelector: { matchExpressions: [{ key: 'sidecar.istio.io/inject', operator: 'In', values: ['true'] }] },
          sideEffects: 'None',
          admissionReviewVersions: ['v1'],
          failurePolicy: 'Fail',
          reinvocationPolicy: 'Never',
        },
      ],
    },
    {
      apiVersion: 'admissionregistration.k8s.io/v1',
      kind: 'ValidatingWebhookConfiguration',
      metadata: { name: VALIDATOR_WEBHOOK, labels },
      webhooks: [
        {
          name: 'validation.skiff.io',
          clientConfig: { service: { ...webhookService, path: '/validate' } },
          rules: [{ operations: ['CREATE', 'UPDATE'], apiGroups: istioGroups(), apiVersions: ['*'], resources: ['*'] }],
          sideEffects: 'None',
          admissionReviewVersions: ['v1'],
          // Ignore until skiffd has put its CA bundle here and serves; skiffd then sets Fail, as istiod does.
          failurePolicy: 'Ignore',
        },
      ],
    },
    { apiVersion: 'v1', kind: 'ServiceAccount', metadata: { name: 'istio-ingressgateway-service-account', namespace: ns, labels: gatewayLabels } },
    {
      apiVersion: 'apps/v1',
      kind: 'Deployment',
      metadata: { name: 'istio-ingressgateway', namespace: ns, labels: gatewayLabels },
      spec: {
        replicas: 1,
        selector: { matchLabels: gatewayLabels },
        template: {
          metadata: { labels: { ...gatewayLabels, 'sidecar.istio.io/inject': 'false' } },
          spec: {
            serviceAccountName: 'istio-ingressgateway-service-account',
            securityContext: podSecurity,
            containers: [
              {
                name: 'istio-proxy',
                image: opts.image,
                args: ['proxy', '--kind', 'gateway', '--control-plane', `https://${SKIFFD_NAME}.${ns}.svc:${SKIFFD_PUSH_TLS_PORT}`, '--credential-file', ISTIO_TOKEN_FILE, '--id', '$(POD_NAME).$(POD_NAMESPACE)', '--workload', '$(POD_NAME)', '--namespace', '$(POD_NAMESPACE)', '--service-account', 'istio-ingressgateway-service-account', '--label', 'istio=ingressgateway', '--label', 'app=istio-ingressgateway'],
                env: [
                  { name: 'POD_NAME', valueFrom: { fieldRef: { fieldPath: 'metadata.name' } } },
                  { name: 'POD_NAMESPACE', valueFrom: { fieldRef: { fieldPath: 'metadata.namespace' } } },
                ],
                ports: [
                  { name: 'http2', containerPort: 8080, protocol: 'TCP' },
                  { name: 'https', containerPort: 8443, protocol: 'TCP' },
                  { name: 'status-port', containerPort: 15021, protocol: 'TCP' },
                  { name: 'http-envoy-prom', containerPort: 15090, protocol: 'TCP' },
                ],
                readinessProbe: { httpGet: { path: '/healthz/ready', port: 15021 }, periodSeconds: 2 },
                securityContext: containerSecurity,
                volumeMounts: proxyVolumeMounts(),
              },
            ],
            volumes: proxyVolumes(),
          },
        },
      },
    },
    {
      apiVersion: 'v1',
      kind: 'Service',
      metadata: { name: 'istio-ingressgateway', namespace: ns, labels: gatewayLabels },
      spec: {
        type: 'LoadBalancer',
        selector: gatewayLabels,
        ports: [
          { name: 'status-port', port: 15021, targetPort: 15021, protocol: 'TCP' },
          { name: 'http2', port: 80, targetPort: 8080, protocol: 'TCP' },
          { name: 'https', port: 443, targetPort: 8443, protocol: 'TCP' },
        ],
      },
    },
  ];
}
