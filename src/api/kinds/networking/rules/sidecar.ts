/**
 * Istio's webhook validation of a Sidecar: workload selector, ingress listeners (port, bind,
 * default endpoint, TLS, connection pool), egress listeners (ports, unix sockets, one catch-all
 * listener last, `namespace/host` entries) and the outbound traffic policy.
 */
import type { Issue, Resource } from '../../../types.js';
import { SidecarSpec, type IstioEgressListener, type IstioIngressListener, type SidecarPort } from '../sidecar.js';
import { checkDurations } from './durations.js';
import { at, Findings, type Path } from './findings.js';
import {
  fqdnProblem, ipProblem, isHTTPProtocol, namespaceSlashHostProblems, parseProtocol, portNameProblem, portProblem,
  protocolProblem, unixAddressProblem,
} from './names.js';
import { checkDestination, checkWorkloadSelector } from './shared.js';
import { checkServerTLS } from './server-tls.js';
import { checkConnectionPool } from './traffic-policy.js';

const UNIX = 'unix://';
const LOOPBACK_OR_ANY = ['127.0.0.1', '0.0.0.0', '::1', '::'];

export function sidecarRules(r: Resource): Issue[] {
  const spec = r.spec as SidecarSpec;
  const f = new Findings();
  checkWorkloadSelector(spec.workloadSelector, ['spec', 'workloadSelector'], f, 'sidecar');
  if ((spec.egress?.length ?? 0) === 0 && (spec.ingress?.length ?? 0) === 0 && !spec.outboundTrafficPolicy && !spec.inboundConnectionPool) {
    f.error(['spec'], 'sidecar: empty configuration provided');
    return f.issues;
  }
  const ports = new Set<number>();
  spec.ingress?.forEach((l, i) => {
    const p: Path = ['spec', 'ingress', i];
    if (ports.has(l.port.number ?? 0)) f.error(at(p, 'port', 'number'), 'sidecar: ports on IP bound listeners must be unique');
    ports.add(l.port.number ?? 0);
    checkIngress(l, p, f);
  });
  checkConnectionPool(spec.inboundConnectionPool, ['spec', 'inboundConnectionPool'], f);
  checkEgress(spec.egress ?? [], r.metadata.namespace ?? 'default', f);
  const otp = spec.outboundTrafficPolicy;
  if (otp?.egressProxy !== undefined) {
    const p: Path = ['spec', 'outboundTrafficPolicy', 'egressProxy'];
    if (otp.mode !== 'ALLOW_ANY') {
      f.error(p, 'sidecar: egress_proxy must be set only with ALLOW_ANY outbound_traffic_policy mode');
    } else {
      f.check(at(p, 'host'), fqdnProblem(otp.egressProxy.host));
      if (otp.egressProxy.port === undefined) f.error(at(p, 'port'), 'sidecar: egress_proxy port must be non-nil');
      else checkDestination(otp.egressProxy, p, f);
    }
  }
  checkDurations(SidecarSpec, spec, ['spec'], f);
  return f.issues;
}

function checkPortCommon(port: SidecarPort, path: Path, f: Findings, sidecarUnix: boolean): void {
  if ((port.name ?? '') !== '') f.check(at(path, 'name'), portNameProblem(port.name ?? ''));
  f.check(at(path, 'protocol'), protocolProblem(port.protocol));
  if (!sidecarUnix) f.check(at(path, 'number'), portProblem(port.number ?? 0));
  if ((port.targetPort ?? 0) > 0) f.error(at(path, 'targetPort'), 'targetPort has no impact on Sidecars');
}

function checkIngress(l: IstioIngressListener, path: Path, f: Findings): void {
  checkPortCommon(l.port, at(path, 'port'), f, false);
  if ((l.bind ?? '') !== '') f.check(at(path, 'bind'), ipProblem(l.bind ?? ''));
  const ep = l.defaultEndpoint ?? '';
  if (ep !== '') checkDefaultEndpoint(ep, at(path, 'defaultEndpoint'), f);
  const tls = l.tls;
  if (tls !== undefined) {
    const p = at(path, 'tls');
    if ((tls.subjectAltNames?.length ?? 0) > 0) f.error(at(p, 'subjectAltNames'), 'sidecar: subjectAltNames is not supported in ingress tls');
    if (tls.httpsRedirect === true) f.error(at(p, 'httpsRedirect'), 'sidecar: httpsRedirect is not supported');
    if ((tls.credentialName ?? '') !== '') f.error(at(p, 'credentialName'), 'sidecar: credentialName is not currently supported');
    if (tls.mode === 'ISTIO_MUTUAL' || tls.mode === 'AUTO_PASSTHROUGH') {
      f.error(at(p, 'mode'), `configuration is invalid: cannot set mode to ${tls.mode} in sidecar ingress tls`);
    }
    checkServerTLS(tls, p, f);
  }
  checkConnectionPool(l.connectionPool, at(path, 'connectionPool'), f);
  if (l.connectionPool?.http !== undefined && !isHTTPProtocol(parseProtocol(l.port.protocol ?? ''))) {
    f.warn(at(path, 'connectionPool', 'http'),
      `sidecar: HTTP connection pool settings are configured for port ${l.port.number ?? 0} ("${l.port.name ?? ''}") but its protocol is not HTTP (${l.port.protocol ?? ''}); only TCP settings will apply`);
  }
}

