/**
 * Free loopback ports for replicas: each is found by binding a port on 127.0.0.1 and releasing
 * it, and is never handed out twice while its holder lives. Ports are drawn at random from below
 * the kernel's ephemeral range: a released port inside that range can be handed to any other
 * process's outgoing connection or port-0 listener before the replica binds it.
 */
import { readFileSync } from 'node:fs';
import net from 'node:net';

/** Ports handed out by this process and not yet released: the OS may offer a released port again. */
const taken = new Set<number>();

/**
 * Lowest port drawn from: below it are the ports the mesh and its samples use by default
 * (8080, 9080, Istio's 15000-15099, the dashboard's 20001).
 */
const LOW_PORT = 21_000;
/** Fixed ports above LOW_PORT that gateways listen on in Istio's tasks (the TCP ingress port). */
const AVOID = new Set([31_400]);

/** [low, high] to draw from, or undefined when the ephemeral range leaves too little room below it (then the OS picks). */
function portRange(): [number, number] | undefined {
  let ephemeralLow = 32_768;
  try {
    const [low] = readFileSync('/proc/sys/net/ipv4/ip_local_port_range', 'utf8').trim().split(/\s+/).map(Number);
    if (Number.isInteger(low)) ephemeralLow = low;
  } catch {
    // Not Linux: the usual range (IANA 49152-65535, or Linux's default) starts above 32767.
  }
  return ephemeralLow - 1 - LOW_PORT >= 1000 ? [LOW_PORT, ephemeralLow - 1] : undefined;
}

const range = portRange();

function probeFreePort(host: string): Promise<number> {
  const wanted = range === undefined ? 0 : range[0] + Math.floor(Math.random() * (range[1] - range[0] + 1));
  return new Promise((resolve, reject) => {
    const server = net.createServer();
    server.unref();
    server.once('error', reject);
    server.listen({ port: wanted, host, exclusive: true }, () => {
      const { port } = server.address() as net.AddressInfo;
      server.close(() => resolve(port));
    });
  });
}

/** True when `port` can be bound on `host` right now. */
export function canBind(port: number, host = '127.0.0.1'): Promise<boolean> {
  return new Promise((resolve) => {
    const server = net.createServer();
    server.unref();
    server.once('error', () => resolve(false));
    server.listen({ port, host, exclusive: true }, () => server.close(() => resolve(true)));
  });
}

/** `count` distinct free ports on `host`, reserved until `releasePorts`. */
export async function allocatePorts(count: number, host = '127.0.0.1'): Promise<number[]> {
  const out: number[] = [];
  for (let attempts = 0; out.length < count; attempts++) {
    if (attempts > count * 20) throw new Error(`cannot find ${count} free ports on ${host}`);
    let port: number;
    try {
      port = await probeFreePort(host);
    } catch (err) {
      // In use by another process (or it raced us for the port): try another.
      if ((err as NodeJS.ErrnoException).code === 'EADDRINUSE') continue;
      throw err;
    }
    if (taken.has(port) || AVOID.has(port)) continue;
    taken.add(port);
    out.push(port);
  }
  return out;
}

/** Marks ports as in use (a process adopted with its ports) so they are not handed out. */
export function reservePorts(ports: Iterable<number>): void {
  for (const p of ports) taken.add(p);
}

export function releasePorts(ports: Iterable<number>): void {
  for (const p of ports) taken.delete(p);
}
