/**
 * Runtime hosts: the mutable object behind the read-only `Endpoint` view, owned by a cluster and
 * updated in place across snapshots so in-flight counts, stats and ejection state survive.
 */
import type { Endpoint, EndpointStats } from './types.js';
import { endpointKey, type EndpointConfig } from '../../snapshot/index.js';

export function emptyEndpointStats(): EndpointStats {
  return { cx_active: 0, cx_total: 0, cx_connect_fail: 0, rq_active: 0, rq_total: 0, rq_success: 0, rq_error: 0, rq_timeout: 0 };
}

/** The cluster's own handle on a host; everyone else sees it as a read-only `Endpoint`. */
export class HostImpl implements Endpoint {
  readonly key: string;
  readonly address: string;
  readonly port: number;
  config: EndpointConfig;
  weight: number;
  healthy: boolean;
  ejected = false;
  draining = false;
  activeRequests = 0;
  readonly stats: EndpointStats = emptyEndpointStats();

  constructor(config: EndpointConfig) {
    this.address = config.address;
    this.port = config.port;
    this.key = endpointKey(config.address, config.port);
    this.config = config;
    this.weight = config.weight ?? 1;
    this.healthy = config.healthy ?? true;
  }

  /** Takes a new config for the same `ip:port`; returns whether balancing inputs changed. */
  reconfigure(config: EndpointConfig): boolean {
    const weight = config.weight ?? 1;
    const healthy = config.healthy ?? true;
    const changed = weight !== this.weight || healthy !== this.healthy;
    this.config = config;
    this.weight = weight;
    this.healthy = healthy;
    return changed;
  }

  healthFlags(): string {
    let flags = '';
    if (!this.healthy) flags += '/failed_eds_health';
    if (this.ejected) flags += '/failed_outlier_check';
    if (this.draining) flags += '/pending_dynamic_removal';
    return flags === '' ? 'healthy' : flags;
  }
}
