/**
 * `skiff dashboard [--open]`: prints where the running skiffd serves the dashboard (service graph,
 * traces, config, proxies) and, with `--open`, asks the desktop to open it in a browser.
 */
import type { Command } from 'commander';
import { withStateDir } from '../state-dir-option.js';

interface DashboardOptions {
  stateDir?: string;
  open?: boolean;
}

export function register(program: Command): void {
  withStateDir(
    program
      .command('dashboard')
      .description("Print the URL of the mesh's dashboard: service graph, traces, config and proxies (like istioctl dashboard kiali)")
      .option('--open', 'also open it in the default browser (xdg-open, open or start)'),
  ).action(async (opts: DashboardOptions) => {
    const { requireSkiffd } = await import('../skiffd-client.js');
    const info = await requireSkiffd(opts.stateDir);
    if (info.dashboardUrl === undefined) {
      throw new Error(`skiffd (pid ${info.pid}) serves no dashboard: its port was taken when it started; restart it with \`skiff up --dashboard-port <port>\``);
    }
    process.stdout.write(`${info.dashboardUrl}\n`);
    if (opts.open === true) await openInBrowser(info.dashboardUrl);
  });
}

/** The platform's opener, detached and silent: no browser is no failure, the URL is printed. */
async function openInBrowser(url: string): Promise<void> {
  const { spawn } = await import('node:child_process');
  const [command, ...args] =
    process.platform === 'darwin' ? ['open', url] : process.platform === 'win32' ? ['cmd', '/c', 'start', '""', url] : ['xdg-open', url];
  await new Promise<void>((resolve) => {
    const child = spawn(command, args, { detached: true, stdio: 'ignore' });
    child.once('error', () => {
      process.stderr.write(`could not run ${command} to open a browser; open ${url} yourself\n`);
      resolve();
    });
    child.once('spawn', () => {
      child.unref();
      resolve();
    });
  });
}
