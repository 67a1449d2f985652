/**
 * A listener's filter chains compiled for matching, and the match itself, as Envoy selects a
 * filter chain: the candidates narrow field by field (destination port, server names, transport
 * protocol, application protocols); at each field the chains naming a value that holds are kept
 * (for server names an exact name before the longest wildcard), else the chains leaving it out;
 * nothing left means no chain, without trying other branches.
 */
import type { FilterChainConfig, FilterChainMatch, ListenerConfig } from '../../snapshot/index.js';
import type { ClientHello } from './client-hello.js';
import type { ServerTls } from './server-tls.js';

/** One chain, ready to serve. */
export interface CompiledChain {
  readonly name: string;
  readonly match: FilterChainMatch;
  /** What serves the connection once the transport is settled. */
  readonly protocol: 'http' | 'tcp' | 'auto';
  readonly mode: 'DISABLE' | 'PERMISSIVE' | 'STRICT';
  /** The TLS terminated (PERMISSIVE, STRICT); null for DISABLE. */
  readonly tls: ServerTls | null;
  /** A TCP chain whose routes match on SNI: the ClientHello's server name is read before routing. */
  readonly needsSni: boolean;
}

/** What the match sees of a connection; `hello` is null for a connection that is not TLS. */
export interface ConnectionFacts {
  readonly port: number;
  readonly hello: ClientHello | null;
}

/** The chain a snapshot without `filterChains` has: everything, in plaintext, with the listener's protocol. */
export const DEFAULT_CHAIN_NAME = 'default';

export class FilterChains {
  /**
   * The chain serving every connection as it arrives, when choosing needs no look at the first
   * bytes (one chain, no match, DISABLE): the path of every listener without filter chains.
   */
  readonly direct: CompiledChain | null;
  /** True when choosing a chain needs the ClientHello (or knowing there is none). */
  readonly readsClientHello: boolean;

  constructor(readonly chains: readonly CompiledChain[]) {
    const only = chains.length === 1 ? chains[0] : null;
    this.direct = only !== null && only.mode === 'DISABLE' && isEmpty(only.match) ? only : null;
    this.readsClientHello = chains.some((c) => c.mode !== 'DISABLE' || c.match.transportProtocol !== undefined || c.match.serverNames !== undefined || c.match.applicationProtocols !== undefined);
  }

  /** The chain for a connection, or null when none matches. */
  select(facts: ConnectionFacts): CompiledChain | null {
    let candidates: readonly CompiledChain[] = this.chains;
    candidates = narrow(candidates, (m) => (m.destinationPort === undefined ? null : m.destinationPort === facts.port ? 1 : 0));
    const sni = facts.hello?.sni ?? null;
    candidates = narrow(candidates, (m) => (m.serverNames === undefined ? null : serverNameScore(m.serverNames, sni)));
    const transport = facts.hello === null ? 'raw_buffer' : 'tls';
    candidates = narrow(candidates, (m) => (m.transportProtocol === undefined ? null : m.transportProtocol === transport ? 1 : 0));
    const offered = facts.hello?.alpn ?? [];
    candidates = narrow(candidates, (m) => (m.applicationProtocols === undefined ? null : alpnScore(m.applicationProtocols, offered)));
    return candidates.length === 0 ? null : candidates[0];
  }
}

function isEmpty(m: FilterChainMatch): boolean {
  return m.destinationPort === undefined && m.transportProtocol === undefined && m.serverNames === undefined && m.applicationProtocols === undefined;
}

/**
 * One field's step: `score` gives null for a chain leaving the field out, 0 when its value does
 * not hold, and a positive number when it does (higher is more specific). The best positive
 * score wins; with none, the chains leaving the field out.
 */
function narrow(chains: readonly CompiledChain[], score: (m: FilterChainMatch) => number | null): readonly CompiledChain[] {
  let best = 0;
  let any = false;
  for (const c of chains) {
    const s = score(c.match);
    if (s === null) any = true;
    else if (s > best) best = s;
  }
  if (best === 0) return any ? chains.filter((c) => score(c.match) === null) : [];
  return chains.filter((c) => score(c.match) === best);
}

/** An exact name scores above every wildcard; a longer wildcard suffix above a shorter one. */
function serverNameScore(names: readonly string[], sni: string | null): number {
  if (sni === null) return 0;
  let best = 0;
  for (const n of names) {
    if (n === sni) return Number.MAX_SAFE_INTEGER;
    if (n.startsWith('*.') && sni.endsWith(n.slice(1)) && sni.length > n.length - 1) best = Math.max(best, n.length);
  }
  return best;
}

/** Envoy takes the client's protocols in its order: the first one some chain names decides. */
function alpnScore(names: readonly string[], offered: readonly string[]): number {
  for (let i = 0; i < offered.length; i++) if (names.includes(offered[i])) return offered.length - i;
  return 0;
}

/**
 * The chains a listener config describes (its own, or the one default chain), with their TLS
 * compiled; `tcpNeedsSni` when the listener's TCP routes match on SNI.
 */
export function compileFilterChains(config: ListenerConfig, serverTls: ReadonlyMap<string, ServerTls>, tcpNeedsSni: boolean): FilterChains {
  const configs: readonly FilterChainConfig[] = config.filterChains ?? [{ name: DEFAULT_CHAIN_NAME }];
  return new FilterChains(
    configs.map((c) => {
      const protocol = c.protocol ?? config.protocol;
      return {
        name: c.name,
        match: c.match ?? {},
        protocol,
        mode: c.transport?.mode ?? 'DISABLE',
        tls: serverTls.get(c.name) ?? null,
        needsSni: protocol === 'tcp' && tcpNeedsSni,
      };
    }),
  );
}
