/**
 * Clusters of a proxy snapshot: one `outbound|port|subset|host` cluster per port of every
 * service the proxy sees (and per DestinationRule subset), with its endpoints and merged traffic
 * policy; `inbound|port||` clusters in front of the local app; and Istio's PassthroughCluster and
 * BlackHoleCluster.
 */
import type { Protocol } from '../../registry/protocol.js';
import { isHttpProtocol, isOpaqueProtocol } from '../../registry/protocol.js';
import type { ClusterConfig, ClusterConfigInput, EndpointConfig, TlsSecret } from '../../snapshot/index.js';
import { istioMutualSni } from '../../snapshot/index.js';
import { meshClusterTls } from './auto-mtls.js';
import { clientTlsOf } from './client-tls.js';
import { connectionPoolOf, lbPolicyOf, outlierDetectionOf, policyFor, type MergedPolicy } from './destination-policy.js';
import type { ConfigIndex, DestinationRuleEntry } from './push-context.js';
import { endpointsOf, type MeshPort, type MeshService } from './services.js';

export const PASSTHROUGH_CLUSTER = 'PassthroughCluster';
export const BLACKHOLE_CLUSTER = 'BlackHoleCluster';

/** `outbound|9080|v1|reviews.default.svc.cluster.local`. */
export function outboundClusterName(port: number, subset: string | undefined, host: string): string {
  return `outbound|${port}|${subset ?? ''}|${host}`;
}

/** `inbound|9080||` (the container port). */
export function inboundClusterName(containerPort: number): string {
  return `inbound|${containerPort}||`;
}

/** The upstream protocol a service port's protocol implies. */
export function clusterProtocol(p: Protocol): ClusterConfig['protocol'] {
  if (p === 'HTTP') return 'http1';
  if (isHttpProtocol(p)) return 'http2';
  if (isOpaqueProtocol(p)) return 'tcp';
  return 'auto';
}

/** Who asks: the proxy's namespace and, for sidecars, its workload labels (for selector-scoped rules). */
export interface ClusterScope {
  namespace: string;
  labels?: Readonly<Record<string, string>>;
  /** Receives the named secrets the clusters' TLS takes (DestinationRule `credentialName`), by name. */
  secrets?: Map<string, TlsSecret>;
  /** Told about a cluster whose TLS cannot be built (it is kept without endpoints). */
  warn?: (message: string) => void;
}

/** Every outbound cluster for the given services. */
export function outboundClusters(index: ConfigIndex, services: readonly MeshService[], scope: ClusterScope): ClusterConfigInput[] {
  const out: ClusterConfigInput[] = [];
  for (const svc of services) {
    const dr = index.destinationRule(svc.hostname, scope.namespace, scope.labels);
    for (const port of svc.ports) {
      if (port.protocol === 'UDP') continue;
      const subsets = [undefined, ...(dr?.subsets ?? [])];
      for (const subset of subsets) {
        const policy = policyFor(dr, port.port, subset);
        const cluster: ClusterConfigInput = {
          name: outboundClusterName(port.port, subset?.name, svc.hostname),
          protocol: clusterProtocol(port.protocol),
          endpoints: endpointsOf(svc, port, subset?.labels, index.workloads, index.mesh.trustDomain),
        };
        // A ServiceEntry with resolution NONE forwards to wherever the caller was going.
        if (svc.resolution === 'NONE' && svc.selector === undefined) {
          cluster.discovery = 'original-dst';
          delete cluster.endpoints;
        }
        const lb = lbPolicyOf(policy?.loadBalancer);
        if (lb !== undefined) cluster.lb = lb;
        applyPolicy(index, svc, cluster, policy, dr, scope);
        if (subset !== undefined) cluster.metadata!.subset = subset.name;
        out.push(cluster);
      }
    }
  }
  return out;
}

/**
 * A cluster reaching one endpoint of a service port, under the service port's policy: what a
 * captured sidecar's listener for one pod of a headless Service routes to, so that the connection
 * reaches the very pod the client dialled. Its load balancer is moot (Istio's is the original
 * destination); connection pool, outlier detection and TLS are the port's, automatic mutual TLS
 * decided by that one endpoint: ISTIO_MUTUAL when it runs a sidecar, plaintext when it does not.
 * The TLS SNI stays the service's (`outbound_.PORT_._.HOST`), whatever the cluster is called.
 */
export function endpointCluster(index: ConfigIndex, svc: MeshService, port: MeshPort, endpoint: EndpointConfig, name: string, scope: ClusterScope): ClusterConfigInput {
  const dr = index.destinationRule(svc.hostname, scope.namespace, scope.labels);
  const cluster: ClusterConfigInput = { name, protocol: clusterProtocol(port.protocol), endpoints: [endpoint] };
  applyPolicy(index, svc, cluster, policyFor(dr, port.port, undefined), dr, scope);
  if (cluster.tls?.mode === 'ISTIO_MUTUAL' && cluster.tls.sni === undefined) cluster.tls = { ...cluster.tls, sni: istioMutualSni(outboundClusterName(port.port, undefined, svc.hostname)) };
  return cluster;
}

/** The merged traffic policy's connection pool, outlier detection and TLS on `cluster`, and the service's metadata. */
function applyPolicy(index: ConfigIndex, svc: MeshService, cluster: ClusterConfigInput, policy: MergedPolicy | undefined, dr: DestinationRuleEntry | undefined, scope: ClusterScope): void {
  const pool = connectionPoolOf(policy?.connectionPool);
  if (pool !== undefined && Object.keys(pool).length > 0) cluster.connectionPool = pool;
  const outlier = outlierDetectionOf(policy?.outlierDetection);
  if (outlier !== undefined) cluster.outlierDetection = outlier;
  const tls = clientTlsOf(policy?.tls, svc.hostname, scope.namespace, index.secret);
  if ('error' in tls) {
    // Never plaintext where TLS was asked for: the cluster is kept with no endpoint (503 UH).
    scope.warn?.(`DestinationRule ${dr?.namespace}/${dr?.name} for ${cluster.name}: ${tls.error}; the cluster has no endpoints until it is fixed`);
    cluster.discovery = 'static';
    cluster.endpoints = [];
  } else if (tls.tls !== undefined) {
    cluster.tls = tls.tls;
    for (const s of tls.secrets) scope.secrets?.set(s.name, s);
  } else {
    // No tls, or ISTIO_MUTUAL: Istio mutual TLS, automatic towards endpoints with a sidecar.
    const mesh = meshClusterTls(index, svc, policy?.tls, cluster.endpoints ?? []);
    if (mesh !== undefined) cluster.tls = mesh;
  }
  cluster.metadata = { serviceHost: svc.hostname, serviceName: svc.name, serviceNamespace: svc.namespace };
}

/** Istio's clusters for traffic outside the registry: forwarded to the original destination, or dropped. */
export function fallbackClusters(): ClusterConfigInput[] {
  return [
    { name: BLACKHOLE_CLUSTER, discovery: 'static', protocol: 'tcp', endpoints: [] },
    { name: PASSTHROUGH_CLUSTER, discovery: 'original-dst', protocol: 'auto' },
  ];
}
