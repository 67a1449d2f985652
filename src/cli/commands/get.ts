/**
 * `skiff get KIND [NAME...] [-n NS | -A] [-o yaml|json|wide|name]`: lists stored resources like
 * kubectl get, from the running skiffd or the state directory; `get pods` lists the local
 * runtime's replicas (NAME READY STATUS RESTARTS AGE PORTS).
 */
import type { Command } from 'commander';
import { InvalidArgumentError } from 'commander';
import type { Resource } from '../../api/types.js';
import type { PodStatus } from '../../runtime/types.js';
import { withStateDir } from '../state-dir-option.js';

interface GetOptions {
  namespace?: string;
  allNamespaces?: boolean;
  output?: string;
  stateDir?: string;
}

type Output = 'table' | 'wide' | 'yaml' | 'json' | 'name';

function parseOutput(v: string): Output {
  if (v === 'wide' || v === 'yaml' || v === 'json' || v === 'name') return v;
  throw new InvalidArgumentError(`unknown output format "${v}" (use yaml, json, wide or name)`);
}

export function register(program: Command): void {
  withStateDir(
    program
      .command('get')
      .description('List resources (like kubectl get); `get pods` lists the running replicas')
      .argument('<kind>', 'kind: name, plural or short name (vs, dr, gw, se, pa, ap, ra, svc, deploy, pods, ns, sa, cm)')
      .argument('[names...]', 'only these resources')
      .option('-n, --namespace <namespace>', 'namespace (default: default)')
      .option('-A, --all-namespaces', 'list across all namespaces')
      .option('-o, --output <format>', 'yaml, json, wide or name', parseOutput),
  ).action(async (kindName: string, names: string[], opts: GetOptions) => {
    const { findKind } = await import('../../config/store-keys.js');
    const def = findKind(kindName);
    if (def === undefined) {
      throw new InvalidArgumentError(`the server doesn't have a resource type "${kindName}" (known: vs, dr, gw, se, sidecars, we, pa, ap, ra, telemetries, svc, deploy, pods, ns, sa, cm, secrets)`);
    }
    const { resolveStateDir } = await import('../../config/state-dir.js');
    const { configClient } = await import('../config-client.js');
    const client = await configClient(resolveStateDir(opts.stateDir));
    const all = opts.allNamespaces === true;
    const namespace = def.namespaced && !all ? (opts.namespace ?? 'default') : undefined;
    const output = (opts.output as Output | undefined) ?? 'table';
    const where = namespace !== undefined ? ` in ${namespace} namespace` : '';
    const pods = await client.pods();

    if (def.kind === 'Pod') {
      if (pods === undefined) {
        process.stderr.write(`No resources found${where} (skiffd is not running: pods exist while \`skiff up\` runs).\n`);
        return;
      }
      const shown = pods.filter((p) => (namespace === undefined || p.namespace === namespace) && (names.length === 0 || names.includes(p.name)));
      process.exitCode = notFound(names, shown.map((p) => p.name), 'pods');
      await printPods(shown, output, all, where, names.length === 1);
      return;
    }

    const items = await client.list({ group: def.group, kind: def.kind, ...(namespace !== undefined ? { namespace } : {}) });
    const shown = names.length === 0 ? items : items.filter((r) => names.includes(r.metadata.name));
    const resourceName = def.group === '' ? def.plural : `${def.plural}.${def.group}`;
    process.exitCode = notFound(names, shown.map((r) => r.metadata.name), resourceName);
    if (shown.length === 0 && names.length === 0 && (output === 'table' || output === 'wide')) {
      process.stderr.write(`No resources found${where}.\n`);
      return;
    }
    const { kubectlRef } = await import('../../config/store-keys.js');
    const display = shown.map((r) => (def.topLevel ? withoutSpec(r) : r));
    switch (output) {
      case 'json':
      case 'yaml':
        await printObjects(display, output, names.length === 1);
        return;
      case 'name':
        for (const r of shown) process.stdout.write(`${kubectlRef({ group: def.group, kind: def.kind, name: r.metadata.name })}\n`);
        return;
      default: {
        const { resourceTable } = await import('../get-table.js');
        process.stdout.write(resourceTable(def.kind, shown, { wide: output === 'wide', allNamespaces: all && def.namespaced, ctx: { now: Date.now(), ...(pods !== undefined ? { pods } : {}) } }));
      }
    }
  });
}

/** kubectl's NotFound line for each name asked for and absent; exit status 1 when any. */
function notFound(asked: readonly string[], found: readonly string[], resourceName: string): number {
  const missing = asked.filter((n) => !found.includes(n));
  for (const n of missing) process.stderr.write(`Error from server (NotFound): ${resourceName} "${n}" not found\n`);
  return missing.length > 0 ? 1 : 0;
}

async function printPods(pods: PodStatus[], output: Output, all: boolean, where: string, single: boolean): Promise<void> {
  if (output === 'json' || output === 'yaml') {
    await printObjects(pods, output, single);
    return;
  }
  if (output === 'name') {
    for (const p of pods) process.stdout.write(`pod/${p.name}\n`);
    return;
  }
  if (pods.length === 0) {
    process.stderr.write(`No resources found${where}.\n`);
    return;
  }
  const { podTable } = await import('../get-table.js');
  process.stdout.write(podTable(pods, { wide: output === 'wide', allNamespaces: all, now: Date.now() }));
}

async function printObjects(items: readonly unknown[], format: 'json' | 'yaml', single: boolean): Promise<void> {
  const body = single && items.length === 1 ? items[0] : { apiVersion: 'v1', kind: 'List', items };
  if (format === 'json') {
    process.stdout.write(`${JSON.stringify(body, null, 2)}\n`);
    return;
  }
  const { stringify } = await import('yaml');
  process.stdout.write(stringify(body));
}

/** ConfigMap, Secret, ServiceAccount keep their fields at the top level; the store's `spec` copy is internal. */
function withoutSpec(r: Resource): Resource {
  const { spec: _spec, ...rest } = r;
  return rest as Resource;
}
