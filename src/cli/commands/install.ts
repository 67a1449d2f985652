/**
 * `skiff install` / `skiff uninstall`, as istioctl's: apply (server-side, idempotently) the objects
 * `skiff manifest generate` prints to the cluster of the kubeconfig and wait for skiffd to be
 * ready; or delete them again (the CRDs, and with them every Istio resource, only with --purge).
 */
import type { Command } from 'commander';
import { InvalidArgumentError } from 'commander';
import type { KubeClient } from '../../kube/client.js';
import { imageOf, replicas } from './manifest.js';

interface InstallOptions {
  kubeconfig?: string;
  context?: string;
  image?: string;
  replicas: number;
  timeout: number;
  wait: boolean;
  purge?: boolean;
}

function seconds(value: string): number {
  const n = Number(value.replace(/s$/, ''));
  if (!Number.isFinite(n) || n <= 0) throw new InvalidArgumentError(`not a number of seconds: ${value}`);
  return n;
}

async function connect(opts: InstallOptions): Promise<KubeClient> {
  const { KubeClient, resolveConnection } = await import('../../kube/index.js');
  return new KubeClient(resolveConnection(opts.kubeconfig, process.env, opts.context));
}

export function register(program: Command): void {
  program
    .command('install')
    .description("Install Skiff on the cluster of the kubeconfig (as istioctl install): apply the manifest, wait for skiffd")
    .option('--kubeconfig <file>', 'kubeconfig to use (default: $KUBECONFIG or ~/.kube/config)')
    .option('--context <name>', 'kubeconfig context (default: its current-context)')
    .option('--image <image>', 'the image every container runs (default: skiff:<this version>)')
    .option('--replicas <n>', "skiffd's replicas", replicas, 2)
    .option('--timeout <seconds>', 'how long to wait for skiffd to be ready', seconds, 300)
    .option('--no-wait', 'return once applied, without waiting for skiffd')
    .action(async (opts: InstallOptions) => {
      const { generateManifest } = await import('../../kube/manifest.js');
      const { applyManifest, waitForSkiffd } = await import('../../kube/install.js');
      const client = await connect(opts);
      try {
        await applyManifest(client, generateManifest({ image: await imageOf(opts.image), replicas: opts.replicas }), (line) => void process.stdout.write(`${line}\n`));
        if (opts.wait) {
          await waitForSkiffd(client, 'istio-system', opts.timeout * 1000);
          process.stdout.write('✔ skiffd is ready. Label a namespace for injection: kubectl label namespace NAME istio-injection=enabled\n');
        }
      } finally {
        client.close();
      }
    });
  program
    .command('uninstall')
    .description('Remove what skiff install applied (as istioctl uninstall); the CRDs and every Istio resource stay unless --purge')
    .option('--kubeconfig <file>', 'kubeconfig to use (default: $KUBECONFIG or ~/.kube/config)')
    .option('--context <name>', 'kubeconfig context (default: its current-context)')
    .option('--purge', 'also delete the Istio CRDs, and with them every Istio resource of the cluster')
    .action(async (opts: InstallOptions) => {
      const { generateManifest } = await import('../../kube/manifest.js');
      const { deleteManifest } = await import('../../kube/install.js');
      const client = await connect(opts);
      try {
        await deleteManifest(client, generateManifest({ image: await imageOf(undefined) }), opts.purge === true, (line) => void process.stdout.write(`${line}\n`));
      } finally {
        client.close();
      }
    });
}
