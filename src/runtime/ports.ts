/**
 * Free loopback ports for replicas: each is found by binding port 0 on 127.0.0.1 and releasing
 * it, and is never handed out twice while its holder lives.
 */
import net from 'node:net';

/** Ports handed out by this process and not yet released: the OS may offer a released port again. */
const taken = new Set<number>();

function probeFreePort(host: string): Promise<number> {
  return new Promise((resolve, reject) => {
    const server = net.createServer();
    server.unref();
    server.once('error', reject);
    server.listen({ port: 0, host, exclusive: true }, () => {
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
      // Another process raced us for the port: try again.
      if ((err as NodeJS.ErrnoException).code === 'EADDRINUSE') continue;
      throw err;
    }
    if (taken.has(port)) continue;
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
