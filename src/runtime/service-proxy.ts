/**
 * How a pod without a sidecar reaches Services, as kube-proxy gives a pod on a cluster: plaintext,
 * straight to one ready endpoint of the Service — the endpoint's sidecar inbound listener when it
 * has one (so its PeerAuthentication decides), the app itself when it has none — with no mesh
 * policy on the way. No DNS names a Service on this machine, so the app's HTTP_PROXY points here
 * (one listener per namespace, which resolves short names in it), and the first request says where
 * the connection goes: `CONNECT host:port` (answered 200, then bytes either way) or an
 * absolute-form request, whose request line is turned into the origin form the app would have
 * sent to the Service's address (and `Proxy-Connection`/`Proxy-Authorization` dropped). From then
 * on the connection is a byte pipe to that endpoint, as kube-proxy's is to the endpoint it chose:
 * every later request on it goes to the same endpoint. A reset on one side resets the other, so a
 * STRICT endpoint's RST reaches the client as a reset (curl's exit 56). A host that names no
 * Service is reached directly, as any address outside the cluster; a Service without a ready
 * endpoint refuses the connection (a reset), as kube-proxy's REJECT rule does.
 */
import net from 'node:net';
import type { Registry, Service, WorkloadInstance } from '../registry/types.js';
import { meshAddressFor, selects } from '../registry/select.js';

/** The longest request head read before the destination is known. */
const MAX_HEAD = 64 * 1024;

export interface ServiceProxyOptions {
  /** The namespace whose short names (`httpbin`) the proxy resolves. */
  namespace: string;
  registry: Pick<Registry, 'snapshot'>;
  /** The cluster's domain suffix (`svc.cluster.local`'s `cluster.local`). */
  domainSuffix?: string;
  random?: () => number;
}

/** Where a Service host and port lead: one ready endpoint, none, or not a Service at all. */
export type Resolution = { kind: 'endpoint'; address: string; port: number } | { kind: 'no-endpoint'; service: string } | { kind: 'external' };

/** Resolves `host:port` as the cluster's DNS and kube-proxy would for a client in `namespace`. */
export function resolveService(host: string, port: number, opts: ServiceProxyOptions): Resolution {
  const snap = opts.registry.snapshot();
  const service = findService(snap.services, host.toLowerCase(), opts.namespace, opts.domainSuffix ?? 'cluster.local');
  if (service === undefined) return { kind: 'external' };
  const servicePort = service.ports.find((p) => p.port === port);
  if (servicePort === undefined) return { kind: 'no-endpoint', service: `${service.name}.${service.namespace}:${port}` };
  const endpoints: { address: string; port: number }[] = [];
  for (const w of snap.workloads as readonly WorkloadInstance[]) {
    if (!w.ready || !selects(service, w)) continue;
    const at = meshAddressFor(servicePort, w);
    if (at !== undefined) endpoints.push(at);
  }
  if (endpoints.length === 0) return { kind: 'no-endpoint', service: `${service.name}.${service.namespace}:${port}` };
  const chosen = endpoints[Math.floor((opts.random ?? Math.random)() * endpoints.length)];
  return { kind: 'endpoint', ...chosen };
}

function findService(services: readonly Service[], host: string, namespace: string, suffix: string): Service | undefined {
  const parts = host.split('.');
  const name = parts[0];
  let ns = namespace;
  if (parts.length >= 2) {
    const rest = parts.slice(2).join('.');
    // name.ns, name.ns.svc, name.ns.svc.<suffix>
    if (parts.length > 2 && rest !== 'svc' && rest !== `svc.${suffix}`) return undefined;
    ns = parts[1]!;
  }
  return services.find((s) => s.name === name && s.namespace === ns && s.selector !== undefined);
}

/** One namespace's listener; `port` once listening. */
export class ServiceProxy {
  private readonly server: net.Server;
  private readonly sockets = new Set<net.Socket>();

