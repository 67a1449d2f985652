/**
 * `skiff proxy`: runs the data plane (sidecar or gateway) from a snapshot file (`--snapshot FILE`,
 * reloaded on SIGHUP) or from skiffd (`--control-plane URL --id ID`, pushed live).
 */
import type { Command } from 'commander';
import { InvalidArgumentError } from 'commander';
import { availableParallelism } from 'node:os';
import { addTelemetryOptions, telemetryRunOptions } from '../../telemetry/cli-options.js';
import type { TelemetryCliOptions } from '../../telemetry/cli-options.js';

interface ProxyCommandOptions {
  snapshot?: string;
  controlPlane?: string;
  id?: string;
  kind: 'sidecar' | 'gateway';
  workload?: string;
  namespace: string;
  serviceAccount: string;
  label?: Record<string, string>;
  adminPort: number;
  adminAddress: string;
  healthPort: number;
  healthAddress: string;
  concurrency?: number;
  drainMs: number;
  credentialFile?: string;
  controlPlaneRootCert: string;
  controlPlaneSan?: string;
}

/** Where an injected sidecar finds the mesh root: the `istio-ca-root-cert` ConfigMap's volume, as Istio mounts it. */
export const DEFAULT_CONTROL_PLANE_ROOT_CERT = '/var/run/secrets/istio/root-cert.pem';

function port(value: string): number {
  const n = Number(value);
  if (!Number.isInteger(n) || n < 0 || n > 65535) throw new InvalidArgumentError(`not a port number: ${value}`);
  return n;
}

function nonNegative(value: string): number {
  const n = Number(value);
  if (!Number.isInteger(n) || n < 0) throw new InvalidArgumentError(`must be a whole number >= 0: ${value}`);
  return n;
}

/** Istio's defaults: a sidecar runs 2 workers, a gateway one per core (its 0). */
export function workerCount(requested: number | undefined, kind: 'sidecar' | 'gateway'): number {
  const n = requested ?? (kind === 'sidecar' ? 2 : 0);
  return n === 0 ? availableParallelism() : n;
}

function controlPlaneUrl(value: string): string {
  let url: URL;
  try {
    url = new URL(value);
  } catch {
    throw new InvalidArgumentError(`not a URL: ${value} (expected http://HOST:PORT)`);
  }
  if (url.protocol !== 'http:' && url.protocol !== 'https:') {
    throw new InvalidArgumentError(`${value}: the control plane speaks HTTP/2, in cleartext (http://HOST:PORT) or over TLS (https://HOST:PORT)`);
  }
  return value;
}

function kind(value: string): 'sidecar' | 'gateway' {
  if (value !== 'sidecar' && value !== 'gateway') throw new InvalidArgumentError(`must be sidecar or gateway: ${value}`);
  return value;
}

function label(value: string, previous: Record<string, string> | undefined): Record<string, string> {
  const eq = value.indexOf('=');
  if (eq < 1) throw new InvalidArgumentError(`a label is KEY=VALUE: ${value}`);
  return { ...previous, [value.slice(0, eq)]: value.slice(eq + 1) };
}

