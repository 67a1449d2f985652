/**
 * Istio's webhook validation of a Gateway: at least one server; per server its hosts
 * (`namespace/host`), port, bind address and TLS settings; unique port names.
 */
import type { Issue, Resource } from '../../../types.js';
import type { GatewaySpec, Server } from '../gateway.js';
import { at, Findings, type Path } from './findings.js';
import { ipProblem, isHTTPProtocol, isTLSProtocol, namespaceSlashHostProblems, parseProtocol, portProblem, unixAddressProblem } from './names.js';
import { checkServerTLS } from './server-tls.js';

const UNIX = 'unix://';

export function gatewayRules(r: Resource): Issue[] {
  const spec = r.spec as GatewaySpec;
  const f = new Findings();
  const servers = spec.servers ?? [];
  if (servers.length === 0) f.error(['spec', 'servers'], 'gateway must have at least one server');
  servers.forEach((s, i) => checkServer(s, ['spec', 'servers', i], f));
  const names = new Set<string>();
  servers.forEach((s, i) => {
    if (names.has(s.port.name)) f.error(['spec', 'servers', i, 'port', 'name'], `port names in servers must be unique: duplicate name ${s.port.name}`);
    names.add(s.port.name);
    if (!isHTTPProtocol(parseProtocol(s.port.protocol)) && s.tls?.httpsRedirect === true) {
      f.warn(['spec', 'servers', i, 'tls', 'httpsRedirect'], 'tls.httpsRedirect should only be used with http servers');
    }
  });
  return f.issues;
}

function checkServer(s: Server, path: Path, f: Findings): void {
  if (s.hosts.length === 0) f.error(at(path, 'hosts'), 'server config must contain at least one host');
  s.hosts.forEach((h, i) => f.check(at(path, 'hosts', i), ...namespaceSlashHostProblems(h, true)));
  const bind = s.bind ?? '';
  const port = s.port;
  const portPath = at(path, 'port');
  let portOk = true;
  const protocol = parseProtocol(port.protocol);
  if (protocol === undefined) {
    f.error(at(portPath, 'protocol'), `invalid protocol "${port.protocol}", supported protocols are HTTP, HTTP2, GRPC, GRPC-WEB, MONGO, REDIS, MYSQL, TCP`);
    portOk = false;
  }
  if (port.number > 0 || !bind.startsWith(UNIX)) {
    const problem = portProblem(port.number);
    if (problem !== undefined) {
      f.error(at(portPath, 'number'), problem);
      portOk = false;
    }
  }
  if ((port.targetPort ?? 0) > 0) {
    f.error(at(portPath, 'targetPort'), 'targetPort has no impact on Gateways');
    portOk = false;
  }
  if (port.name === '') {
    f.error(at(portPath, 'name'), 'port name must be set');
    portOk = false;
  }
  if (bind.startsWith(UNIX)) {
    f.check(at(path, 'bind'), unixAddressProblem(bind.slice(UNIX.length)));
    if (port.number !== 0) f.error(at(portPath, 'number'), `port number must be 0 for unix domain socket: ${port.number}`);
  } else if (bind !== '') {
    f.check(at(path, 'bind'), ipProblem(bind));
  }
  checkServerTLS(s.tls, at(path, 'tls'), f);
  if (!portOk) return;
  if (isTLSProtocol(protocol) && s.tls === undefined) {
    f.error(path, 'server must have TLS settings for HTTPS/TLS protocols');
  } else if (!isTLSProtocol(protocol) && s.tls !== undefined) {
    if (isHTTPProtocol(protocol)) {
      // Plain HTTP servers may carry TLS settings only to redirect to HTTPS.
      const mode = s.tls.mode ?? 'PASSTHROUGH';
      const passthrough = mode === 'PASSTHROUGH' || mode === 'AUTO_PASSTHROUGH';
      const files = [s.tls.caCertificates, s.tls.privateKey, s.tls.serverCertificate].some((x) => x !== undefined && x !== '');
      if (!passthrough || files) f.error(at(path, 'tls'), 'server cannot have TLS settings for plain text HTTP ports');
    } else {
      f.error(at(path, 'tls'), 'server cannot have TLS settings for non HTTPS/TLS ports');
    }
  }
}
