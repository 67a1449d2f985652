/**
 * `skiff get KIND[,KIND...] [NAME...] | KIND/NAME... [-n NS | -A] [-l SELECTOR] [--show-labels]
 * [-o yaml|json|wide|name|jsonpath=TEMPLATE] [-w]`: lists stored resources like kubectl get,
 * from the running skiffd or the state directory; `pods` are the local runtime's replicas (as
 * Pod objects with -o json|yaml), `ns` the namespaces in use, `all` pods, services and
 * deployments. `-w` goes on printing changes: resources through skiffd's watch API, pods as the
 * runtime reports them.
 */
import type { Command } from 'commander';
import { InvalidArgumentError } from 'commander';
import type { KindDef, Resource } from '../../api/types.js';
import type { PodStatus } from '../../runtime/types.js';
import type { Output, Scope, Section } from '../get-output.js';
import type { ApiEndpoint } from '../skiffd-client.js';
import { withStateDir } from '../state-dir-option.js';

interface GetOptions {
  namespace?: string;
  allNamespaces?: boolean;
  output?: string;
  selector?: string;
  showLabels?: boolean;
  watch?: boolean;
  stateDir?: string;
}

/** `-o` refused by the option parser, as kubectl refuses it; a JSONPath template is parsed later. */
function outputFormat(v: string): string {
  if (['wide', 'yaml', 'json', 'name'].includes(v) || v.startsWith('jsonpath=')) return v;
  throw new InvalidArgumentError(`unknown output format "${v}" (use yaml, json, wide, name or jsonpath=TEMPLATE)`);
}

/** kubectl's `all` category, as far as the local runtime has its kinds. */
const ALL = ['pods', 'services', 'deployments'];
const KNOWN = 'vs, dr, gw, se, sidecars, we, pa, ap, ra, telemetries, svc, deploy, pods, ns, sa, cm, secrets, all';

interface Request {
  defs: KindDef[];
  names: string[];
  /** Names given as KIND/NAME: each applies to its own kind only. */
  pairs?: { def: KindDef; name: string }[];
}

async function parseRequest(args: readonly string[]): Promise<Request> {
  const { findKind } = await import('../../config/store-keys.js');
  const kind = (name: string): KindDef => {
    const def = findKind(name);
    if (def === undefined) throw new InvalidArgumentError(`the server doesn't have a resource type "${name}" (known: ${KNOWN})`);
    return def;
  };
  const [first, ...rest] = args;
  if (first.includes('/')) {
    const pairs = args.map((a) => {
      const slash = a.indexOf('/');
      if (slash < 0) throw new InvalidArgumentError(`arguments in resource/name form must have a single resource and name (got "${a}")`);
      return { def: kind(a.slice(0, slash)), name: a.slice(slash + 1) };
    });
    const defs: KindDef[] = [];
    for (const p of pairs) if (!defs.includes(p.def)) defs.push(p.def);
    return { defs, names: [], pairs };
  }
  const defs: KindDef[] = [];
  for (const part of first.split(',').filter((p) => p !== '')) {
    for (const name of part.toLowerCase() === 'all' ? ALL : [part]) {
      const def = kind(name);
      if (!defs.includes(def)) defs.push(def);
    }
  }
  if (defs.length === 0) throw new InvalidArgumentError('name a resource type: get KIND [NAME...]');
  return { defs, names: rest };
}

