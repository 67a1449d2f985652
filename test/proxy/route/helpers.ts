/**
 * Test doubles for the router's request-side interfaces: header maps built from plain objects,
 * a recording header mutator, a seeded random source, and a compile step that round-trips the
 * config through JSON (the snapshot IR must survive it).
 */
import { compileRouteConfig, type RouteTable } from '../../../src/proxy/http/route/compile.js';
import type { HeaderMutator, HeaderView, RouteRequest } from '../../../src/proxy/http/route/request.js';
import type { RouteConfig } from '../../../src/snapshot/index.js';

/** Request headers; names are stored lowercase, repeated values joined with ',' as the data path does. */
export class Headers implements HeaderView, HeaderMutator {
  readonly map = new Map<string, string[]>();

  constructor(init: Record<string, string | string[]> = {}) {
    for (const [k, v] of Object.entries(init)) this.map.set(k.toLowerCase(), Array.isArray(v) ? [...v] : [v]);
  }

  get(name: string): string | undefined {
    const v = this.map.get(name);
    if (v === undefined) return undefined;
    return v.length === 1 ? v[0] : v.join(',');
  }

  has(name: string): boolean {
    return this.map.has(name);
  }

  set(name: string, value: string): void {
    this.map.set(name, [value]);
  }

  append(name: string, value: string): void {
    const cur = this.map.get(name);
    if (cur) cur.push(value);
    else this.map.set(name, [value]);
  }

  remove(name: string): void {
    this.map.delete(name);
  }

  toObject(): Record<string, string[]> {
    return Object.fromEntries([...this.map.entries()].sort(([a], [b]) => (a < b ? -1 : 1)));
  }
}

export interface RequestInit extends Partial<Omit<RouteRequest, 'headers'>> {
  headers?: Record<string, string | string[]>;
}

export function request(init: RequestInit = {}): RouteRequest {
  const { headers, ...rest } = init;
  return {
    method: 'GET',
    scheme: 'http',
    authority: 'reviews:9080',
    path: '/',
    port: 9080,
    ...rest,
    headers: new Headers(headers ?? {}),
  };
}

/** mulberry32: a small deterministic PRNG so statistical tests are reproducible. */
export function seeded(seed: number): () => number {
  let a = seed >>> 0;
  return () => {
    a = (a + 0x6d2b79f5) >>> 0;
    let t = a;
    t = Math.imul(t ^ (t >>> 15), t | 1);
    t ^= t + Math.imul(t ^ (t >>> 7), t | 61);
    return ((t ^ (t >>> 14)) >>> 0) / 4294967296;
  };
}

/** A random source returning the given values in turn. */
export function sequence(...values: number[]): () => number {
  let i = 0;
  return () => {
    const v = values[i % values.length];
    i++;
    return v;
  };
}

export function compile(cfg: RouteConfig): RouteTable {
  return compileRouteConfig(JSON.parse(JSON.stringify(cfg)) as RouteConfig);
}

/** Route name selected for `init`, or null (404 NR). */
export function selectName(table: RouteTable, init: RequestInit): string | null {
  return table.select(request(init))?.name ?? null;
}

/** A config with one catch-all virtual host holding `routes`. */
export function oneHost(routes: RouteConfig['virtualHosts'][number]['routes']): RouteConfig {
  return { name: 'test', virtualHosts: [{ name: 'vh', domains: ['*'], routes }] };
}

export function to(cluster: string): { type: 'route'; destinations: { cluster: string; weight: number }[] } {
  return { type: 'route', destinations: [{ cluster, weight: 100 }] };
}
