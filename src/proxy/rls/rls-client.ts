/**
 * The proxy's client of rate-limit services: `ShouldRateLimit` over gRPC (@grpc/grpc-js, with the
 * messages of `rls-proto.ts`) to a host of the service's cluster, picked by the cluster's load
 * balancer for each call as Envoy's `envoy_grpc` does. The gRPC library is loaded on first use, so
 * proxies without a global rate limit never pay its import; it starts loading as soon as a filter
 * asks for a client, well before the first request needs it. One gRPC channel per host, kept
 * while the proxy runs.
 */
import type * as GrpcJs from '@grpc/grpc-js';
import type { Client, MethodDefinition } from '@grpc/grpc-js';
import type { Descriptor } from '../filters/ratelimit/descriptors.js';
import type { RateLimitAnswer, RateLimitServiceClient, RateLimitServiceClients } from '../filters/ratelimit/global-ratelimit.js';
import { RLS_LOADER_OPTIONS, RLS_PROTO_JSON, RLS_SERVICE, type RlsRequest, type RlsResponse } from './rls-proto.js';

/** A host of a cluster, as the cluster's balancer picks it; undefined when it has none. */
export type PickHost = (cluster: string) => { readonly address: string; readonly port: number } | undefined;

interface Grpc {
  readonly grpc: typeof GrpcJs;
  readonly method: MethodDefinition<RlsRequest, RlsResponse>;
}

let loading: Promise<Grpc> | null = null;

/** Loads @grpc/grpc-js and the service definition once per process. */
function loadGrpc(): Promise<Grpc> {
  loading ??= (async () => {
    const [grpc, loader] = await Promise.all([import('@grpc/grpc-js'), import('@grpc/proto-loader')]);
    const pkg = loader.fromJSON(RLS_PROTO_JSON, RLS_LOADER_OPTIONS);
    const service = pkg[RLS_SERVICE] as Record<string, MethodDefinition<RlsRequest, RlsResponse>>;
    return { grpc, method: service.ShouldRateLimit };
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
  private readonly channels = new Map<string, Client>();

  constructor(
    private readonly cluster: string,
    private readonly authority: string,
    private readonly pick: PickHost,
  ) {}

  async shouldRateLimit(domain: string, descriptors: readonly Descriptor[], timeoutMs: number, signal: AbortSignal): Promise<RateLimitAnswer> {
    const deadline = Date.now() + timeoutMs;
    const host = this.pick(this.cluster);
    if (host === undefined) throw new RateLimitServiceError(`no healthy host in ${this.cluster}`);
    const { grpc, method } = await loadGrpc();
    const target = `${host.address.includes(':') ? `[${host.address}]` : host.address}:${host.port}`;
    let client = this.channels.get(target);
    if (client === undefined) {
      client = new grpc.Client(target, grpc.credentials.createInsecure(), { 'grpc.default_authority': this.authority });
      this.channels.set(target, client);
    }
    const request: RlsRequest = { domain, descriptors: descriptors.map((d) => ({ entries: d.map((e) => ({ key: e.key, value: e.value })) })) };
    const c = client;
    const response = await new Promise<RlsResponse>((resolve, reject) => {
      const call = c.makeUnaryRequest(method.path, method.requestSerialize, method.responseDeserialize, request, new grpc.Metadata(), { deadline }, (err, value) => {
        if (err !== null || value === undefined) reject(new RateLimitServiceError(err?.message ?? 'empty answer'));
        else resolve(value);
      });
      signal.addEventListener('abort', () => call.cancel(), { once: true });
    });
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

  close(): void {
    for (const c of this.channels.values()) c.close();
    this.channels.clear();
  }
}

/** One client per (cluster, authority), kept across snapshots. */
export class RateLimitServiceClientSet implements RateLimitServiceClients {
  private readonly clients = new Map<string, ClusterClient>();

  constructor(private readonly pick: PickHost) {}

  clientFor(cluster: string, authority: string): RateLimitServiceClient {
    const key = `${cluster}|${authority}`;
    let c = this.clients.get(key);
    if (c === undefined) {
      c = new ClusterClient(cluster, authority, this.pick);
      this.clients.set(key, c);
      // Start loading gRPC now, so the first request does not wait for it.
      void loadGrpc().catch(() => undefined);
    }
    return c;
  }

  close(): void {
    for (const c of this.clients.values()) c.close();
    this.clients.clear();
  }
}
