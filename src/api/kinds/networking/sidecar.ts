/**
 * Sidecar (networking.istio.io): the schema and TypeScript types of its spec, named as in Istio's
 * sidecar.proto. Rules: `rules/sidecar.ts`.
 */
import type { Static } from 'typebox';
import { Enum, List, Opt, Str, StringList, Strict, UInt32 } from '../../schema-kit.js';
import { Destination, WorkloadSelector } from './common.js';
import { ConnectionPoolSettings } from './connection-pool.js';
import { ServerTLSSettings } from './gateway.js';

export const SidecarPort = Strict(
  {
    number: Opt(UInt32({ description: 'Port number (0 with a unix domain socket bind).' })),
    protocol: Opt(Str({ description: 'Protocol of the port (HTTP, TCP, ...).' })),
    name: Opt(Str({ description: 'Port name.' })),
    targetPort: Opt(UInt32({ description: 'Deprecated and without effect on Sidecars.' })),
  },
  { description: 'Port of a sidecar listener.' },
);
export type SidecarPort = Static<typeof SidecarPort>;

export const CAPTURE_MODES = ['DEFAULT', 'IPTABLES', 'NONE'] as const;

export const IstioIngressListener = Strict(
  {
    port: SidecarPort,
    bind: Opt(Str({ description: 'IP the listener binds to.' })),
    captureMode: Opt(Enum(CAPTURE_MODES, { description: 'How traffic reaches the listener.' })),
    defaultEndpoint: Opt(Str({ description: 'Where traffic is forwarded: 127.0.0.1:PORT, 0.0.0.0:PORT or unix://path.' })),
    tls: Opt(ServerTLSSettings),
    connectionPool: Opt(ConnectionPoolSettings),
  },
  { description: 'An inbound listener of the sidecar.' },
);
export type IstioIngressListener = Static<typeof IstioIngressListener>;

export const IstioEgressListener = Strict(
  {
    port: Opt(SidecarPort),
    bind: Opt(Str({ description: 'IP or unix:// socket the listener binds to.' })),
    captureMode: Opt(Enum(CAPTURE_MODES, { description: 'How traffic reaches the listener.' })),
    hosts: StringList({ description: 'Services reachable through the listener, as namespace/dnsName.' }),
  },
  { description: 'An outbound listener of the sidecar.' },
);
export type IstioEgressListener = Static<typeof IstioEgressListener>;

export const OutboundTrafficPolicy = Strict(
  {
    mode: Opt(Enum(['REGISTRY_ONLY', 'ALLOW_ANY'] as const, { description: 'Traffic to unknown services: blocked or passed through.' })),
    egressProxy: Opt(Destination),
  },
  { description: 'Handling of traffic to services outside the registry.' },
);
export type OutboundTrafficPolicy = Static<typeof OutboundTrafficPolicy>;

export const SidecarSpec = Strict(
  {
    workloadSelector: Opt(WorkloadSelector),
    ingress: Opt(List(IstioIngressListener, { description: 'Inbound listeners.' })),
    egress: Opt(List(IstioEgressListener, { description: 'Outbound listeners and the services they reach.' })),
    inboundConnectionPool: Opt(ConnectionPoolSettings),
    outboundTrafficPolicy: Opt(OutboundTrafficPolicy),
  },
  { description: 'Configuration of the sidecar proxy of a set of workloads.' },
);
export type SidecarSpec = Static<typeof SidecarSpec>;
