/**
 * A process of simulated proxies for the control-plane benchmark, driven over IPC by `fork`:
 * connects its share of the fleet, reports when all acknowledged their first snapshot, and on
 * `arm` reports when all acknowledged the next one. Separate from skiffd so the streams' client
 * side does not count as skiffd's CPU.
 */
import { connectSimFleet, waitForFleet } from '../src/controlplane/push/sim-client.js';
import type { SimProxy } from '../src/controlplane/push/sim-client.js';
import type { SimCommand, SimEvent } from './controlplane-messages.js';

const TIMEOUT_MS = 120_000;
const send = (e: SimEvent): void => void process.send?.(e);
const fail = (err: unknown): void => send({ event: 'error', message: err instanceof Error ? err.message : String(err) });

let sims: SimProxy[] = [];

async function connect(url: string, ids: string[]): Promise<void> {
  sims = await connectSimFleet(ids.length, { url, node: (i) => ({ id: ids[i], kind: 'sidecar' }), connectConcurrency: 50 });
  const lastAckAt = await waitForFleet(sims, (s) => s.lastAck !== null, TIMEOUT_MS);
  send({ event: 'synced', lastAckAt, snapshotBytes: Math.max(...sims.map((s) => s.last?.size ?? 0)) });
}

async function awaitNext(): Promise<void> {
  const before = new Map(sims.map((s) => [s, s.lastAck?.version]));
  send({ event: 'armed' });
  const lastAckAt = await waitForFleet(sims, (s) => s.lastAck !== null && s.lastAck.version !== before.get(s), TIMEOUT_MS);
  send({ event: 'acked', lastAckAt, messageBytes: Math.max(...sims.map((s) => s.last?.size ?? 0)) });
}

process.on('message', (m: SimCommand) => {
  if (m.cmd === 'connect') connect(m.url, m.ids).catch(fail);
  else if (m.cmd === 'arm') awaitNext().catch(fail);
  else void Promise.all(sims.map((s) => s.close())).finally(() => process.exit(0));
});
process.on('disconnect', () => process.exit(0));
send({ event: 'started' });
