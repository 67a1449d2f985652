/**
 * security.istio.io RequestAuthentication: schema (istio/api security/v1beta1/request_authentication.proto)
 * and the checks of Istio's ValidateRequestAuthentication (plus the CRD's CEL rules).
 */
import type { Static } from 'typebox';
import { Bool, Duration, Enum, List, OneOf, Opt, Str, Strict, parseDuration } from '../../schema-kit.js';
import type { Issue, KindDef, Resource } from '../../types.js';
import { PolicyTargetReference, WorkloadSelector, checkTargetRefs, checkWorkloadSelector } from '../common.js';

const JwtHeader = Strict({
  name: Str({ minLength: 1, description: 'The HTTP header name.' }),
  prefix: Opt(Str({ description: 'The prefix that should be stripped before decoding the token.' })),
});

const ClaimToHeader = Strict({
  header: Str({ minLength: 1, pattern: '^[-_A-Za-z0-9]+$', description: 'The name of the header to be created.' }),
  claim: Str({ minLength: 1, description: 'The name of the claim to be copied from.' }),
});

const jwksUriField = (): ReturnType<typeof Str> =>
  Str({ minLength: 1, maxLength: 2048, description: "URL of the provider's public key set to validate signature of the JWT." });

const JWTRule = OneOf(
  Strict({
    // Optional in the CRD; Istio's webhook requires it (see the rules below).
    issuer: Opt(Str({ minLength: 1, description: 'Identifies the issuer that issued the JWT.' })),
    audiences: Opt(List(Str({ minLength: 1 }), { description: 'The list of JWT audiences that are allowed to access.' })),
    jwksUri: Opt(jwksUriField()),
    jwks_uri: Opt(jwksUriField()),
    jwks: Opt(Str({ description: 'JSON Web Key Set of public keys to validate signature of the JWT.' })),
    fromHeaders: Opt(List(JwtHeader, { description: 'List of header locations from which JWT is expected.' })),
    fromParams: Opt(List(Str({ minLength: 1 }), { description: 'List of query parameters from which JWT is expected.' })),
    fromCookies: Opt(List(Str({ minLength: 1 }), { description: 'List of cookie names from which JWT is expected.' })),
    outputPayloadToHeader: Opt(Str({ description: 'Header to output a successfully verified JWT payload to.' })),
    forwardOriginalToken: Opt(Bool({ description: 'If set to true, the original token will be kept for the upstream request.' })),
    outputClaimToHeaders: Opt(List(ClaimToHeader, { description: 'Copies JWT claims to HTTP headers.' })),
    spaceDelimitedClaims: Opt(List(Str({ minLength: 1 }), { maxItems: 64, description: 'JWT claims treated as space-delimited strings.' })),
    timeout: Opt(Duration({ description: 'How long to wait for the JWKS to be fetched.' })),
    presence: Opt(Enum(['OPTIONAL', 'REQUIRED'] as const, { description: 'Whether a request must carry this JWT (REQUIRED: 401 without one); default OPTIONAL.' })),
  }),
  [['jwksUri', 'jwks_uri', 'jwks']],
);

export const RequestAuthenticationSpec = OneOf(
  Strict(
    {
      selector: Opt(WorkloadSelector),
      targetRef: Opt(PolicyTargetReference),
      targetRefs: Opt(List(PolicyTargetReference, { maxItems: 16 })),
      jwtRules: Opt(List(JWTRule, { maxItems: 4096, description: 'Define the list of JWTs that can be validated at the selected workloads.' })),
    },
    { description: 'Request authentication configuration for workloads.' },
  ),
  [['selector', 'targetRef', 'targetRefs']],
);
export type RequestAuthenticationSpec = Static<typeof RequestAuthenticationSpec>;

type Path = Array<string | number>;
const err = (path: Path, message: string): Issue => ({ severity: 'error', path, message });
/** RFC 9110 field-name characters (`token`). */
const HEADER_NAME = /^[!#$%&'*+\-.^_`|~0-9A-Za-z]+$/;

function jwksUriProblem(uri: string): string | undefined {
  let url: URL;
  try {
    url = new URL(uri);
  } catch {
    return `invalid jwksUri "${uri}": not a URL`;
  }
  if (url.protocol !== 'http:' && url.protocol !== 'https:') {
    return `jwksUri "${uri}": URI scheme "${url.protocol.slice(0, -1)}" is not supported; use http:// or https://`;
  }
  return undefined;
}

/** Checks a JWKS document the way Istio's jwk.Parse would reject it. */
function jwksProblem(jwks: string): string | undefined {
  let doc: unknown;
  try {
    doc = JSON.parse(jwks);
  } catch (e: unknown) {
    return `jwks parse error: ${e instanceof Error ? e.message : String(e)}`;
  }
  if (typeof doc !== 'object' || doc === null || Array.isArray(doc)) return 'jwks parse error: must be a JSON object';
  const keys = (doc as { keys?: unknown }).keys;
  // A bare JWK (with "kty") is accepted as a one-key set, as Istio's parser does.
  if (keys === undefined && typeof (doc as { kty?: unknown }).kty === 'string') return undefined;
  if (!Array.isArray(keys)) return 'jwks parse error: a key set needs a "keys" array';
  const bad = keys.findIndex((k) => typeof k !== 'object' || k === null || typeof (k as { kty?: unknown }).kty !== 'string');
  return bad >= 0 ? `jwks parse error: keys[${bad}] has no "kty"` : undefined;
}

export function requestAuthenticationRules(r: Resource): Issue[] {
  const spec = r.spec as RequestAuthenticationSpec;
  const out: Issue[] = [...checkWorkloadSelector(spec.selector, ['spec', 'selector']), ...checkTargetRefs(spec)];
  spec.jwtRules?.forEach((rule, i) => {
    const at: Path = ['spec', 'jwtRules', i];
    if (!rule.issuer) out.push(err([...at, 'issuer'], 'issuer must be set'));
    for (const f of ['jwksUri', 'jwks_uri'] as const) {
      const uri = rule[f];
      const p = uri ? jwksUriProblem(uri) : undefined;
      if (p !== undefined) out.push(err([...at, f], p));
    }
    const jp = rule.jwks ? jwksProblem(rule.jwks) : undefined;
    if (jp !== undefined) out.push(err([...at, 'jwks'], jp));
    rule.fromHeaders?.forEach((h, j) => {
      if (h.name !== '' && !HEADER_NAME.test(h.name)) out.push(err([...at, 'fromHeaders', j, 'name'], `invalid header name "${h.name}"`));
    });
    if (rule.outputPayloadToHeader !== undefined && rule.outputPayloadToHeader !== '' && !HEADER_NAME.test(rule.outputPayloadToHeader)) {
      out.push(err([...at, 'outputPayloadToHeader'], `invalid header name "${rule.outputPayloadToHeader}"`));
    }
    const ms = rule.timeout === undefined ? undefined : parseDuration(rule.timeout);
    if (ms !== undefined && ms < 1) out.push(err([...at, 'timeout'], 'must be a valid duration greater than 1ms'));
  });
  return out;
}

export const requestAuthentication: KindDef = {
  group: 'security.istio.io',
  kind: 'RequestAuthentication',
  plural: 'requestauthentications',
  versions: ['v1', 'v1beta1'],
  namespaced: true,
  schema: RequestAuthenticationSpec,
  rules: requestAuthenticationRules,
};
