/**
 * What an authorization rule reads of a request or a connection: Istio's attributes
 * (`source.principal`, `request.headers[...]`, `destination.port`, …). The HTTP filter, the
 * connection filter and `skiff authz explain` each describe what they decide on in this one shape,
 * so the same compiled rules decide for all three.
 */
import type { HeaderView, RequestAuthFacts } from '../http-filter.js';

export interface AuthzAttributes {
  /** `http` for a request, `tcp` for a connection served as bytes. */
  readonly protocol: 'http' | 'tcp';
  /** HTTP only. */
  readonly method: string;
  /** HTTP only: the normalised path, without the query. */
  readonly path: string;
  /** HTTP only: Host / :authority. */
  readonly host: string;
  /** HTTP only; null for a connection. */
  readonly headers: HeaderView | null;
  /** `destination.port`: the port as the workload's config names it. */
  readonly port: number;
  /** `source.ip`: the downstream peer's address. */
  readonly sourceIp: string;
  /** `remote.ip`: the original client's address (the peer's, as no proxy hop is trusted). */
  readonly remoteIp: string;
  /** `destination.ip`. */
  readonly destinationIp: string;
  /** `source.principal` without `spiffe://` (`cluster.local/ns/foo/sa/curl`); null for no verified peer. */
  readonly principal: string | null;
  /** `connection.sni`, null without one. */
  readonly sni: string | null;
  /** The verified JWT (`request.auth.*`), null without one. */
  readonly requestAuth: RequestAuthFacts | null;
}

/** The peer principal as rules compare it: a SPIFFE id without its scheme. */
export function principalOf(peerIdentity: string | null): string | null {
  if (peerIdentity === null) return null;
  return peerIdentity.startsWith('spiffe://') ? peerIdentity.slice(9) : peerIdentity;
}

/** The namespace a principal names (`<td>/ns/<ns>/sa/<sa>`), null when it names none. */
export function principalNamespace(principal: string): string | null {
  const at = principal.indexOf('/ns/');
  if (at < 0) return null;
  const end = principal.indexOf('/', at + 4);
  return end < 0 ? principal.slice(at + 4) : principal.slice(at + 4, end);
}

/** The trust domain a principal names (its first segment). */
export function principalTrustDomain(principal: string): string {
  const slash = principal.indexOf('/');
  return slash < 0 ? principal : principal.slice(0, slash);
}
