/**
 * An AuthorizationPolicy rule compiled into one test over `AuthzAttributes`, as Istio's
 * authorization builder turns it into Envoy RBAC permissions and principals: `from` sources ORed,
 * each source's fields ANDed, `to` operations likewise, `when` conditions ANDed; every value list
 * ORed, a `not…` list negated. Values match as Istio's do: exact, `prefix*`, `*suffix`, and `*`
 * for any non-empty value; paths also take `{*}` (one segment) and `{**}` (the rest).
 *
 * For a connection served as TCP the HTTP-only fields cannot be evaluated, and Istio drops them:
 * in an ALLOW (or CUSTOM) policy the rule using one matches nothing; in a DENY or AUDIT policy the
 * field alone is left out, so the rest of the rule decides (and a rule of HTTP-only fields matches
 * every connection). Everything is compiled here, once per snapshot: a request builds no regex.
 */
import { BlockList, isIPv4, isIPv6 } from 'node:net';
import type { AuthzCondition, AuthzOperation, AuthzRule, AuthzSource } from '../../../snapshot/index.js';
import { RouteConfigError } from '../../../snapshot/index.js';
import { principalNamespace, principalTrustDomain, type AuthzAttributes } from './attributes.js';

/** A compiled test over a request's or a connection's attributes. */
export type AttributeTest = (a: AuthzAttributes) => boolean;
type ValueTest = (v: string) => boolean;

const ALWAYS: AttributeTest = () => true;
const NEVER: AttributeTest = () => false;

/** The fields and condition keys only an HTTP request has. */
export const HTTP_ONLY_SOURCE_FIELDS: readonly string[] = ['requestPrincipals', 'notRequestPrincipals'];
export const HTTP_ONLY_OPERATION_FIELDS: readonly string[] = ['hosts', 'notHosts', 'methods', 'notMethods', 'paths', 'notPaths'];
export function isHttpOnlyKey(key: string): boolean {
  return key.startsWith('request.');
}

/** Istio's value match: exact, `prefix*`, `*suffix`, `*` (any non-empty value). */
export function valueTest(pattern: string, ignoreCase = false): ValueTest {
  const p = ignoreCase ? pattern.toLowerCase() : pattern;
  const norm = ignoreCase ? (v: string): string => v.toLowerCase() : (v: string): string => v;
  if (p === '*') return (v) => v.length > 0;
  if (p.length > 1 && p.endsWith('*')) {
    const prefix = p.slice(0, -1);
    return (v) => norm(v).startsWith(prefix);
  }
  if (p.length > 1 && p.startsWith('*')) {
    const suffix = p.slice(1);
    return (v) => norm(v).endsWith(suffix);
  }
  return ignoreCase ? (v) => v.toLowerCase() === p : (v) => v === p;
}

function anyOf(tests: readonly ValueTest[]): ValueTest {
  if (tests.length === 1) return tests[0];
  return (v) => {
    for (const t of tests) if (t(v)) return true;
    return false;
  };
}

const escapeRegex = (s: string): string => s.replace(/[.*+?^${}()|[\]\\]/g, '\\$&');

/** A path pattern: Istio's value match, or a template with `{*}` / `{**}` segments. */
function pathTest(pattern: string): ValueTest {
  if (!pattern.includes('{*}') && !pattern.includes('{**}')) return valueTest(pattern);
  const re = new RegExp(`^${pattern.split('/').map((seg) => (seg === '{*}' ? '[^/]+' : seg === '{**}' ? '.+' : escapeRegex(seg))).join('/')}$`);
  return (v) => re.test(v);
}

/** The first address of an IPv4-mapped IPv6 address in its IPv4 form. */
function plainAddress(ip: string): string {
  return ip.startsWith('::ffff:') && ip.includes('.') ? ip.slice(7) : ip;
}

function cidrTest(values: readonly string[], where: string): ValueTest {
  const list = new BlockList();
  values.forEach((v, i) => {
    const [addr, bits] = v.split('/');
    const family = isIPv4(addr) ? 'ipv4' : isIPv6(addr) ? 'ipv6' : null;
    if (family === null) throw new RouteConfigError(`${where}[${i}]`, `not an IP address or CIDR: ${JSON.stringify(v)}`);
    if (bits === undefined) list.addAddress(addr, family);
    else {
      const n = Number(bits);
      if (!/^\d+$/.test(bits) || n > (family === 'ipv4' ? 32 : 128)) throw new RouteConfigError(`${where}[${i}]`, `bad prefix length in ${JSON.stringify(v)}`);
      list.addSubnet(addr, n, family);
    }
  });
  return (ip) => {
    const a = plainAddress(ip);
    if (isIPv4(a)) return list.check(a, 'ipv4');
    return isIPv6(a) && list.check(a, 'ipv6');
  };
}

/** ANDs tests, skipping the always-true ones. */
function allOf(tests: AttributeTest[]): AttributeTest {
  const ts = tests.filter((t) => t !== ALWAYS);
  if (ts.length === 0) return ALWAYS;
  if (ts.length === 1) return ts[0];
  if (ts.includes(NEVER)) return NEVER;
  return (a) => {
    for (const t of ts) if (!t(a)) return false;
    return true;
  };
}

