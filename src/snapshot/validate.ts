/**
 * Validation of a whole proxy snapshot, as parsed from JSON: checked before anything is applied,
 * the first problem reported with the path of the offending field (`listeners[1].port`).
 */
import { checkAuthorization } from './authorization.js';
import { checkRequestAuthentication } from './request-authentication.js';
import { SnapshotError, list, obj, oneOf, str, stringMap } from './checks.js';
import { ClusterConfigError, withDefaults } from './cluster-defaults.js';
import type { ClusterConfig, ClusterConfigInput } from './clusters.js';
import { checkListener } from './listeners.js';
import { checkCaptureTargets } from './capture.js';
import { checkSecretRef, checkTlsSecrets, type TlsSecret } from './tls.js';
import { RouteConfigError, type RouteConfig } from './routes.js';
import type { NodeConfig, ResolvedSnapshot } from './snapshot.js';
import { TelemetryConfigError, checkTelemetryConfig } from './telemetry.js';

/** A validated snapshot, with each route config in the form the caller compiled it to. */
export interface ValidSnapshot<R> {
  snapshot: ResolvedSnapshot;
  routeTables: Map<string, R>;
}

function checkNode(v: unknown): NodeConfig {
  const o = obj(v, 'node');
  const node: NodeConfig = { id: str(o.id, 'node.id'), kind: oneOf(o.kind, ['sidecar', 'gateway'] as const, 'node.kind') };
  if (o.workload !== undefined) {
    const w = obj(o.workload, 'node.workload');
    node.workload = {
      name: str(w.name, 'node.workload.name'),
      namespace: str(w.namespace, 'node.workload.namespace'),
      labels: w.labels === undefined ? {} : stringMap(w.labels, 'node.workload.labels'),
      serviceAccount: w.serviceAccount === undefined ? 'default' : str(w.serviceAccount, 'node.workload.serviceAccount'),
    };
  }
  return node;
}

/**
 * Validates a snapshot (as parsed from JSON). Each route config goes through `compileRoute` in
 * turn (the proxy passes its route compiler, which checks what it compiles); a `RouteConfigError`
 * it throws is reported under that route config's path. Throws `SnapshotError` naming the first
 * offending field; returns nothing half-checked.
 */
export function validateSnapshot<R>(input: unknown, compileRoute: (config: RouteConfig) => R): ValidSnapshot<R> {
  const o = obj(input, 'snapshot');
  const version = typeof o.version === 'number' ? String(o.version) : str(o.version, 'version');
  const node = checkNode(o.node);

  const routeTables = new Map<string, R>();
  const routes = list(o.routes ?? [], 'routes') as RouteConfig[];
  routes.forEach((r, i) => {
    const at = `routes[${i}]`;
    const name = str(obj(r, at).name, `${at}.name`);
    if (routeTables.has(name)) throw new SnapshotError(`${at}.name`, `duplicate route config name ${JSON.stringify(name)}`);
    try {
      routeTables.set(name, compileRoute(r));
    } catch (err) {
      if (err instanceof RouteConfigError) throw new SnapshotError(`${at}.${err.path}`, err.reason);
      throw err;
    }
  });

  const clusters: ClusterConfig[] = [];
  const clusterNames = new Set<string>();
  list(o.clusters ?? [], 'clusters').forEach((c, i) => {
    let cfg: ClusterConfig;
    try {
      cfg = withDefaults(c as ClusterConfigInput);
    } catch (err) {
      if (err instanceof ClusterConfigError) throw new SnapshotError(`clusters[${i}]`, err.message);
      throw err;
    }
    if (clusterNames.has(cfg.name)) throw new SnapshotError(`clusters[${i}].name`, `duplicate cluster name ${JSON.stringify(cfg.name)}`);
    clusterNames.add(cfg.name);
    clusters.push(cfg);
  });

  const names = new Set<string>();
  const addresses = new Map<string, string>();
  const listeners = list(o.listeners ?? [], 'listeners').map((l, i) => {
    const at = `listeners[${i}]`;
    const listener = checkListener(l, at, new Set(routeTables.keys()));
    if (names.has(listener.name)) throw new SnapshotError(`${at}.name`, `duplicate listener name ${JSON.stringify(listener.name)}`);
    names.add(listener.name);
    if (listener.port !== 0 && listener.bindToPort !== false) {
      const key = `${listener.address}:${listener.port}`;
      const other = addresses.get(key);
      if (other !== undefined) throw new SnapshotError(`${at}.port`, `${key} is already used by listener ${JSON.stringify(other)}`);
      addresses.set(key, listener.name);
    }
    return listener;
  });
  checkCaptureTargets(listeners);

  const snapshot: ResolvedSnapshot = { version, node, listeners, routes, clusters };
  if (o.secrets !== undefined) snapshot.secrets = checkTlsSecrets(o.secrets, 'secrets');
  checkSecretRefs(snapshot);
  if (o.telemetry !== undefined) {
    try {
      snapshot.telemetry = checkTelemetryConfig(o.telemetry);
    } catch (err) {
      if (err instanceof TelemetryConfigError) throw new SnapshotError(err.path, err.reason);
      throw err;
    }
  }
  if (o.authorization !== undefined) snapshot.authorization = checkAuthorization(o.authorization, clusterNames);
  if (o.requestAuthentication !== undefined) snapshot.requestAuthentication = checkRequestAuthentication(o.requestAuthentication);
  return { snapshot, routeTables };
}

/** Every `{secret}` a cluster's or a filter chain's TLS names is in the snapshot's `secrets`, with the part it takes. */
function checkSecretRefs(snapshot: ResolvedSnapshot): void {
  const secrets = new Map<string, TlsSecret>((snapshot.secrets ?? []).map((s) => [s.name, s]));
  snapshot.clusters.forEach((c, i) => {
    if (c.tls === undefined) return;
    const at = `clusters[${i}].tls`;
    checkSecretRef(c.tls.clientCertificate, 'certificate', `${at}.clientCertificate`, secrets);
    checkSecretRef(c.tls.privateKey, 'privateKey', `${at}.privateKey`, secrets);
    checkSecretRef(c.tls.caCertificates, 'caCertificates', `${at}.caCertificates`, secrets);
  });
  snapshot.listeners.forEach((l, i) => {
    l.filterChains?.forEach((chain, j) => {
      const tls = chain.transport?.tls;
      if (tls === undefined) return;
      const at = `listeners[${i}].filterChains[${j}].transport.tls`;
      checkSecretRef(tls.certificate, 'certificate', `${at}.certificate`, secrets);
      checkSecretRef(tls.privateKey, 'privateKey', `${at}.privateKey`, secrets);
      checkSecretRef(tls.caCertificates, 'caCertificates', `${at}.caCertificates`, secrets);
    });
  });
}
