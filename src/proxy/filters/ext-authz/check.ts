/**
 * What the two kinds of check (`http-check.ts`, `grpc-check.ts`) share: how they reach the
 * provider's cluster (`ExtAuthzUpstreams`, which the proxy implements over its clusters and
 * pools), what the service decided in the form the filter acts on, and the header edits Envoy
 * makes with it.
 */
import type { HeaderMutator, HeaderView } from '../http-filter.js';
import type { Cancel } from '../verdict.js';

/** The HTTP check's request. */
export interface ExtAuthzHttpCall {
  readonly method: string;
  readonly path: string;
  /** Every header of the request, `host` included, names lowercase. */
  readonly headers: readonly (readonly [string, string])[];
  readonly timeoutMs: number;
}

/** The HTTP service's whole answer. */
export interface ExtAuthzHttpAnswer {
  readonly status: number;
  /** In order, names lowercase. */
  readonly headers: readonly (readonly [string, string])[];
  readonly body: Buffer;
}

/** One unary gRPC call: `/package.Service/Method`, the `:authority`, the encoded message. */
export interface ExtAuthzGrpcCall {
  readonly path: string;
  readonly authority: string;
  readonly message: Uint8Array;
  readonly timeoutMs: number;
}

/**
 * How checks reach a provider's cluster: as any request to it does, to a host its balancer picks,
 * on its own pools (the one upstream connect path, the cluster's TLS, limits and counters). The
 * `done` callbacks are called once, at once or later, and never after the returned `Cancel`.
 */
export interface ExtAuthzUpstreams {
  /** One request on the pool requests to `cluster` take (HTTP/1.1 unless the cluster is HTTP/2): the answer, or why there is none. */
  http(cluster: string, call: ExtAuthzHttpCall, done: (failure: string | null, answer: ExtAuthzHttpAnswer | null) => void): Cancel;
  /** One unary gRPC call on the HTTP/2 pool of `cluster`: the answer's message, or why there is none. */
  grpc(cluster: string, call: ExtAuthzGrpcCall, done: (failure: string | null, message: Buffer | null) => void): Cancel;
}

/**
 * How one header of the answer lands on a request or response, Envoy's append actions:
 * `append` joins the value onto an existing header with a comma (or adds it), `add` adds one more
 * line, `add-if-absent` adds only a missing header, `overwrite` replaces (or adds),
 * `overwrite-if-exists` replaces only a present header.
 */
export type HeaderEditAction = 'append' | 'add' | 'add-if-absent' | 'overwrite' | 'overwrite-if-exists';

export interface HeaderEdit {
  /** Lowercase. */
  readonly name: string;
  readonly value: string;
  readonly action: HeaderEditAction;
}

export type CheckOutcome =
  | {
      readonly kind: 'allow';
      /** Edits of the request forwarded upstream. */
      readonly upstream: readonly HeaderEdit[];
      /** Headers removed from the forwarded request. */
      readonly removeUpstream: readonly string[];
      /** Edits of the response to the client. */
      readonly downstream: readonly HeaderEdit[];
    }
  | { readonly kind: 'deny'; readonly status: number; readonly body: string; readonly headers: readonly (readonly [string, string])[] }
  /** The service could not be asked or did not answer (unreachable, timeout, 5xx, a failed call). */
  | { readonly kind: 'error'; readonly reason: string };

/** Headers the answer may never set: the request's pseudo-headers and its authority. */
function protectedName(name: string): boolean {
  return name.charCodeAt(0) === 58 /* : */ || name === 'host';
}

/** Applies `edits` to `headers` in order, as Envoy applies an answer's header mutations. */
export function applyHeaderEdits(headers: HeaderView & HeaderMutator, edits: readonly HeaderEdit[]): void {
  for (const e of edits) {
    if (protectedName(e.name)) continue;
    switch (e.action) {
      case 'append': {
        const cur = headers.get(e.name);
        if (cur === undefined) headers.append(e.name, e.value);
        else headers.set(e.name, `${cur},${e.value}`);
        break;
      }
      case 'add':
        headers.append(e.name, e.value);
        break;
      case 'add-if-absent':
        if (!headers.has(e.name)) headers.append(e.name, e.value);
        break;
      case 'overwrite':
        headers.set(e.name, e.value);
        break;
      case 'overwrite-if-exists':
        if (headers.has(e.name)) headers.set(e.name, e.value);
        break;
    }
  }
}

/** Removes `names` from `headers`, never a pseudo-header or Host (the request would be malformed). */
export function removeHeaders(headers: HeaderMutator, names: readonly string[]): void {
  for (const n of names) {
    const name = n.toLowerCase();
    if (!protectedName(name)) headers.remove(name);
  }
}
