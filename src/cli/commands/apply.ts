/**
 * `skiff apply -f FILE|DIR|-`: stores resources in the config store like `kubectl apply`, through
 * the running skiffd (whose proxies pick the change up at once) or, when none runs, in the state
 * directory for the next `skiff up`. A file with an invalid resource is refused whole.
 */
import type { Command } from 'commander';
import { collectFileArgs } from '../file-args.js';
import { withStateDir } from '../state-dir-option.js';

interface ApplyOptions {
  filename?: string[];
  namespace?: string;
  stateDir?: string;
}

export function register(program: Command): void {
  withStateDir(
    program
      .command('apply')
      .description('Apply resources from files to the config store (like kubectl apply); live when skiffd runs')
      .argument('[files...]', 'files or directories (same as -f)')
      .option('-f, --filename <paths...>', 'file, directory (searched recursively for .yaml/.yml/.json) or - for stdin; repeatable')
      .option('-n, --namespace <namespace>', 'namespace for resources that name none (default: default)'),
  )
    .addHelpText('after', '\nPrints `<kind>.<group>/<name> created|configured|unchanged` per resource.\nExit status: 0 when applied, 1 when the input was refused (nothing applied).')
    .action(async (files: string[], opts: ApplyOptions) => {
      const paths = collectFileArgs(files, opts.filename);
      const { resolveStateDir } = await import('../../config/state-dir.js');
      const { readFileArgs } = await import('../read-files.js');
      const { printApply, printRefusal } = await import('../apply-report.js');
      const { configClient } = await import('../config-client.js');
      const read = await readFileArgs(paths);
      if (read.errors.length > 0) {
        process.exitCode = printRefusal(read.errors, read.files, 'applied');
        return;
      }
      const client = await configClient(resolveStateDir(opts.stateDir));
      process.exitCode = printApply(await client.apply(read.inputs, opts.namespace), read.files);
    });
}
