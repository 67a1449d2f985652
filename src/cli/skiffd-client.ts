/**
 * How CLI verbs find and talk to a running skiffd: `<state-dir>/skiffd.json` names its API and
 * push URLs and its pid, `<state-dir>/api-token` holds the token the API requires; requests are
 * JSON over HTTP on loopback with `Authorization: Bearer <token>`.
 */
import { readFile } from 'node:fs/promises';
import { request } from 'node:http';
import { resolveStateDir, skiffdInfoFile } from '../config/state-dir.js';
import { apiTokenFile, readApiToken } from '../controlplane/api-token.js';
import type { SkiffdInfo } from '../controlplane/api-types.js';

/** Where a client reaches skiffd's API, and the token it sends (a `Skiffd` in the same process is one). */
export interface ApiEndpoint {
  apiUrl: string;
  /** Absent when it could not be read: skiffd then answers 401. */
  apiToken?: string;
  /** Where the token was looked for, named when skiffd refuses the request. */
  apiTokenFile?: string;
}

/** A running skiffd as its state directory announces it, with the API token to call it. */
export interface RunningSkiffd extends SkiffdInfo, ApiEndpoint {
  apiTokenFile: string;
}

/** An error from the API: its HTTP status and the server's message. */
export class SkiffdApiError extends Error {
  constructor(
    readonly status: number,
    message: string,
    readonly body: unknown,
  ) {
    super(message);
    this.name = 'SkiffdApiError';
  }
}

/**
 * The running skiffd of `stateDir` (default: the resolved state dir), or undefined when none is:
 * no info file, an unreadable one, or its pid no longer alive (a skiffd that was killed).
 */
export async function readSkiffdInfo(stateDir?: string): Promise<RunningSkiffd | undefined> {
  const dir = resolveStateDir(stateDir);
  let parsed: unknown;
  try {
    parsed = JSON.parse(await readFile(skiffdInfoFile(dir), 'utf8'));
  } catch {
    return undefined;
  }
  if (!isInfo(parsed) || !isAlive(parsed.pid)) return undefined;
  const tokenFile = apiTokenFile(dir);
  const token = await readApiToken(tokenFile);
  return { ...parsed, apiTokenFile: tokenFile, ...(token !== undefined ? { apiToken: token } : {}) };
}

/** Like `readSkiffdInfo`, but a missing skiffd is an error that says how to start one. */
export async function requireSkiffd(stateDir?: string): Promise<RunningSkiffd> {
  const info = await readSkiffdInfo(stateDir);
  if (info === undefined) {
    throw new Error(`skiffd is not running (no live ${skiffdInfoFile(resolveStateDir(stateDir))}); start it with \`skiff up\``);
  }
  return info;
}

/** GET a JSON document from the API of the skiffd in `stateDir` (an error when none runs). */
export async function apiGet<T = unknown>(path: string, stateDir?: string): Promise<T> {
  const info = await requireSkiffd(stateDir);
  return (await apiRequest(info, 'GET', path)) as T;
}

/** POST a JSON body to the API of the skiffd in `stateDir`. */
export async function apiPost<T = unknown>(path: string, body: unknown, stateDir?: string): Promise<T> {
  const info = await requireSkiffd(stateDir);
  return (await apiRequest(info, 'POST', path, body)) as T;
}

/**
 * One JSON request to the API at `endpoint`, with its token. A non-2xx answer throws
 * `SkiffdApiError` carrying the parsed body (apply's findings travel that way); a 2xx answer
 * resolves with the parsed body. A POST always carries a JSON body (`{}` when none is given).
 */
export function apiRequest(endpoint: ApiEndpoint, method: 'GET' | 'POST', path: string, body?: unknown): Promise<unknown> {
  const baseUrl = endpoint.apiUrl;
  const url = new URL(path, baseUrl);
  const payload = method === 'GET' ? undefined : Buffer.from(JSON.stringify(body ?? {}));
  return new Promise((resolve, reject) => {
    const req = request(
      url,
      {
        method,
        headers: {
          accept: 'application/json',
          ...(endpoint.apiToken !== undefined ? { authorization: `Bearer ${endpoint.apiToken}` } : {}),
          ...(payload ? { 'content-type': 'application/json', 'content-length': String(payload.length) } : {}),
        },
      },
      (res) => {
        const chunks: Buffer[] = [];
        res.on('data', (c: Buffer) => chunks.push(c));
        res.on('error', reject);
        res.on('end', () => {
          const text = Buffer.concat(chunks).toString('utf8');
          let parsed: unknown = text;
          try {
            parsed = text === '' ? undefined : JSON.parse(text);
          } catch {
            /* a non-JSON body is passed on as text */
          }
          const status = res.statusCode ?? 0;
          if (status >= 200 && status < 300) resolve(parsed);
          else reject(new SkiffdApiError(status, errorMessage(parsed, status, endpoint), parsed));
        });
      },
    );
    req.on('error', (err) => reject(new Error(`cannot reach skiffd at ${baseUrl}: ${err.message}`)));
    req.end(payload);
  });
}

function errorMessage(body: unknown, status: number, endpoint: ApiEndpoint): string {
  if (status === 401 && endpoint.apiToken === undefined && endpoint.apiTokenFile !== undefined) {
    return `cannot read skiffd's API token ${endpoint.apiTokenFile} (it is created by skiffd, readable by its owner only)`;
  }
  if (typeof body === 'object' && body !== null && typeof (body as { error?: unknown }).error === 'string') {
    return (body as { error: string }).error;
  }
  return typeof body === 'string' && body !== '' ? body : `skiffd answered HTTP ${status}`;
}

function isInfo(v: unknown): v is SkiffdInfo {
  if (typeof v !== 'object' || v === null) return false;
  const o = v as Record<string, unknown>;
  return typeof o.apiUrl === 'string' && typeof o.pushUrl === 'string' && typeof o.pid === 'number';
}

/** True when a process with `pid` exists (signal 0 checks without sending anything). */
export function isAlive(pid: number): boolean {
  try {
    process.kill(pid, 0);
    return true;
  } catch (err) {
    // EPERM: it exists but belongs to someone else.
    return (err as NodeJS.ErrnoException).code === 'EPERM';
  }
}
