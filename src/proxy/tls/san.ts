/**
 * Subject alternative names: the check a peer certificate passes when the config names the SANs
 * it must carry (a SPIFFE id as a URI SAN, or a DNS name), and the peer's SPIFFE identity.
 *
 * Node's own `checkServerIdentity` fails on certificates that carry only a URI SAN, as every
 * Istio workload certificate does, so the proxy always checks names itself.
 */
import { createHash } from 'node:crypto';
import type { PeerCertificate } from 'node:tls';

/** The SANs of a certificate as Node reports them (`URI:spiffe://…, DNS:example.com`). */
export interface SubjectAltNames {
  uris: string[];
  dns: string[];
}

export function parseSubjectAltNames(text: string | undefined): SubjectAltNames {
  const out: SubjectAltNames = { uris: [], dns: [] };
  if (text === undefined || text === '') return out;
  // Node quotes entries holding a comma or quote as JSON strings (`URI:"a,b"`).
  for (const raw of text.match(/(?:[^,"]+|"(?:[^"\\]|\\.)*")+/g) ?? []) {
    const entry = raw.trim();
    const colon = entry.indexOf(':');
    if (colon < 0) continue;
    const kind = entry.slice(0, colon);
    let value = entry.slice(colon + 1);
    if (value.startsWith('"')) {
      try {
        value = JSON.parse(value) as string;
      } catch {
        continue;
      }
    }
    if (kind === 'URI') out.uris.push(value);
    else if (kind === 'DNS') out.dns.push(value.toLowerCase());
  }
  return out;
}

/** A DNS SAN (`*.example.com` covers one label) against a name. */
export function dnsNameMatches(san: string, name: string): boolean {
  const n = name.toLowerCase();
  if (san.startsWith('*.')) {
    const rest = san.slice(1);
    return n.endsWith(rest) && n.length > rest.length && !n.slice(0, n.length - rest.length).includes('.');
  }
  return san === n;
}

/** True when the certificate carries one of `wanted` (URIs compared exactly, DNS names as DNS). */
export function carriesOneOf(sans: SubjectAltNames, wanted: readonly string[]): boolean {
  for (const w of wanted) {
    if (w.includes('://')) {
      if (sans.uris.includes(w)) return true;
    } else if (sans.dns.some((d) => dnsNameMatches(d, w))) return true;
  }
  return false;
}

/** The peer's SPIFFE id (its first `spiffe://` URI SAN), or null. */
export function spiffeId(cert: PeerCertificate | null | undefined): string | null {
  if (cert === null || cert === undefined) return null;
  for (const uri of parseSubjectAltNames(cert.subjectaltname).uris) if (uri.startsWith('spiffe://')) return uri;
  return null;
}

/**
 * The facts `X-Forwarded-Client-Cert` carries about a verified peer certificate: its SHA-256
 * over the DER and its subject in RFC 2253 order (last RDN first, as Envoy prints it; '' for the
 * empty subject of workload certificates). Null without a certificate.
 */
export function certificateFacts(cert: PeerCertificate | null | undefined): { hash: string; subject: string } | null {
  if (cert === null || cert === undefined || cert.raw === undefined || cert.raw.length === 0) return null;
  const hash = createHash('sha256').update(cert.raw).digest('hex');
  return { hash, subject: distinguishedName(cert.subject) };
}

/** A certificate's subject or issuer as Node reports it, in RFC 2253 order (last RDN first); '' when empty. */
export function distinguishedName(name: PeerCertificate['subject'] | undefined): string {
  const parts: string[] = [];
  for (const [key, value] of Object.entries((name as unknown as Record<string, string | string[]> | undefined) ?? {})) {
    for (const v of Array.isArray(value) ? value : [value]) parts.push(`${key}=${v.replace(/([,+"\\<>;])/g, '\\$1')}`);
  }
  return parts.reverse().join(',');
}
