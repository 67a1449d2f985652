/**
 * `skiff up -f FILE|DIR ...`: runs the mesh locally — skiffd with the config store, the local
 * runtime (each Deployment replica a process with its sidecar, plus the ingress gateway) and the
 * push server — in the foreground until Ctrl-C, or in the background with `--detach`.
 */
import type { Command } from 'commander';
import { InvalidArgumentError } from 'commander';
import { withStateDir } from '../state-dir-option.js';
import { parseDuration } from '../../api/duration.js';
import { addMeshTelemetryOptions } from '../../telemetry/mesh-cli-options.js';
import type { UpOptions } from '../up-options.js';
import { MAX_PORT_OFFSET, withPortOffset } from '../up-ports.js';

function port(value: string): number {
  const n = Number(value);
  if (!Number.isInteger(n) || n < 0 || n > 65535) throw new InvalidArgumentError(`not a port number: ${value}`);
  return n;
}

/** `GATEWAY_PORT=LOCAL_PORT`, accumulated over repeated `--gateway-port` options. */
function portMapping(value: string, previous: Record<number, number> = {}): Record<number, number> {
  const m = /^(\d+)=(\d+)$/.exec(value);
  if (m === null) throw new InvalidArgumentError(`expected GATEWAY_PORT=LOCAL_PORT (e.g. 31400=41400), got: ${value}`);
  return { ...previous, [port(m[1])]: port(m[2]) };
}

function portOffset(value: string): number {
  const n = Number(value);
  if (!Number.isInteger(n) || n < 0 || n > MAX_PORT_OFFSET) throw new InvalidArgumentError(`not an offset between 0 and ${MAX_PORT_OFFSET}: ${value}`);
  return n;
}

/** An Istio duration (`24h`, `90s`, `1h30m`) in milliseconds, at least one second. */
function duration(value: string): number {
  const ms = parseDuration(value);
  if (ms === undefined || ms < 1000) throw new InvalidArgumentError(`not a duration of at least 1s (such as 24h, 10m, 30s): ${value}`);
  return ms;
}

function seconds(value: string): number {
  const n = Number(value.replace(/s$/, ''));
  if (!Number.isFinite(n) || n <= 0) throw new InvalidArgumentError(`not a number of seconds: ${value}`);
  return n;
}

export function register(program: Command): void {
  withStateDir(
    addMeshTelemetryOptions(program
      .command('up')
      .description('Run the mesh locally: skiffd, and every Deployment/Pod of the files as processes with sidecars')
      .argument('[files...]', 'files or directories (same as -f)')
      .option('-f, --filename <paths...>', 'manifests and Istio config: file, directory or - for stdin; repeatable')
      .option('--images <file>', "image map: container image → local command (default: this installation's samples/images.yaml)")
      .option('--ingress-port <port>', 'where the ingress gateway serves Gateway ports 80 and 8080', port, 8080)
      .option('--gateway-port <port=local>', 'serve a Gateway server port on another local port, e.g. 31400=41400 (repeatable; unmapped ports are served on their own number)', portMapping)
      .option('--api-port <port>', "skiffd's HTTP API on 127.0.0.1 (0 = any free port)", port, 15080)
      .option('--push-port <port>', 'where proxies stream their config from, on 127.0.0.1 (0 = any free port)', port, 15010)
      .option('--dashboard-port <port>', 'the dashboard on 127.0.0.1 (0 = any free port; default 20001, left out when taken)', port)
      .option('--port-offset <n>', 'add N to every fixed port not given (ingress 8080, HTTPS gateway 8443, API 15080, push 15010, dashboard 20001): a second mesh beside the first', portOffset)
      .option('-n, --namespace <namespace>', 'namespace for resources that name none (default: default)')
      .option('-d, --detach', 'run in the background; return once every workload is ready')
      .option('--timeout <seconds>', 'with --detach: how long to wait for every workload to be ready', seconds, 120)
      .option('--no-runtime', 'run no workloads: config store, API and push server only')
      .option('--no-sidecars', 'run the apps without sidecars (no mesh, no gateway)')
      .option('--ca-certs <dir>', "the mesh CA's signing certificate and key, laid out as Istio's cacerts (ca-cert.pem, ca-key.pem, root-cert.pem, cert-chain.pem); default: a self-signed root kept in the state directory")
      .option('--workload-cert-ttl <duration>', 'lifetime of workload certificates, e.g. 24h, 10m, 30s (default 24h); proxies renew theirs halfway through', duration)
      .option('-v, --verbose', 'also show every config push and proxy connection')),
  )
    .addHelpText('after', '\nStop with Ctrl-C (foreground) or `skiff down`. Config applied while it runs (`skiff apply`) takes effect at once.')
    .action(async (files: string[], given: UpOptions, command: Command) => {
      const opts = withPortOffset(given, (name) => command.getOptionValueSource(name) === 'cli');
      const { resolveStateDir } = await import('../../config/state-dir.js');
      const { readSkiffdInfo } = await import('../skiffd-client.js');
      const stateDir = resolveStateDir(opts.stateDir);
      const running = await readSkiffdInfo(stateDir);
      if (running !== undefined) {
        throw new Error(`skiffd is already running for ${stateDir} (pid ${running.pid}, API ${running.apiUrl}); change config with \`skiff apply\`, stop it with \`skiff down\``);
      }
      const paths = [...(opts.filename ?? []), ...files];
      const { readFileArgs } = await import('../read-files.js');
      const { printRefusal } = await import('../apply-report.js');
      const read = await readFileArgs(paths);
      if (read.errors.length > 0) {
        process.exitCode = printRefusal(read.errors, read.files, 'applied');
        return;
      }
      // Refuse a bad file before starting anything, as apply would.
      const { loadForApply } = await import('../../config/store-input.js');
      const checked = loadForApply(read.inputs, opts.namespace);
      if (!checked.ok) {
        process.exitCode = printRefusal(checked.findings, read.files, 'applied');
        return;
      }
      const input = { stateDir, inputs: read.inputs, files: read.files, opts };
      if (opts.detach === true) {
        const { runDetached } = await import('../up-detach.js');
        process.exitCode = await runDetached(input);
        return;
      }
      const { runForeground } = await import('../up-foreground.js');
      process.exitCode = await runForeground(input);
      // Everything this process started has stopped; stray timers must not keep it alive.
      process.exit();
    });
}
