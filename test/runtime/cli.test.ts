/**
 * `skiff logs` and `skiff exec` against a running local runtime's state dir: by pod and by
 * Deployment name, the sidecar's log, tailing, following, the workload's env for exec'd
 * commands, image tools mapped to the sample clients, and clear errors for unknown names.
 */
import assert from 'node:assert/strict';
import { spawn } from 'node:child_process';
import { test } from 'node:test';
import { readPodsFile } from '../../src/runtime/index.js';
import { runSkiff, skiffBin } from '../helpers/cli.js';
import { envAppDeployment, eventually, manifests, repoRoot, withRuntime } from './helpers.js';

const text = `${envAppDeployment('envy', { container: '        ports: [{containerPort: 8080}]\n        env: [{name: COLOR, value: teal}]' })}
---
apiVersion: apps/v1
kind: Deployment
metadata: {name: curl}
spec:
  selector: {matchLabels: {app: curl}}
  template:
    metadata:
      labels: {app: curl}
      annotations: {skiff.dev/command: "node dist/samples/lib/idle.js"}
    spec:
      containers: [{name: curl, image: "curlimages/curl:8.16.0", command: ["/bin/sleep", "infinity"]}]
`;

test('skiff logs and skiff exec find pods by Deployment or pod name in the state dir', { timeout: 60_000 }, async () => {
  await withRuntime({}, async ({ runtime, stateDir }) => {
    await runtime.sync(manifests(text));
    await runtime.waitReady(15_000);
    await eventually(() => (readPodsFile(stateDir)?.pods.filter((p) => p.ready).length ?? 0) === 2, 'the pod table lists both pods ready');
    const envy = runtime.pods().find((p) => p.deployment === 'envy')!;
    const port = envy.ports.app[8080];
    const s = ['--state-dir', stateDir];

    const byDeployment = await runSkiff(['logs', 'envy', ...s]);
    assert.equal(byDeployment.code, 0, byDeployment.stderr);
    assert.equal(byDeployment.stdout, `env-app listening on ${port}\n`);
    const byPod = await runSkiff(['logs', `pod/${envy.name}`, '--tail', '1', ...s]);
    assert.equal(byPod.stdout, `env-app listening on ${port}\n`);
    const proxyLog = await runSkiff(['logs', 'deploy/envy', '--proxy', ...s]);
    assert.notEqual(proxyLog.code, 0, 'no sidecar, no proxy log');
    assert.match(proxyLog.stderr, /has no proxy log/);
    const unknown = await runSkiff(['logs', 'nope', ...s]);
    assert.notEqual(unknown.code, 0);
    assert.match(unknown.stderr, /no pod or deployment "nope" in namespace default \(pods in default: .*curl-.*envy-/);

    // -f goes on printing what the app writes later.
    const follower = spawn(process.execPath, [skiffBin, 'logs', '-f', 'envy', ...s], { cwd: repoRoot, stdio: ['ignore', 'pipe', 'pipe'] });
    let followed = '';
    follower.stdout.setEncoding('utf8').on('data', (d: string) => (followed += d));
    try {
      await eventually(() => followed.includes('listening on'), 'the existing log is printed');
      // Scaling to zero makes the app print its shutdown line, which the follower picks up.
      await runtime.sync(manifests(text).map((r) => (r.metadata.name === 'envy' ? { ...r, spec: { ...(r.spec as object), replicas: 0 } } : r)));
      await eventually(() => followed.includes('env-app stopping'), 'appended lines are followed');
    } finally {
      follower.kill('SIGINT');
    }
    await runtime.sync(manifests(text));
    await runtime.waitReady(15_000);
    await eventually(() => (readPodsFile(stateDir)?.pods.filter((p) => p.ready).length ?? 0) === 2, 'envy is back');

    const env = await runSkiff(['exec', 'envy', ...s, '--', 'node', '-e', 'console.log(process.env.HOSTNAME, process.env.COLOR)']);
    assert.equal(env.code, 0, env.stderr);
    assert.equal(env.stdout.trim(), `${runtime.pods().find((p) => p.deployment === 'envy')!.name} teal`);

    // curl is a tool of the curl image: the sample client runs, no system curl needed.
    const newPort = runtime.pods().find((p) => p.deployment === 'envy')!.ports.app[8080];
    const curl = await runSkiff(['exec', 'deploy/curl', ...s, '--', 'curl', '-s', `http://127.0.0.1:${newPort}/healthz`]);
    assert.equal(curl.code, 0, curl.stderr);
    assert.equal(curl.stdout, 'ok');

    const status = await runSkiff(['exec', 'curl', ...s, '--', 'node', '-e', 'process.exit(7)']);
    assert.equal(status.code, 7, 'the command exit status is passed on');
    const missing = await runSkiff(['exec', 'curl', ...s, '--', 'no-such-program-here']);
    assert.equal(missing.code, 127);
    assert.match(missing.stderr, /no-such-program-here: command not found \(tools of curlimages\/curl:8\.16\.0: curl, nc\)/);
    const nowhere = await runSkiff(['exec', 'curl', '-n', 'elsewhere', ...s, '--', 'curl', 'x']);
    assert.notEqual(nowhere.code, 0);
    assert.match(nowhere.stderr, /no pod or deployment "curl" in namespace elsewhere: no pods run in namespace elsewhere/);
  });
});
