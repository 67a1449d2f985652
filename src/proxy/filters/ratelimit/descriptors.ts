/**
 * Envoy's rate-limit descriptors: a route's (or its virtual host's) `rate_limits` entries, each a
 * list of actions, turned into the descriptors of one request — one descriptor per entry whose
 * every action produced its entry (an action that cannot, such as a missing header, drops the
 * whole descriptor, as Envoy does). Both rate-limit filters use them: the global filter sends them
 * to the rate-limit service, the local filter matches them against its own `descriptors`.
 */
import { RouteConfigError } from '../../../snapshot/index.js';
import type { RateLimitAction, RateLimitHeaderMatcher, RateLimitPolicy, RouteRateLimits, LocalRateLimit } from '../../../snapshot/index.js';
import { compileRegexTest, type StringTest } from '../../match/string-match.js';
import type { HttpFilterRequest } from '../http-filter.js';

/** One entry of a descriptor. */
export interface DescriptorEntry {
  readonly key: string;
  readonly value: string;
}

export type Descriptor = readonly DescriptorEntry[];

/** What the actions read of a request besides the request itself. */
export interface DescriptorContext {
  /** The cluster the request is routed to (`destination_cluster`). */
  destinationCluster(): string;
}

type CompiledAction = (req: HttpFilterRequest, ctx: DescriptorContext) => DescriptorEntry | null | 'skip';

/** A request value by Envoy's header name: pseudo-headers read from the request line. */
export function headerValue(req: HttpFilterRequest, name: string): string | undefined {
  switch (name) {
    case ':path':
      return req.path;
    case ':method':
      return req.method;
    case ':authority':
    case 'host':
      return req.authority;
    case ':scheme':
      return req.scheme;
    default:
      return req.headers.get(name);
  }
}

function compileHeaderMatcher(m: RateLimitHeaderMatcher, where: string): (req: HttpFilterRequest) => boolean {
  let test: (v: string | undefined) => boolean;
  if (m.exact !== undefined) test = (v) => v === m.exact;
  else if (m.prefix !== undefined) test = (v) => v !== undefined && v.startsWith(m.prefix!);
  else if (m.suffix !== undefined) test = (v) => v !== undefined && v.endsWith(m.suffix!);
  else if (m.contains !== undefined) test = (v) => v !== undefined && v.includes(m.contains!);
  else if (m.regex !== undefined) {
    const re: StringTest = compileRegexTest(m.regex, `${where}.regex`);
    test = (v) => v !== undefined && re(v);
  } else if (m.present === false) test = (v) => v === undefined;
  else test = (v) => v !== undefined;
  const invert = m.invert === true;
  return (req) => test(headerValue(req, m.name)) !== invert;
}

function compileAction(a: RateLimitAction, where: string): CompiledAction {
  switch (a.type) {
    case 'requestHeaders': {
      const { headerName, descriptorKey, skipIfAbsent } = a;
      return (req) => {
        const v = headerValue(req, headerName);
        if (v === undefined) return skipIfAbsent === true ? 'skip' : null;
        return { key: descriptorKey, value: v };
      };
    }
    case 'headerValueMatch': {
      const matchers = a.headers.map((h, i) => compileHeaderMatcher(h, `${where}.headers[${i}]`));
      const entry: DescriptorEntry = Object.freeze({ key: a.descriptorKey, value: a.descriptorValue });
      const expect = a.expectMatch;
      return (req) => (matchers.every((m) => m(req)) === expect ? entry : null);
    }
    case 'genericKey': {
      const entry: DescriptorEntry = Object.freeze({ key: a.descriptorKey, value: a.descriptorValue });
      return () => entry;
    }
    case 'remoteAddress':
      return (req) => ({ key: 'remote_address', value: req.connection.remoteAddress });
    case 'destinationCluster':
      return (_req, ctx) => ({ key: 'destination_cluster', value: ctx.destinationCluster() });
    default:
      throw new RouteConfigError(`${where}.type`, `unknown rate-limit action ${JSON.stringify((a as { type: unknown }).type)}`);
  }
}

/** A route's `rate_limits`, compiled. */
export class DescriptorPolicies {
  private readonly policies: readonly (readonly CompiledAction[])[];
  /** True when an action needs the destination cluster, which the request path then picks first. */
  readonly needsCluster: boolean;

  constructor(policies: readonly RateLimitPolicy[], where: string) {
    this.policies = policies.map((p, i) => p.actions.map((a, j) => compileAction(a, `${where}[${i}].actions[${j}]`)));
    this.needsCluster = policies.some((p) => p.actions.some((a) => a.type === 'destinationCluster'));
  }

  /** The request's descriptors, in the order of the entries that produced one. */
  descriptorsOf(req: HttpFilterRequest, ctx: DescriptorContext): Descriptor[] {
    const out: Descriptor[] = [];
    for (const actions of this.policies) {
      const d: DescriptorEntry[] = [];
      let dropped = false;
      for (const a of actions) {
        const e = a(req, ctx);
        if (e === 'skip') continue;
        if (e === null) {
          dropped = true;
          break;
        }
        d.push(e);
      }
      if (!dropped && d.length > 0) out.push(d);
    }
    return out;
  }
}

/**
 * What the rate-limit filters read from the chosen route: its local config (the route's, else its
 * virtual host's — Envoy's most specific `typed_per_filter_config`), and its `rate_limits` (the
 * route's, else the virtual host's, as Envoy applies virtual-host limits only to routes without
 * their own). `key` names the route for the buckets its own config keeps.
 */
export class RouteRateLimitConfig {
  readonly local: LocalRateLimit | null;
  readonly policies: DescriptorPolicies | null;

  constructor(
    readonly key: string,
    route: RouteRateLimits | undefined,
    vhost: RouteRateLimits | undefined,
    where: string,
  ) {
    this.local = route?.local ?? vhost?.local ?? null;
    const own = route?.policies;
    const policies = own !== undefined && own.length > 0 ? own : vhost?.policies;
    this.policies = policies === undefined || policies.length === 0 ? null : new DescriptorPolicies(policies, `${where}.policies`);
  }

  /** Null when neither the route nor its virtual host says anything to the rate-limit filters. */
  static of(key: string, route: RouteRateLimits | undefined, vhost: RouteRateLimits | undefined, where: string): RouteRateLimitConfig | null {
    if (route === undefined && vhost === undefined) return null;
    return new RouteRateLimitConfig(key, route, vhost, where);
  }
}
