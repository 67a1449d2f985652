/**
 * Traffic capture in the snapshot (a Kubernetes sidecar whose pod's connections iptables
 * redirects to the proxy): Envoy's `use_original_dst` listener, Istio's `virtualOutbound` on 15001
 * and `virtualInbound` on 15006, reads each connection's original destination and hands it to the
 * listener that stands for that destination — one that binds no port itself (`bindToPort: false`,
 * Envoy's `bind_to_port: false`) and whose `port` is the destination port. A connection no target
 * takes is served by the capture listener itself (its own routes: PassthroughCluster or
 * BlackHoleCluster outbound, InboundPassthroughCluster inbound).
 */
import { isIP } from 'node:net';
import { SnapshotError, list, obj, str } from './checks.js';

/** What the cross-listener check reads of a listener (listeners.ts imports this file, not the reverse). */
interface CaptureListenerFields {
  readonly name: string;
  readonly bindToPort?: boolean;
  readonly capture?: CaptureConfig;
}

/** Connections whose original destination is `destination` go to the listener named `listener`. */
export interface CaptureTarget {
  /**
   * `address:port` (`[v6]:port` for IPv6), `cidr:port` (`10.0.0.0/24:5432`, `[2001:db8::/64]:5432`:
   * any address in the block), or `:port` for any address on that port. The exact address is
   * preferred, then the longest block that holds it, then any address.
   */
  destination: string;
  listener: string;
}

export interface CaptureConfig {
  targets: CaptureTarget[];
}

/** A destination split: `prefix` only for a block (a /32 or /128 is an exact address). */
export interface CaptureDestination {
  /** '' for any address. */
  address: string;
  prefix?: number;
  port: number;
}

const DESTINATION = /^(?:(\d{1,3}(?:\.\d{1,3}){3})(?:\/(\d{1,2}))?|\[([0-9a-fA-F:.]+)(?:\/(\d{1,3}))?\])?:(\d{1,5})$/;

/** The lookup key of a destination: `address:port`, or `:port`. */
export function captureKey(address: string, port: number): string {
  return address === '' ? `:${port}` : address.includes(':') ? `[${address}]:${port}` : `${address}:${port}`;
}

/** The key of a block: `10.0.0.0/24:5432`, `[2001:db8::/64]:5432`. */
function blockKey(address: string, prefix: number, port: number): string {
  return address.includes(':') ? `[${address}/${prefix}]:${port}` : `${address}/${prefix}:${port}`;
}

/** A destination's parts, or why it is not one. */
export function parseCaptureDestination(destination: string): CaptureDestination | string {
  const m = DESTINATION.exec(destination);
  const port = m === null ? NaN : Number(m[5]);
  if (m === null || port < 1 || port > 65535) return 'must be address:port, [ipv6]:port, cidr:port, [ipv6-cidr]:port or :port';
  const address = m[1] ?? m[3] ?? '';
  const v6 = m[3] !== undefined;
  if (address !== '' && isIP(address) !== (v6 ? 6 : 4)) return `${address} is not an IPv${v6 ? 6 : 4} address`;
  const prefixText = m[2] ?? m[4];
  if (prefixText === undefined) return { address, port };
  const prefix = Number(prefixText);
  const bits = v6 ? 128 : 32;
  if (prefix > bits) return `the prefix length of ${address} is at most ${bits}, got ${prefix}`;
  return prefix === bits ? { address, port } : { address, prefix, port };
}

/** The canonical form of a parsed destination (what targets are compared and looked up by). */
export function captureDestinationKey(d: CaptureDestination): string {
  return d.prefix === undefined ? captureKey(d.address, d.port) : blockKey(d.address, d.prefix, d.port);
}

export function checkCapture(v: unknown, at: string): CaptureConfig {
  const o = obj(v, at);
  const seen = new Set<string>();
  const targets = list(o.targets, `${at}.targets`).map((t, i) => {
    const tat = `${at}.targets[${i}]`;
    const to = obj(t, tat);
    const destination = str(to.destination, `${tat}.destination`);
    const parsed = parseCaptureDestination(destination);
    if (typeof parsed === 'string') throw new SnapshotError(`${tat}.destination`, `${parsed}, got ${JSON.stringify(destination)}`);
    const key = captureDestinationKey(parsed);
    if (seen.has(key)) throw new SnapshotError(`${tat}.destination`, `${destination} is already a target`);
    seen.add(key);
    return { destination: key, listener: str(to.listener, `${tat}.listener`) };
  });
  return { targets };
}

/** Cross-listener checks: targets name listeners that bind no port; a capture listener binds one. */
export function checkCaptureTargets(listeners: readonly CaptureListenerFields[]): void {
  const byName = new Map(listeners.map((l) => [l.name, l]));
  listeners.forEach((l, i) => {
    if (l.capture === undefined) return;
    if (l.bindToPort === false) throw new SnapshotError(`listeners[${i}].bindToPort`, 'a capture listener binds its port (it is where iptables redirects connections)');
    l.capture.targets.forEach((t, j) => {
      const target = byName.get(t.listener);
      const at = `listeners[${i}].capture.targets[${j}].listener`;
      if (target === undefined) throw new SnapshotError(at, `no listener named ${JSON.stringify(t.listener)}`);
      if (target.bindToPort !== false) throw new SnapshotError(at, `listener ${JSON.stringify(t.listener)} binds a port of its own (a target has bindToPort: false)`);
    });
  });
}
