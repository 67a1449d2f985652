/**
 * The steady load from inside the mesh: `skiff exec WORKLOAD -- node .../steady-client.js URL RPS`
 * as a user would run a client in a pod, its requests going through that workload's sidecar.
 * Its records arrive as they happen; `stop()` ends its stdin and waits for it to exit.
 */
import { spawn } from 'node:child_process';
import { join } from 'node:path';
import { repoRoot, skiffBin } from '../helpers/cli.js';
import type { LoadRecord } from './steady-load.js';

export interface ExecLoad {
  readonly records: LoadRecord[];
  /** Ends the client; resolves with every record (rejects when it did not exit cleanly). */
  stop(): Promise<LoadRecord[]>;
}

export function startExecLoad(stateDir: string, workload: string, url: string, rps: number, namespace?: string): ExecLoad {
  const client = join(repoRoot, 'dist/test/e2e/fixtures/steady-client.js');
  const child = spawn(process.execPath, [skiffBin, 'exec', workload, ...(namespace === undefined ? [] : ['-n', namespace]), '--state-dir', stateDir, '--', process.execPath, client, url, String(rps)], {
    cwd: repoRoot,
    env: { ...process.env, NO_COLOR: '1' },
    stdio: ['pipe', 'pipe', 'pipe'],
  });
  const records: LoadRecord[] = [];
  let pending = '';
  let stderr = '';
  child.stdout.setEncoding('utf8').on('data', (d: string) => {
    pending += d;
    const lines = pending.split('\n');
    pending = lines.pop() ?? '';
    for (const line of lines) if (line.trim() !== '') records.push(JSON.parse(line) as LoadRecord);
  });
  child.stderr.setEncoding('utf8').on('data', (d: string) => (stderr += d));
  const exited = new Promise<number | null>((resolve) => child.once('exit', (code) => resolve(code)));
  return {
    records,
    stop: async () => {
      child.stdin.end();
      const timer = setTimeout(() => child.kill('SIGKILL'), 20_000);
      const code = await exited;
      clearTimeout(timer);
      if (code !== 0) throw new Error(`skiff exec ${workload} -- steady-client exited with ${code}: ${stderr}`);
      return records;
    },
  };
}
