/**
 * `skiff version [--remote=false] [-o json]`, as istioctl version prints it: the client's version
 * and, when a skiffd runs on the state directory, the control plane's.
 */
import type { Command } from 'commander';
import { InvalidArgumentError, Option } from 'commander';
import { withStateDir } from '../state-dir-option.js';

interface VersionOptions {
  remote: boolean;
  output?: string;
  stateDir?: string;
}

function parseBool(value: string): boolean {
  if (/^(true|yes|1)$/i.test(value)) return true;
  if (/^(false|no|0)$/i.test(value)) return false;
  throw new InvalidArgumentError(`must be true or false (got "${value}")`);
}

export function register(program: Command): void {
  withStateDir(
    program
      .command('version')
      .description("Print the client's version and, when skiffd runs, the control plane's (like istioctl version)")
      .addOption(new Option('--remote [bool]', "also ask the running skiffd for its version (--remote=false: the client's only)").default(true).argParser(parseBool))
      .option('-o, --output <format>', 'json or yaml instead of lines'),
  ).action(async (opts: VersionOptions) => {
    if (opts.output !== undefined && opts.output !== 'json' && opts.output !== 'yaml') throw new InvalidArgumentError(`unknown output format "${opts.output}" (use json or yaml)`);
    const { SKIFF_VERSION: client } = await import('../../controlplane/build-info.js');
    let controlPlane: string | undefined;
    if (opts.remote) {
      const { readSkiffdInfo, apiRequest } = await import('../skiffd-client.js');
      const info = await readSkiffdInfo(opts.stateDir);
      if (info !== undefined) controlPlane = ((await apiRequest(info, 'GET', '/api/v1/status')) as { version?: string }).version ?? 'unknown';
    }
    const body = { clientVersion: { version: client }, ...(controlPlane !== undefined ? { meshVersion: [{ Component: 'skiffd', Info: { version: controlPlane } }] } : {}) };
    if (opts.output === 'json') {
      process.stdout.write(`${JSON.stringify(body, null, 2)}\n`);
      return;
    }
    if (opts.output === 'yaml') {
      const { stringify } = await import('yaml');
      process.stdout.write(stringify(body));
      return;
    }
    const lines = [`client version: ${client}`];
    if (controlPlane !== undefined) lines.push(`control plane version: ${controlPlane}`);
    else if (opts.remote) lines.push('control plane version: none (skiffd is not running on this state directory)');
    process.stdout.write(`${lines.join('\n')}\n`);
  });
}
