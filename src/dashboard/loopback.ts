/**
 * What a server on loopback must refuse of requests a browser may send it on behalf of a page
 * from elsewhere: a `Host` that is not one of its own loopback names (a page whose DNS name was
 * rebound to 127.0.0.1 sends its own name), and an `Origin` that is not the server itself (a
 * cross-site `fetch` or form post). The dashboard and skiffd's API both apply it; a request
 * from a program (no Origin) or from the server's own page (its own origin) passes.
 */
import type { IncomingMessage } from 'node:http';

export interface LoopbackRefusal {
  status: 403;
  error: string;
}

/** The `Host` values a loopback server on `port` answers to: 127.0.0.1, localhost and [::1] with its port. */
export function loopbackHosts(port: number): string[] {
  const names = ['127.0.0.1', 'localhost', '[::1]'];
  // A client may leave out the scheme's default port.
  return port === 80 ? names.flatMap((n) => [`${n}:80`, n]) : names.map((n) => `${n}:${port}`);
}

/**
 * Why `req` must be refused, or undefined when it may be served. `hosts` are the accepted `Host`
 * values (compared case-insensitively); an `Origin`, when sent, must be `http://` one of them.
 */
export function loopbackRefusal(req: IncomingMessage, hosts: readonly string[], what: string): LoopbackRefusal | undefined {
  const host = (req.headers.host ?? '').toLowerCase();
  const accepted = hosts.map((h) => h.toLowerCase());
  if (!accepted.includes(host)) {
    return {
      status: 403,
      error: `${what} answers to ${hosts.join(', ')} only, not to Host "${req.headers.host ?? ''}" (a page whose name points at this machine must not reach it)`,
    };
  }
  const origin = req.headers.origin;
  if (origin !== undefined && !accepted.some((h) => origin.toLowerCase() === `http://${h}`)) {
    return { status: 403, error: `${what} refuses requests from other origins (Origin "${origin}"): a web page cannot drive it from the browser` };
  }
  return undefined;
}
