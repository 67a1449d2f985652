/**
 * VirtualService match blocks for one proxy and port: conditions the control plane can decide
 * ahead of time (port, gateways, source labels and namespace — as Istio does when it builds the
 * routes of a listener) are decided here, and the rest becomes the router's RouteMatch. Also the
 * merge of a root rule's matches with a delegate's.
 */
import type { StringMatch as IstioStringMatch } from '../../api/kinds/networking/common.js';
import type { HTTPMatchRequest, L4MatchAttributes } from '../../api/kinds/networking/virtual-service.js';
import { labelsMatch } from '../../registry/select.js';
import type { HeaderMatch, RouteMatch, StringMatch } from '../../snapshot/index.js';
import { gatewayRef } from './push-context.js';

/** What the proxy and listener are, for deciding matches ahead of time. */
export interface MatchScope {
  /** `mesh` for sidecars, `namespace/name` of the Gateway for gateway listeners. */
  gateway: string;
  /** The service port (sidecars) or Gateway server port the routes are built for. */
  port: number;
  proxyNamespace: string;
  proxyLabels: Readonly<Record<string, string>>;
}

type StaticFields = Pick<HTTPMatchRequest, 'port' | 'gateways' | 'sourceLabels' | 'sourceNamespace'>;

/** True when the block's proxy- and port-level conditions hold for `scope`. */
export function staticConditionsHold(m: StaticFields | L4MatchAttributes, vsNamespace: string, scope: MatchScope): boolean {
  if (m.port !== undefined && m.port !== 0 && m.port !== scope.port) return false;
  if (m.gateways !== undefined && m.gateways.length > 0 && !m.gateways.some((g) => gatewayRef(g, vsNamespace) === scope.gateway)) return false;
  if (m.sourceLabels !== undefined && !labelsMatch(m.sourceLabels, scope.proxyLabels)) return false;
  if (m.sourceNamespace !== undefined && m.sourceNamespace !== '' && m.sourceNamespace !== scope.proxyNamespace) return false;
  return true;
}

/** Istio StringMatch → the router's; undefined when no alternative is set. */
export function stringMatch(m: IstioStringMatch | undefined): StringMatch | undefined {
  if (m === undefined) return undefined;
  if (m.exact !== undefined) return { exact: m.exact };
  if (m.prefix !== undefined) return { prefix: m.prefix };
  if (m.regex !== undefined) return { regex: m.regex };
  return undefined;
}

/** Header and query conditions: an empty match (`{}`) means "present", as in Istio. */
function headerMatches(map: Record<string, IstioStringMatch> | undefined, lowercase: boolean): Record<string, HeaderMatch> | undefined {
  if (map === undefined) return undefined;
  const out: Record<string, HeaderMatch> = {};
  for (const [key, m] of Object.entries(map)) out[lowercase ? key.toLowerCase() : key] = stringMatch(m) ?? { present: true };
  return out;
}

/** The router's part of one match block (everything but the conditions decided ahead of time). */
export function routeMatchOf(m: HTTPMatchRequest): RouteMatch {
  const out: RouteMatch = {};
  if (m.name !== undefined && m.name !== '') out.name = m.name;
  const uri = stringMatch(m.uri);
  if (uri !== undefined) out.uri = uri;
  const scheme = stringMatch(m.scheme);
  if (scheme !== undefined) out.scheme = scheme;
  const method = stringMatch(m.method);
  if (method !== undefined) out.method = method;
  const authority = stringMatch(m.authority);
  if (authority !== undefined) out.authority = authority;
  const headers = headerMatches(m.headers, true);
  if (headers !== undefined) out.headers = headers;
  const without = headerMatches(m.withoutHeaders, true);
  if (without !== undefined) out.withoutHeaders = without;
  const query = headerMatches(m.queryParams, false);
  if (query !== undefined) out.queryParams = query;
  if (m.ignoreUriCase === true) out.ignoreUriCase = true;
  return out;
}

/**
 * The blocks of a rule that can match on this proxy and port. `[]` means the rule has no blocks
 * (it matches everything); `null` means every block was ruled out, so the rule does not apply.
 */
export function resolveMatches(matches: readonly HTTPMatchRequest[] | undefined, vsNamespace: string, scope: MatchScope): RouteMatch[] | null {
  if (matches === undefined || matches.length === 0) return [];
  const kept = matches.filter((m) => staticConditionsHold(m, vsNamespace, scope)).map(routeMatchOf);
  return kept.length === 0 ? null : kept;
}

/**
 * A root rule's match block combined with a delegate rule's (Istio's delegate merge): the
 * delegate adds conditions; where both set the same one, the delegate's must be narrower
 * (a uri prefix within the root's) or equal, else the pair is dropped (undefined).
 */
export function mergeDelegateMatch(root: HTTPMatchRequest, leaf: HTTPMatchRequest): HTTPMatchRequest | undefined {
  const out: HTTPMatchRequest = { ...root };
  if (leaf.uri !== undefined) {
    if (root.uri !== undefined && !uriWithin(leaf.uri, root.uri)) return undefined;
    out.uri = leaf.uri;
  }
  for (const key of ['scheme', 'method', 'authority'] as const) {
    if (leaf[key] === undefined) continue;
    if (root[key] !== undefined && JSON.stringify(root[key]) !== JSON.stringify(leaf[key])) return undefined;
    out[key] = leaf[key];
  }
  for (const key of ['port', 'sourceNamespace', 'ignoreUriCase', 'name'] as const) {
    if (leaf[key] === undefined) continue;
    if (key !== 'name' && root[key] !== undefined && root[key] !== leaf[key]) return undefined;
    (out as Record<string, unknown>)[key] = leaf[key];
  }
  for (const key of ['headers', 'withoutHeaders', 'queryParams', 'sourceLabels'] as const) {
    const merged = mergeMaps(root[key], leaf[key]);
    if (merged === null) return undefined;
    if (merged !== undefined) (out as Record<string, unknown>)[key] = merged;
  }
  return out;
}

function uriWithin(leaf: IstioStringMatch, root: IstioStringMatch): boolean {
  if (JSON.stringify(leaf) === JSON.stringify(root)) return true;
  if (root.prefix === undefined) return false;
  const l = leaf.prefix ?? leaf.exact;
  return l !== undefined && l.startsWith(root.prefix);
}

/** Union of two condition maps; null when they disagree on a key. */
function mergeMaps(a: Record<string, unknown> | undefined, b: Record<string, unknown> | undefined): Record<string, unknown> | undefined | null {
  if (a === undefined) return b;
  if (b === undefined) return a;
  const out = { ...a };
  for (const [k, v] of Object.entries(b)) {
    if (k in out && JSON.stringify(out[k]) !== JSON.stringify(v)) return null;
    out[k] = v;
  }
  return out;
}
