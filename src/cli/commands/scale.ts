/**
 * `skiff scale deploy/NAME --replicas N [-n NS]` (or `scale deployment NAME`), like kubectl
 * scale: the stored Deployment applied again with its new replica count, through the running
 * skiffd (the runtime starts or retires replicas at once) or on the state directory.
 */
import type { Command } from 'commander';
import { InvalidArgumentError } from 'commander';
import { withStateDir } from '../state-dir-option.js';

interface ScaleOptions {
  replicas: number;
  namespace?: string;
  stateDir?: string;
}

function replicaCount(value: string): number {
  const n = Number(value);
  if (!Number.isInteger(n) || n < 0) throw new InvalidArgumentError(`must be a whole number of replicas, 0 or more (got "${value}")`);
  return n;
}

const DEPLOYMENT = ['deploy', 'deployment', 'deployments', 'deployment.apps', 'deployments.apps'];

/** `deploy/NAME`, or `deployment NAME...`: the Deployment names asked for. */
function deploymentNames(first: string, rest: readonly string[]): string[] {
  const slash = first.indexOf('/');
  if (slash >= 0) {
    const all = [first, ...rest].map((a) => {
      const at = a.indexOf('/');
      if (at < 0 || !DEPLOYMENT.includes(a.slice(0, at).toLowerCase())) throw new InvalidArgumentError(`only Deployments can be scaled (deploy/NAME), not "${a}"`);
      return a.slice(at + 1);
    });
    return all;
  }
  if (!DEPLOYMENT.includes(first.toLowerCase())) throw new InvalidArgumentError(`only Deployments can be scaled (deploy/NAME), not "${first}"`);
  if (rest.length === 0) throw new InvalidArgumentError('name the Deployment: scale deploy/NAME --replicas N');
  return [...rest];
}

export function register(program: Command): void {
  withStateDir(
    program
      .command('scale')
      .description('Set the number of replicas of Deployments (like kubectl scale)')
      .argument('<target>', 'deploy/NAME, or deployment followed by names')
      .argument('[names...]', 'more Deployments')
      .requiredOption('--replicas <n>', 'the number of replicas', replicaCount)
      .option('-n, --namespace <namespace>', 'namespace (default: default)'),
  ).action(async (first: string, rest: string[], opts: ScaleOptions) => {
    const names = deploymentNames(first, rest);
    const namespace = opts.namespace ?? 'default';
    const { resolveStateDir } = await import('../../config/state-dir.js');
    const { configClient } = await import('../config-client.js');
    const { printRefusal } = await import('../apply-report.js');
    const client = await configClient(resolveStateDir(opts.stateDir));
    let failed = false;
    for (const name of names) {
      const [current] = await client.list({ group: 'apps', kind: 'Deployment', namespace, name });
      if (current === undefined) {
        process.stderr.write(`Error from server (NotFound): deployments.apps "${name}" not found\n`);
        failed = true;
        continue;
      }
      const scaled = { ...current, spec: { ...(current.spec as object), replicas: opts.replicas } };
      const answer = await client.apply([{ name: `deployment.apps/${name}`, text: JSON.stringify(scaled) }], namespace);
      if (!answer.ok) {
        printRefusal(answer.findings, [], 'applied');
        failed = true;
        continue;
      }
      process.stdout.write(`deployment.apps/${name} scaled\n`);
    }
    process.exitCode = failed ? 1 : 0;
  });
}
