/** Runs a compiled test file in a child `node --test`, the way `npm test` runs each file. */
import { spawn } from 'node:child_process';
import { join } from 'node:path';
import { repoRoot } from './cli.js';

export const distTest = join(repoRoot, 'dist', 'test');

export interface TestFileRun {
  code: number | null;
  /** What the spec reporter and the file printed, stdout and stderr interleaved. */
  output: string;
  /** Set when the file was still running at `killAfterMs` and was killed. */
  killed: boolean;
}

/**
 * Runs `file` (under dist/test) with `env` over this process's environment (an `undefined`
 * value unsets a variable). A file still running after `killAfterMs` is killed with its group's
 * leader, and the run says so: a hang shows as `killed`, never as a test that waits for ever.
 */
export function runTestFile(file: string, env: Record<string, string | undefined> = {}, killAfterMs = 600_000): Promise<TestFileRun> {
  const childEnv: NodeJS.ProcessEnv = { ...process.env, ...env };
  // Set by the runner in its children; a nested runner seeing it would report to us instead of running.
  delete childEnv.NODE_TEST_CONTEXT;
  for (const [k, v] of Object.entries(env)) if (v === undefined) delete childEnv[k];
  return new Promise((resolve, reject) => {
    const child = spawn(process.execPath, ['--test', '--test-reporter=spec', join(distTest, file)], { cwd: repoRoot, env: childEnv, stdio: ['ignore', 'pipe', 'pipe'] });
    let output = '';
    let killed = false;
    child.stdout.setEncoding('utf8').on('data', (d: string) => (output += d));
    child.stderr.setEncoding('utf8').on('data', (d: string) => (output += d));
    const timer = setTimeout(() => {
      killed = true;
      child.kill('SIGKILL');
    }, killAfterMs);
    child.on('error', (err) => {
      clearTimeout(timer);
      reject(err);
    });
    child.on('close', (code) => {
      clearTimeout(timer);
      resolve({ code, output, killed });
    });
  });
}