/** `127.0.0.1:PORT`, `0.0.0.0:PORT`, `[::1]:PORT`, `[::]:PORT`, `:PORT` or `unix://path`. */
function checkDefaultEndpoint(ep: string, path: Path, f: Findings): void {
  if (ep.startsWith(UNIX)) {
    f.check(path, unixAddressProblem(ep.slice(UNIX.length)));
    return;
  }
  const m = /^(?:\[([^\]]*)\]|([^:[\]]*)):([^:]*)$/.exec(ep);
  if (m === null) {
    f.error(path, `address ${ep}: ${ep.includes(':') ? 'too many colons in address' : 'missing port in address'}`);
    return;
  }
  const host = m[1] ?? m[2] ?? '';
  const port = m[3] ?? '';
  if (host !== '' && !LOOPBACK_OR_ANY.includes(host)) {
    f.error(path, 'sidecar: defaultEndpoint must be of form 127.0.0.1:<port>,0.0.0.0:<port>,[::1]:port,[::]:port,unix://filepath or unset');
  }
  if (!/^[+-]?\d+$/.test(port)) f.error(path, `sidecar: defaultEndpoint port (${port}) is not a number`);
  else f.check(path, portProblem(Number(port)));
}

function checkEgress(egress: readonly IstioEgressListener[], namespace: string, f: Findings): void {
  const ports = new Set<number>();
  const sockets = new Set<string>();
  let catchAll = false;
  egress.forEach((l, i) => {
    const p: Path = ['spec', 'egress', i];
    if (l.port === undefined) {
      // At most one listener without a port, and it catches everything, so it must come last.
      if (catchAll) {
        f.error(p, 'sidecar: egress can have only one listener with empty port');
        return;
      }
      catchAll = true;
      if (i !== egress.length - 1) f.error(p, 'sidecar: the egress listener with empty port should be the last listener in the list');
    } else {
      const bind = l.bind ?? '';
      const number = l.port.number ?? 0;
      checkPortCommon(l.port, at(p, 'port'), f, number === 0);
      if (number === 0) {
        if (!bind.startsWith(UNIX)) f.error(at(p, 'bind'), 'sidecar: ports with 0 value must have a unix domain socket bind address');
        else f.check(at(p, 'bind'), unixAddressProblem(bind.slice(UNIX.length)));
        if (l.captureMode !== undefined && l.captureMode !== 'DEFAULT' && l.captureMode !== 'NONE') {
          f.error(at(p, 'captureMode'), 'sidecar: captureMode must be DEFAULT/NONE for unix domain socket listeners');
        }
        if (sockets.has(bind)) f.error(at(p, 'bind'), 'sidecar: unix domain socket values for listeners must be unique');
        sockets.add(bind);
      } else {
        if (bind !== '') f.check(at(p, 'bind'), ipProblem(bind));
        if (ports.has(number)) f.error(at(p, 'port', 'number'), 'sidecar: ports on IP bound listeners must be unique');
        ports.add(number);
      }
    }
    checkEgressHosts(l.hosts, namespace, at(p, 'hosts'), f);
  });
}

function checkEgressHosts(hosts: readonly string[], namespace: string, path: Path, f: Findings): void {
  if (hosts.length === 0) {
    f.error(path, 'sidecar: egress listener must contain at least one host');
    return;
  }
  const byNamespace = new Map<string, Set<string>>();
  hosts.forEach((h, i) => {
    const slash = h.indexOf('/');
    if (slash >= 0) {
      const ns = h.slice(0, slash) === '.' ? namespace : h.slice(0, slash);
      const svc = h.slice(slash + 1);
      const seen = byNamespace.get(ns) ?? new Set<string>();
      const dup = svc === '*' ? seen.size > 0 : seen.has(svc) || seen.has('*');
      if (dup) f.warn(at(path, i), `duplicated egress host: ${h}`);
      seen.add(svc);
      byNamespace.set(ns, seen);
    }
    f.check(at(path, i), ...namespaceSlashHostProblems(h, false));
  });
  if (byNamespace.get('*')?.has('*') === true && byNamespace.size !== 1) {
    f.warn(path, '`*/*` host select all resources, no other hosts can be added');
  }
}
