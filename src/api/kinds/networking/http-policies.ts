/**
 * Policies of a VirtualService HTTP route (from Istio's virtual_service.proto): retries, CORS,
 * fault injection and mirroring.
 */
import type { Static } from 'typebox';
import { Bool, Enum, Int32, List, OneOf, Opt, Str, StringList, Strict } from '../../schema-kit.js';
import { Destination, Duration1ms, Nullable, Percent, StringMatch } from './common.js';

export const HTTPRetry = Strict(
  {
    attempts: Opt(Int32({ description: 'Number of retries for a request.' })),
    perTryTimeout: Opt(Duration1ms('Timeout per attempt, including the first.')),
    retryOn: Opt(Str({ description: 'Comma-separated retry conditions (Envoy x-envoy-retry-on values or status codes).' })),
    retryRemoteLocalities: Opt(Nullable(Bool({ description: 'Retry to other localities.' }))),
    retryIgnorePreviousHosts: Opt(Nullable(Bool({ description: 'Avoid hosts tried before.' }))),
    backoff: Opt(Duration1ms('Minimum time between retries.')),
  },
  { description: 'Retry policy.' },
);
export type HTTPRetry = Static<typeof HTTPRetry>;

export const CorsPolicy = Strict(
  {
    allowOrigin: Opt(StringList({ description: 'Deprecated: use allowOrigins.' })),
    allowOrigins: Opt(List(StringMatch, { description: 'Origins allowed to make requests.' })),
    allowMethods: Opt(StringList({ description: 'Methods allowed (Access-Control-Allow-Methods).' })),
    allowHeaders: Opt(StringList({ description: 'Headers allowed (Access-Control-Allow-Headers).' })),
    exposeHeaders: Opt(StringList({ description: 'Headers browsers may read (Access-Control-Expose-Headers).' })),
    maxAge: Opt(Duration1ms('How long preflight results may be cached.')),
    allowCredentials: Opt(Nullable(Bool({ description: 'Allow credentials (Access-Control-Allow-Credentials).' }))),
    unmatchedPreflights: Opt(
      Enum(['UNSPECIFIED', 'FORWARD', 'IGNORE'] as const, { description: 'What to do with preflights from other origins.' }),
    ),
  },
  { description: 'Cross-Origin Resource Sharing policy.' },
);
export type CorsPolicy = Static<typeof CorsPolicy>;

export const HTTPFaultInjectionDelay = OneOf(
  Strict(
    {
      fixedDelay: Opt(Duration1ms('Delay before forwarding.')),
      exponentialDelay: Opt(Duration1ms('Exponential delay (not supported by Istio yet).')),
      percent: Opt(Int32({ description: 'Deprecated: use percentage.' })),
      percentage: Opt(Percent),
    },
    { description: 'Delay injection.' },
  ),
  [['fixedDelay', 'exponentialDelay']],
);
export type HTTPFaultInjectionDelay = Static<typeof HTTPFaultInjectionDelay>;

export const HTTPFaultInjectionAbort = OneOf(
  Strict(
    {
      httpStatus: Opt(Int32({ description: 'HTTP status to return.' })),
      grpcStatus: Opt(Str({ description: 'gRPC status name to return, e.g. UNAVAILABLE.' })),
      http2Error: Opt(Str({ description: 'HTTP/2 error (not supported by Istio yet).' })),
      percentage: Opt(Percent),
    },
    { description: 'Abort injection.' },
  ),
  [['httpStatus', 'grpcStatus', 'http2Error']],
);
export type HTTPFaultInjectionAbort = Static<typeof HTTPFaultInjectionAbort>;

export const HTTPFaultInjection = Strict(
  {
    delay: Opt(HTTPFaultInjectionDelay),
    abort: Opt(HTTPFaultInjectionAbort),
  },
  { description: 'Fault injection on the client side.' },
);
export type HTTPFaultInjection = Static<typeof HTTPFaultInjection>;

export const HTTPMirrorPolicy = Strict(
  {
    destination: Destination,
    percentage: Opt(Percent),
  },
  { description: 'A destination receiving a copy of the traffic.' },
);
export type HTTPMirrorPolicy = Static<typeof HTTPMirrorPolicy>;
