/**
 * A test-only PKI made with the openssl command line: a mesh root, a second unrelated root, and
 * ECDSA P-256 leaves whose only names are the SANs given (SPIFFE ids as URI SANs, as Istio's
 * workload certificates carry, and DNS names), usable for both server and client auth.
 *
 * Built once per test process in a temporary directory; nothing is written to the repository.
 */
import { execFileSync } from 'node:child_process';
import { X509Certificate } from 'node:crypto';
import { mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';

export interface Leaf {
  /** The certificate (PEM). */
  cert: string;
  /** Its private key (PEM). */
  key: string;
  /** Its serial number as openssl prints it (hex). */
  serial: string;
  /** The file paths of `cert` and `key`. */
  certFile: string;
  keyFile: string;
}

export interface Authority {
  /** The root certificate (PEM) and its file. */
  cert: string;
  certFile: string;
  /** Issues a leaf carrying exactly these SANs (`URI:spiffe://…`, `DNS:…`). */
  issue(name: string, sans: string[]): Leaf;
}

let dir: string | null = null;

function workDir(): string {
  if (dir === null) {
    dir = mkdtempSync(join(tmpdir(), 'skiff-pki-'));
    const made = dir;
    process.once('exit', () => rmSync(made, { recursive: true, force: true }));
  }
  return dir;
}

function openssl(args: string[]): void {
  execFileSync('openssl', args, { stdio: ['ignore', 'ignore', 'pipe'] });
}

const authorities = new Map<string, Authority>();

/** A root CA named `name` (the same one for the whole test process). */
export function authority(name: string): Authority {
  const known = authorities.get(name);
  if (known !== undefined) return known;
  const d = workDir();
  const key = join(d, `${name}-ca.key`);
  const certFile = join(d, `${name}-ca.crt`);
  openssl(['ecparam', '-name', 'prime256v1', '-genkey', '-noout', '-out', key]);
  openssl(['req', '-x509', '-new', '-key', key, '-subj', `/O=skiff-test/CN=${name}`, '-days', '2', '-out', certFile]);
  const ca: Authority = {
    cert: readFileSync(certFile, 'utf8'),
    certFile,
    issue(leafName, sans) {
      const base = join(d, `${name}-${leafName}`);
      openssl(['ecparam', '-name', 'prime256v1', '-genkey', '-noout', '-out', `${base}.key`]);
      openssl(['req', '-new', '-key', `${base}.key`, '-subj', `/O=skiff-test`, '-out', `${base}.csr`]);
      writeFileSync(
        `${base}.ext`,
        [`subjectAltName=${sans.join(',')}`, 'extendedKeyUsage=serverAuth,clientAuth', 'keyUsage=critical,digitalSignature', 'basicConstraints=CA:FALSE', ''].join('\n'),
      );
      openssl(['x509', '-req', '-in', `${base}.csr`, '-CA', certFile, '-CAkey', key, '-set_serial', `0x${randomSerial()}`, '-days', '1', '-extfile', `${base}.ext`, '-out', `${base}.crt`]);
      const cert = readFileSync(`${base}.crt`, 'utf8');
      return { cert, key: readFileSync(`${base}.key`, 'utf8'), serial: new X509Certificate(cert).serialNumber, certFile: `${base}.crt`, keyFile: `${base}.key` };
    },
  };
  authorities.set(name, ca);
  return ca;
}

let serials = 0;
function randomSerial(): string {
  serials++;
  return `${Date.now().toString(16)}${process.pid.toString(16)}${serials.toString(16).padStart(4, '0')}`;
}

/** SPIFFE id of a service account, as Istio names workload identities. */
export function spiffe(namespace: string, serviceAccount: string): string {
  return `spiffe://cluster.local/ns/${namespace}/sa/${serviceAccount}`;
}