export function register(program: Command): void {
  const cmd = program
    .command('proxy')
    .description('Run the data-plane proxy (sidecar or gateway) from a snapshot file (SIGHUP reloads it) or from skiffd')
    .option('--snapshot <file>', 'proxy snapshot (JSON, or YAML for .yaml/.yml)')
    .option('--control-plane <url>', "skiffd's push URL (http://HOST:PORT, or https://HOST:PORT over TLS as istiod's 15012): take snapshots from it, live", controlPlaneUrl)
    .option('--control-plane-root-cert <file>', 'with an https:// control plane: the root its certificate must chain to (read on every connection)', DEFAULT_CONTROL_PLANE_ROOT_CERT)
    .option('--control-plane-san <name>', "with an https:// control plane: the DNS name its certificate must carry (default: the URL's host)")
    .option('--id <id>', 'node id towards the control plane (POD.NAMESPACE for sidecars)')
    .option('--kind <kind>', 'sidecar or gateway', kind, 'sidecar')
    .option('--workload <name>', 'workload instance (pod) this proxy serves, announced to the control plane')
    .option('-n, --namespace <ns>', "the workload's namespace", 'default')
    .option('--service-account <sa>', "the workload's service account", 'default')
    .option('--label <key=value>', 'a label of the workload (repeatable)', label)
    .option('--admin-port <port>', 'admin endpoints: /config_dump /clusters /stats /listeners /ready (0 = any free port)', port, 15000)
    .option('--admin-address <address>', 'address the admin endpoints listen on', '127.0.0.1')
    .option('--health-port <port>', 'health endpoint /healthz/ready (0 = any free port)', port, 15021)
    .option('--health-address <address>', 'address the health endpoint listens on', '0.0.0.0')
    .option('--concurrency <n>', 'worker processes sharing the listeners; 0 = one per core (default: 2 for a sidecar, as Istio; one per core for a gateway)', nonNegative)
    .option('--drain-ms <ms>', 'how long connections may finish on shutdown', nonNegative, 5000)
    .option(
      '--credential-file <file>',
      "the workload's credential (the local runtime's bootstrap token): with --control-plane, the proxy gets a workload certificate from skiffd's CA, proving its workload with it, and rotates it before it expires",
    )
    .addHelpText(
      'after',
      '\nA snapshot that fails validation is refused whole (NACKed to the control plane); the proxy keeps the config it runs,' +
        '\nand keeps serving it while the control plane is away.',
    )
    .action(async (opts: ProxyCommandOptions & TelemetryCliOptions) => {
      if ((opts.snapshot === undefined) === (opts.controlPlane === undefined)) {
        throw new Error('give exactly one of --snapshot FILE and --control-plane URL');
      }
      if (opts.controlPlane !== undefined && opts.id === undefined) throw new Error('--control-plane needs --id ID');
      if (opts.credentialFile !== undefined && opts.controlPlane === undefined) throw new Error('--credential-file needs --control-plane URL (certificates come from its CA)');
      const { runProxy } = await import('../../proxy/main.js');
      const { APP_PROBERS_ENV, parseAppProbers } = await import('../../proxy/admin/app-probes.js');
      // The app's original probes, as injection keeps them for the agent: answered on the status port.
      const probersText = process.env[APP_PROBERS_ENV];
      const appProbes =
        probersText !== undefined && probersText.trim() !== ''
          ? { probers: parseAppProbers(probersText), appHost: process.env.INSTANCE_IP !== undefined && process.env.INSTANCE_IP !== '' ? process.env.INSTANCE_IP : '127.0.0.1' }
          : undefined;
      const source =
        opts.controlPlane !== undefined
          ? {
              controlPlane: {
                url: opts.controlPlane,
                ...(new URL(opts.controlPlane).protocol === 'https:'
                  ? { tls: { rootCertFile: opts.controlPlaneRootCert, serverName: opts.controlPlaneSan ?? new URL(opts.controlPlane).hostname.replace(/^\[(.*)\]$/, '$1') } }
                  : {}),
                ...(opts.credentialFile !== undefined ? { credentialFile: opts.credentialFile } : {}),
                node: {
                  id: opts.id!,
                  kind: opts.kind,
                  ...(opts.workload !== undefined
                    ? { workload: { name: opts.workload, namespace: opts.namespace, labels: opts.label ?? {}, serviceAccount: opts.serviceAccount } }
                    : {}),
                },
              },
            }
          : { snapshotFile: opts.snapshot! };
      await runProxy({
        ...source,
        adminPort: opts.adminPort,
        adminAddress: opts.adminAddress,
        healthPort: opts.healthPort,
        healthAddress: opts.healthAddress,
        concurrency: workerCount(opts.concurrency, opts.kind),
        drainMs: opts.drainMs,
        log: (line) => process.stderr.write(`skiff proxy: ${line}\n`),
        telemetry: telemetryRunOptions(opts),
        ...(appProbes !== undefined ? { appProbes } : {}),
      });
    });
  addTelemetryOptions(cmd);

  // As `pilot-agent wait`, with its flags: what injection's postStart hook runs to hold the app.
  cmd
    .command('wait')
    .description("Wait until the proxy is ready (its /healthz/ready answers 200), as pilot-agent wait; exit 1 if it is not within the timeout")
    .option('--url <url>', 'the readiness URL to poll', DEFAULT_READY_URL_TEXT)
    .option('--timeoutSeconds <n>', 'how long to wait', positive, 60)
    .option('--periodMillis <n>', 'between two polls', positive, 500)
    .option('--requestTimeoutMillis <n>', 'for each poll', positive, 500)
    .action(async (opts: { url: string; timeoutSeconds: number; periodMillis: number; requestTimeoutMillis: number }) => {
      const { waitForProxyReady } = await import('../../proxy/wait.js');
      process.stdout.write(`Waiting for the proxy to be ready (timeout: ${opts.timeoutSeconds} seconds)...\n`);
      const last = await waitForProxyReady({ url: opts.url, timeoutMs: opts.timeoutSeconds * 1000, periodMs: opts.periodMillis, requestTimeoutMs: opts.requestTimeoutMillis });
      if (last === null) {
        process.stdout.write('The proxy is ready!\n');
        return;
      }
      process.stderr.write(`skiff: timeout waiting for the proxy to become ready. Last error: ${last}\n`);
      process.exitCode = 1;
    });
}

/** pilot-agent's default; kept here so `skiff --help` does not load the module. */
const DEFAULT_READY_URL_TEXT = 'http://localhost:15021/healthz/ready';

function positive(value: string): number {
  const n = Number(value);
  if (!Number.isInteger(n) || n <= 0) throw new InvalidArgumentError(`not a positive whole number: ${value}`);
  return n;
}
