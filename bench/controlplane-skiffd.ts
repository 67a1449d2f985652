/**
 * The skiffd process of the control-plane benchmark: skiffd without a runtime (config only),
 * with `workloads` sidecar workload instances put in its registry as a runtime would, workload
 * `i` behind service `svc-<i mod services>`. Run by `fork`: reports `ready` over IPC, stops on `stop`.
 *
 * argv: <state dir> <workloads> <services>
 */
import { startSkiffd } from '../src/controlplane/skiffd.js';
import type { WorkloadInstance } from '../src/registry/types.js';
import { BENCH_NAMESPACE, SERVICE_PORT, proxyId, serviceName, workloadName } from './controlplane-messages.js';
import type { SkiffdCommand, SkiffdEvent } from './controlplane-messages.js';

const send = (e: SkiffdEvent): void => void process.send?.(e);

function workload(i: number, services: number): WorkloadInstance {
  return {
    name: workloadName(i),
    namespace: BENCH_NAMESPACE,
    labels: { app: serviceName(i % services) },
    serviceAccount: 'default',
    address: '127.0.0.1',
    ready: true,
    // Ports nobody listens on: the benchmark measures config distribution, not traffic.
    meshPorts: { [SERVICE_PORT]: 20000 + (i % 40000) },
    appPorts: { [SERVICE_PORT]: SERVICE_PORT },
    containerPortNames: { [SERVICE_PORT]: 'http' },
    sidecar: { outboundPort: 15001, adminPort: 15000, proxyId: proxyId(i) },
  };
}

async function main(): Promise<void> {
  const [stateDir, workloadsArg, servicesArg] = process.argv.slice(2);
  const workloads = Number(workloadsArg);
  const services = Number(servicesArg);
  if (stateDir === undefined || !(workloads > 0) || !(services > 0)) throw new Error('usage: controlplane-skiffd <state dir> <workloads> <services>');
  const skiffd = await startSkiffd({ stateDir, apiPort: 0, pushPort: 0, dashboardPort: false, log: (line) => void process.stderr.write(`${line}\n`) });
  for (let i = 0; i < workloads; i++) skiffd.registry.upsertWorkload(workload(i, services));
  const stop = (): void => void skiffd.stop().finally(() => process.exit(0));
  process.on('message', (m: SkiffdCommand) => {
    if (m.cmd === 'stop') stop();
  });
  // The benchmark died: no orphan skiffd.
  process.on('disconnect', stop);
  send({ event: 'ready', apiUrl: skiffd.apiUrl, apiToken: skiffd.apiToken, pushUrl: skiffd.pushUrl });
}

main().catch((err: unknown) => {
  send({ event: 'error', message: err instanceof Error ? (err.stack ?? err.message) : String(err) });
  process.exit(1);
});
