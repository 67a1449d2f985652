/** Runs real kubectl against an API server URL, with a throwaway kubeconfig and discovery cache. */
import { spawn } from 'node:child_process';
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { tool } from '../helpers/tools.js';

export const kubectlTool = tool('kubectl');

export interface KubectlResult {
  code: number | null;
  stdout: string;
  stderr: string;
}

export class Kubectl {
  private readonly dir = mkdtempSync(join(tmpdir(), 'skiff-kubectl-'));

  constructor(private readonly server: string) {
    // An empty kubeconfig: kubectl must not read the user's own clusters.
    writeFileSync(join(this.dir, 'config'), 'apiVersion: v1\nkind: Config\nclusters: []\ncontexts: []\nusers: []\n');
  }

  run(args: string[], input?: string): Promise<KubectlResult> {
    return this.spawn(args, input).done;
  }

  /** Starts kubectl and returns the child while it runs (for `get -w`). */
  spawn(args: string[], input?: string): { done: Promise<KubectlResult>; output: () => string; kill: () => void } {
    const child = spawn(kubectlTool.require(), ['--server', this.server, '--cache-dir', join(this.dir, 'cache'), ...args], {
      env: { ...process.env, KUBECONFIG: join(this.dir, 'config'), HOME: this.dir },
      stdio: ['pipe', 'pipe', 'pipe'],
    });
    let stdout = '';
    let stderr = '';
    child.stdout.setEncoding('utf8').on('data', (d: string) => (stdout += d));
    child.stderr.setEncoding('utf8').on('data', (d: string) => (stderr += d));
    const timer = setTimeout(() => child.kill('SIGKILL'), 60_000);
    const done = new Promise<KubectlResult>((resolve, reject) => {
      child.on('error', reject);
      child.on('close', (code) => {
        clearTimeout(timer);
        resolve({ code, stdout, stderr });
      });
    });
    child.stdin.end(input ?? '');
    return { done, output: () => stdout, kill: () => child.kill('SIGTERM') };
  }

  dispose(): void {
    rmSync(this.dir, { recursive: true, force: true });
  }
}
