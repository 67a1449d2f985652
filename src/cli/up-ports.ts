/**
 * `skiff up --port-offset N`: every fixed port of a mesh moved by N, so a second mesh runs beside
 * the first with one option. A port given explicitly keeps its value; 0 (any free port) stays 0.
 */
import type { UpOptions } from './up-options.js';

/** The fixed ports a mesh listens on, by option, with their defaults. */
export const DEFAULT_PORTS = {
  ingressPort: 8080,
  /** Where Gateway servers on 443 and 8443 are served. */
  httpsPort: 8443,
  apiPort: 15080,
  pushPort: 15010,
  dashboardPort: 20001,
} as const;

/** Whether an option's value came from the command line (commander's `getOptionValueSource`). */
export type GivenOption = (name: 'ingressPort' | 'apiPort' | 'pushPort' | 'dashboardPort') => boolean;

/** `opts` with the offset applied to every fixed port the user did not give. */
export function withPortOffset(opts: UpOptions, given: GivenOption): UpOptions {
  const offset = opts.portOffset ?? 0;
  if (offset === 0) return opts;
  const moved = (name: 'ingressPort' | 'apiPort' | 'pushPort', value: number): number => (given(name) || value === 0 ? value : DEFAULT_PORTS[name] + offset);
  const out: UpOptions = {
    ...opts,
    ingressPort: moved('ingressPort', opts.ingressPort),
    apiPort: moved('apiPort', opts.apiPort),
    pushPort: moved('pushPort', opts.pushPort),
    gatewayPort: { 443: DEFAULT_PORTS.httpsPort + offset, ...opts.gatewayPort },
  };
  if (!given('dashboardPort')) out.dashboardPort = DEFAULT_PORTS.dashboardPort + offset;
  return out;
}

/** The highest offset that keeps every moved port a valid port number. */
export const MAX_PORT_OFFSET = 65535 - Math.max(...Object.values(DEFAULT_PORTS));
