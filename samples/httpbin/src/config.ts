/**
 * httpbin's settings, read as go-httpbin reads them: command-line flags (`-max-duration 600s`,
 * `-use-real-hostname`) over environment variables (MAX_DURATION, USE_REAL_HOSTNAME, ...) over
 * go-httpbin's defaults. PORT and HOST are the exception: when the local runtime sets them they
 * win over flags, as the runtime maps the container port and keeps the app on loopback.
 * HTTPBIN_COMPAT=kennethreitz switches to the older Python httpbin's output shapes.
 */
import { hostname as osHostname } from 'node:os';
import { parseDuration } from '../../lib/duration.js';
import type { Flavor } from './echo.js';

export interface HttpbinConfig {
  flavor: Flavor;
  port: number;
  /** Address to listen on; undefined listens on every interface, as the image does. */
  host: string | undefined;
  maxDurationMs: number;
  maxBodySize: number;
  /** What `/hostname` answers: `go-httpbin` unless the real host name is asked for. */
  hostname: string;
}

export class ConfigError extends Error {}

const BOOLEAN_FLAGS = new Set(['use-real-hostname']);

/** Flags in Go's syntax: `-name value`, `--name value`, `-name=value`, booleans bare. */
function parseFlags(argv: readonly string[]): Map<string, string> {
  const flags = new Map<string, string>();
  for (let i = 0; i < argv.length; i++) {
    const arg = argv[i];
    const m = /^--?([a-z][a-z0-9-]*)(?:=(.*))?$/.exec(arg);
    if (m === null) throw new ConfigError(`unexpected argument "${arg}"`);
    const [, name, inline] = m;
    if (inline !== undefined) flags.set(name, inline);
    else if (BOOLEAN_FLAGS.has(name)) flags.set(name, 'true');
    else {
      const value = argv[++i];
      if (value === undefined) throw new ConfigError(`flag needs an argument: -${name}`);
      flags.set(name, value);
    }
  }
  return flags;
}

function parsePort(raw: string, source: string): number {
  const port = Number(raw);
  if (!/^\d+$/.test(raw.trim()) || port > 65535) throw new ConfigError(`${source}=${raw} is not a valid TCP port (0-65535)`);
  return port;
}

export function readConfig(argv: readonly string[], env: NodeJS.ProcessEnv = process.env): HttpbinConfig {
  const flags = parseFlags(argv);
  const setting = (flag: string, variable: string): [string, string] | undefined => {
    const fromFlag = flags.get(flag);
    if (fromFlag !== undefined) return [fromFlag, `-${flag}`];
    const fromEnv = env[variable];
    return fromEnv === undefined || fromEnv === '' ? undefined : [fromEnv, variable];
  };
  const runtimeFirst = (variable: string, flag: string): [string, string] | undefined => {
    const fromEnv = env[variable];
    return fromEnv !== undefined && fromEnv !== '' ? [fromEnv, variable] : setting(flag, variable);
  };

  const port = runtimeFirst('PORT', 'port');
  const host = runtimeFirst('HOST', 'host');
  const maxDuration = setting('max-duration', 'MAX_DURATION');
  const maxBody = setting('max-body-size', 'MAX_BODY_SIZE');
  const realHostname = setting('use-real-hostname', 'USE_REAL_HOSTNAME');

  let maxDurationMs = 10_000;
  if (maxDuration !== undefined) {
    const ms = parseDuration(maxDuration[0], false);
    if (ms === undefined) throw new ConfigError(`${maxDuration[1]}=${maxDuration[0]} is not a duration (e.g. 10s, 1m30s)`);
    maxDurationMs = ms;
  }
  let maxBodySize = 1024 * 1024;
  if (maxBody !== undefined) {
    maxBodySize = Number(maxBody[0]);
    if (!Number.isSafeInteger(maxBodySize) || maxBodySize <= 0) throw new ConfigError(`${maxBody[1]}=${maxBody[0]} is not a positive number of bytes`);
  }
  const useReal = realHostname !== undefined && /^(1|t|true)$/i.test(realHostname[0]);
  return {
    flavor: env.HTTPBIN_COMPAT === 'kennethreitz' ? 'kennethreitz' : 'go',
    port: port === undefined ? 8080 : parsePort(port[0], port[1]),
    host: host?.[0],
    maxDurationMs,
    maxBodySize,
    // In a pod the host name is the pod's name, which the runtime passes as HOSTNAME.
    hostname: useReal ? (env.HOSTNAME ?? osHostname()) : 'go-httpbin',
  };
}
