/**
 * `skiff exec WORKLOAD [-n NS] -- CMD ...`: runs a command as if inside a workload, like
 * kubectl exec: with the workload's env and HTTP_PROXY set to its sidecar, so
 * `curl http://httpbin.bar:8000/ip` goes through the mesh. The image's tools (curl, nc, fortio)
 * run as the sample clients that stand in for them.
 */
import type { Command } from 'commander';
import { withStateDir } from '../state-dir-option.js';

interface ExecOptions {
  namespace: string;
  container?: string;
  stateDir?: string;
}

export function register(program: Command): void {
  withStateDir(
    program
      .command('exec')
      .description("Run a command as if inside a workload: its env, and its sidecar as HTTP_PROXY (like kubectl exec)")
      .argument('<workload>', 'Deployment or pod name (deploy/NAME, pod/NAME)')
      .argument('<command...>', 'the command and its arguments, after --')
      .option('-n, --namespace <namespace>', 'namespace', 'default')
      .option('-c, --container <name>', "accepted for kubectl compatibility; commands always run beside the workload's app")
      .option('-i, --stdin', 'accepted for kubectl compatibility; stdin is always passed on')
      .option('-t, --tty', 'accepted for kubectl compatibility')
      .addHelpText('after', '\nExample:\n  skiff exec deploy/curl -n foo -- curl -s http://httpbin.bar:8000/ip'),
  ).action(async (workload: string, command: string[], opts: ExecOptions) => {
    const { resolveStateDir } = await import('../../config/state-dir.js');
    const { findPod, parsePodRef, podNames } = await import('../../runtime/pod-lookup.js');
    const { execCommand } = await import('../../runtime/exec.js');
    const stateDir = resolveStateDir(opts.stateDir);
    const pod = findPod(stateDir, parsePodRef(workload), opts.namespace);
    if (pod === undefined) {
      const running = podNames(stateDir, opts.namespace);
      const hint = running.length > 0 ? `pods in ${opts.namespace}: ${running.join(', ')}` : `no pods run in namespace ${opts.namespace} (start them with \`skiff up\`; state dir ${stateDir})`;
      throw new Error(`no pod or deployment "${workload}" in namespace ${opts.namespace}: ${hint}`);
    }
    process.exitCode = await execCommand(pod, command, (line) => process.stderr.write(`skiff exec: ${line}\n`));
  });
}
