/**
 * The proxy's client of rate-limit services: `ShouldRateLimit` as a unary gRPC call on the
 * service cluster's own HTTP/2 pool (`async-client/grpc-unary-call.ts`), to a host the cluster's
 * balancer picks for each call, as Envoy's `envoy_grpc` client reaches its cluster: the one upstream
 * connect path, the cluster's TLS, limits and stats. The messages are encoded with protobuf.js
 * through @grpc/proto-loader, loaded on first use so proxies without a global rate limit never
 * pay its import; loading starts as soon as a filter asks for a client, well before the first
 * request needs it.
 */
import type { MethodDefinition } from '@grpc/proto-loader';
import type { Descriptor } from '../filters/ratelimit/descriptors.js';
import type { RateLimitAnswer, RateLimitServiceClient, RateLimitServiceClients } from '../filters/ratelimit/global-ratelimit.js';
import type { Cluster } from '../upstream/cluster.js';
import type { ConnectionPool } from '../upstream/pool.js';
import { grpcUnaryCall } from '../async-client/grpc-unary-call.js';
import { RLS_LOADER_OPTIONS, RLS_PROTO_JSON, RLS_SERVICE, type RlsRequest, type RlsResponse } from './rls-proto.js';

/** Where calls go: the proxy's clusters, and the HTTP/2 pool of one. */
export interface RlsUpstreams {
  cluster(name: string): Cluster | undefined;
  http2Pool(cluster: Cluster): ConnectionPool;
}

type ShouldRateLimitMethod = MethodDefinition<RlsRequest, RlsResponse>;

let loading: Promise<ShouldRateLimitMethod> | null = null;

/** Loads the messages' codec once per process. */
function loadMethod(): Promise<ShouldRateLimitMethod> {
  loading ??= (async () => {
    const loader = await import('@grpc/proto-loader');
    const service = loader.fromJSON(RLS_PROTO_JSON, RLS_LOADER_OPTIONS)[RLS_SERVICE] as Record<string, ShouldRateLimitMethod>;
    return service.ShouldRateLimit;
  })();
  return loading;
}

/** An error the filter turns into its failure answer. */
export class RateLimitServiceError extends Error {
  constructor(message: string) {
    super(message);
    this.name = 'RateLimitServiceError';
  }
}

class ClusterClient implements RateLimitServiceClient {
  constructor(
    private readonly clusterName: string,
    private readonly authority: string,
    private readonly upstreams: RlsUpstreams,
  ) {}

  async shouldRateLimit(domain: string, descriptors: readonly Descriptor[], timeoutMs: number, signal: AbortSignal): Promise<RateLimitAnswer> {
    const started = Date.now();
    const method = await loadMethod();
    const cluster = this.upstreams.cluster(this.clusterName);
    if (cluster === undefined) throw new RateLimitServiceError(`unknown cluster ${this.clusterName}`);
    const host = cluster.pick();
    if (host === undefined) throw new RateLimitServiceError(`no healthy host in ${this.clusterName}`);
    const request: RlsRequest = { domain, descriptors: descriptors.map((d) => ({ entries: d.map((e) => ({ key: e.key, value: e.value })) })) };
    const bytes = await grpcUnaryCall(cluster, this.upstreams.http2Pool(cluster), host, {
      path: method.path,
      authority: this.authority,
      message: method.requestSerialize(request),
      // The first call may have waited for the codec: the timeout counts from the request.
      timeoutMs: Math.max(1, timeoutMs - (Date.now() - started)),
      signal,
    });
    const response = method.responseDeserialize(bytes);
    return {
      overallCode: response.overallCode,
      statuses: response.statuses.map((s) => ({
        code: s.code,
        ...(s.currentLimit ? { currentLimit: { requestsPerUnit: s.currentLimit.requestsPerUnit, unit: s.currentLimit.unit, ...(s.currentLimit.name ? { name: s.currentLimit.name } : {}) } } : {}),
        limitRemaining: s.limitRemaining,
        ...(s.durationUntilReset ? { resetSeconds: s.durationUntilReset.seconds } : {}),
      })),
      responseHeaders: response.responseHeadersToAdd.map((h) => [h.key.toLowerCase(), h.value] as const),
    };
  }
}

/** One client per (cluster, authority), kept across snapshots; connections are the cluster's pool's. */
export class RateLimitServiceClientSet implements RateLimitServiceClients {
  private readonly clients = new Map<string, ClusterClient>();

  constructor(private readonly upstreams: RlsUpstreams) {}

  clientFor(cluster: string, authority: string): RateLimitServiceClient {
    const key = `${cluster}|${authority}`;
    let c = this.clients.get(key);
    if (c === undefined) {
      c = new ClusterClient(cluster, authority, this.upstreams);
      this.clients.set(key, c);
      // Start loading the codec now, so the first request does not wait for it.
      void loadMethod().catch(() => undefined);
    }
    return c;
  }

  close(): void {
    this.clients.clear();
  }
}