  constructor(private readonly opts: ServiceProxyOptions) {
    this.server = net.createServer((socket) => this.accept(socket));
  }

  listen(port = 0): Promise<number> {
    return new Promise((resolve, reject) => {
      this.server.once('error', reject);
      this.server.listen(port, '127.0.0.1', () => {
        this.server.removeListener('error', reject);
        resolve((this.server.address() as net.AddressInfo).port);
      });
    });
  }

  close(): Promise<void> {
    for (const s of this.sockets) s.destroy();
    return new Promise((resolve) => this.server.close(() => resolve()));
  }

  private track(socket: net.Socket): void {
    this.sockets.add(socket);
    socket.once('close', () => this.sockets.delete(socket));
  }

  private accept(client: net.Socket): void {
    this.track(client);
    client.on('error', () => client.destroy());
    let head = Buffer.alloc(0);
    const onData = (chunk: Buffer): void => {
      head = Buffer.concat([head, chunk]);
      const end = head.indexOf('\r\n\r\n');
      if (end === -1) {
        if (head.length > MAX_HEAD) client.destroy();
        return;
      }
      client.removeListener('data', onData);
      client.pause();
      this.route(client, head, end + 4);
    };
    client.on('data', onData);
  }

  private route(client: net.Socket, head: Buffer, headEnd: number): void {
    const text = head.subarray(0, headEnd).toString('latin1');
    const lineEnd = text.indexOf('\r\n');
    const [method, target, version] = text.slice(0, lineEnd).split(' ');
    let host: string;
    let port: number;
    let first: Buffer;
    if (method === 'CONNECT' && target !== undefined) {
      const m = /^\[?([^\]]+?)\]?:(\d+)$/.exec(target);
      if (m === null) return void client.end('HTTP/1.1 400 Bad Request\r\ncontent-length: 0\r\n\r\n');
      host = m[1]!;
      port = Number(m[2]);
      first = head.subarray(headEnd);
    } else {
      let url: URL;
      try {
        url = new URL(target ?? '');
      } catch {
        return void client.end('HTTP/1.1 400 Bad Request\r\ncontent-length: 0\r\n\r\n');
      }
      if (url.protocol !== 'http:') return void client.end('HTTP/1.1 400 Bad Request\r\ncontent-length: 0\r\n\r\n');
      host = url.hostname.replace(/^\[|\]$/g, '');
      port = url.port === '' ? 80 : Number(url.port);
      // What the app would have sent to the Service's address: origin form, no proxy fields.
      const fields = text
        .slice(lineEnd + 2, headEnd - 2)
        .split('\r\n')
        .filter((l) => l !== '' && !/^proxy-(connection|authorization):/i.test(l));
      const rewritten = `${method} ${url.pathname}${url.search} ${version}\r\n${fields.map((f) => `${f}\r\n`).join('')}\r\n`;
      first = Buffer.concat([Buffer.from(rewritten, 'latin1'), head.subarray(headEnd)]);
    }
    const where = resolveService(host, port, this.opts);
    if (where.kind === 'no-endpoint') {
      client.resetAndDestroy();
      return;
    }
    const upstream = where.kind === 'endpoint' ? net.connect(where.port, where.address) : net.connect(port, host);
    this.track(upstream);
    upstream.once('connect', () => {
      if (method === 'CONNECT') client.write('HTTP/1.1 200 Connection established\r\n\r\n');
      if (first.length > 0) upstream.write(first);
      client.pipe(upstream);
      upstream.pipe(client);
      client.resume();
    });
    // A reset on either side is a reset on the other (a STRICT endpoint's RST reaches the client).
    upstream.on('error', (err: NodeJS.ErrnoException) => {
      if (!client.destroyed) {
        if (err.code === 'ECONNRESET' || err.code === 'ECONNREFUSED') client.resetAndDestroy();
        else client.destroy();
      }
    });
    client.on('error', () => !upstream.destroyed && upstream.resetAndDestroy());
    client.on('close', () => upstream.destroyed || upstream.end());
  }
}
