/**
 * Chooses the forward proxy for an outbound URL from the conventional environment variables
 * (HTTP_PROXY / HTTPS_PROXY / NO_PROXY, upper or lower case), the way curl and most HTTP
 * clients read them. Locally, the mesh points HTTP_PROXY at the workload's sidecar.
 */
import { BlockList, isIP } from 'node:net';

type Env = Readonly<Record<string, string | undefined>>;

function envValue(env: Env, name: string): string | undefined {
  // Lower case first, as curl does; empty values count as unset.
  const value = env[name.toLowerCase()] ?? env[name.toUpperCase()];
  return value === undefined || value.trim() === '' ? undefined : value.trim();
}

/** Parses a proxy setting; a bare `host:port` means `http://host:port`. */
export function parseProxyUrl(value: string, variable = 'HTTP_PROXY'): URL {
  const withScheme = /^[a-z][a-z0-9+.-]*:\/\//i.test(value) ? value : `http://${value}`;
  let url: URL;
  try {
    url = new URL(withScheme);
  } catch {
    throw new Error(`${variable}=${value} is not a valid proxy URL (expected http://host:port)`);
  }
  if (url.protocol !== 'http:') {
    throw new Error(`${variable}=${value}: only http:// proxies are supported, not ${url.protocol}//`);
  }
  return url;
}

/** True when NO_PROXY (a comma or space separated list) exempts this host and port. */
export function bypassesProxy(hostname: string, port: string, noProxy: string | undefined): boolean {
  if (noProxy === undefined) return false;
  const host = hostname.replace(/^\[|\]$/g, '').toLowerCase();
  for (const raw of noProxy.split(/[\s,]+/)) {
    let entry = raw.trim().toLowerCase();
    if (entry === '') continue;
    if (entry === '*') return true;
    if (entry.includes('/')) {
      if (inCidr(host, entry)) return true;
      continue;
    }
    const portMatch = /^(.*?):(\d+)$/.exec(entry);
    if (portMatch && !entry.startsWith('[') && isIP(entry) === 0) {
      if (portMatch[2] !== port) continue;
      entry = portMatch[1]!;
    }
    entry = entry.replace(/^\[|\]$/g, '').replace(/^\*?\./, '');
    if (host === entry || (isIP(host) === 0 && host.endsWith(`.${entry}`))) return true;
  }
  return false;
}

function inCidr(host: string, cidr: string): boolean {
  const family = isIP(host);
  const [base, bits] = cidr.split('/');
  const prefix = Number(bits);
  const baseFamily = isIP(base ?? '');
  if (family === 0 || baseFamily !== family || !Number.isInteger(prefix)) return false;
  const list = new BlockList();
  try {
    list.addSubnet(base, prefix, family === 6 ? 'ipv6' : 'ipv4');
  } catch {
    return false;
  }
  return list.check(host, family === 6 ? 'ipv6' : 'ipv4');
}

/**
 * The proxy to use for `target`, or undefined to connect directly. Plain HTTP uses
 * HTTP_PROXY; HTTPS uses HTTPS_PROXY (tunnelled with CONNECT).
 */
export function proxyFor(target: URL, env: Env = process.env): URL | undefined {
  const variable = target.protocol === 'https:' ? 'HTTPS_PROXY' : 'HTTP_PROXY';
  const value = envValue(env, variable);
  if (value === undefined) return undefined;
  const port = target.port || (target.protocol === 'https:' ? '443' : '80');
  if (bypassesProxy(target.hostname, port, envValue(env, 'NO_PROXY'))) return undefined;
  return parseProxyUrl(value, variable);
}
