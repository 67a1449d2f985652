/**
 * Envoy's transport failure reasons for TLS, word for word, because that is what users search
 * for: BoringSSL's error as Envoy prints it, e.g.
 * `TLS_error:|268435581:SSL routines:OPENSSL_internal:CERTIFICATE_VERIFY_FAILED:TLS_error_end`.
 *
 * Node runs OpenSSL, whose error codes differ from BoringSSL's; the failures a mesh meets are
 * mapped here: a certificate that does not verify (chain or name), alerts the peer sent, and a
 * peer that does not speak TLS.
 */

/** What kind of TLS failure a Node error is. */
export type TlsFailureKind =
  /** The peer's certificate names none of the SANs asked for. */
  | 'san'
  /** The peer's chain does not verify (unknown issuer, expired, self-signed, …). */
  | 'verify'
  /** Anything else in the handshake: an alert, a protocol mismatch, a closed connection. */
  | 'handshake';

/** X.509 verification codes Node reports for a certificate that does not verify. */
const VERIFY_CODES = new Set([
  'UNABLE_TO_GET_ISSUER_CERT',
  'UNABLE_TO_GET_CRL',
  'UNABLE_TO_DECRYPT_CERT_SIGNATURE',
  'UNABLE_TO_DECRYPT_CRL_SIGNATURE',
  'UNABLE_TO_DECODE_ISSUER_PUBLIC_KEY',
  'CERT_SIGNATURE_FAILURE',
  'CRL_SIGNATURE_FAILURE',
  'CERT_NOT_YET_VALID',
  'CERT_HAS_EXPIRED',
  'CRL_NOT_YET_VALID',
  'CRL_HAS_EXPIRED',
  'ERROR_IN_CERT_NOT_BEFORE_FIELD',
  'ERROR_IN_CERT_NOT_AFTER_FIELD',
  'ERROR_IN_CRL_LAST_UPDATE_FIELD',
  'ERROR_IN_CRL_NEXT_UPDATE_FIELD',
  'OUT_OF_MEM',
  'DEPTH_ZERO_SELF_SIGNED_CERT',
  'SELF_SIGNED_CERT_IN_CHAIN',
  'UNABLE_TO_GET_ISSUER_CERT_LOCALLY',
  'UNABLE_TO_VERIFY_LEAF_SIGNATURE',
  'CERT_CHAIN_TOO_LONG',
  'CERT_REVOKED',
  'INVALID_CA',
  'PATH_LENGTH_EXCEEDED',
  'INVALID_PURPOSE',
  'CERT_UNTRUSTED',
  'CERT_REJECTED',
  'HOSTNAME_MISMATCH',
]);

/** Node's code for a certificate that names none of the wanted SANs (its own, reused). */
export const SAN_MISMATCH_CODE = 'ERR_TLS_CERT_ALTNAME_INVALID';

/** BoringSSL's library code for SSL errors (ERR_LIB_SSL << 24). */
const SSL_LIB = 16 << 24;
/** BoringSSL's reason codes for the failures that are not alerts. */
const REASONS: Readonly<Record<string, number>> = {
  CERTIFICATE_VERIFY_FAILED: 125,
  WRONG_VERSION_NUMBER: 247,
  PEER_DID_NOT_RETURN_A_CERTIFICATE: 203,
  NO_SHARED_CIPHER: 184,
  UNSUPPORTED_PROTOCOL: 239,
};

/** Alert names as BoringSSL words its reasons for alerts received (reason code = 1000 + alert). */
const ALERTS: Readonly<Record<number, string>> = {
  10: 'SSLV3_ALERT_UNEXPECTED_MESSAGE',
  20: 'SSLV3_ALERT_BAD_RECORD_MAC',
  40: 'SSLV3_ALERT_HANDSHAKE_FAILURE',
  42: 'SSLV3_ALERT_BAD_CERTIFICATE',
  43: 'SSLV3_ALERT_UNSUPPORTED_CERTIFICATE',
  44: 'SSLV3_ALERT_CERTIFICATE_REVOKED',
  45: 'SSLV3_ALERT_CERTIFICATE_EXPIRED',
  46: 'SSLV3_ALERT_CERTIFICATE_UNKNOWN',
  47: 'SSLV3_ALERT_ILLEGAL_PARAMETER',
  48: 'TLSV1_ALERT_UNKNOWN_CA',
  49: 'TLSV1_ALERT_ACCESS_DENIED',
  50: 'TLSV1_ALERT_DECODE_ERROR',
  51: 'TLSV1_ALERT_DECRYPT_ERROR',
  70: 'TLSV1_ALERT_PROTOCOL_VERSION',
  71: 'TLSV1_ALERT_INSUFFICIENT_SECURITY',
  80: 'TLSV1_ALERT_INTERNAL_ERROR',
  86: 'TLSV1_ALERT_INAPPROPRIATE_FALLBACK',
  90: 'TLSV1_ALERT_USER_CANCELLED',
  109: 'TLSV1_ALERT_MISSING_EXTENSION',
  110: 'TLSV1_UNSUPPORTED_EXTENSION',
  112: 'TLSV1_UNRECOGNIZED_NAME',
  116: 'TLSV1_ALERT_CERTIFICATE_REQUIRED',
  120: 'TLSV1_ALERT_NO_APPLICATION_PROTOCOL',
};

function envoyText(reason: string, code: number | null): string {
  const number = code === null ? '' : `${SSL_LIB + code}:`;
  return `TLS_error:|${number}SSL routines:OPENSSL_internal:${reason}:TLS_error_end`;
}

/** The verification failure text (chain or name). */
export const CERTIFICATE_VERIFY_FAILED = envoyText('CERTIFICATE_VERIFY_FAILED', REASONS.CERTIFICATE_VERIFY_FAILED);

/** Classifies a TLS handshake error and words it as Envoy does ('' when Envoy prints none). */
export function tlsFailure(err: NodeJS.ErrnoException): { kind: TlsFailureKind; text: string } {
  const code = err.code ?? '';
  if (code === SAN_MISMATCH_CODE) return { kind: 'san', text: CERTIFICATE_VERIFY_FAILED };
  if (VERIFY_CODES.has(code)) return { kind: 'verify', text: CERTIFICATE_VERIFY_FAILED };
  if (!code.startsWith('ERR_SSL_')) return { kind: 'handshake', text: '' }; // closed or reset mid-handshake
  // An alert from the peer: OpenSSL's reason code is 1000 + the alert number, as BoringSSL's.
  const packed = /error:([0-9A-Fa-f]{8}):/.exec(err.message);
  const reasonCode = packed === null ? 0 : parseInt(packed[1], 16) & 0x7fffff;
  const alert = ALERTS[reasonCode - 1000];
  if (alert !== undefined) return { kind: 'handshake', text: envoyText(alert, reasonCode) };
  const name = code.slice('ERR_SSL_'.length);
  return { kind: 'handshake', text: envoyText(name, REASONS[name] ?? null) };
}
