/**
 * `skiff skiffd --kubeconfig FILE`: runs skiffd against a Kubernetes cluster (as istiod runs in
 * one): its config from the cluster's Istio resources, Services and `istio` ConfigMap, its
 * workload instances from Pods and EndpointSlices. In a pod it finds the API server by the
 * in-cluster config.
 */
import { isIP } from 'node:net';
import type { Command } from 'commander';
import { InvalidArgumentError } from 'commander';
import { withStateDir } from '../state-dir-option.js';

function port(value: string): number {
  const n = Number(value);
  if (!Number.isInteger(n) || n < 0 || n > 65535) throw new InvalidArgumentError(`not a port number: ${value}`);
  return n;
}

function address(value: string): string {
  if (isIP(value) === 0) throw new InvalidArgumentError(`not an IP address: ${value}`);
  return value;
}

interface SkiffdCliOptions {
  kubeconfig?: string;
  context?: string;
  stateDir?: string;
  apiPort: number;
  pushPort: number;
  pushTlsPort: number;
  pushTlsAddress: string;
  rootNamespace: string;
  webhookPort: number;
  webhooks: boolean;
  proxyImage?: string;
  verbose?: boolean;
}

export function register(program: Command): void {
  withStateDir(
    program
      .command('skiffd')
      .description('Run skiffd against a Kubernetes cluster: config and workloads from its API server (in-cluster config, or --kubeconfig)')
      .option('--kubeconfig <file>', 'kubeconfig to use (default: in-cluster config inside a pod, else $KUBECONFIG or ~/.kube/config)')
      .option('--context <name>', 'kubeconfig context (default: its current-context)')
      .option('--api-port <port>', "skiffd's HTTP API on 127.0.0.1 (0 = any free port)", port, 15080)
      .option('--push-port <port>', 'where proxies stream their config from, in cleartext on 127.0.0.1 (0 = any free port)', port, 15010)
      .option('--push-tls-port <port>', "the same over TLS on every address, for proxies in pods (istiod's 15012; its certificate from the mesh CA for skiffd.<root-namespace>.svc)", port, 15012)
      .option('--push-tls-address <ip>', 'where the TLS push port listens (a node running skiffd beside other programs binds it to one address)', address, '0.0.0.0')
      .option('--root-namespace <ns>', "where the mesh config's istio ConfigMap is read", 'istio-system')
      .option('--webhook-port <port>', 'the injection and validation webhooks (HTTPS)', port, 15017)
      .option('--no-webhooks', 'serve no admission webhooks')
      .option('--proxy-image <image>', 'the image injected sidecars run (default: skiff:<this version>)')
      .option('-v, --verbose', 'also show every config push and proxy connection'),
  ).action(async (opts: SkiffdCliOptions) => {
    const { resolveStateDir } = await import('../../config/state-dir.js');
    const { runKubeSkiffd } = await import('../kube-skiffd.js');
    const { imageOf } = await import('./manifest.js');
    process.exitCode = await runKubeSkiffd({
      stateDir: resolveStateDir(opts.stateDir),
      ...(opts.kubeconfig !== undefined ? { kubeconfig: opts.kubeconfig } : {}),
      ...(opts.context !== undefined ? { context: opts.context } : {}),
      apiPort: opts.apiPort,
      pushPort: opts.pushPort,
      pushTlsPort: opts.pushTlsPort,
      pushTlsHost: opts.pushTlsAddress,
      rootNamespace: opts.rootNamespace,
      webhookPort: opts.webhooks ? opts.webhookPort : false,
      proxyImage: await imageOf(opts.proxyImage),
      verbose: opts.verbose === true,
    });
  });
}
