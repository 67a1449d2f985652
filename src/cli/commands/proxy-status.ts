/**
 * `skiff proxy-status [-o json]`: every proxy connected to skiffd with its workload, the snapshot
 * version it runs and whether it is SYNCED, STALE or NACKED (like istioctl proxy-status), plus its
 * admin and metrics URLs, and the fetch state of the JWKS its RequestAuthentication rules fetch.
 */
import type { Command } from 'commander';
import { InvalidArgumentError } from 'commander';
import type { ProxyStatusReport } from '../../controlplane/push/status-handler.js';
import { withStateDir } from '../state-dir-option.js';

interface ProxyStatusOptions {
  output: 'table' | 'json';
  stateDir?: string;
}

function output(value: string): 'table' | 'json' {
  if (value !== 'json' && value !== 'table') throw new InvalidArgumentError(`unknown output format "${value}" (use json)`);
  return value;
}

export function register(program: Command): void {
  withStateDir(
    program
      .command('proxy-status')
      .alias('ps')
      .description("List the mesh's proxies with their snapshot version and sync state (SYNCED, STALE, NACKED)")
      .option('-o, --output <format>', 'json for the full status', output, 'table'),
  )
    .addHelpText(
      'after',
      '\nSYNCED: the proxy acknowledged the last snapshot sent. STALE: a snapshot is on its way or unanswered.' +
        '\nNACKED: the proxy refused the last snapshot (the reason is printed) and serves the one in VERSION.' +
        '\nJWKS (shown when a proxy fetches key sets for RequestAuthentications): its key sets by fetch state; each one it cannot fetch is printed with the error.',
    )
    .action(async (opts: ProxyStatusOptions) => {
      const { apiGet } = await import('../skiffd-client.js');
      const { PROXY_STATUS_PATH } = await import('../../controlplane/push/status-handler.js');
      const report = await apiGet<ProxyStatusReport>(PROXY_STATUS_PATH, opts.stateDir);
      if (opts.output === 'json') {
        process.stdout.write(`${JSON.stringify(report, null, 2)}\n`);
        return;
      }
      const { leftOutLines, proxyStatusTable } = await import('../proxy-tables.js');
      if (report.proxies.length === 0) process.stderr.write('No proxies are connected to skiffd.\n');
      else process.stdout.write(proxyStatusTable(report.proxies));
      // What no proxy gets, whatever its state: said after the table, where the eye ends.
      process.stderr.write(leftOutLines(report.leftOut ?? []));
    });
}
