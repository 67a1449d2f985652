/**
 * The RequestAuthentication part of the proxy snapshot: the JWT rules in force for this proxy
 * (every rule of every RequestAuthentication that applies, as Envoy's jwt_authn filter gets them
 * from Istio), each as Istio writes it. The proxy validates tokens with them on its server side —
 * a sidecar's inbound listeners, a gateway's listeners.
 */
import { SnapshotError, list, obj, oneOf, str } from './checks.js';

export interface JwtRuleConfig {
  /** The RequestAuthentication it comes from (`namespace/name`), for messages. */
  policy: string;
  issuer: string;
  audiences?: string[];
  /** Inline JSON Web Key Set. */
  jwks?: string;
  /** Where the proxy fetches the key set (when `jwks` is not given). */
  jwksUri?: string;
  /** Headers the token is read from, with the prefix stripped; default `Authorization: Bearer `. */
  fromHeaders?: { name: string; prefix?: string }[];
  /** Query parameters; default `access_token` (when no header or cookie is configured either). */
  fromParams?: string[];
  fromCookies?: string[];
  outputPayloadToHeader?: string;
  outputClaimToHeaders?: { header: string; claim: string }[];
  /** Keep the token on the forwarded request (default: removed). */
  forwardOriginalToken?: boolean;
  /** Claims whose string value is a space-separated list (besides `scope` and `permission`). */
  spaceDelimitedClaims?: string[];
  /** How long a key-set fetch may take; default 5 s. */
  timeoutMs?: number;
  /** REQUIRED: a request without this token is refused (401 `Jwt is missing`). */
  presence?: 'OPTIONAL' | 'REQUIRED';
}

export interface RequestAuthenticationConfig {
  rules: JwtRuleConfig[];
}

function strings(v: unknown, at: string): string[] {
  return list(v, at).map((s, i) => str(s, `${at}[${i}]`));
}

function checkRule(v: unknown, at: string): JwtRuleConfig {
  const o = obj(v, at);
  const r: JwtRuleConfig = { policy: str(o.policy, `${at}.policy`), issuer: str(o.issuer, `${at}.issuer`) };
  if (o.audiences !== undefined) r.audiences = strings(o.audiences, `${at}.audiences`);
  if (o.jwks !== undefined) {
    r.jwks = str(o.jwks, `${at}.jwks`);
    try {
      const parsed = JSON.parse(r.jwks) as { keys?: unknown };
      if (!Array.isArray(parsed.keys)) throw new Error('no "keys" list');
    } catch (err) {
      throw new SnapshotError(`${at}.jwks`, `not a JSON Web Key Set: ${(err as Error).message}`);
    }
  }
  if (o.jwksUri !== undefined) {
    r.jwksUri = str(o.jwksUri, `${at}.jwksUri`);
    if (!/^https?:\/\/[^/]/.test(r.jwksUri)) throw new SnapshotError(`${at}.jwksUri`, `must be an http or https URL, got ${JSON.stringify(r.jwksUri)}`);
  }
  if (r.jwks === undefined && r.jwksUri === undefined) throw new SnapshotError(at, 'needs jwks or jwksUri');
  if (o.fromHeaders !== undefined) {
    r.fromHeaders = list(o.fromHeaders, `${at}.fromHeaders`).map((h, i) => {
      const ho = obj(h, `${at}.fromHeaders[${i}]`);
      const out: { name: string; prefix?: string } = { name: str(ho.name, `${at}.fromHeaders[${i}].name`) };
      if (ho.prefix !== undefined) out.prefix = str(ho.prefix, `${at}.fromHeaders[${i}].prefix`, true);
      return out;
    });
  }
  if (o.fromParams !== undefined) r.fromParams = strings(o.fromParams, `${at}.fromParams`);
  if (o.fromCookies !== undefined) r.fromCookies = strings(o.fromCookies, `${at}.fromCookies`);
  if (o.outputPayloadToHeader !== undefined) r.outputPayloadToHeader = str(o.outputPayloadToHeader, `${at}.outputPayloadToHeader`);
  if (o.outputClaimToHeaders !== undefined) {
    r.outputClaimToHeaders = list(o.outputClaimToHeaders, `${at}.outputClaimToHeaders`).map((c, i) => {
      const co = obj(c, `${at}.outputClaimToHeaders[${i}]`);
      return { header: str(co.header, `${at}.outputClaimToHeaders[${i}].header`), claim: str(co.claim, `${at}.outputClaimToHeaders[${i}].claim`) };
    });
  }
  if (o.forwardOriginalToken !== undefined) {
    if (typeof o.forwardOriginalToken !== 'boolean') throw new SnapshotError(`${at}.forwardOriginalToken`, 'must be true or false');
    r.forwardOriginalToken = o.forwardOriginalToken;
  }
  if (o.spaceDelimitedClaims !== undefined) r.spaceDelimitedClaims = strings(o.spaceDelimitedClaims, `${at}.spaceDelimitedClaims`);
  if (o.timeoutMs !== undefined) {
    if (typeof o.timeoutMs !== 'number' || !(o.timeoutMs > 0)) throw new SnapshotError(`${at}.timeoutMs`, 'must be a number of milliseconds > 0');
    r.timeoutMs = o.timeoutMs;
  }
  if (o.presence !== undefined) r.presence = oneOf(o.presence, ['OPTIONAL', 'REQUIRED'] as const, `${at}.presence`);
  return r;
}

/** Checks the snapshot's `requestAuthentication` section, naming the first bad field. */
export function checkRequestAuthentication(v: unknown): RequestAuthenticationConfig {
  const o = obj(v, 'requestAuthentication');
  return { rules: list(o.rules ?? [], 'requestAuthentication.rules').map((r, i) => checkRule(r, `requestAuthentication.rules[${i}]`)) };
}
