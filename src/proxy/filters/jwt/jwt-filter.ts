/**
 * RequestAuthentication (Envoy's `envoy.filters.http.jwt_authn` as Istio configures it): a request
 * without a token passes (authorization decides), unless a rule says `presence: REQUIRED`; a
 * request with one passes only when it verifies — signature by the issuer's key set, `exp` and
 * `nbf` with 60 s of clock skew, `aud` against `audiences` — and is otherwise answered 401 with
 * Envoy's text (`Jwt is expired`, `Jwt verification fails`, …). A verified token leaves its facts
 * on the request for authorization (principal `<iss>/<sub>`, audiences, `azp`, claims, with
 * space-delimited claims split), may be copied into headers (`outputPayloadToHeader`,
 * `outputClaimToHeaders`), and is removed from the forwarded request unless
 * `forwardOriginalToken`.
 *
 * Verifying an RS256 token costs about 0.2 ms, so verified tokens are kept until they expire: a
 * token seen before is decided without waiting. A first sight waits for the verification (and for
 * a key set being fetched).
 */
import { errors, jwtVerify } from 'jose';
import type { JwtRuleConfig, RequestAuthenticationConfig } from '../../../snapshot/index.js';
import { localReply, type HttpFilter, type HttpFilterRequest, type HttpVerdict, type LocalReply, type RequestAuthFacts } from '../http-filter.js';
import { CONTINUE, waitFor } from '../verdict.js';
import { keySetFor, type KeySet } from './key-sets.js';

const CLOCK_SKEW_S = 60;
/** Claims Envoy always reads as space-separated lists. */
const SPACE_DELIMITED = ['scope', 'permission'];
const CACHE_LIMIT = 4096;

export const JWT_TEXT = {
  missing: 'Jwt is missing',
  form: 'Jwt is not in the form of Header.Payload.Signature with two dots and 3 sections',
  issuer: 'Jwt issuer is not configured',
  expired: 'Jwt is expired',
  notYetValid: 'Jwt not yet valid',
  audience: 'Audiences in Jwt are not allowed',
  verification: 'Jwt verification fails',
  noKey: "Jwks doesn't have key to match kid or alg from Jwt",
  fetch: 'Jwks remote fetch is failed',
} as const;

interface Location {
  kind: 'header' | 'param' | 'cookie';
  name: string;
  prefix: string;
}

interface CompiledRule {
  readonly config: JwtRuleConfig;
  readonly keys: KeySet;
  readonly spaceDelimited: readonly string[];
}

/** Where Istio reads tokens: the rule's locations, or `Authorization: Bearer …` and `?access_token=`. */
function locationsOf(r: JwtRuleConfig): Location[] {
  const out: Location[] = [];
  for (const h of r.fromHeaders ?? []) out.push({ kind: 'header', name: h.name.toLowerCase(), prefix: h.prefix ?? '' });
  for (const p of r.fromParams ?? []) out.push({ kind: 'param', name: p, prefix: '' });
  for (const c of r.fromCookies ?? []) out.push({ kind: 'cookie', name: c, prefix: '' });
  if (out.length === 0) {
    out.push({ kind: 'header', name: 'authorization', prefix: 'Bearer ' }, { kind: 'param', name: 'access_token', prefix: '' });
  }
  return out;
}

function tokenAt(req: HttpFilterRequest, l: Location): string | null {
  if (l.kind === 'header') {
    const v = req.headers.get(l.name);
    if (v === undefined || !v.startsWith(l.prefix)) return null;
    const t = v.slice(l.prefix.length).trim();
    return t === '' ? null : t;
  }
  if (l.kind === 'param') {
    const q = req.path.indexOf('?');
    if (q < 0) return null;
    const v = new URLSearchParams(req.path.slice(q + 1)).get(l.name);
    return v === null || v === '' ? null : v;
  }
  const cookies = req.headers.get('cookie');
  if (cookies === undefined) return null;
  for (const part of cookies.split(';')) {
    const eq = part.indexOf('=');
    if (eq > 0 && part.slice(0, eq).trim() === l.name) return part.slice(eq + 1).trim() || null;
  }
  return null;
}

/** The unverified payload of a compact JWS, or null when the token is not three base64url sections. */
function peekPayload(token: string): Record<string, unknown> | null {
  const parts = token.split('.');
  if (parts.length !== 3 || parts[0] === '' || parts[1] === '') return null;
  try {
    const p = JSON.parse(Buffer.from(parts[1], 'base64url').toString('utf8')) as unknown;
    return typeof p === 'object' && p !== null && !Array.isArray(p) ? (p as Record<string, unknown>) : null;
  } catch {
    return null;
  }
}

function reject(req: HttpFilterRequest, text: string): LocalReply {
  const realm = `http://${req.authority}${req.path.split('?')[0]}`;
  const error = text === JWT_TEXT.missing ? '' : ', error="invalid_token"';
  return localReply(401, text, 0, `jwt_authn_access_denied{${text.replace(/ /g, '_')}}`, [['www-authenticate', `Bearer realm="${realm}"${error}`]]);
}

