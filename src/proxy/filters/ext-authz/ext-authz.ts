/**
 * CUSTOM authorization (Envoy's `envoy.filters.http.ext_authz`): a request an enforced CUSTOM
 * policy matches is checked with the policy's provider, an external service, before DENY and
 * ALLOW policies are evaluated — over HTTP (`envoyExtAuthzHttp`, `http-check.ts`) or gRPC
 * (`envoyExtAuthzGrpc`, `grpc-check.ts`). An allowing answer edits the forwarded request and the
 * response to the client; a denying one is answered with the service's status, body and headers,
 * flag UAEX, details `ext_authz_denied`. A service that cannot be reached, times out or fails is
 * an error: `statusOnError` (default 403, flag UAEX, details `ext_authz_error`) unless `failOpen`
 * lets the request through.
 *
 * The filter waits for the service (a `Wait`), and lets go of the check when the client leaves.
 * It reaches the service's cluster through `ExtAuthzUpstreams`, which the proxy implements over
 * its clusters and pools.
 */
import type { ExtAuthzProviderConfig } from '../../../snapshot/index.js';
import { ResponseFlag } from '../../../telemetry/response-flags.js';
import type { AuthzEngine } from '../authz/engine.js';
import { requestAttributes } from '../authz/authz-filters.js';
import { localReply, type HttpFilter, type HttpFilterRequest, type HttpVerdict, type LocalReply } from '../http-filter.js';
import { CONTINUE, waitFor, type Cancel, type Resume } from '../verdict.js';
import { applyHeaderEdits, removeHeaders, type CheckOutcome, type ExtAuthzUpstreams, type HeaderEdit } from './check.js';
import { loadCheckMethod, sendGrpcCheck } from './grpc-check.js';
import { compileHttpProvider, sendHttpCheck } from './http-check.js';

export type { ExtAuthzUpstreams } from './check.js';

/** Envoy's default: 600 s in Istio's mesh config. */
const DEFAULT_TIMEOUT_MS = 600_000;

/** A provider compiled once per snapshot: how to ask it, and the answer when asking fails. */
interface CompiledProvider {
  readonly config: ExtAuthzProviderConfig;
  readonly send: (upstreams: ExtAuthzUpstreams, req: HttpFilterRequest, done: (o: CheckOutcome) => void) => Cancel;
  readonly errorReply: LocalReply;
}

function compileProvider(p: ExtAuthzProviderConfig): CompiledProvider {
  const timeoutMs = p.timeoutMs ?? DEFAULT_TIMEOUT_MS;
  const errorReply = localReply(p.statusOnError ?? 403, '', ResponseFlag.UAEX, 'ext_authz_error');
  if (p.kind === 'grpc') {
    // Start loading the codec now, so the first request does not wait for it.
    void loadCheckMethod().catch(() => undefined);
    const target = { cluster: p.cluster, authority: p.authority, timeoutMs };
    return { config: p, errorReply, send: (upstreams, req, done) => sendGrpcCheck(upstreams, target, req, done) };
  }
  const http = compileHttpProvider(p, timeoutMs);
  return { config: p, errorReply, send: (upstreams, req, done) => sendHttpCheck(upstreams, http, req, done) };
}

/**
 * The ext_authz filter of a listener: runs the CUSTOM policies of `engine` (the listener's HTTP
 * authorization engine) and calls the matched policy's provider.
 */
export function extAuthzHttpFilter(engine: AuthzEngine, providers: readonly ExtAuthzProviderConfig[], port: number | null, upstreams: ExtAuthzUpstreams): HttpFilter {
  const compiled = new Map(providers.map((p) => [p.name, compileProvider(p)]));
  // Response edits of an allowing answer, kept per request for the response side.
  const onAllow = new WeakMap<HttpFilterRequest, readonly HeaderEdit[]>();
  return {
    name: 'envoy.filters.http.ext_authz',
    decide(req: HttpFilterRequest): HttpVerdict {
      const match = engine.custom(requestAttributes(req, port ?? req.port));
      if (match === null) return CONTINUE;
      const p = compiled.get(match.provider);
      if (p === undefined) return CONTINUE;
      return waitFor<HttpVerdict>((resume: Resume<HttpVerdict>) =>
        p.send(upstreams, req, (outcome) => {
          switch (outcome.kind) {
            case 'error':
              return resume(p.config.failOpen === true ? CONTINUE : p.errorReply);
            case 'allow':
              applyHeaderEdits(req.headers, outcome.upstream);
              removeHeaders(req.headers, outcome.removeUpstream);
              if (outcome.downstream.length > 0) onAllow.set(req, outcome.downstream);
              return resume(CONTINUE);
            case 'deny':
              return resume(localReply(outcome.status, outcome.body, ResponseFlag.UAEX, 'ext_authz_denied', outcome.headers));
          }
        }),
      );
    },
    respond(req, _status, headers): void {
      const edits = onAllow.get(req);
      if (edits !== undefined) applyHeaderEdits(headers, edits);
    },
  };
}