function oneOfTests(tests: AttributeTest[]): AttributeTest {
  if (tests.length === 1) return tests[0];
  if (tests.includes(ALWAYS)) return ALWAYS;
  const ts = tests.filter((t) => t !== NEVER);
  if (ts.length === 0) return NEVER;
  return (a) => {
    for (const t of ts) if (t(a)) return true;
    return false;
  };
}

/** A field's test from its values (ORed) on an attribute that may be absent (never matches then). */
function field(values: readonly string[] | undefined, negated: boolean, read: (a: AuthzAttributes) => string | null, make: (v: string) => ValueTest = (v) => valueTest(v)): AttributeTest {
  if (values === undefined || values.length === 0) return ALWAYS;
  const t = anyOf(values.map(make));
  return negated
    ? (a) => {
      const v = read(a);
      return v === null || !t(v);
    }
    : (a) => {
      const v = read(a);
      return v !== null && t(v);
    };
}

function cidrField(values: readonly string[] | undefined, negated: boolean, read: (a: AuthzAttributes) => string, where: string): AttributeTest {
  if (values === undefined || values.length === 0) return ALWAYS;
  const t = cidrTest(values, where);
  return negated ? (a) => !t(read(a)) : (a) => t(read(a));
}

const readPrincipal = (a: AuthzAttributes): string | null => a.principal;
const readRequestPrincipal = (a: AuthzAttributes): string | null => a.requestAuth?.principal ?? null;
const readNamespace = (a: AuthzAttributes): string | null => (a.principal === null ? null : principalNamespace(a.principal));
const readTrustDomain = (a: AuthzAttributes): string | null => (a.principal === null ? null : principalTrustDomain(a.principal));
const readPort = (a: AuthzAttributes): string => String(a.port);
const readMethod = (a: AuthzAttributes): string => a.method;
const readPath = (a: AuthzAttributes): string => a.path;
const readHost = (a: AuthzAttributes): string => a.host;

/** `serviceAccounts` entries (`ns/name`) as principal tests in any trust domain. */
function serviceAccountTest(sa: string): ValueTest {
  const slash = sa.indexOf('/');
  const suffix = slash < 0 ? `/sa/${sa}` : `/ns/${sa.slice(0, slash)}/sa/${sa.slice(slash + 1)}`;
  return (p) => p.endsWith(suffix);
}

/** A host test: case-insensitive, and `host` also matches `host:port`. */
function hostTest(pattern: string): ValueTest {
  const t = valueTest(pattern, true);
  return (v) => {
    if (t(v)) return true;
    const colon = v.lastIndexOf(':');
    return colon > 0 && !v.endsWith(']') && t(v.slice(0, colon));
  };
}

type Drop = 'rule' | 'field' | null;

function sourceTest(s: AuthzSource, at: string, tcp: Drop): AttributeTest | null {
  if (tcp === 'rule' && HTTP_ONLY_SOURCE_FIELDS.some((f) => (s as Record<string, unknown>)[f] !== undefined)) return null;
  const http = tcp === null;
  return allOf([
    field(s.principals, false, readPrincipal),
    field(s.notPrincipals, true, readPrincipal),
    http ? field(s.requestPrincipals, false, readRequestPrincipal) : ALWAYS,
    http ? field(s.notRequestPrincipals, true, readRequestPrincipal) : ALWAYS,
    field(s.namespaces, false, readNamespace),
    field(s.notNamespaces, true, readNamespace),
    field(s.serviceAccounts, false, readPrincipal, serviceAccountTest),
    field(s.notServiceAccounts, true, readPrincipal, serviceAccountTest),
    field(s.trustDomains, false, readTrustDomain),
    field(s.notTrustDomains, true, readTrustDomain),
    cidrField(s.ipBlocks, false, (a) => a.sourceIp, `${at}.ipBlocks`),
    cidrField(s.notIpBlocks, true, (a) => a.sourceIp, `${at}.notIpBlocks`),
    cidrField(s.remoteIpBlocks, false, (a) => a.remoteIp, `${at}.remoteIpBlocks`),
    cidrField(s.notRemoteIpBlocks, true, (a) => a.remoteIp, `${at}.notRemoteIpBlocks`),
  ]);
}

function operationTest(o: AuthzOperation, tcp: Drop): AttributeTest | null {
  if (tcp === 'rule' && HTTP_ONLY_OPERATION_FIELDS.some((f) => (o as Record<string, unknown>)[f] !== undefined)) return null;
  const http = tcp === null;
  return allOf([
    http ? field(o.hosts, false, readHost, hostTest) : ALWAYS,
    http ? field(o.notHosts, true, readHost, hostTest) : ALWAYS,
    field(o.ports, false, readPort),
    field(o.notPorts, true, readPort),
    http ? field(o.methods, false, readMethod) : ALWAYS,
    http ? field(o.notMethods, true, readMethod) : ALWAYS,
    http ? field(o.paths, false, readPath, pathTest) : ALWAYS,
    http ? field(o.notPaths, true, readPath, pathTest) : ALWAYS,
  ]);
}

