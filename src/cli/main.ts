/**
 * The `skiff` command: parses arguments and dispatches to one module per verb under
 * `commands/`. Command modules import their heavy dependencies lazily so `skiff --help`
 * stays fast.
 */
import { Command } from 'commander';
import { readFileSync } from 'node:fs';
import { registerCommands } from './commands/index.js';

const pkg = JSON.parse(readFileSync(new URL('../../../package.json', import.meta.url), 'utf8')) as { version: string };

const program = new Command('skiff')
  .description("A service mesh that speaks Istio's API: local processes or Kubernetes, the same YAML")
  .version(pkg.version)
  .showHelpAfterError()
  .configureHelp({ sortSubcommands: true });

registerCommands(program);

try {
  await program.parseAsync(process.argv);
} catch (err) {
  process.stderr.write(`skiff: ${err instanceof Error ? err.message : String(err)}\n`);
  process.exitCode = process.exitCode || 2;
}
