/**
 * The RequestAuthentications that apply to one proxy (selected as AuthorizationPolicies are:
 * root namespace and the proxy's namespace, selectors, gateway `targetRefs`), their JWT rules
 * gathered into the snapshot's `requestAuthentication` section as Envoy's jwt_authn filter gets
 * them from Istio. `jwksUri` is passed on for the proxy to fetch.
 */
import { parseDuration } from '../../api/duration.js';
import type { JwtRuleConfig, RequestAuthenticationConfig } from '../../snapshot/index.js';
import { selectPolicies, type PolicySubject } from './authorization.js';
import type { ConfigIndex } from './push-context.js';

/** The section for a proxy, or undefined when no RequestAuthentication applies. */
export function requestAuthenticationSection(index: ConfigIndex, subject: PolicySubject, warn: (m: string) => void): RequestAuthenticationConfig | undefined {
  const entries = selectPolicies(index.requestAuthentications, index.mesh.rootNamespace, subject);
  const rules: JwtRuleConfig[] = [];
  for (const e of entries) {
    for (const [i, r] of (e.spec.jwtRules ?? []).entries()) {
      const policy = `${e.namespace}/${e.name}`;
      const jwksUri = r.jwksUri ?? r.jwks_uri;
      if (r.issuer === undefined || (r.jwks === undefined && jwksUri === undefined)) {
        warn(`RequestAuthentication ${policy}: jwtRules[${i}] names no issuer or no key set; left out`);
        continue;
      }
      const rule: JwtRuleConfig = { policy, issuer: r.issuer };
      if (r.audiences !== undefined) rule.audiences = [...r.audiences];
      if (r.jwks !== undefined) rule.jwks = r.jwks;
      else if (jwksUri !== undefined) rule.jwksUri = jwksUri;
      if (r.fromHeaders !== undefined) rule.fromHeaders = r.fromHeaders.map((h) => ({ ...h }));
      if (r.fromParams !== undefined) rule.fromParams = [...r.fromParams];
      if (r.fromCookies !== undefined) rule.fromCookies = [...r.fromCookies];
      if (r.outputPayloadToHeader !== undefined) rule.outputPayloadToHeader = r.outputPayloadToHeader;
      if (r.outputClaimToHeaders !== undefined) rule.outputClaimToHeaders = r.outputClaimToHeaders.map((c) => ({ ...c }));
      if (r.forwardOriginalToken !== undefined) rule.forwardOriginalToken = r.forwardOriginalToken;
      if (r.spaceDelimitedClaims !== undefined) rule.spaceDelimitedClaims = [...r.spaceDelimitedClaims];
      const timeout = r.timeout === undefined ? undefined : parseDuration(r.timeout);
      if (timeout !== undefined && timeout > 0) rule.timeoutMs = timeout;
      if (r.presence !== undefined) rule.presence = r.presence;
      rules.push(rule);
    }
  }
  return rules.length === 0 ? undefined : { rules };
}
