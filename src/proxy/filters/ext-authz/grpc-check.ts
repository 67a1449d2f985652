/**
 * The check with a gRPC authorization service (`envoyExtAuthzGrpc`): Envoy's
 * `envoy.service.auth.v3.Authorization/Check` as a unary call on the provider cluster's HTTP/2
 * pool (`ExtAuthzUpstreams.grpc`). The CheckRequest carries what Envoy's gRPC client sends: the
 * source and destination peers (address, port and SPIFFE principal), the request's time, id
 * (`x-request-id`), method, path with its query, host, scheme, size (the body bytes received when
 * the check goes out, as Envoy counts them: 0, the body not being buffered), protocol and every
 * header (Istio sets no header list for gRPC providers, so Envoy sends them all, repeated ones
 * joined with `,`, and the pseudo-headers `:authority`, `:method`, `:path`, `:scheme`). A
 * CheckResponse with status OK allows, its OkHttpResponse headers edited onto the forwarded
 * request (`append` true: joined, false: overwritten; unset: the `append_action`), its
 * `headers_to_remove` removed and its `response_headers_to_add` added to the response; any other
 * status denies, with the DeniedHttpResponse's status (403 when none), headers and body. A call
 * that fails (unreachable, deadline, a gRPC error status) is an error.
 *
 * The messages' codec (protobuf.js through @grpc/proto-loader) is loaded on first use, so
 * proxies without a gRPC provider never pay its import; the filter starts loading it when it is
 * compiled.
 */
import type { MethodDefinition } from '@grpc/proto-loader';
import type { HttpFilterRequest } from '../http-filter.js';
import type { Cancel } from '../verdict.js';
import { AUTHORIZATION_SERVICE, AUTHZ_LOADER_OPTIONS, AUTHZ_PROTO_JSON, type AuthzPeer, type CheckRequest, type CheckResponse, type HeaderValueOption } from './authz-proto.js';
import type { CheckOutcome, ExtAuthzUpstreams, HeaderEdit, HeaderEditAction } from './check.js';

type CheckMethod = MethodDefinition<CheckRequest, CheckResponse>;

let loaded: CheckMethod | null = null;
let loading: Promise<CheckMethod> | null = null;

/** Loads the messages' codec once per process. */
export function loadCheckMethod(): Promise<CheckMethod> {
  loading ??= (async () => {
    const loader = await import('@grpc/proto-loader');
    const service = loader.fromJSON(AUTHZ_PROTO_JSON, AUTHZ_LOADER_OPTIONS)[AUTHORIZATION_SERVICE] as Record<string, CheckMethod>;
    loaded = service.Check;
    return loaded;
  })();
  return loading;
}

/** Where the call goes: the provider's cluster, its host (the call's `:authority`), the time it may take. */
export interface GrpcCheckTarget {
  readonly cluster: string;
  readonly authority: string;
  readonly timeoutMs: number;
}

/** Headers a request's header list holds, for the check's header map. */
interface ListedHeaders {
  readonly lower?: readonly string[];
}

function peer(address: string, port: number, principal: string | null): AuthzPeer {
  const out: AuthzPeer = { address: { socketAddress: { address, portValue: port } } };
  if (principal !== null) out.principal = principal;
  return out;
}

/** The CheckRequest Envoy's gRPC client sends for `req`. */
export function checkRequest(req: HttpFilterRequest, now: number): CheckRequest {
  const headers: Record<string, string> = { ':authority': req.authority, ':method': req.method, ':path': req.path, ':scheme': req.scheme };
  for (const name of (req.headers as ListedHeaders).lower ?? []) {
    // Host is the `:authority` above; a name seen before already holds every value joined.
    if (name === 'host' || name.charCodeAt(0) === 58 || headers[name] !== undefined) continue;
    const v = req.headers.get(name);
    if (v !== undefined) headers[name] = v;
  }
  const conn = req.connection;
  return {
    attributes: {
      source: peer(conn.remoteAddress, conn.remotePort, conn.peerIdentity),
      destination: peer(conn.localAddress, conn.localPort, conn.localIdentity),
      request: {
        time: { seconds: Math.floor(now / 1000), nanos: (now % 1000) * 1_000_000 },
        http: {
          id: req.headers.get('x-request-id') ?? '',
          method: req.method,
          headers,
          path: req.path,
          host: req.authority,
          scheme: req.scheme,
          // Envoy sends the body bytes received so far: none, as the check goes out on the head.
          size: 0,
          protocol: req.protocol,
        },
      },
    },
  };
}