/** `a[b][c]` → [`a`, `b`, `c`] of a map key such as `request.auth.claims[a][b]`. */
function mapKeys(key: string, prefix: string): string[] {
  const inner = key.slice(prefix.length);
  const out: string[] = [];
  const re = /\[([^\]]*)\]/g;
  let m: RegExpExecArray | null;
  while ((m = re.exec(inner)) !== null) out.push(m[1]);
  return out;
}

/** A claim's values at a nested path: a string, each string of a list, nothing otherwise. */
function claimValues(claims: Readonly<Record<string, unknown>>, path: readonly string[]): readonly string[] {
  let v: unknown = claims;
  for (const k of path) {
    if (typeof v !== 'object' || v === null || Array.isArray(v)) return [];
    v = (v as Record<string, unknown>)[k];
  }
  if (typeof v === 'string') return [v];
  if (typeof v === 'boolean' || typeof v === 'number') return [String(v)];
  if (Array.isArray(v)) return v.filter((x): x is string => typeof x === 'string');
  return [];
}

/** A condition whose attribute may hold several values (a list claim, audiences): any one matching. */
function multiField(c: AuthzCondition, read: (a: AuthzAttributes) => readonly string[] | null): AttributeTest {
  const pos = c.values !== undefined && c.values.length > 0 ? anyOf(c.values.map((v) => valueTest(v))) : null;
  const neg = c.notValues !== undefined && c.notValues.length > 0 ? anyOf(c.notValues.map((v) => valueTest(v))) : null;
  return (a) => {
    const vs = read(a);
    if (pos !== null && (vs === null || !vs.some(pos))) return false;
    if (neg !== null && vs !== null && vs.some(neg)) return false;
    return true;
  };
}

function conditionTest(c: AuthzCondition, at: string): AttributeTest {
  const both = (read: (a: AuthzAttributes) => string | null, make?: (v: string) => ValueTest): AttributeTest =>
    allOf([field(c.values, false, read, make), field(c.notValues, true, read, make)]);
  const cidrs = (read: (a: AuthzAttributes) => string): AttributeTest =>
    allOf([cidrField(c.values, false, read, `${at}.values`), cidrField(c.notValues, true, read, `${at}.notValues`)]);
  const key = c.key;
  if (key.startsWith('request.headers[')) {
    const name = mapKeys(key, 'request.headers')[0]?.toLowerCase() ?? '';
    return both((a) => a.headers?.get(name) ?? null);
  }
  if (key.startsWith('request.auth.claims[')) {
    const path = mapKeys(key, 'request.auth.claims');
    return multiField(c, (a) => (a.requestAuth === null ? null : claimValues(a.requestAuth.claims, path)));
  }
  switch (key) {
    case 'source.ip':
      return cidrs((a) => a.sourceIp);
    case 'remote.ip':
      return cidrs((a) => a.remoteIp);
    case 'destination.ip':
      return cidrs((a) => a.destinationIp);
    case 'destination.port':
      return both((a) => String(a.port));
    case 'source.namespace':
      return both(readNamespace);
    case 'source.principal':
      return both(readPrincipal);
    case 'source.trustDomain':
      return both(readTrustDomain);
    case 'request.auth.principal':
      return both(readRequestPrincipal);
    case 'request.auth.presenter':
      return both((a) => (a.requestAuth === null || a.requestAuth.presenter === '' ? null : a.requestAuth.presenter));
    case 'request.auth.audiences':
      return multiField(c, (a) => a.requestAuth?.audiences ?? null);
    case 'connection.sni':
      return both((a) => a.sni);
    default:
      // Envoy's own filter metadata (`experimental.envoy.filters.…`) is not kept by Skiff: nothing matches it.
      throw new RouteConfigError(`${at}.key`, `condition key ${JSON.stringify(key)} is not supported`);
  }
}

/**
 * Compiles one rule. `tcp`: null for HTTP requests; for connections, `'rule'` (ALLOW, CUSTOM: a
 * rule with an HTTP-only field matches nothing) or `'field'` (DENY, AUDIT: HTTP-only fields left out).
 */
export function compileRule(rule: AuthzRule, at: string, tcp: Drop): AttributeTest {
  const from = (rule.from ?? []).map((f, i) => (f.source === undefined ? ALWAYS : sourceTest(f.source, `${at}.from[${i}].source`, tcp)));
  const to = (rule.to ?? []).map((t) => (t.operation === undefined ? ALWAYS : operationTest(t.operation, tcp)));
  const when: AttributeTest[] = [];
  for (const [i, c] of (rule.when ?? []).entries()) {
    if (tcp !== null && isHttpOnlyKey(c.key)) {
      if (tcp === 'rule') return NEVER;
      continue;
    }
    when.push(conditionTest(c, `${at}.when[${i}]`));
  }
  if (from.includes(null) || to.includes(null)) return NEVER;
  const fromTest = from.length === 0 ? ALWAYS : oneOfTests(from as AttributeTest[]);
  const toTest = to.length === 0 ? ALWAYS : oneOfTests(to as AttributeTest[]);
  return allOf([fromTest, toTest, ...when]);
}
