/**
 * The calls the proxy makes on its own behalf to one of its clusters by the cluster's name (an
 * ext_authz check): each to a host the cluster's balancer picks, on the cluster's own pools, as
 * Envoy's async client reaches a cluster. A cluster the snapshot no longer has, or one without a
 * healthy host, is a failure named in the answer rather than an exception.
 */
import type { Cluster } from '../upstream/cluster.js';
import type { ConnectionPool } from '../upstream/pool.js';
import { startGrpcUnaryCall } from './grpc-unary-call.js';
import type { CancelCall } from './upstream-call.js';

/** The proxy's clusters and their pools. */
export interface ClusterPools {
  cluster(name: string): Cluster | undefined;
  http2Pool(cluster: Cluster): ConnectionPool;
}

/** One unary gRPC call's request. */
export interface UnaryCall {
  readonly path: string;
  readonly authority: string;
  readonly message: Uint8Array;
  readonly timeoutMs: number;
}

const NOTHING_TO_CANCEL: CancelCall = () => undefined;

export class ClusterCalls {
  constructor(private readonly pools: ClusterPools) {}

  /** A host of `name` its balancer picks, or null when there is none. */
  host(name: string): { address: string; port: number } | null {
    const e = this.pools.cluster(name)?.pick();
    return e === undefined ? null : { address: e.address, port: e.port };
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
