/**
 * The request as the router sees it: the minimal view route matching, rewrites, header operations
 * and CORS read, which each codec adapts its own request to.
 */

/** Read access to request headers; the data path adapts its own header storage. */
export interface HeaderView {
  /**
   * The value of the header (name given lowercase), or undefined when absent. When the header
   * is repeated, the values joined with `,` (how Envoy matches repeated headers).
   */
  get(lowercaseName: string): string | undefined;
  has(lowercaseName: string): boolean;
}

/** Write access to headers, for header operations and CORS response headers. */
export interface HeaderMutator {
  /** Replaces all values of the header. */
  set(lowercaseName: string, value: string): void;
  /** Adds one more value. */
  append(lowercaseName: string, value: string): void;
  remove(lowercaseName: string): void;
}

export interface RouteRequest {
  method: string;
  /** `http` or `https` as seen by the client (x-forwarded-proto). */
  scheme: string;
  /** Host / :authority value, may include `:port`. */
  authority: string;
  /** Origin-form request target: path plus `?query` when present. */
  path: string;
  /** Port the request arrived on (listener port, or the original destination port). */
  port: number;
  headers: HeaderView;
  sourceLabels?: Record<string, string>;
  sourceNamespace?: string;
  /** Name of the Gateway whose listener took the request; absent = `mesh` (sidecars). */
  gateway?: string;
  /** Payload of the request's validated JWT, for `@request.auth.claims.*` header keys. */
  jwtClaims?: Readonly<Record<string, unknown>>;
}
