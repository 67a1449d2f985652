/**
 * `skiff manifest generate`, as `istioctl manifest generate`: prints every object `skiff install`
 * applies (CRDs, namespace, RBAC, skiffd, its webhooks, the ingress gateway) as one YAML stream,
 * for `kubectl apply -f -` or review.
 */
import type { Command } from 'commander';
import { InvalidArgumentError } from 'commander';

export interface ManifestCliOptions {
  image?: string;
  replicas: number;
}

export function replicas(value: string): number {
  const n = Number(value);
  if (!Number.isInteger(n) || n < 1) throw new InvalidArgumentError(`not a replica count of at least 1: ${value}`);
  return n;
}

/** The image of this Skiff release, `skiff:<version>`, unless one is given. */
export async function imageOf(given: string | undefined): Promise<string> {
  if (given !== undefined) return given;
  const { SKIFF_VERSION } = await import('../../controlplane/build-info.js');
  return `skiff:${SKIFF_VERSION}`;
}

export function register(program: Command): void {
  const manifest = program.command('manifest').description("Skiff's installation manifest (as istioctl manifest)");
  manifest
    .command('generate')
    .description('Print the objects skiff install applies: CRDs, istio-system, RBAC, skiffd, its webhooks, the ingress gateway')
    .option('--image <image>', 'the image every container runs (default: skiff:<this version>; build it with the Dockerfile)')
    .option('--replicas <n>', "skiffd's replicas", replicas, 2)
    .action(async (opts: ManifestCliOptions) => {
      const { generateManifest } = await import('../../kube/manifest.js');
      const { stringify } = await import('yaml');
      const objects = generateManifest({ image: await imageOf(opts.image), replicas: opts.replicas });
      process.stdout.write(objects.map((o) => stringify(o, { lineWidth: 0 })).join('---\n'));
    });
}
