/**
 * The request as the router sees it: the minimal view route matching and rewrites read, which
 * each codec adapts its own request to. The header views are the filters' (`HttpFilterRequest`
 * reads headers the same way), so one request object serves both.
 */
import type { HeaderView } from '../../filters/http-filter.js';

export type { HeaderMutator, HeaderView } from '../../filters/http-filter.js';

export interface RouteRequest {
  readonly method: string;
  /** `http` or `https` as seen by the client (x-forwarded-proto). */
  readonly scheme: string;
  /** Host / :authority value, may include `:port`. */
  readonly authority: string;
  /** Origin-form request target: path plus `?query` when present. */
  readonly path: string;
  /** Port the request arrived on (listener port, or the original destination port). */
  readonly port: number;
  readonly headers: HeaderView;
  readonly sourceLabels?: Record<string, string> | undefined;
  readonly sourceNamespace?: string | undefined;
  /** Name of the Gateway whose listener took the request; absent = `mesh` (sidecars). */
  readonly gateway?: string | undefined;
  /** Payload of the request's validated JWT, for `@request.auth.claims.*` header keys. */
  readonly jwtClaims?: Readonly<Record<string, unknown>> | undefined;
}
