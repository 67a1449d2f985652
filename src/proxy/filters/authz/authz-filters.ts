/**
 * Authorization on a listener: the HTTP filter (Envoy's `envoy.filters.http.rbac`) and the
 * connection filter (`envoy.filters.network.rbac`, for connections served as TCP), both deciding
 * with the listener's compiled `AuthzEngine`. A denied request is answered 403
 * `RBAC: access denied`; a denied connection is closed. The deciding rule goes into the record's
 * details (`rbac_access_denied_matched_policy[ns[NS]-policy[NAME]-rule[i]]`, or `[none]`), where
 * the access log prints it; AUDIT and dry-run results go into the record's `authz` marks, and a
 * dry-run denial is logged as Envoy logs it (`shadow denied, matched policy …`).
 */
import type { AuthzMarks } from '../../../telemetry/request-record.js';
import { stopConnection, type ConnectionContext, type ConnectionFilter, type ConnectionStop, type ConnectionVerdict } from '../connection-filter.js';
import { localReply, type HttpFilter, type HttpFilterRequest, type HttpVerdict, type LocalReply } from '../http-filter.js';
import { CONTINUE } from '../verdict.js';
import { principalOf, type AuthzAttributes } from './attributes.js';
import type { AuthzEngine, AuthzVerdict } from './engine.js';

export const RBAC_DENIED_BODY = 'RBAC: access denied';

/** Where the filters write the lines Envoy's rbac logger writes. */
export type PolicyLog = (line: string) => void;

/** The attributes of an HTTP request. `port`: the port policies name (`destination.port`). */
export function requestAttributes(req: HttpFilterRequest, port: number): AuthzAttributes {
  const conn = req.connection;
  const target = req.path;
  const q = target.indexOf('?');
  return {
    protocol: 'http',
    method: req.method,
    path: q < 0 ? target : target.slice(0, q),
    host: req.authority,
    headers: req.headers,
    port,
    sourceIp: conn.remoteAddress,
    remoteIp: conn.remoteAddress,
    destinationIp: conn.localAddress,
    principal: principalOf(conn.peerIdentity),
    sni: conn.sni,
    requestAuth: req.facts?.requestAuth ?? null,
  };
}

/** The attributes of a connection. `port`: the port policies name, when not the connection's own. */
export function connectionAttributes(conn: ConnectionContext, port: number | null): AuthzAttributes {
  return {
    protocol: 'tcp',
    method: '',
    path: '',
    host: '',
    headers: null,
    port: port ?? conn.destinationPort,
    sourceIp: conn.remoteAddress,
    remoteIp: conn.remoteAddress,
    destinationIp: conn.localAddress,
    principal: principalOf(conn.peerIdentity),
    sni: conn.sni,
    requestAuth: null,
  };
}

function shadowMarks(shadow: AuthzVerdict): NonNullable<AuthzMarks['dryRun']> {
  return { result: shadow.allowed ? 'allowed' : 'denied', action: shadow.action ?? 'ALLOW', matched: shadow.matched };
}

function logShadow(log: PolicyLog, shadow: AuthzVerdict): void {
  if (shadow.allowed) log(`rbac shadow allowed, matched policy ${shadow.matched === '' ? 'none' : shadow.matched}`);
  else log(`rbac shadow denied, matched policy ${shadow.matched}`);
}

/**
 * The HTTP authorization filter of a listener. `port`: the port policies name for this listener
 * (a sidecar's inbound listener stands for the workload's container port).
 */
export function authzHttpFilter(engine: AuthzEngine, port: number | null, log: PolicyLog): HttpFilter {
  const replies = new Map<AuthzVerdict, LocalReply>();
  const replyFor = (v: AuthzVerdict): LocalReply => {
    let r = replies.get(v);
    if (r === undefined) {
      r = localReply(403, RBAC_DENIED_BODY, 0, v.details);
      replies.set(v, r);
    }
    return r;
  };
  const marks = engine.hasAudit || engine.hasDryRun;
  return {
    name: 'envoy.filters.http.rbac',
    decide(req: HttpFilterRequest): HttpVerdict {
      const a = requestAttributes(req, port ?? req.port);
      if (marks) {
        const audit = engine.audit(a);
        const shadow = engine.shadow(a);
        if (audit !== null || shadow !== null) {
          const facts = (req.facts ??= {});
          const m: AuthzMarks = (facts.authz ??= {});
          if (audit !== null) m.audit = audit;
          if (shadow !== null) {
            m.dryRun = shadowMarks(shadow);
            logShadow(log, shadow);
          }
        }
      }
      const v = engine.decide(a);
      return v.allowed ? CONTINUE : replyFor(v);
    },
  };
}

/** The connection authorization filter of a listener serving TCP. */
export function authzConnectionFilter(engine: AuthzEngine, port: number | null, log: PolicyLog): ConnectionFilter {
  const stops = new Map<AuthzVerdict, ConnectionStop>();
  return {
    name: 'envoy.filters.network.rbac',
    decide(conn: ConnectionContext): ConnectionVerdict {
      const a = connectionAttributes(conn, port);
      if (engine.hasDryRun) {
        const shadow = engine.shadow(a);
        if (shadow !== null) logShadow(log, shadow);
      }
      const v = engine.decide(a);
      if (v.allowed) return CONTINUE;
      let s = stops.get(v);
      if (s === undefined) {
        s = stopConnection('close', v.details);
        stops.set(v, s);
      }
      return s;
    },
  };
}
