/**
 * Istio's "TCP Traffic Shifting" task on the local mesh: tcp-echo v1 (prefix `one`) and v2 (prefix
 * `two`) behind the ingress gateway's TCP port 31400. With tcp-echo-all-v1 every line comes back
 * as `one ...`; with tcp-echo-20-v2 about one connection in five comes back as `two ...`. The
 * gateway's port 31400 is served on a free local port (`skiff up --gateway-port 31400=PORT`).
 * Run with Istio's own manifests (through the image map) and with samples/tcp-echo and samples/curl.
 */
import { after, before, describe, test } from 'node:test';
import assert from 'node:assert/strict';
import net from 'node:net';
import { join } from 'node:path';
import { allocatePorts } from '../../src/runtime/ports.js';
import { repoRoot, runSkiff } from '../helpers/cli.js';
import { istioSample, skipWithoutIstioSamples } from '../helpers/shared.js';
import { binomialBounds, countOutcomes, eventually, startMesh } from './harness.js';
import type { Mesh, MeshOptions } from './harness.js';

interface Variant {
  label: string;
  skip: string | false;
  mesh: MeshOptions;
  config(file: string): string;
}

const VARIANTS: readonly Variant[] = [
  {
    label: "Istio's samples",
    skip: skipWithoutIstioSamples,
    mesh: { files: [istioSample('curl', 'curl.yaml'), istioSample('tcp-echo', 'tcp-echo-services.yaml')], images: join(repoRoot, 'samples', 'images.yaml') },
    config: (file) => istioSample('tcp-echo', file),
  },
  {
    label: 'samples/tcp-echo and samples/curl',
    skip: false,
    mesh: { files: [join(repoRoot, 'samples', 'curl', 'curl.yaml'), join(repoRoot, 'samples', 'tcp-echo', 'tcp-echo-services.yaml')] },
    config: (file) => join(repoRoot, 'samples', 'tcp-echo', file),
  },
];

/** One connection straight to the gateway's TCP port: a line out, half-close, everything that comes back. */
function echoOnce(port: number, line: string): Promise<string> {
  return new Promise((resolve, reject) => {
    const s = net.connect(port, '127.0.0.1');
    let got = '';
    s.setEncoding('utf8');
    s.on('data', (d: string) => (got += d));
    s.on('error', reject);
    s.on('close', () => resolve(got));
    s.setTimeout(10_000, () => s.destroy(new Error(`no answer from 127.0.0.1:${port} within 10 s`)));
    s.end(`${line}\n`);
  });
}

/** `one Mon Nov 12 ...` → `one`; anything else as it is, to show in a failure. */
function prefix(reply: string): string {
  const m = /^(one|two) /.exec(reply);
  return m === null ? `unexpected: ${JSON.stringify(reply)}` : m[1];
}

for (const variant of VARIANTS) {
  describe(`TCP traffic shifting (${variant.label})`, { skip: variant.skip, timeout: 180_000 }, () => {
    let mesh: Mesh | undefined;
    let tcpPort = 0;
    const started = (): Mesh => mesh ?? assert.fail('the mesh did not start');
    /** The page's `kubectl exec $SLEEP -- sh -c "(date; sleep 1) | nc $INGRESS_HOST $TCP_INGRESS_PORT"`. */
    const ncFromClient = async (): Promise<string> => {
      const args = ['exec', 'deploy/curl', '-n', 'default', '--state-dir', started().stateDir, '--', 'nc', '127.0.0.1', String(tcpPort)];
      const res = await runSkiff(args, { input: `${new Date().toString()}\n` });
      assert.equal(res.code, 0, res.stderr);
      return res.stdout;
    };

    before(async () => {
      if (variant.skip !== false) return;
      [tcpPort] = await allocatePorts(1);
      mesh = await startMesh({ ...variant.mesh, gatewayPorts: { 31400: tcpPort } });
    });
    after(async () => {
      await mesh?.stop();
    });

    test('tcp-echo-all-v1: connections through the gateway, from the client pod and from outside: every line comes back from v1 ("one ...")', async () => {
      const out = await started().apply(variant.config('tcp-echo-all-v1.yaml'));
      assert.match(out, /^gateway\.networking\.istio\.io\/tcp-echo-gateway created$/m);
      assert.match(out, /^destinationrule\.networking\.istio\.io\/tcp-echo-destination created$/m);
      assert.match(out, /^virtualservice\.networking\.istio\.io\/tcp-echo created$/m);
      const date = new Date().toString();
      const first = await ncFromClient();
      assert.match(first, /^one \S+ \S+ \d+ \d{4} \d\d:\d\d:\d\d /, 'tcp-echo answers the line with its prefix');
      const fromClient = await countOutcomes(4, async () => prefix(await ncFromClient()), 4);
      assert.deepEqual([...fromClient], [['one', 4]]);
      // The page's 20 runs, made from outside the mesh (each `skiff exec` costs a process start).
      assert.equal(await echoOnce(tcpPort, date), `one ${date}\n`, 'from outside the mesh too');
      const fromOutside = await countOutcomes(20, async () => prefix(await echoOnce(tcpPort, new Date().toString())), 4);
      assert.deepEqual([...fromOutside], [['one', 20]]);
    });

    test('tcp-echo-20-v2: about 20 % of connections come back from v2 ("two ...")', async () => {
      const out = await started().apply(variant.config('tcp-echo-20-v2.yaml'));
      assert.match(out, /^virtualservice\.networking\.istio\.io\/tcp-echo configured$/m);
      // The route may reach the gateway a moment after every proxy acknowledged it; wait for a first "two".
      await eventually(async () => prefix(await echoOnce(tcpPort, 'probe')) === 'two', 'a connection answered by v2');

      // Runs from the client pod as the page makes them: lines from either version, nothing else.
      const page = await countOutcomes(4, async () => prefix(await ncFromClient()), 4);
      for (const p of page.keys()) assert.ok(p === 'one' || p === 'two', JSON.stringify([...page]));

      // The weights apply per connection: count enough of them to bound the share of v2.
      const n = 300;
      const counts = await countOutcomes(n, async () => prefix(await echoOnce(tcpPort, 'hello')), 8);
      const two = counts.get('two') ?? 0;
      assert.equal((counts.get('one') ?? 0) + two, n, JSON.stringify([...counts]));
      const { low, high } = binomialBounds(n, 0.2);
      assert.ok(two >= low && two <= high, `${two} of ${n} connections to v2, expected ${low}..${high}`);
    });

    test('back to tcp-echo-all-v1: no connection reaches v2', async () => {
      await started().apply(variant.config('tcp-echo-all-v1.yaml'));
      await eventually(async () => {
        const counts = await countOutcomes(20, async () => prefix(await echoOnce(tcpPort, 'again')), 4);
        return counts.get('one') === 20;
      }, 'every connection to go to v1 again');
      const counts = await countOutcomes(50, async () => prefix(await echoOnce(tcpPort, 'again')), 8);
      assert.deepEqual([...counts], [['one', 50]]);
    });
  });
}
