/**
 * The direct response of a route (Istio `HTTPRoute.directResponse`): a fixed status and body,
 * answered by the proxy without any upstream, built once per snapshot.
 */
import { RouteConfigError } from '../../../snapshot/index.js';
import type { DirectResponseAction } from '../../../snapshot/index.js';
import { localReply, type LocalReply } from '../http-filter.js';

/** The details Envoy records for redirects and direct responses. */
export const DIRECT_RESPONSE = 'direct_response';

/** A route's direct response, compiled. */
export interface DirectResponseFilter {
  readonly name: 'direct_response';
  readonly status: number;
  readonly body: string | undefined;
  /** The answer; the same object for every request. */
  decide(): LocalReply;
}

/** Compiles a direct-response action; throws `RouteConfigError` naming the field. */
export function compileDirectResponse(a: DirectResponseAction, where: string): DirectResponseFilter {
  if (!Number.isInteger(a.status) || a.status < 100 || a.status > 599) {
    throw new RouteConfigError(`${where}.status`, `must be an HTTP status between 100 and 599, got ${String(a.status)}`);
  }
  const reply = localReply(a.status, a.body ?? '', 0, DIRECT_RESPONSE);
  return { name: 'direct_response', status: a.status, body: a.body, decide: () => reply };
}
