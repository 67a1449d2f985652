/**
 * `skiff up` in the foreground: this process becomes skiffd (store, registry, runtime, push, API),
 * applies the given files, prints the workloads' progress and their logs, and on Ctrl-C (SIGINT),
 * SIGTERM or SIGHUP stops everything — every child process ended, every port freed — before exiting.
 */
import { resolve } from 'node:path';
import type { InputText } from '../config/sources.js';
import { colorEnabled, paint } from '../config/format.js';
import type { RuntimeContext, Skiffd } from '../controlplane/skiffd.js';
import type { LocalRuntime } from '../runtime/types.js';
import { skiffdTelemetryOptions } from '../telemetry/mesh-cli-options.js';
import { printApply } from './apply-report.js';
import type { UpOptions } from './up-options.js';

export interface ForegroundInput {
  stateDir: string;
  inputs: InputText[];
  files: string[];
  opts: UpOptions;
}

/** Runs until stopped; resolves with the exit status. */
export async function runForeground({ stateDir, inputs, files, opts }: ForegroundInput): Promise<number> {
  const color = colorEnabled(process.stdout);
  const say = (line: string): void => void process.stdout.write(`${line}\n`);
  const { startSkiffd } = await import('../controlplane/skiffd.js');
  const runtime = opts.runtime ? await runtimeFactory(opts, say) : undefined;
  const skiffd = await startSkiffd({
    stateDir,
    apiPort: opts.apiPort,
    pushPort: opts.pushPort,
    ...(opts.dashboardPort !== undefined ? { dashboardPort: opts.dashboardPort } : {}),
    ...(runtime !== undefined ? { runtime } : {}),
    ca: { ...(opts.caCerts !== undefined ? { certsDir: opts.caCerts } : {}), ...(opts.workloadCertTtl !== undefined ? { workloadCertTtlMs: opts.workloadCertTtl } : {}) },
    ...skiffdTelemetryOptions(opts),
    verbose: opts.verbose === true,
    log: (line) => say(paint(line, 'blue', color)),
  });
  const stopOnSignal = installSignalHandlers(skiffd, say);
  try {
    if (inputs.length > 0) {
      const code = printApply(await skiffd.apply(inputs, opts.namespace), files);
      if (code !== 0) {
        await skiffd.stop();
        return code;
      }
    }
    say('Ctrl-C stops everything.');
    if (skiffd.runtime !== undefined) void reportReadiness(skiffd, opts.timeout * 1000, say, color);
    await skiffd.stopped;
    return 0;
  } finally {
    stopOnSignal();
  }
}

/** How the runtime is created once skiffd knows its push URL. */
async function runtimeFactory(opts: UpOptions, say: (line: string) => void): Promise<(ctx: RuntimeContext) => LocalRuntime> {
  const { createLocalRuntime, loadImageMap } = await import('../runtime/index.js');
  const { defaultImageMap, installRoot } = await import('../runtime/install.js');
  // Without --images, the installation's sample map: Istio's sample manifests run as they are.
  const images = opts.images !== undefined ? loadImageMap(resolve(opts.images)) : defaultImageMap();
  return (ctx) =>
    createLocalRuntime({
      registry: ctx.registry,
      ...(ctx.services !== undefined ? { services: ctx.services } : {}),
      stateDir: ctx.stateDir,
      controlPlaneUrl: ctx.controlPlaneUrl,
      repoRoot: installRoot,
      images,
      ingressPort: opts.ingressPort,
      ingressPorts: opts.gatewayPort,
      sidecars: opts.sidecars,
      log: say,
    });
}

/** Prints when every workload is ready (with the ingress URL), or what is still not after the timeout. */
async function reportReadiness(skiffd: Skiffd, timeoutMs: number, say: (line: string) => void, color: boolean): Promise<void> {
  try {
    await skiffd.waitReady(timeoutMs);
  } catch (err) {
    say(paint(`not ready after ${Math.round(timeoutMs / 1000)}s: ${err instanceof Error ? err.message : String(err)}`, 'yellow', color));
    return;
  }
  const status = skiffd.status();
  say(`${paint('✔', 'green', color)} ${status.pods.ready} ${status.pods.ready === 1 ? 'pod' : 'pods'} ready${status.ingressUrl !== undefined ? `; ingress gateway at ${status.ingressUrl}` : ''}`);
  if (status.ingressUrl !== undefined) {
    const { gatewayPages } = await import('./gateway-pages.js');
    for (const page of gatewayPages(skiffd.config.list({ kind: 'VirtualService' }), status.ingressUrl)) say(`  open:      ${page}`);
  }
  if (skiffd.dashboardUrl !== undefined) say(`  dashboard: ${skiffd.dashboardUrl}`);
}

/** Ctrl-C, SIGTERM and SIGHUP stop skiffd; a second Ctrl-C while stopping says so rather than abandoning children. */
function installSignalHandlers(skiffd: Skiffd, say: (line: string) => void): () => void {
  let signalled = false;
  const onSignal = (signal: NodeJS.Signals): void => {
    if (signalled) {
      say(`still stopping (waiting for the workloads to exit); ${signal} again is ignored`);
      return;
    }
    signalled = true;
    say(`${signal}: stopping every workload and proxy...`);
    void skiffd.stop();
  };
  const signals: NodeJS.Signals[] = ['SIGINT', 'SIGTERM', 'SIGHUP'];
  for (const s of signals) process.on(s, onSignal);
  return () => {
    for (const s of signals) process.removeListener(s, onSignal);
  };
}
