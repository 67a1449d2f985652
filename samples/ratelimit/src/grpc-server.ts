/**
 * The service's gRPC side: `envoy.service.ratelimit.v3.RateLimitService/ShouldRateLimit` served
 * by @grpc/grpc-js with Envoy's messages (`rls-proto.ts`). A failure to decide (Redis unreachable)
 * answers UNAVAILABLE, an unknown domain INVALID_ARGUMENT, as the original does.
 */
import * as grpc from '@grpc/grpc-js';
import { fromJSON } from '@grpc/proto-loader';
import { RLS_LOADER_OPTIONS, RLS_PROTO_JSON, RLS_SERVICE } from '../../../src/proxy/rls/rls-proto.js';
import { UnknownDomainError, type RateLimitService, type ShouldRateLimitRequest, type ShouldRateLimitResponse } from './service.js';

/** Serves `service` on `address` (`host:port`); resolves with the bound port. */
export function serveRateLimitService(
  service: Pick<RateLimitService, 'shouldRateLimit'>,
  address: string,
  credentials: grpc.ServerCredentials = grpc.ServerCredentials.createInsecure(),
  onError: (message: string) => void = () => undefined,
): Promise<{ server: grpc.Server; port: number }> {
  const def = fromJSON(RLS_PROTO_JSON, RLS_LOADER_OPTIONS)[RLS_SERVICE] as grpc.ServiceDefinition;
  const server = new grpc.Server();
  server.addService(def, {
    ShouldRateLimit: (call: grpc.ServerUnaryCall<ShouldRateLimitRequest, ShouldRateLimitResponse>, done: grpc.sendUnaryData<ShouldRateLimitResponse>) => {
      service.shouldRateLimit(call.request).then(
        (r) => done(null, r),
        (err: unknown) => {
          const message = err instanceof Error ? err.message : String(err);
          onError(message);
          done({ code: err instanceof UnknownDomainError ? grpc.status.INVALID_ARGUMENT : grpc.status.UNAVAILABLE, details: message });
        },
      );
    },
  });
  return new Promise((resolve, reject) => {
    server.bindAsync(address, credentials, (err, port) => {
      if (err !== null) reject(err);
      else resolve({ server, port });
    });
  });
}
