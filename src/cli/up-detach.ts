/**
 * `skiff up --detach`: starts skiffd as a background process (its output in
 * `<state-dir>/logs/skiffd.log`), applies the files through its API, waits until every workload
 * is ready and prints where things are. The background skiffd is `skiff up` itself, run again
 * without `--detach` and without files.
 */
import { spawn } from 'node:child_process';
import { mkdir, open, readFile } from 'node:fs/promises';
import { join, resolve } from 'node:path';
import { logsDir } from '../config/state-dir.js';
import type { InputText } from '../config/sources.js';
import type { ApplyResponse } from '../config/store-ops.js';
import type { SkiffdStatus } from '../controlplane/api-types.js';
import { printApply } from './apply-report.js';
import { SkiffdApiError, apiRequest, isAlive, readSkiffdInfo } from './skiffd-client.js';
import type { RunningSkiffd } from './skiffd-client.js';
import type { UpOptions } from './up-options.js';
import { meshTelemetryArgs } from '../telemetry/mesh-cli-options.js';

export interface DetachInput {
  stateDir: string;
  inputs: InputText[];
  files: string[];
  opts: UpOptions;
}

/** How long the background skiffd may take to start listening. */
const START_TIMEOUT_MS = 30_000;

/** Returns the exit status: 0 once everything is ready. */
export async function runDetached({ stateDir, inputs, files, opts }: DetachInput): Promise<number> {
  await mkdir(logsDir(stateDir), { recursive: true });
  const logFile = join(logsDir(stateDir), 'skiffd.log');
  const log = await open(logFile, 'a');
  const args = [
    ...process.execArgv,
    process.argv[1],
    'up',
    '--state-dir', stateDir,
    '--api-port', String(opts.apiPort),
    '--push-port', String(opts.pushPort),
    ...(opts.dashboardPort !== undefined ? ['--dashboard-port', String(opts.dashboardPort)] : []),
    '--ingress-port', String(opts.ingressPort),
    ...Object.entries(opts.gatewayPort ?? {}).flatMap(([gateway, local]) => ['--gateway-port', `${gateway}=${local}`]),
    ...(opts.images !== undefined ? ['--images', resolve(opts.images)] : []),
    ...(opts.runtime ? [] : ['--no-runtime']),
    ...(opts.sidecars ? [] : ['--no-sidecars']),
    ...(opts.caCerts !== undefined ? ['--ca-certs', resolve(opts.caCerts)] : []),
    ...(opts.workloadCertTtl !== undefined ? ['--workload-cert-ttl', `${opts.workloadCertTtl / 1000}s`] : []),
    ...meshTelemetryArgs(opts),
    // The log file is for finding out what happened: everything goes there.
    '--verbose',
  ];
  // Its own session (detached): closing this terminal or Ctrl-C here does not reach it.
  const child = spawn(process.execPath, args, { detached: true, stdio: ['ignore', log.fd, log.fd], env: { ...process.env, NO_COLOR: '1' } });
  await log.close();
  const exited = new Promise<number | null>((r) => child.once('exit', (code) => r(code)));
  child.unref();
  const pid = child.pid;
  if (pid === undefined) throw new Error('could not start skiffd in the background');

  const info = await waitForInfo(stateDir, pid, exited);
  if (info === undefined) {
    process.stderr.write(`skiffd did not start; the end of ${logFile}:\n${await tail(logFile, 20)}`);
    return 1;
  }
  if (inputs.length > 0) {
    const answer = await postApply(info, inputs, opts.namespace);
    const code = printApply(answer, files);
    if (code !== 0) {
      await apiRequest(info, 'POST', '/api/v1/shutdown').catch(() => undefined);
      return code;
    }
  }
  let status: SkiffdStatus;
  try {
    status = (await apiRequest(info, 'GET', `/api/v1/ready?timeoutMs=${opts.timeout * 1000}`)) as SkiffdStatus;
  } catch (err) {
    const why = err instanceof SkiffdApiError ? err.message : String(err);
    process.stderr.write(`skiffd runs in the background (pid ${pid}) but not everything is ready after ${opts.timeout}s:\n  ${why}\n`);
    process.stderr.write(`See \`skiff get pods\`, its log ${logFile}, and stop it with \`skiff down\`.\n`);
    return 1;
  }
  const lines = [
    `skiffd is running in the background (pid ${pid})`,
    `  API:     ${status.apiUrl}`,
    `  push:    ${status.pushUrl}`,
    ...(status.ingressUrl !== undefined ? [`  ingress: ${status.ingressUrl}`] : []),
    ...(info.dashboardUrl !== undefined ? [`  dashboard: ${info.dashboardUrl}`] : []),
    `  pods:    ${status.pods.ready}/${status.pods.total} ready`,
    `  log:     ${logFile}`,
    'Stop it with `skiff down`.',
  ];
  process.stdout.write(`${lines.join('\n')}\n`);
  return 0;
}

/** Waits until the child announces itself in skiffd.json; undefined when it exits or times out first. */
async function waitForInfo(stateDir: string, pid: number, exited: Promise<number | null>): Promise<RunningSkiffd | undefined> {
  let gone = false;
  void exited.then(() => (gone = true));
  const deadline = Date.now() + START_TIMEOUT_MS;
  while (Date.now() < deadline && !gone) {
    const info = await readSkiffdInfo(stateDir);
    if (info?.pid === pid) return info;
    await new Promise((r) => setTimeout(r, 50));
  }
  if (!gone && isAlive(pid)) process.kill(pid, 'SIGTERM');
  return undefined;
}

async function postApply(info: RunningSkiffd, files: InputText[], namespace: string | undefined): Promise<ApplyResponse> {
  try {
    return (await apiRequest(info, 'POST', '/api/v1/apply', { files, ...(namespace !== undefined ? { namespace } : {}) })) as ApplyResponse;
  } catch (err) {
    if (err instanceof SkiffdApiError && err.status === 422) return err.body as ApplyResponse;
    throw err;
  }
}

async function tail(file: string, lines: number): Promise<string> {
  const text = await readFile(file, 'utf8').catch(() => '');
  return `${text.split('\n').slice(-lines - 1).join('\n')}\n`;
}
