/**
 * `skiff proxy --snapshot FILE`: runs the data plane (sidecar or gateway) from a snapshot file,
 * reloading it on SIGHUP.
 */
import type { Command } from 'commander';
import { InvalidArgumentError } from 'commander';

interface ProxyCommandOptions {
  snapshot: string;
  adminPort: number;
  adminAddress: string;
  healthPort: number;
  healthAddress: string;
  concurrency: number;
  drainMs: number;
}

function port(value: string): number {
  const n = Number(value);
  if (!Number.isInteger(n) || n < 0 || n > 65535) throw new InvalidArgumentError(`not a port number: ${value}`);
  return n;
}

function positive(value: string): number {
  const n = Number(value);
  if (!Number.isInteger(n) || n < 1) throw new InvalidArgumentError(`must be a whole number >= 1: ${value}`);
  return n;
}

function nonNegative(value: string): number {
  const n = Number(value);
  if (!Number.isInteger(n) || n < 0) throw new InvalidArgumentError(`must be a whole number >= 0: ${value}`);
  return n;
}

export function register(program: Command): void {
  program
    .command('proxy')
    .description('Run the data-plane proxy (sidecar or gateway) from a snapshot file; SIGHUP reloads it')
    .requiredOption('--snapshot <file>', 'proxy snapshot (JSON, or YAML for .yaml/.yml)')
    .option('--admin-port <port>', 'admin endpoints: /config_dump /clusters /stats /listeners /ready (0 = any free port)', port, 15000)
    .option('--admin-address <address>', 'address the admin endpoints listen on', '127.0.0.1')
    .option('--health-port <port>', 'health endpoint /healthz/ready (0 = any free port)', port, 15021)
    .option('--health-address <address>', 'address the health endpoint listens on', '0.0.0.0')
    .option('--concurrency <n>', 'worker processes sharing the listeners', positive, 1)
    .option('--drain-ms <ms>', 'how long connections may finish on shutdown', nonNegative, 5000)
    .addHelpText('after', '\nA snapshot that fails validation is refused whole; the proxy keeps the config it runs.')
    .action(async (opts: ProxyCommandOptions) => {
      const { runProxy } = await import('../../proxy/main.js');
      await runProxy({
        snapshotFile: opts.snapshot,
        adminPort: opts.adminPort,
        adminAddress: opts.adminAddress,
        healthPort: opts.healthPort,
        healthAddress: opts.healthAddress,
        concurrency: opts.concurrency,
        drainMs: opts.drainMs,
        log: (line) => process.stderr.write(`skiff proxy: ${line}\n`),
      });
    });
}
