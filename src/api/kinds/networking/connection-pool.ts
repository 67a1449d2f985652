/**
 * ConnectionPoolSettings (from Istio's destination_rule.proto): circuit-breaker limits used by
 * DestinationRule traffic policies and by Sidecar inbound listeners.
 */
import type { Static } from 'typebox';
import { Bool, Duration, Enum, Int32, Opt, Strict, UInt32 } from '../../schema-kit.js';
import { Duration1ms } from './common.js';

export const TcpKeepalive = Strict(
  {
    probes: Opt(UInt32({ description: 'Unanswered probes before the connection is dead.' })),
    time: Opt(Duration1ms('Idle time before probes start.')),
    interval: Opt(Duration1ms('Time between probes.')),
  },
  { description: 'SO_KEEPALIVE settings.' },
);
export type TcpKeepalive = Static<typeof TcpKeepalive>;

export const TCPSettings = Strict(
  {
    maxConnections: Opt(Int32({ description: 'Maximum HTTP/1 and TCP connections to a host.' })),
    connectTimeout: Opt(Duration1ms('TCP connect timeout.')),
    tcpKeepalive: Opt(TcpKeepalive),
    maxConnectionDuration: Opt(Duration1ms('Maximum lifetime of a connection.')),
    idleTimeout: Opt(Duration({ description: 'Idle timeout of TCP connections.' })),
  },
  { description: 'Settings common to HTTP and TCP connections.' },
);
export type TCPSettings = Static<typeof TCPSettings>;

export const Http2KeepAlive = Strict(
  {
    interval: Opt(Duration1ms('Send HTTP/2 PING frames at this interval.')),
    timeout: Opt(Duration1ms('Close the connection when a PING is not answered in time.')),
  },
  { description: 'HTTP/2 PING keepalive for upstream connections.' },
);
export type Http2KeepAlive = Static<typeof Http2KeepAlive>;

export const HTTPSettings = Strict(
  {
    http1MaxPendingRequests: Opt(Int32({ description: 'Maximum requests queued waiting for a connection.' })),
    http2MaxRequests: Opt(Int32({ description: 'Maximum active requests to a destination.' })),
    maxRequestsPerConnection: Opt(Int32({ description: 'Maximum requests per connection (1 disables keep-alive).' })),
    maxRetries: Opt(Int32({ description: 'Maximum outstanding retries to all hosts.' })),
    idleTimeout: Opt(Duration1ms('Idle timeout of upstream pool connections.')),
    h2UpgradePolicy: Opt(
      Enum(['DEFAULT', 'DO_NOT_UPGRADE', 'UPGRADE'] as const, { description: 'Upgrade HTTP/1.1 connections to HTTP/2.' }),
    ),
    useClientProtocol: Opt(Bool({ description: 'Use the protocol the client used.' })),
    maxConcurrentStreams: Opt(Int32({ description: 'Maximum concurrent streams per HTTP/2 connection.' })),
    http2KeepAlive: Opt(Http2KeepAlive),
  },
  { description: 'HTTP connection pool settings.' },
);
export type HTTPSettings = Static<typeof HTTPSettings>;

export const ConnectionPoolSettings = Strict(
  {
    tcp: Opt(TCPSettings),
    http: Opt(HTTPSettings),
  },
  { description: 'Connection pool limits per upstream host.' },
);
export type ConnectionPoolSettings = Static<typeof ConnectionPoolSettings>;
