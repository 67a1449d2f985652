/** The security.istio.io kinds: PeerAuthentication, AuthorizationPolicy, RequestAuthentication. */
import type { KindDef } from '../../types.js';
import { authorizationPolicy } from './authorization-policy.js';
import { peerAuthentication } from './peer-authentication.js';
import { requestAuthentication } from './request-authentication.js';

export const securityKinds: KindDef[] = [peerAuthentication, authorizationPolicy, requestAuthentication];
export { authorizationPolicy, peerAuthentication, requestAuthentication };
export type { AuthorizationPolicySpec } from './authorization-policy.js';
export type { PeerAuthenticationSpec } from './peer-authentication.js';
export type { RequestAuthenticationSpec } from './request-authentication.js';
