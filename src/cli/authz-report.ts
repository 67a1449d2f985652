/**
 * What `skiff authz check` and `skiff authz explain` print, from a proxy's snapshot as it runs it:
 * the policies and rules in force (as `istioctl x authz check` lists them) and, for a request
 * description, the decision and the policy and rule that took it. Both compile the snapshot's
 * policies with the proxy's own engine (`src/proxy/filters/authz/`), so the answer is the proxy's.
 */
import type { AuthzAttributes } from '../proxy/filters/authz/attributes.js';
import { AuthzEngine } from '../proxy/filters/authz/engine.js';
import type { RequestAuthFacts } from '../proxy/filters/http-filter.js';
import type { AuthzRule, ProxySnapshot } from '../snapshot/index.js';

/** One rule in a line: its sources, operations and conditions as Istio names them. */
export function describeRule(rule: AuthzRule): string {
  const parts: string[] = [];
  const fields = (o: Record<string, unknown> | undefined): string =>
    Object.entries(o ?? {})
      .map(([k, v]) => `${k}=${(v as string[]).join(',')}`)
      .join(' ');
  if (rule.from !== undefined) parts.push(`from: ${rule.from.map((f) => `[${fields(f.source)}]`).join(' or ')}`);
  if (rule.to !== undefined) parts.push(`to: ${rule.to.map((t) => `[${fields(t.operation)}]`).join(' or ')}`);
  for (const c of rule.when ?? []) {
    const values = c.values === undefined ? '' : ` in ${c.values.join(',')}`;
    const not = c.notValues === undefined ? '' : ` not in ${c.notValues.join(',')}`;
    parts.push(`when: ${c.key}${values}${not}`);
  }
  return parts.length === 0 ? 'any request' : parts.join('; ');
}

function pad(rows: string[][]): string {
  const widths = rows[0].map((_, i) => Math.max(...rows.map((r) => r[i].length)));
  return rows.map((r) => r.map((c, i) => (i === r.length - 1 ? c : c.padEnd(widths[i] + 3))).join('').trimEnd()).join('\n') + '\n';
}

/** The table of `skiff authz check`: each policy in force and each of its rules. */
export function checkReport(snap: ProxySnapshot): string {
  const policies = snap.authorization?.policies ?? [];
  const jwt = snap.requestAuthentication?.rules ?? [];
  let out = '';
  if (policies.length === 0) out += 'No AuthorizationPolicy applies: every request is allowed.\n';
  else {
    const rows = [['ACTION', 'AuthorizationPolicy', 'RULES']];
    for (const p of policies) rows.push([`${p.action}${p.dryRun === true ? ' (dry-run)' : ''}`, `${p.name}.${p.namespace}`, String(p.rules?.length ?? 0)]);
    out += pad(rows);
    for (const p of policies) {
      out += `\n${p.name}.${p.namespace} (${p.action}${p.provider === undefined ? '' : `, provider ${p.provider}`}):\n`;
      if ((p.rules ?? []).length === 0) out += `  no rules: it matches no request${p.action === 'ALLOW' ? ', so every request not allowed by another ALLOW policy is denied' : ''}\n`;
      (p.rules ?? []).forEach((r, i) => (out += `  rule[${i}]: ${describeRule(r)}\n`));
    }
  }
  if (jwt.length > 0) {
    out += '\nRequestAuthentication JWT rules:\n';
    for (const r of jwt) out += `  ${r.policy}: issuer ${r.issuer}, keys ${r.jwks !== undefined ? 'inline' : (r.jwksUri ?? '')}${r.presence === 'REQUIRED' ? ', token required' : ''}\n`;
  }
  return out;
}

/** A request as `skiff authz explain` describes it. */
export interface RequestDescription {
  tcp: boolean;
  method: string;
  path: string;
  host: string;
  headers: Record<string, string>;
  /** The port policies name; null: the first port of the workload's inbound listeners. */
  port: number | null;
  sourceIp: string;
  /** The caller's principal without `spiffe://`, null for a plaintext caller. */
  principal: string | null;
  /** The verified JWT's principal (`iss/sub`) and claims, null for no token. */
  requestPrincipal: string | null;
  claims: Record<string, unknown>;
}

export interface Explanation {
  /** ALLOW or DENY; EXT_AUTHZ when a CUSTOM policy matches and its provider decides first. */
  decision: 'ALLOW' | 'DENY' | 'EXT_AUTHZ';
  /** Why, in a line. */
  reason: string;
  /** Each policy and whether one of its rules matched. */
  trace: string[];
}

/** The proxy's decision for a described request, with the deciding policy and rule. */
export function explainRequest(snap: ProxySnapshot, d: RequestDescription): Explanation {
  const engine = new AuthzEngine(snap.authorization, d.tcp ? 'tcp' : 'http');
  const inbound = snap.listeners.find((l) => l.direction !== 'outbound');
  const port = d.port ?? inbound?.policyPort ?? inbound?.port ?? 0;
  const lower = new Map(Object.entries(d.headers).map(([k, v]) => [k.toLowerCase(), v]));
  const auth: RequestAuthFacts | null =
    d.requestPrincipal === null ? null : { principal: d.requestPrincipal, audiences: [], presenter: '', claims: { ...d.claims } };
  const q = d.path.indexOf('?');
  const a: AuthzAttributes = {
    protocol: d.tcp ? 'tcp' : 'http',
    method: d.tcp ? '' : d.method,
    path: d.tcp ? '' : q < 0 ? d.path : d.path.slice(0, q),
    host: d.tcp ? '' : d.host,
    headers: d.tcp ? null : { get: (n) => lower.get(n), has: (n) => lower.has(n) },
    port,
    sourceIp: d.sourceIp,
    remoteIp: d.sourceIp,
    destinationIp: inbound?.address ?? '127.0.0.1',
    principal: d.principal,
    sni: null,
    requestAuth: d.tcp ? null : auth,
  };
  const trace = engine.trace(a).map((t) => `${t.action}${t.dryRun ? ' (dry-run)' : ''} ${t.namespace}/${t.name}: ${t.matchedRule < 0 ? 'no rule matches' : `rule[${t.matchedRule}] matches`}`);
  const custom = d.tcp ? null : engine.custom(a);
  if (custom !== null) {
    return { decision: 'EXT_AUTHZ', reason: `CUSTOM: ${custom.matched} matches, so the request is decided by the ext_authz provider "${custom.provider}" (then DENY and ALLOW policies)`, trace };
  }
  const v = engine.decide(a);
  const shadow = engine.shadow(a);
  const dry = shadow === null || shadow.allowed ? '' : `; dry-run policies would have denied it (${shadow.matched})`;
  if (v.allowed) {
    const reason = v.matched === '' ? 'no ALLOW policy applies and no DENY policy matches' : `allowed by ${v.matched}`;
    return { decision: 'ALLOW', reason: `${reason}${dry}`, trace };
  }
  const reason = v.action === 'DENY' ? `denied by ${v.matched}` : 'denied: ALLOW policies apply and none matches (rbac_access_denied_matched_policy[none])';
  return { decision: 'DENY', reason: `${reason}${dry}`, trace };
}
