/**
 * The calls the proxy makes on its own behalf to one of its clusters by the cluster's name (an
 * ext_authz check over HTTP or gRPC): each to a host the cluster's balancer picks, on the
 * cluster's own pools, as Envoy's async client reaches a cluster. A cluster the snapshot no longer
 * has, or one without a healthy host, is a failure named in the answer rather than an exception.
 */
import { HeaderList } from '../http/headers.js';
import type { Cluster } from '../upstream/cluster.js';
import type { ConnectionPool } from '../upstream/pool.js';
import { startGrpcUnaryCall } from './grpc-unary-call.js';
import { upstreamCall, type CancelCall } from './upstream-call.js';

/** The proxy's clusters and their pools. */
export interface ClusterPools {
  cluster(name: string): Cluster | undefined;
  /** The pool a request to `cluster` takes (HTTP/1.1 unless the cluster is HTTP/2). */
  pool(cluster: Cluster): ConnectionPool;
  http2Pool(cluster: Cluster): ConnectionPool;
}

/** A plain HTTP request: names lowercase, `host` among the headers. */
export interface PlainCall {
  readonly method: string;
  readonly path: string;
  readonly headers: readonly (readonly [string, string])[];
  readonly timeoutMs: number;
}

/** A whole answer, its headers as lowercase pairs in order. */
export interface PlainAnswer {
  readonly status: number;
  readonly headers: readonly (readonly [string, string])[];
  readonly body: Buffer;
}

/** One unary gRPC call's request. */
export interface UnaryCall {
  readonly path: string;
  readonly authority: string;
  readonly message: Uint8Array;
  readonly timeoutMs: number;
}

const NOTHING_TO_CANCEL: CancelCall = () => undefined;
/** The largest answer a plain call takes (the largest gRPC message, too). */
const MAX_ANSWER_BYTES = 4 * 1024 * 1024;

export class ClusterCalls {
  constructor(private readonly pools: ClusterPools) {}

  /** One request on the pool requests to `name` take; `done` hears the whole answer or the failure's text. */
  http(name: string, call: PlainCall, done: (failure: string | null, answer: PlainAnswer | null) => void): CancelCall {
    const cluster = this.pools.cluster(name);
    const host = cluster?.pick();
    if (cluster === undefined || host === undefined) {
      done(cluster === undefined ? `no cluster ${name}` : `no healthy upstream host in ${name}`, null);
      return NOTHING_TO_CANCEL;
    }
    const headers = new HeaderList();
    for (const [k, v] of call.headers) headers.push(k, k, v);
    const request = { method: call.method, path: call.path, headers, body: null, timeoutMs: call.timeoutMs, maxResponseBytes: MAX_ANSWER_BYTES };
    return upstreamCall(cluster, this.pools.pool(cluster), host, request, (err, res) => {
      if (err !== null || res === null) return done(err?.message ?? `no answer from ${name}`, null);
      const h = res.headers;
      const pairs: (readonly [string, string])[] = [];
      for (let i = 0; i < h.length; i++) pairs.push([h.lower[i], h.values[i]]);
      done(null, { status: res.status, headers: pairs, body: res.body });
    });
  }

  /** One unary gRPC call on the HTTP/2 pool of `name`; `done` hears the message or the failure's text. */
  grpc(name: string, call: UnaryCall, done: (failure: string | null, message: Buffer | null) => void): CancelCall {
    const cluster = this.pools.cluster(name);
    const host = cluster?.pick();
    if (cluster === undefined || host === undefined) {
      done(cluster === undefined ? `no cluster ${name}` : `no healthy upstream host in ${name}`, null);
      return NOTHING_TO_CANCEL;
    }
    return startGrpcUnaryCall(cluster, this.pools.http2Pool(cluster), host, call, (err, message) => done(err === null ? null : err.message, message));
  }
}
