/**
 * Capture listeners (Istio's 15001 and 15006, Envoy's `use_original_dst`): each connection
 * iptables redirected here is handed, by its original destination, to the listener that stands
 * for it — one bound to no port (`bindToPort: false`) — as Envoy hands a connection to the
 * listener whose address matches: the exact `address:port` first, then the longest block of
 * addresses (a ServiceEntry's CIDR) that holds it on the port, then any address on the port.
 * A connection no target takes stays with the capture listener, which serves it with its own
 * routes (passthrough to the original destination, or the black hole).
 */
import { BlockList, type Socket } from 'node:net';
import { originalDestination, requireOriginalDestination, type OriginalDestination } from '../../capture/original-destination.js';
import { captureKey, parseCaptureDestination, type CaptureConfig } from '../../snapshot/index.js';

/** A listener a capture listener hands connections to. */
export interface CaptureTarget {
  /** Serves a handed-off connection as if it had accepted it, with its original destination. */
  adopt(socket: Socket, original: OriginalDestination): void;
}

/** A block of addresses on one port (`10.0.0.0/24:5432`) and the listener that takes it. */
interface BlockTarget {
  readonly addresses: BlockList;
  readonly family: 'ipv4' | 'ipv6';
  readonly prefix: number;
  readonly target: CaptureTarget;
}

/** A capture listener's targets by original destination. */
export interface CaptureTable {
  /** `address:port` and `:port` → the listener that takes it. */
  readonly exact: ReadonlyMap<string, CaptureTarget>;
  /** Port → its blocks, longest prefix first; null when no target is a block (the usual case). */
  readonly blocks: ReadonlyMap<number, readonly BlockTarget[]> | null;
}

/** The table of a capture listener's config over the snapshot's listeners (all validated to exist). */
export function compileCaptureTable(config: CaptureConfig, listeners: ReadonlyMap<string, CaptureTarget>): CaptureTable {
  const exact = new Map<string, CaptureTarget>();
  let blocks: Map<number, BlockTarget[]> | null = null;
  for (const t of config.targets) {
    const target = listeners.get(t.listener);
    const d = parseCaptureDestination(t.destination);
    if (target === undefined || typeof d === 'string') continue;
    if (d.prefix === undefined) {
      exact.set(t.destination, target);
      continue;
    }
    const family = d.address.includes(':') ? 'ipv6' : 'ipv4';
    const addresses = new BlockList();
    addresses.addSubnet(d.address, d.prefix, family);
    blocks ??= new Map();
    let onPort = blocks.get(d.port);
    if (onPort === undefined) blocks.set(d.port, (onPort = []));
    onPort.push({ addresses, family, prefix: d.prefix, target });
  }
  // Longest prefix first: the most specific block that holds an address takes it, as Envoy's listener match does.
  for (const onPort of blocks?.values() ?? []) onPort.sort((a, b) => b.prefix - a.prefix);
  return { exact, blocks };
}

/**
 * The target for a destination: its exact address and port, else the longest block on its port
 * that holds the address, else any address on its port. Runs once per captured connection: one
 * Map lookup for a Service's address, blocks scanned only on a port that has some.
 */
export function captureTargetFor(table: CaptureTable, dst: OriginalDestination): CaptureTarget | null {
  const exact = table.exact.get(captureKey(dst.address, dst.port));
  if (exact !== undefined) return exact;
  const onPort = table.blocks?.get(dst.port);
  if (onPort !== undefined) {
    const family = dst.family === 6 ? 'ipv6' : 'ipv4';
    for (const b of onPort) if (b.family === family && b.addresses.check(dst.address, family)) return b.target;
  }
  return table.exact.get(captureKey('', dst.port)) ?? null;
}

/** Where a captured connection was going; null when it cannot be read (the socket closed meanwhile). */
export function readOriginalDestination(socket: Socket): OriginalDestination | null {
  try {
    return originalDestination(socket);
  } catch {
    return null;
  }
}

/** Throws, naming the addon and how to build it, when original destinations cannot be read: checked before a capture listener binds. */
export function requireCapture(): void {
  requireOriginalDestination();
}

export type { OriginalDestination };