function editAction(h: HeaderValueOption): HeaderEditAction {
  // The deprecated `append` wins when set, as in Envoy; in these messages it defaults to false.
  if (h.append !== null && h.append !== undefined) return h.append.value ? 'append' : 'overwrite';
  switch (h.appendAction) {
    case 'ADD_IF_ABSENT':
      return 'add-if-absent';
    case 'OVERWRITE_IF_EXISTS_OR_ADD':
      return 'overwrite';
    case 'OVERWRITE_IF_EXISTS':
      return 'overwrite-if-exists';
    default:
      return 'add';
  }
}

function edits(options: readonly HeaderValueOption[]): HeaderEdit[] {
  const out: HeaderEdit[] = [];
  for (const h of options) {
    if (h.header === null || h.header.key === '') continue;
    // An empty value is dropped unless the service asks to keep it.
    if (h.header.value === '' && h.keepEmptyValue !== true) continue;
    out.push({ name: h.header.key.toLowerCase(), value: h.header.value, action: editAction(h) });
  }
  return out;
}

/** The filter's reading of a CheckResponse. */
export function checkOutcome(res: CheckResponse): CheckOutcome {
  if ((res.status?.code ?? 0) === 0) {
    const ok = res.okResponse;
    if (ok === null || ok === undefined) return { kind: 'allow', upstream: [], removeUpstream: [], downstream: [] };
    return { kind: 'allow', upstream: edits(ok.headers), removeUpstream: ok.headersToRemove, downstream: edits(ok.responseHeadersToAdd) };
  }
  const denied = res.deniedResponse;
  if (denied === null || denied === undefined) return { kind: 'deny', status: 403, body: '', headers: [] };
  const code = denied.status?.code ?? 0;
  return {
    kind: 'deny',
    status: code >= 200 && code <= 599 ? code : 403,
    body: denied.body,
    headers: edits(denied.headers).map((e) => [e.name, e.value] as const),
  };
}

/** Sends the check for `req` to the target's cluster; `done` hears the outcome once, unless cancelled. */
export function sendGrpcCheck(upstreams: ExtAuthzUpstreams, target: GrpcCheckTarget, req: HttpFilterRequest, done: (o: CheckOutcome) => void): Cancel {
  const started = Date.now();
  let cancelCall: Cancel | null = null;
  let cancelled = false;
  const send = (method: CheckMethod): void => {
    if (cancelled) return;
    let message: Buffer;
    try {
      message = method.requestSerialize(checkRequest(req, started));
    } catch (err) {
      return done({ kind: 'error', reason: `cannot encode the check request: ${(err as Error).message}` });
    }
    // The first check may have waited for the codec: the timeout counts from the request.
    const call = { path: method.path, authority: target.authority, message, timeoutMs: Math.max(1, target.timeoutMs - (Date.now() - started)) };
    cancelCall = upstreams.grpc(target.cluster, call, (failure, bytes) => {
      if (failure !== null || bytes === null) return done({ kind: 'error', reason: failure ?? 'no answer' });
      let res: CheckResponse;
      try {
        res = method.responseDeserialize(bytes);
      } catch (e) {
        return done({ kind: 'error', reason: `the check response cannot be decoded: ${(e as Error).message}` });
      }
      done(checkOutcome(res));
    });
  };
  if (loaded !== null) send(loaded);
  else {
    loadCheckMethod().then(send, (err: unknown) => {
      if (!cancelled) done({ kind: 'error', reason: `cannot load the ext_authz messages: ${String(err)}` });
    });
  }
  return () => {
    cancelled = true;
    cancelCall?.();
  };
}
