/**
 * Virtual host selection by Host header in Envoy's order: exact domain, then the longest
 * `*suffix` wildcard, then the longest `prefix*` wildcard, then `*`; a port in the Host is
 * ignored when no domain names it.
 */
import { RouteConfigError } from '../../../snapshot/index.js';

/** Distinct Host values remembered before the memo starts over (bounds memory under junk Hosts). */
const MEMO_LIMIT = 1024;

interface Wildcard<T> {
  /** The fixed part: `.example.com` for `*.example.com`, `foo.` for `foo.*`. */
  fixed: string;
  value: T;
}

export class DomainIndex<T> {
  private readonly exact = new Map<string, T>();
  private readonly suffixes: Wildcard<T>[] = [];
  private readonly prefixes: Wildcard<T>[] = [];
  private fallback: T | undefined;

  /** Adds `domains` for `value`; `where` names the field for error messages. */
  add(domains: readonly string[], value: T, where: string, seen: Map<string, string>): void {
    domains.forEach((raw, i) => {
      const at = `${where}[${i}]`;
      if (typeof raw !== 'string' || raw === '') throw new RouteConfigError(at, 'domain must be a non-empty string');
      const d = raw.toLowerCase();
      const previous = seen.get(d);
      if (previous !== undefined) {
        throw new RouteConfigError(at, `domain ${JSON.stringify(raw)} is already used at ${previous}`);
      }
      seen.set(d, at);
      if (d === '*') {
        this.fallback = value;
      } else if (d.startsWith('*')) {
        if (d.indexOf('*', 1) >= 0) throw new RouteConfigError(at, `only one leading or trailing '*' is allowed in ${JSON.stringify(raw)}`);
        this.suffixes.push({ fixed: d.slice(1), value });
      } else if (d.endsWith('*')) {
        if (d.indexOf('*') !== d.length - 1) throw new RouteConfigError(at, `only one leading or trailing '*' is allowed in ${JSON.stringify(raw)}`);
        this.prefixes.push({ fixed: d.slice(0, -1), value });
      } else if (d.includes('*')) {
        throw new RouteConfigError(at, `'*' may only lead or trail the domain ${JSON.stringify(raw)}`);
      } else {
        this.exact.set(d, value);
      }
    });
  }

  /** Orders wildcards longest first (Envoy picks the longest wildcard that matches). */
  seal(): this {
    // Array.prototype.sort is stable, so equal lengths keep configuration order.
    this.suffixes.sort((a, b) => b.fixed.length - a.fixed.length);
    this.prefixes.sort((a, b) => b.fixed.length - a.fixed.length);
    return this;
  }

  /**
   * Answers per Host value seen, bounded: clients reuse a handful of Host values, and a hit skips
   * lowercasing, port stripping and the wildcard scans.
   */
  private readonly memo = new Map<string, T | null>();

  find(authority: string): T | undefined {
    const hit = this.memo.get(authority);
    if (hit !== undefined) return hit ?? undefined;
    const found = this.lookup(authority);
    if (this.memo.size >= MEMO_LIMIT) this.memo.clear();
    this.memo.set(authority, found ?? null);
    return found;
  }

  private lookup(authority: string): T | undefined {
    const host = lowerAscii(authority);
    let v = this.exact.get(host);
    if (v !== undefined) return v;
    // Stripped only after the full Host missed: the common case costs no slice.
    const bare = stripPort(host);
    const hasPort = bare !== host;
    if (hasPort) v = this.exact.get(bare);
    if (v !== undefined) return v;

    v = findWildcard(this.suffixes, host, true);
    if (v === undefined && hasPort) v = findWildcard(this.suffixes, bare, true);
    if (v !== undefined) return v;

    v = findWildcard(this.prefixes, host, false);
    if (v === undefined && hasPort) v = findWildcard(this.prefixes, bare, false);
    if (v !== undefined) return v;

    return this.fallback;
  }
}

function findWildcard<T>(list: readonly Wildcard<T>[], host: string, suffix: boolean): T | undefined {
  for (let i = 0; i < list.length; i++) {
    const w = list[i];
    // The '*' stands for at least one character.
    if (host.length <= w.fixed.length) continue;
    if (suffix ? host.endsWith(w.fixed) : host.startsWith(w.fixed)) return w.value;
  }
  return undefined;
}

/** Lowercases only when needed, so the common all-lowercase Host costs no allocation. */
function lowerAscii(s: string): string {
  for (let i = 0; i < s.length; i++) {
    const c = s.charCodeAt(i);
    if (c >= 65 && c <= 90) return s.toLowerCase();
  }
  return s;
}

/** Removes a trailing `:digits` port, IPv6 literals (`[::1]:80`) included. */
export function stripPort(host: string): string {
  const colon = host.lastIndexOf(':');
  if (colon < 0 || colon === host.length - 1) return host;
  if (host.charCodeAt(0) === 91 /* [ */ && host.charCodeAt(colon - 1) !== 93 /* ] */) return host;
  for (let i = colon + 1; i < host.length; i++) {
    const c = host.charCodeAt(i);
    if (c < 48 || c > 57) return host;
  }
  // A bare IPv6 address without brackets has several colons and no port.
  if (host.charCodeAt(0) !== 91 && host.indexOf(':') !== colon) return host;
  return host.slice(0, colon);
}
