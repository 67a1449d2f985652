/**
 * Traffic capture in the snapshot (a Kubernetes sidecar whose pod's connections iptables
 * redirects to the proxy): Envoy's `use_original_dst` listener, Istio's `virtualOutbound` on 15001
 * and `virtualInbound` on 15006, reads each connection's original destination and hands it to the
 * listener that stands for that destination — one that binds no port itself (`bindToPort: false`,
 * Envoy's `bind_to_port: false`) and whose `port` is the destination port. A connection no target
 * takes is served by the capture listener itself (its own routes: PassthroughCluster or
 * BlackHoleCluster outbound, InboundPassthroughCluster inbound).
 */
import { SnapshotError, list, obj, str } from './checks.js';

/** What the cross-listener check reads of a listener (listeners.ts imports this file, not the reverse). */
interface CaptureListenerFields {
  readonly name: string;
  readonly bindToPort?: boolean;
  readonly capture?: CaptureConfig;
}

/** Connections whose original destination is `destination` go to the listener named `listener`. */
export interface CaptureTarget {
  /** `address:port` (`[v6]:port` for IPv6), or `:port` for any address on that port; the exact one is preferred. */
  destination: string;
  listener: string;
}

export interface CaptureConfig {
  targets: CaptureTarget[];
}

const DESTINATION = /^(?:(\d{1,3}(?:\.\d{1,3}){3})|\[([0-9a-fA-F:.]+)\])?:(\d{1,5})$/;

/** The lookup key of a destination: `address:port`, or `:port`. */
export function captureKey(address: string, port: number): string {
  return address === '' ? `:${port}` : address.includes(':') ? `[${address}]:${port}` : `${address}:${port}`;
}

export function checkCapture(v: unknown, at: string): CaptureConfig {
  const o = obj(v, at);
  const seen = new Set<string>();
  const targets = list(o.targets, `${at}.targets`).map((t, i) => {
    const tat = `${at}.targets[${i}]`;
    const to = obj(t, tat);
    const destination = str(to.destination, `${tat}.destination`);
    const m = DESTINATION.exec(destination);
    const port = m === null ? NaN : Number(m[3]);
    if (m === null || port < 1 || port > 65535) throw new SnapshotError(`${tat}.destination`, `must be address:port, [ipv6]:port or :port, got ${JSON.stringify(destination)}`);
    const key = captureKey(m[1] ?? m[2] ?? '', port);
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
