/**
 * The contract between the HTTP request path and its filters, in the spirit of Envoy's HTTP
 * filters: a filter is compiled once per snapshot from its part of the config, and asked once per
 * request for a verdict — go on, answer locally, or wait. The request path
 * (`src/proxy/http/request-flow.ts`) runs the filters at their place in its written-down order;
 * a filter sees the request only through `HttpFilterRequest`, so it can be tested on a request
 * description alone, without a listener.
 */
import type { AuthzMarks } from '../../telemetry/request-record.js';
import type { ConnectionContext } from './connection-filter.js';
import type { Continue, Wait } from './verdict.js';

/** Read access to request headers, whatever stores them. */
export interface HeaderView {
  /**
   * The value of the header (name given lowercase), or undefined when absent. When the header
   * is repeated, the values joined with `,` (how Envoy matches repeated headers).
   */
  get(lowercaseName: string): string | undefined;
  has(lowercaseName: string): boolean;
}

/** Write access to headers, for header operations and headers filters add. */
export interface HeaderMutator {
  /** Replaces all values of the header. */
  set(lowercaseName: string, value: string): void;
  /** Adds one more value. */
  append(lowercaseName: string, value: string): void;
  remove(lowercaseName: string): void;
}

/** A verified JWT, as RequestAuthentication leaves it on the request for authorization. */
export interface RequestAuthFacts {
  /** `<iss>/<sub>`. */
  readonly principal: string;
  /** The `aud` claim as a list. */
  readonly audiences: readonly string[];
  /** The `azp` claim, '' when absent. */
  readonly presenter: string;
  /** The token's payload. */
  readonly claims: Readonly<Record<string, unknown>>;
}

/**
 * What filters leave on a request for the filters after them and for telemetry (Envoy's dynamic
 * metadata). Absent until a filter has something to say, so a request no policy touches
 * allocates nothing for it.
 */
export interface RequestFacts {
  /** The request's verified JWT, set by RequestAuthentication. */
  requestAuth?: RequestAuthFacts;
  /** Authorization's marks (AUDIT, dry-run), carried into the request's record. */
  authz?: AuthzMarks;
}

/** One request as a filter sees it. */
export interface HttpFilterRequest {
  readonly method: string;
  /** `http` or `https` as the client used it. */
  readonly scheme: string;
  /** Host / :authority, may include `:port`. */
  readonly authority: string;
  /** Origin-form target (path and query); the authority for CONNECT. */
  readonly path: string;
  /** The port the request arrived on (the listener's). */
  readonly port: number;
  /** `HTTP/1.0`, `HTTP/1.1` or `HTTP/2`, as the client spoke it. */
  readonly protocol: string;
  /** The request headers as they will be forwarded; filters may change them. */
  readonly headers: HeaderView & HeaderMutator;
  /** The downstream connection the request came on: addresses, SNI, ALPN, the peer's identity. */
  readonly connection: ConnectionContext;
  /** The proxy's random source in [0, 1), for percentage draws (seeded in tests). */
  readonly random: () => number;
  /** What earlier filters left on the request; null until one does. */
  facts: RequestFacts | null;
}

/** An answer from the proxy itself instead of the upstream's (Envoy's local reply). */
export interface LocalReply {
  readonly kind: 'reply';
  readonly status: number;
  /** Text body; empty for none. gRPC requests get it as `grpc-message` instead. */
  readonly body: string;
  /** Headers of the answer besides those every local reply carries (content-length, date, server). */
  readonly headers: readonly (readonly [name: string, value: string])[] | null;
  /** Envoy response flags saying why (`ResponseFlag` bits), 0 for none. */
  readonly flags: number;
  /** `%RESPONSE_CODE_DETAILS%` of the access log. */
  readonly details: string;
}

/** A local reply; build it once at compile time when nothing in it depends on the request. */
export function localReply(
  status: number,
  body: string,
  flags: number,
  details: string,
  headers: readonly (readonly [string, string])[] | null = null,
): LocalReply {
  return Object.freeze({ kind: 'reply', status, body, headers, flags, details });
}

/** What an HTTP filter decides for a request. */
export type HttpVerdict = Continue | LocalReply | Wait<HttpVerdict>;

/**
 * A filter that runs on every request of a listener, before the route is chosen (where peer
 * authentication, JWT, authorization, ext_authz and rate limits go). Per-route policies (fault,
 * CORS, redirects, header operations, mirrors) are compiled onto each route instead and asked
 * at their own phase.
 */
export interface HttpFilter {
  /** The filter's name, as it appears in local-reply details when it fails. */
  readonly name: string;
  /** The request-side decision; returns `CONTINUE` synchronously in the common case. */
  decide(req: HttpFilterRequest): HttpVerdict;
  /**
   * Response side, on every forwarded response head (listener filters in reverse order, after the
   * route's own response phases): headers to add or change. Synchronous.
   */
  respond?(req: HttpFilterRequest, status: number, headers: HeaderView & HeaderMutator): void;
}
