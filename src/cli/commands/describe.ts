/**
 * `skiff describe KIND [NAME...]` or `skiff describe KIND/NAME` (like kubectl describe): a pod
 * with its containers' state and why it does not run (a waiting pod's reason and how to fix it),
 * a Deployment with its replica counts, pods and their reasons, any other resource with its spec.
 * A NAME that matches nothing exactly matches the names it begins (as kubectl does), so
 * `skiff describe pods reviews` shows every reviews pod.
 */
import type { Command } from 'commander';
import { InvalidArgumentError } from 'commander';
import { withStateDir } from '../state-dir-option.js';

interface DescribeOptions {
  namespace?: string;
  allNamespaces?: boolean;
  stateDir?: string;
}

/** `deploy/reviews` → kind and name; a bare kind keeps the names given after it. */
function target(first: string, rest: readonly string[]): { kind: string; names: string[] } {
  const slash = first.indexOf('/');
  if (slash < 0) return { kind: first, names: [...rest] };
  if (rest.length > 0) throw new InvalidArgumentError(`there is no need to specify a resource type as a separate argument when passing arguments in resource/name form (got "${first}" and "${rest.join(' ')}")`);
  return { kind: first.slice(0, slash), names: [first.slice(slash + 1)] };
}

/** Exact names, else the names each one begins. */
function matching<T>(items: readonly T[], nameOf: (t: T) => string, names: readonly string[]): { found: T[]; missing: string[] } {
  if (names.length === 0) return { found: [...items], missing: [] };
  const found: T[] = [];
  const missing: string[] = [];
  for (const n of names) {
    const exact = items.filter((i) => nameOf(i) === n);
    const hits = exact.length > 0 ? exact : items.filter((i) => nameOf(i).startsWith(n));
    if (hits.length === 0) missing.push(n);
    for (const h of hits) if (!found.includes(h)) found.push(h);
  }
  return { found, missing };
}

export function register(program: Command): void {
  withStateDir(
    program
      .command('describe')
      .description('Show a resource in detail (like kubectl describe): pods with why they do not run, Deployments with their pods')
      .argument('<kind>', 'kind (pods, deploy, svc, vs, dr, ...) or KIND/NAME')
      .argument('[names...]', 'names, or name prefixes')
      .option('-n, --namespace <namespace>', 'namespace (default: default)')
      .option('-A, --all-namespaces', 'across all namespaces'),
  ).action(async (first: string, rest: string[], opts: DescribeOptions) => {
    const { kind, names } = target(first, rest);
    const { findKind } = await import('../../config/store-keys.js');
    const def = findKind(kind);
    if (def === undefined) throw new InvalidArgumentError(`the server doesn't have a resource type "${kind}"`);
    const { resolveStateDir } = await import('../../config/state-dir.js');
    const { configClient } = await import('../config-client.js');
    const text = await import('../describe-text.js');
    const client = await configClient(resolveStateDir(opts.stateDir));
    const namespace = def.namespaced && opts.allNamespaces !== true ? (opts.namespace ?? 'default') : undefined;
    const inNs = (ns: string | undefined): boolean => namespace === undefined || (ns ?? 'default') === namespace;
    const resourceName = def.group === '' ? def.plural : `${def.plural}.${def.group}`;
    const now = Date.now();
    const pods = (await client.pods()) ?? [];
    let blocks: string[];
    let missing: string[];
    if (def.kind === 'Pod') {
      if (client.skiffd === undefined) throw new Error('skiffd is not running: pods exist while `skiff up` runs');
      const m = matching(pods.filter((p) => inNs(p.namespace)), (p) => p.name, names);
      blocks = m.found.map((p) => text.describePod(p));
      missing = m.missing;
    } else {
      const items = (await client.list({ group: def.group, kind: def.kind })).filter((r) => inNs(r.metadata.namespace));
      const m = matching(items, (r) => r.metadata.name, names);
      missing = m.missing;
      blocks = m.found.map((r) =>
        def.kind === 'Deployment'
          ? text.describeDeployment(r, pods.filter((p) => p.deployment === r.metadata.name && p.namespace === (r.metadata.namespace ?? 'default')), now)
          : text.describeResource(r, now),
      );
    }
    if (blocks.length === 0 && missing.length === 0) {
      process.stderr.write(`No resources found${namespace !== undefined ? ` in ${namespace} namespace` : ''}.\n`);
      return;
    }
    process.stdout.write(blocks.join('\n\n'));
    for (const n of missing) process.stderr.write(`Error from server (NotFound): ${resourceName} "${n}" not found\n`);
    if (missing.length > 0) process.exitCode = 1;
  });
}
