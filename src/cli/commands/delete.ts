/**
 * `skiff delete -f FILE|DIR|-` or `skiff delete KIND NAME... [-n NS]`: removes resources from the
 * config store like `kubectl delete`, through the running skiffd or on the state directory.
 */
import type { Command } from 'commander';
import { InvalidArgumentError } from 'commander';
import { withStateDir } from '../state-dir-option.js';

interface DeleteOptions {
  filename?: string[];
  namespace?: string;
  stateDir?: string;
  ignoreNotFound?: boolean;
}

export function register(program: Command): void {
  withStateDir(
    program
      .command('delete')
      .description('Delete resources named in files, or by kind and name (like kubectl delete)')
      .argument('[kind]', 'kind (name, plural or short name: vs, dr, gw, se, svc, deploy, ...) when not using -f')
      .argument('[names...]', 'names of the resources of that kind')
      .option('-f, --filename <paths...>', 'file, directory or - for stdin naming the resources to delete; repeatable')
      .option('-n, --namespace <namespace>', 'namespace (default: default)')
      .option('--ignore-not-found', 'treat resources that do not exist as deleted'),
  )
    .addHelpText('after', '\nExit status: 0 when everything named was deleted, 1 otherwise.')
    .action(async (kind: string | undefined, names: string[], opts: DeleteOptions) => {
      const { resolveStateDir } = await import('../../config/state-dir.js');
      const { printDelete, printRefusal } = await import('../apply-report.js');
      const { configClient } = await import('../config-client.js');
      const stateDir = resolveStateDir(opts.stateDir);
      if (opts.filename !== undefined && opts.filename.length > 0) {
        if (kind !== undefined) throw new InvalidArgumentError('give either -f FILE or KIND NAME..., not both');
        const { readFileArgs } = await import('../read-files.js');
        const read = await readFileArgs(opts.filename);
        if (read.errors.length > 0) {
          process.exitCode = printRefusal(read.errors, read.files, 'deleted');
          return;
        }
        const client = await configClient(stateDir);
        process.exitCode = printDelete(await client.deleteFiles(read.inputs, opts.namespace), read.files, opts.ignoreNotFound === true);
        return;
      }
      if (kind === undefined || names.length === 0) throw new InvalidArgumentError('nothing to delete: pass -f FILE, or KIND and NAME');
      const { findKind } = await import('../../config/store-keys.js');
      const def = findKind(kind);
      if (def === undefined) throw new InvalidArgumentError(`unknown kind "${kind}"`);
      const namespace = def.namespaced ? (opts.namespace ?? 'default') : '';
      const client = await configClient(stateDir);
      const ids = names.map((name) => ({ group: def.group, kind: def.kind, namespace, name }));
      process.exitCode = printDelete(await client.deleteIds(ids), [], opts.ignoreNotFound === true);
    });
}
