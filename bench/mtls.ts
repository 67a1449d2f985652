/**
 * The mutual-TLS rows: the mesh path with Istio's mutual TLS between the two sidecars
 * (`skiff-2hop-mtls`) and an nginx pair doing the same TLS work (`nginx-2hop-mtls`): the first
 * nginx originates TLS with a client certificate to the second (`proxy_ssl_certificate`,
 * `proxy_ssl_verify`, sessions reused, a keep-alive upstream pool), which terminates it and
 * verifies the client certificate (`ssl_verify_client on`) before proxying to the backend.
 *
 * Both use one ECDSA P-256 test CA and leaves like Istio's workload certificates (a SPIFFE id as
 * URI SAN; a DNS SAN too, which nginx checks the name against). The sidecars get them as files
 * (MUTUAL chains and clusters): a snapshot file has no control plane to issue ISTIO_MUTUAL's
 * workload certificate, and the TLS work per connection and per byte is the same.
 */
import { execFileSync } from 'node:child_process';
import { mkdirSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { nginxBuildInfo, nginxConfig, PROXY_CORE } from './backend.js';
import type { Endpoint, RunningPeer } from './peers.js';
import { freePort, start, waitForPort } from './processes.js';
import { pinned } from './tools.js';
import type { Tools } from './tools.js';
import type { ProxySnapshot } from '../src/snapshot/index.js';

export interface BenchPki {
  ca: string;
  server: { cert: string; key: string; spiffe: string; dns: string };
  client: { cert: string; key: string; spiffe: string; dns: string };
}

function openssl(args: string[]): void {
  execFileSync('openssl', args, { stdio: ['ignore', 'ignore', 'pipe'] });
}

/** A CA and two leaves (reviews serving, productpage calling), as files under `workDir/pki`. */
export function benchPki(workDir: string): BenchPki {
  const d = join(workDir, 'pki');
  mkdirSync(d, { recursive: true });
  const ca = join(d, 'ca.crt');
  const caKey = join(d, 'ca.key');
  openssl(['ecparam', '-name', 'prime256v1', '-genkey', '-noout', '-out', caKey]);
  openssl(['req', '-x509', '-new', '-key', caKey, '-subj', '/O=cluster.local', '-days', '2', '-out', ca]);
  const leaf = (name: string, sa: string): BenchPki['server'] => {
    const base = join(d, name);
    const spiffe = `spiffe://cluster.local/ns/default/sa/${sa}`;
    const dns = `${name}.bench`;
    openssl(['ecparam', '-name', 'prime256v1', '-genkey', '-noout', '-out', `${base}.key`]);
    openssl(['req', '-new', '-key', `${base}.key`, '-subj', '/O=cluster.local', '-out', `${base}.csr`]);
    writeFileSync(`${base}.ext`, [`subjectAltName=URI:${spiffe},DNS:${dns}`, 'extendedKeyUsage=serverAuth,clientAuth', 'keyUsage=critical,digitalSignature,keyEncipherment', 'basicConstraints=CA:FALSE', ''].join('\n'));
    openssl(['x509', '-req', '-in', `${base}.csr`, '-CA', ca, '-CAkey', caKey, '-CAcreateserial', '-days', '1', '-extfile', `${base}.ext`, '-out', `${base}.crt`]);
    return { cert: `${base}.crt`, key: `${base}.key`, spiffe, dns };
  };
  return { ca, server: leaf('reviews', 'bookinfo-reviews'), client: leaf('productpage', 'bookinfo-productpage') };
}

/** The server sidecar's inbound listeners terminate mutual TLS only (STRICT), verifying the client against the CA. */
export function withInboundMtls(s: ProxySnapshot, pki: BenchPki): ProxySnapshot {
  return {
    ...s,
    listeners: s.listeners.map((l) =>
      l.direction !== 'inbound'
        ? l
        : {
            ...l,
            filterChains: [
              {
                name: 'mtls',
                transport: {
                  mode: 'STRICT',
                  tls: { mode: 'MUTUAL', certificate: { file: pki.server.cert }, privateKey: { file: pki.server.key }, caCertificates: { file: pki.ca }, subjectAltNames: [pki.client.spiffe] },
                },
              },
            ],
          },
    ),
  };
}

/** The client sidecar's outbound clusters originate mutual TLS with its certificate, checking the server's SPIFFE id. */
export function withOutboundMtls(s: ProxySnapshot, pki: BenchPki): ProxySnapshot {
  return {
    ...s,
    clusters: s.clusters.map((c) =>
      !c.name.startsWith('outbound|')
        ? c
        : { ...c, tls: { mode: 'MUTUAL', clientCertificate: { file: pki.client.cert }, privateKey: { file: pki.client.key }, caCertificates: { file: pki.ca }, subjectAltNames: [pki.server.spiffe] } },
    ),
  };
}

/** One nginx of the pair run inside another program (callgrind) instead of pinned to the proxy core. */
export interface WrappedNginx {
  side: 'client' | 'server';
  wrap: (command: string, args: readonly string[]) => { command: string; args: string[] };
  /** Directory names are suffixed with this, so several pairs can be started in one work directory. */
  tag: string;
}

/**
 * Two nginx, one worker each: plaintext in, mutual TLS between them, keep-alive pools on both
 * upstreams. A wrapped one runs as a single process (`master_process off`): its one process is the
 * one that serves, and the one callgrind counts.
 */
export async function startNginxMtlsPair(tools: Tools, nginx: string, workDir: string, app: Endpoint, pki: BenchPki, wrapped?: WrappedNginx): Promise<RunningPeer & { back: RunningPeer['process'] }> {
  const nginxV = nginxBuildInfo(nginx);
  const suffix = wrapped === undefined ? '' : `-${wrapped.tag}`;
  const backDir = join(workDir, `nginx-mtls-server${suffix}`);
  const frontDir = join(workDir, `nginx-mtls-client${suffix}`);
  const single = (side: WrappedNginx['side']): string => (wrapped?.side === side ? 'master_process off;\n' : '');
  mkdirSync(backDir, { recursive: true });
  mkdirSync(frontDir, { recursive: true });
  const back = { address: '127.0.0.1', port: await freePort() };
  const front = { address: '127.0.0.1', port: await freePort() };
  writeFileSync(
    join(backDir, 'nginx.conf'),
    single('server') + nginxConfig(
      backDir,
      nginxV,
      `  upstream app { server ${app.address}:${app.port}; keepalive 64; keepalive_requests 1000000; }
  server {
    listen ${back.address}:${back.port} ssl;
    ssl_certificate ${pki.server.cert};
    ssl_certificate_key ${pki.server.key};
    ssl_client_certificate ${pki.ca};
    ssl_verify_client on;
    ssl_protocols TLSv1.3;
    location / { proxy_pass http://app; proxy_http_version 1.1; proxy_set_header Connection ""; }
  }`,
    ),
  );
  writeFileSync(
    join(frontDir, 'nginx.conf'),
    single('client') + nginxConfig(
      frontDir,
      nginxV,
      `  upstream mesh { server ${back.address}:${back.port}; keepalive 64; keepalive_requests 1000000; }
  server {
    listen ${front.address}:${front.port};
    location / {
      proxy_pass https://mesh;
      proxy_http_version 1.1;
      proxy_set_header Connection "";
      proxy_ssl_certificate ${pki.client.cert};
      proxy_ssl_certificate_key ${pki.client.key};
      proxy_ssl_trusted_certificate ${pki.ca};
      proxy_ssl_verify on;
      proxy_ssl_name ${pki.server.dns};
      proxy_ssl_protocols TLSv1.3;
      proxy_ssl_session_reuse on;
    }
  }`,
    ),
  );
  const command = (side: WrappedNginx['side'], dir: string): { command: string; args: string[] } => {
    const args = ['-p', dir, '-c', join(dir, 'nginx.conf')];
    return wrapped?.side === side ? wrapped.wrap(nginx, args) : pinned(tools, PROXY_CORE, nginx, args);
  };
  // valgrind takes seconds to start a program.
  const readyMs = wrapped === undefined ? undefined : 60_000;
  const backCmd = command('server', backDir);
  const backProc = start('nginx (mTLS server)', backCmd.command, backCmd.args);
  await waitForPort(back.address, back.port, backProc, readyMs);
  const frontCmd = command('client', frontDir);
  const frontProc = start('nginx (mTLS client)', frontCmd.command, frontCmd.args);
  await waitForPort(front.address, front.port, frontProc, readyMs);
  return { process: frontProc, listen: front, back: backProc };
}