export function register(program: Command): void {
  withStateDir(
    program
      .command('get')
      .description('List resources (like kubectl get); `get pods` lists the running replicas, `get ns` the namespaces in use')
      .argument('<kind>', `kind, or kinds separated by commas, or KIND/NAME (${KNOWN})`)
      .argument('[names...]', 'only these resources (or more KIND/NAME)')
      .option('-n, --namespace <namespace>', 'namespace (default: default)')
      .option('-A, --all-namespaces', 'list across all namespaces')
      .option('-l, --selector <selector>', 'label selector: key=value, key!=value, key, !key, key in (a,b), key notin (a,b), joined by commas')
      .option('--show-labels', 'show every label as the last column')
      .option('-o, --output <format>', 'yaml, json, wide, name or jsonpath=TEMPLATE (kubectl\'s JSONPath template)', outputFormat)
      .option('-w, --watch', 'after listing, print each change (needs a running skiffd)'),
  ).action(async (first: string, more: string[], opts: GetOptions) => {
    const { parseOutput, render } = await import('../get-output.js');
    const { parseSelector } = await import('../label-selector.js');
    const req = await parseRequest([first, ...more]);
    const output: Output = opts.output !== undefined ? parseOutput(opts.output) : { kind: 'table' };
    let selector;
    try {
      selector = parseSelector(opts.selector ?? '');
    } catch (err) {
      throw new InvalidArgumentError(err instanceof Error ? err.message : String(err));
    }
    const all = opts.allNamespaces === true;
    const namespace = all ? undefined : (opts.namespace ?? 'default');
    const { resolveStateDir } = await import('../../config/state-dir.js');
    const { configClient } = await import('../config-client.js');
    const client = await configClient(resolveStateDir(opts.stateDir));
    if (opts.watch === true && client.skiffd === undefined) throw new Error('skiffd is not running: -w follows the changes a running skiffd makes; start it with `skiff up`');
    // Watching starts from the version before the list, so no change between the two is missed.
    const fromVersion = opts.watch === true && client.skiffd !== undefined ? await storeVersion(client.skiffd) : 0;

    const pods = await client.pods();
    const everything = req.defs.some((d) => d.kind === 'Namespace') ? await client.list({}) : undefined;
    const sections: Section[] = [];
    const missing: string[] = [];
    for (const def of req.defs) {
      const names = req.pairs !== undefined ? req.pairs.filter((p) => p.def === def).map((p) => p.name) : req.names;
      const scope: Scope = { namespace, names, selector };
      const section = await collect(def, scope, { client, pods, everything });
      if (section === undefined) continue;
      sections.push(section);
      const found = 'pods' in section ? section.pods.map((p) => p.name) : section.resources.map((r) => r.metadata.name);
      const resourceName = def.group === '' ? def.plural : `${def.plural}.${def.group}`;
      for (const n of names) if (!found.includes(n)) missing.push(`Error from server (NotFound): ${resourceName} "${n}" not found`);
    }
    if (req.defs.length === 1 && req.defs[0].kind === 'Pod' && pods === undefined) {
      process.stderr.write(`No resources found${namespace !== undefined ? ` in ${namespace} namespace` : ''} (skiffd is not running: pods exist while \`skiff up\` runs).\n`);
      return;
    }
    if (client.podsNote !== undefined && pods !== undefined && req.defs.some((d) => d.kind === 'Pod')) process.stderr.write(client.podsNote);
    const { now, single } = { now: Date.now(), single: req.names.length + (req.pairs?.length ?? 0) === 1 && req.defs.length === 1 };
    const table = { allNamespaces: all, showLabels: opts.showLabels === true, qualify: req.defs.length > 1, ctx: { now, ...(pods !== undefined ? { pods } : {}) }, single };
    const text = render(sections, output, table);
    const empty = sections.every((s) => ('pods' in s ? s.pods.length === 0 : s.resources.length === 0));
    if (empty && missing.length === 0 && (output.kind === 'table' || output.kind === 'wide')) {
      process.stderr.write(`No resources found${namespace !== undefined ? ` in ${namespace} namespace` : ''}.\n`);
    } else process.stdout.write(text);
    for (const m of missing) process.stderr.write(`${m}\n`);
    process.exitCode = missing.length > 0 ? 1 : 0;
    if (opts.watch !== true || client.skiffd === undefined) return;
    const { watchSections } = await import('../get-watch.js');
    await watchSections(client.skiffd, fromVersion, sections, output, { ...table, wide: output.kind === 'wide', header: empty }, { namespace, names: req.names, selector });
  });
}

async function storeVersion(endpoint: ApiEndpoint): Promise<number> {
  const { apiRequest } = await import('../skiffd-client.js');
  return ((await apiRequest(endpoint, 'GET', '/api/v1/status')) as { resourceVersion: number }).resourceVersion;
}

interface Sources {
  client: { list(filter: { group?: string; kind?: string; namespace?: string }): Promise<Resource[]> };
  pods: PodStatus[] | undefined;
  /** Every resource, when namespaces in use are asked for. */
  everything: Resource[] | undefined;
}

/** The items of `def` in scope; undefined for pods when no skiffd runs. */
async function collect(def: KindDef, scope: Scope, src: Sources): Promise<Section | undefined> {
  const { inScope, namespacesInUse } = await import('../get-output.js');
  if (def.kind === 'Pod') {
    if (src.pods === undefined) return undefined;
    return { def, pods: inScope(src.pods, scope, (p) => p, true) };
  }
  if (def.kind === 'Namespace') {
    const namespaces = namespacesInUse(src.everything ?? [], src.pods ?? []);
    return { def, resources: inScope(namespaces, scope, (r) => r.metadata, false) };
  }
  const items = await src.client.list({ group: def.group, kind: def.kind, ...(def.namespaced && scope.namespace !== undefined ? { namespace: scope.namespace } : {}) });
  return { def, resources: inScope(items, scope, (r) => r.metadata, def.namespaced) };
}