/** The facts authorization reads of a verified payload. */
function factsOf(payload: Record<string, unknown>, spaceDelimited: readonly string[]): RequestAuthFacts {
  const claims: Record<string, unknown> = { ...payload };
  for (const c of spaceDelimited) {
    const v = claims[c];
    if (typeof v === 'string') claims[c] = v.split(' ').filter((s) => s !== '');
  }
  const aud = payload.aud;
  return Object.freeze({
    principal: `${typeof payload.iss === 'string' ? payload.iss : ''}/${typeof payload.sub === 'string' ? payload.sub : ''}`,
    audiences: typeof aud === 'string' ? [aud] : Array.isArray(aud) ? aud.filter((a): a is string => typeof a === 'string') : [],
    presenter: typeof payload.azp === 'string' ? payload.azp : '',
    claims: Object.freeze(claims),
  });
}

function errorText(err: unknown): string {
  if (err instanceof errors.JWTExpired) return JWT_TEXT.expired;
  if (err instanceof errors.JWTClaimValidationFailed) {
    if (err.claim === 'aud') return JWT_TEXT.audience;
    if (err.claim === 'nbf') return JWT_TEXT.notYetValid;
    if (err.claim === 'iss') return JWT_TEXT.issuer;
    return JWT_TEXT.verification;
  }
  if (err instanceof errors.JWKSNoMatchingKey) return JWT_TEXT.noKey;
  if (err instanceof errors.JWSInvalid || err instanceof errors.JWTInvalid) return JWT_TEXT.form;
  return JWT_TEXT.verification;
}

interface Verified {
  readonly facts: RequestAuthFacts;
  /** When the token stops being valid (ms since the epoch, skew included); Infinity without `exp`. */
  readonly until: number;
}

/** The JWT filter of a listener, over the snapshot's RequestAuthentication rules. */
export function jwtFilter(config: RequestAuthenticationConfig): HttpFilter {
  const rules: CompiledRule[] = config.rules.map((r) => ({
    config: r,
    keys: keySetFor(r),
    spaceDelimited: [...SPACE_DELIMITED, ...(r.spaceDelimitedClaims ?? [])],
  }));
  const locations = new Map<string, Location>();
  for (const r of config.rules) for (const l of locationsOf(r)) locations.set(`${l.kind}:${l.name}:${l.prefix}`, l);
  const where = [...locations.values()];
  const required = config.rules.some((r) => r.presence === 'REQUIRED');
  const cache = new Map<string, Verified>();

  /** What a verified token does to the request: its facts, and the headers its rule asks for. */
  const accept = (req: HttpFilterRequest, rule: CompiledRule, token: string, at: Location, v: Verified): void => {
    (req.facts ??= {}).requestAuth = v.facts;
    const c = rule.config;
    if (c.outputPayloadToHeader !== undefined) req.headers.set(c.outputPayloadToHeader.toLowerCase(), token.split('.')[1]);
    for (const o of c.outputClaimToHeaders ?? []) {
      const value = v.facts.claims[o.claim];
      if (typeof value === 'string' || typeof value === 'number' || typeof value === 'boolean') req.headers.set(o.header.toLowerCase(), String(value));
    }
    if (c.forwardOriginalToken !== true && at.kind === 'header') req.headers.remove(at.name);
  };

  return {
    name: 'envoy.filters.http.jwt_authn',
    decide(req: HttpFilterRequest): HttpVerdict {
      let token: string | null = null;
      let at: Location | null = null;
      for (const l of where) {
        token = tokenAt(req, l);
        if (token !== null) {
          at = l;
          break;
        }
      }
      if (token === null || at === null) return required ? reject(req, JWT_TEXT.missing) : CONTINUE;
      const payload = peekPayload(token);
      if (payload === null) return reject(req, JWT_TEXT.form);
      const rule = rules.find((r) => r.config.issuer === payload.iss);
      if (rule === undefined) return reject(req, JWT_TEXT.issuer);
      const hit = cache.get(token);
      if (hit !== undefined) {
        if (Date.now() < hit.until) {
          accept(req, rule, token, at, hit);
          return CONTINUE;
        }
        cache.delete(token);
        return reject(req, JWT_TEXT.expired);
      }
      const found = token;
      const location = at;
      return waitFor<HttpVerdict>((resume) => {
        let cancelled = false;
        void (async (): Promise<HttpVerdict> => {
          await rule.keys.settled();
          const keys = rule.keys.keys();
          if (keys === null) return reject(req, JWT_TEXT.fetch);
          try {
            const { payload: verified } = await jwtVerify(found, keys, {
              issuer: rule.config.issuer,
              clockTolerance: CLOCK_SKEW_S,
              ...(rule.config.audiences !== undefined && rule.config.audiences.length > 0 ? { audience: rule.config.audiences } : {}),
            });
            const v: Verified = { facts: factsOf(verified, rule.spaceDelimited), until: typeof verified.exp === 'number' ? (verified.exp + CLOCK_SKEW_S) * 1000 : Infinity };
            if (cache.size >= CACHE_LIMIT) cache.delete(cache.keys().next().value as string);
            cache.set(found, v);
            if (!cancelled) accept(req, rule, found, location, v);
            return CONTINUE;
          } catch (err) {
            if (err instanceof errors.JWKSNoMatchingKey) rule.keys.kidMissed();
            return reject(req, errorText(err));
          }
        })().then((v) => {
          if (!cancelled) resume(v);
        });
        return () => {
          cancelled = true;
        };
      });
    },
  };
}
