/**
 * Service ports should declare their protocol, by `appProtocol` or a port name of the form
 * `<protocol>[-<suffix>]` (`http`, `http-web`, `grpc`, `tcp-db`, ...); otherwise the proxy has
 * to sniff the protocol (IST0118, Info), as Istio's PortNameAnalyzer reports.
 */
import type { ServiceSpec } from '../../api/kinds/kube/core.js';
import type { Analyzer } from '../context.js';
import { CORE, namespaceOf } from '../context.js';
import { MessageTypes, text } from '../messages.js';

const PROTOCOLS = new Set(['tcp', 'udp', 'grpc', 'grpc-web', 'http', 'http_proxy', 'http2', 'https', 'tls', 'mongo', 'redis', 'mysql']);
/** Kubernetes' standard appProtocol names. */
const K8S_APP_PROTOCOLS = new Set(['kubernetes.io/h2c', 'kubernetes.io/ws', 'kubernetes.io/wss']);
/** Ports Istio treats as TCP without a declared protocol (SMTP, DNS, MySQL, MongoDB). */
const WELL_KNOWN_TCP_PORTS = new Set([25, 53, 3306, 27017]);
/** Namespaces Istio leaves alone. */
const SYSTEM_NAMESPACES = new Set(['kube-system', 'kube-public', 'kube-node-lease', 'istio-system']);

type ServicePort = NonNullable<ServiceSpec['ports']>[number];

export const servicePortNames: Analyzer = {
  name: 'service.PortNameAnalyzer',
  description: 'Checks the port names associated with each service',
  analyze(ctx) {
    for (const lr of ctx.all(CORE, 'Service')) {
      if (SYSTEM_NAMESPACES.has(namespaceOf(lr.resource))) continue;
      const ports = (lr.resource.spec as ServiceSpec).ports ?? [];
      ports.forEach((p, i) => {
        if (protocolDeclared(p)) return;
        const target = p.targetPort === undefined ? String(p.port) : String(p.targetPort);
        ctx.report(MessageTypes.PortNameIsNotUnderNamingConvention, lr, text.portNameNotUnderConvention(p.name ?? '', p.port, target), ['spec', 'ports', i]);
      });
    }
  },
};

/** Istio's ConvertProtocol: transport protocol, then appProtocol, then the port name's prefix. */
function protocolDeclared(p: ServicePort): boolean {
  if (p.protocol === 'UDP' || p.protocol === 'SCTP') return true;
  const name = (p.appProtocol ?? p.name ?? '').toLowerCase();
  if (K8S_APP_PROTOCOLS.has(name) || name.startsWith('grpc-web')) return true;
  const dash = name.indexOf('-');
  if (PROTOCOLS.has(dash >= 0 ? name.slice(0, dash) : name)) return true;
  return WELL_KNOWN_TCP_PORTS.has(p.port);
}
