/**
 * Where Skiff keeps its state on disk: `.skiff/` under the working directory unless `--state-dir`
 * (or `SKIFF_STATE_DIR`) names another. The config store, skiffd's address file and the runtime's
 * logs live there.
 */
import { join, resolve } from 'node:path';

/** The state directory's name under the working directory when none is given. */
export const DEFAULT_STATE_DIR = '.skiff';

/** The absolute state directory: the option, else `SKIFF_STATE_DIR`, else `.skiff` under the working directory. */
export function resolveStateDir(option?: string): string {
  const given = option ?? process.env.SKIFF_STATE_DIR;
  return resolve(given !== undefined && given !== '' ? given : DEFAULT_STATE_DIR);
}

/** The file where a running skiffd announces its addresses and pid. */
export function skiffdInfoFile(stateDir: string): string {
  return join(stateDir, 'skiffd.json');
}

/** The directory holding the applied resources. */
export function resourcesDir(stateDir: string): string {
  return join(stateDir, 'resources');
}

/** The directory where a detached skiffd and the runtime write their logs. */
export function logsDir(stateDir: string): string {
  return join(stateDir, 'logs');
}
