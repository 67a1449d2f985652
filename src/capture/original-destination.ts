/**
 * A captured connection's original destination: the address and port it was sent to before
 * iptables' REDIRECT handed it to the proxy's capture port. Node has no getsockopt, so
 * SO_ORIGINAL_DST (and IPv6's IP6T_SO_ORIGINAL_DST) is read by a small N-API addon,
 * `native/original_dst.c`, built when Skiff is installed (`native/build.mjs`).
 *
 * The addon is loaded on first use: only capture mode needs it, and without it the captured
 * listeners refuse to start with `OriginalDestinationUnavailable` naming the file and how to
 * build it, rather than serving connections they cannot route.
 */
import { createRequire } from 'node:module';
import { fileURLToPath } from 'node:url';
import type { Socket } from 'node:net';

/** Where a captured connection was going. */
export interface OriginalDestination {
  address: string;
  port: number;
  family: 4 | 6;
}

export interface Addon {
  originalDestination(fd: number): OriginalDestination | null;
}

/** The addon's path: `native/build/Release/` at the repository's root (this file runs from `dist/src/capture/`). */
export const ADDON_PATH = fileURLToPath(new URL('../../../native/build/Release/original_dst.node', import.meta.url));

/** The addon cannot be loaded: what failed and how to build it. */
export class OriginalDestinationUnavailable extends Error {
  override name = 'OriginalDestinationUnavailable';
}

function isAddon(v: unknown): v is Addon {
  return typeof v === 'object' && v !== null && typeof (v as { originalDestination?: unknown }).originalDestination === 'function';
}

/** Loads the addon at `path`, or says why it cannot be loaded and how to build it. */
export function loadAddon(path: string): Addon | OriginalDestinationUnavailable {
  try {
    const mod: unknown = createRequire(import.meta.url)(path);
    if (isAddon(mod)) return mod;
    return new OriginalDestinationUnavailable(`${path} does not export originalDestination(fd)`);
  } catch (err) {
    const why = err instanceof Error ? err.message.split('\n')[0] : String(err);
    return new OriginalDestinationUnavailable(
      `the SO_ORIGINAL_DST addon cannot be loaded (${why}), so captured connections' original destinations cannot be read; build it with \`npm run build:native\` (needs gcc, g++, make and python3)`,
    );
  }
}

let loaded: Addon | OriginalDestinationUnavailable | undefined;

/** Loads the addon once; throws `OriginalDestinationUnavailable` when it cannot be (what the captured listeners check before they listen). */
export function requireOriginalDestination(): void {
  loaded ??= loadAddon(ADDON_PATH);
  if (loaded instanceof OriginalDestinationUnavailable) throw loaded;
}

interface HandleWithFd {
  fd: number;
}

function socketFd(socket: Socket): number {
  // net.Socket keeps its libuv handle as `_handle`, whose `fd` is the descriptor on Unix: not
  // public API, but the only way to a connected socket's descriptor.
  const handle = (socket as unknown as { _handle?: Partial<HandleWithFd> | null })._handle;
  const fd = handle?.fd;
  if (typeof fd !== 'number' || fd < 0) throw new Error('the socket has no file descriptor (closed, or not a TCP socket)');
  return fd;
}

/**
 * Where `socket` was going before it was redirected; for a connection that was not redirected
 * (made to the capture port itself), its local address and port, as Envoy's original_dst listener
 * filter falls back to.
 */
export function originalDestination(socket: Socket): OriginalDestination {
  requireOriginalDestination();
  const found = (loaded as Addon).originalDestination(socketFd(socket));
  if (found !== null) return found;
  const address = socket.localAddress ?? '';
  const mapped = address.startsWith('::ffff:') ? address.slice(7) : address;
  return { address: mapped, port: socket.localPort ?? 0, family: mapped.includes(':') ? 6 : 4 };
}
