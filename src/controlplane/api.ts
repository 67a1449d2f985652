/**
 * skiffd's HTTP API on loopback: apply and delete (files validated by the config store), listing
 * and watching resources, the runtime's pods, the proxies' sync status and shutdown, plus the
 * observability endpoints the backend adds (`observe/api-routes.ts`). JSON in and
 * out; errors as `{ error }` with a fitting status (a refused apply: 422 with its findings).
 * Every request passes `api-guard.ts` first: loopback Host, no foreign Origin, the API token,
 * JSON bodies.
 */
import { createServer } from 'node:http';
import type { IncomingMessage, Server, ServerResponse } from 'node:http';
import { PROXY_STATUS_PATH, proxyStatusReport } from './push/status-handler.js';
import type { StatusSource } from './push/status-handler.js';
import type { ConfigSource, ListFilter } from '../config/source.js';
import { ResourceVersionTooOldError } from '../config/source.js';
import type { ConfigStore } from '../config/store.js';
import { applyTexts, deleteIds, deleteTexts, INLINE_PARSING } from '../config/store-ops.js';
import { InputCostError } from '../config/input-parser.js';
import type { InputParsing } from '../config/input-parser.js';
import { jsonNestsDeeper } from '../config/input-limits.js';
import { findKind } from '../config/store-keys.js';
import type { ResourceId } from '../config/store-keys.js';
import type { InputText } from '../config/sources.js';
import type { PodStatus } from '../registry/workload-provider.js';
import { apiRefusal } from './api-guard.js';
import type { ApiAccess } from './api-guard.js';
import { API_PREFIX } from './api-types.js';
import type { LeftOutEntry, PodList, ResourceList, SkiffdStatus } from './api-types.js';

/** What the API serves from. */
export interface ApiBackend {
  /** Who may call: the token, and the Host values besides loopback. */
  access: ApiAccess;
  /** What `resources` and `watch` serve. */
  config: ConfigSource;
  /** Where apply and delete write; absent (config from another source): they answer 405. */
  store?: ConfigStore;
  /** How apply and delete read their files (skiffd: off its event loop). Default: in place. */
  parsing?: InputParsing;
  proxies: StatusSource;
  /** Resources left out of every proxy's config, shown beside the proxies' status. */
  leftOut(): LeftOutEntry[];
  pods(): PodStatus[];
  status(): SkiffdStatus;
  /** Resolves once every workload is ready; rejects after `timeoutMs` naming those that are not. */
  waitReady(timeoutMs: number): Promise<void>;
  /** Asked to stop; the answer is sent before stopping begins. */
  shutdown(): void;
  /** Further endpoints (observability): answers and resolves true, or resolves false for a path it does not serve. */
  extra?: (req: IncomingMessage, url: URL, res: ServerResponse) => Promise<boolean>;
}

/** Why apply and delete are refused when skiffd's config comes from another source. */
export const READ_ONLY_CONFIG = "this skiffd reads its config from another source (not its state directory's store); change the config there";

/**
 * Request bodies beyond this are refused (413) before they are read further: config files are
 * kilobytes, one resource at most 1.5 MiB (`input-limits.ts`), and kube-apiserver itself takes at
 * most 3 MiB per request — an apply here carries several files.
 */
export const MAX_REQUEST_BYTES = 8 * 1024 * 1024;

/** The request's JSON is `{ files: [{ name, text }] }` or `{ targets: [{ … }] }`: a few levels. */
const MAX_REQUEST_DEPTH = 8;

class HttpError extends Error {
  constructor(
    readonly status: number,
    message: string,
  ) {
    super(message);
  }
}

type Handler = (req: IncomingMessage, url: URL, res: ServerResponse) => Promise<void> | void;

/** The API's node:http server (not yet listening). */
export function createApiServer(backend: ApiBackend): Server {
  const routes: Record<string, Partial<Record<'GET' | 'POST', Handler>>> = {
    [`${API_PREFIX}/apply`]: { POST: (req, _url, res) => apply(backend, req, res) },
    [`${API_PREFIX}/delete`]: { POST: (req, _url, res) => remove(backend, req, res) },
    [`${API_PREFIX}/resources`]: { GET: (_req, url, res) => sendJson(res, 200, listResources(backend.config, url)) },
    [`${API_PREFIX}/watch`]: { GET: (req, url, res) => watch(backend.config, req, url, res) },
    [`${API_PREFIX}/pods`]: { GET: (_req, _url, res) => sendJson(res, 200, { pods: backend.pods() } satisfies PodList) },
    [`${API_PREFIX}/proxies`]: { GET: (_req, _url, res) => sendJson(res, 200, { ...proxyStatusReport(backend.proxies), leftOut: backend.leftOut() }) },
    [PROXY_STATUS_PATH]: { GET: (_req, _url, res) => sendJson(res, 200, { ...proxyStatusReport(backend.proxies), leftOut: backend.leftOut() }) },
    [`${API_PREFIX}/status`]: { GET: (_req, _url, res) => sendJson(res, 200, backend.status()) },
    [`${API_PREFIX}/ready`]: { GET: (_req, url, res) => ready(backend, url, res) },
    [`${API_PREFIX}/shutdown`]: {
      POST: (_req, _url, res) => {
        sendJson(res, 202, { stopping: true });
        // Answer first: the caller then waits for the pid to exit.
        res.once('finish', () => backend.shutdown());
      },
    },
  };
  return createServer((req, res) => {
    let url: URL;
    try {
      url = new URL(req.url ?? '/', 'http://skiffd');
    } catch {
      return sendJson(res, 400, { error: `not a request path: ${req.url ?? ''}` });
    }
    const refused = apiRefusal(req, url.pathname, backend.access);
    if (refused !== undefined) {
      // The body is not read: the connection closes after the answer rather than drain it.
      res.setHeader('connection', 'close');
      for (const [k, v] of Object.entries(refused.headers ?? {})) res.setHeader(k, v);
      return sendJson(res, refused.status, { error: refused.error });
    }
    const route = routes[url.pathname];
    const method = req.method === 'HEAD' ? 'GET' : req.method;
    const handler = route?.[method as 'GET' | 'POST'];
    if (route === undefined && backend.extra !== undefined) {
      const extra = backend.extra;
      extra(req, url, res).then(
        (served) => served || sendJson(res, 404, { error: `no such endpoint: ${url.pathname}` }),
        (err: unknown) => (res.headersSent ? res.destroy() : sendJson(res, 500, { error: err instanceof Error ? err.message : String(err) })),
      );
      return;
    }
    if (route === undefined) return sendJson(res, 404, { error: `no such endpoint: ${url.pathname}` });
    if (handler === undefined) return sendJson(res, 405, { error: `${url.pathname} takes ${Object.keys(route).join(' or ')}` });
    Promise.resolve()
      .then(() => handler(req, url, res))
      .catch((err: unknown) => {
        const status = err instanceof HttpError ? err.status : err instanceof InputCostError ? 413 : 500;
        if (res.headersSent) {
          res.destroy();
          return;
        }
        if (!req.complete) discardBody(req, res);
        sendJson(res, status, { error: err instanceof Error ? err.message : String(err) });
      });
  });
}

async function apply(backend: ApiBackend, req: IncomingMessage, res: ServerResponse): Promise<void> {
  const store = writableStore(backend);
  const body = await readJson(req);
  const files = inputTexts(body.files, 'files');
  const answer = await applyTexts(store, files, optionalString(body.namespace, 'namespace'), backend.parsing ?? INLINE_PARSING);
  if (!answer.ok) {
    const errors = answer.findings.filter((f) => f.severity === 'error').length;
    sendJson(res, 422, { ...answer, error: `the input was refused (${errors} ${errors === 1 ? 'error' : 'errors'}); nothing was applied` });
    return;
  }
  sendJson(res, 200, answer);
}

async function remove(backend: ApiBackend, req: IncomingMessage, res: ServerResponse): Promise<void> {
  const store = writableStore(backend);
  const body = await readJson(req);
  const namespace = optionalString(body.namespace, 'namespace');
  if (body.targets !== undefined) {
    sendJson(res, 200, await deleteIds(store, resourceIds(body.targets)));
    return;
  }
  const answer = await deleteTexts(store, inputTexts(body.files, 'files'), namespace, backend.parsing ?? INLINE_PARSING);
  if (!answer.ok) {
    sendJson(res, 422, { ...answer, error: 'the input was refused; nothing was deleted' });
    return;
  }
  sendJson(res, 200, answer);
}

/** Answers once every workload is ready (200), or when `timeoutMs` passed (503 naming what is not ready). */
async function ready(backend: ApiBackend, url: URL, res: ServerResponse): Promise<void> {
  const given = url.searchParams.get('timeoutMs');
  const timeoutMs = given === null ? 60_000 : Number(given);
  if (!Number.isFinite(timeoutMs) || timeoutMs < 0) throw new HttpError(400, `timeoutMs must be a number of milliseconds (got "${given}")`);
  try {
    await backend.waitReady(timeoutMs);
  } catch (err) {
    throw new HttpError(503, err instanceof Error ? err.message : String(err));
  }
  sendJson(res, 200, backend.status());
}

/** The store apply and delete write, or a 405 when skiffd's config comes from another source. */
function writableStore(backend: ApiBackend): ConfigStore {
  if (backend.store === undefined) throw new HttpError(405, READ_ONLY_CONFIG);
  return backend.store;
}

function listResources(store: ConfigSource, url: URL): ResourceList {
  const filter: ListFilter = {};
  const kind = url.searchParams.get('kind');
  if (kind !== null && kind !== '') {
    const def = findKind(kind);
    if (def === undefined) throw new HttpError(400, `unknown kind "${kind}"`);
    filter.kind = def.kind;
    filter.group = def.group;
  }
  const group = url.searchParams.get('group');
  if (group !== null) filter.group = group;
  for (const field of ['namespace', 'name'] as const) {
    const v = url.searchParams.get(field);
    if (v !== null && v !== '') filter[field] = v;
  }
  return { resourceVersion: store.resourceVersion, items: store.list(filter) };
}

/** Newline-delimited JSON events from `resourceVersion` on (default: from now), until the client leaves. */
function watch(store: ConfigSource, req: IncomingMessage, url: URL, res: ServerResponse): void {
  const from = url.searchParams.get('resourceVersion');
  const version = from === null || from === '' ? store.resourceVersion : Number(from);
  if (!Number.isInteger(version) || version < 0) throw new HttpError(400, `resourceVersion must be a whole number (got "${from}")`);
  res.writeHead(200, { 'content-type': 'application/x-ndjson', 'cache-control': 'no-store' });
  res.flushHeaders();
  let stop: () => void;
  try {
    stop = store.watch(version, (e) => res.write(`${JSON.stringify(e)}\n`));
  } catch (err) {
    if (!(err instanceof ResourceVersionTooOldError)) throw err;
    // Headers are out: the error goes in the stream, as the Kubernetes API does with its 410 event.
    res.end(`${JSON.stringify({ type: 'ERROR', error: err.message, code: 410 })}\n`);
    return;
  }
  req.socket.setTimeout(0);
  res.on('close', () => stop());
}

async function readJson(req: IncomingMessage): Promise<Record<string, unknown>> {
  const tooLarge = (): HttpError =>
    new HttpError(413, `the request body is larger than ${MAX_REQUEST_BYTES / (1024 * 1024)} MiB (${MAX_REQUEST_BYTES} bytes), the limit of one request; apply fewer files at once`);
  const declared = Number(req.headers['content-length']);
  if (declared > MAX_REQUEST_BYTES) throw tooLarge();
  const chunks: Buffer[] = [];
  let size = 0;
  // Leaving the loop early (too large) must not destroy the request: its answer goes out on the same socket.
  for await (const chunk of req.iterator({ destroyOnReturn: false })) {
    const b = chunk as Buffer;
    size += b.length;
    if (size > MAX_REQUEST_BYTES) throw tooLarge();
    chunks.push(b);
  }
  const text = Buffer.concat(chunks).toString('utf8');
  if (jsonNestsDeeper(text, MAX_REQUEST_DEPTH)) throw new HttpError(400, `the request body nests deeper than ${MAX_REQUEST_DEPTH} levels; it must be { files: [{ name, text }] } or { targets: [...] }`);
  let parsed: unknown;
  try {
    parsed = JSON.parse(text);
  } catch (err) {
    throw new HttpError(400, `the request body is not JSON: ${(err as Error).message}`);
  }
  if (typeof parsed !== 'object' || parsed === null || Array.isArray(parsed)) throw new HttpError(400, 'the request body must be a JSON object');
  return parsed as Record<string, unknown>;
}

/**
 * A body refused before it was read to its end is read on and thrown away while the answer goes
 * out, so the client, still sending, gets the answer rather than a reset; the connection then
 * closes. A client that keeps sending long after is cut off.
 */
function discardBody(req: IncomingMessage, res: ServerResponse): void {
  res.setHeader('connection', 'close');
  req.resume();
  res.once('finish', () => setTimeout(() => req.socket.destroy(), 10_000).unref());
}

function inputTexts(v: unknown, field: string): InputText[] {
  if (!Array.isArray(v) || v.length === 0) throw new HttpError(400, `${field} must be a non-empty list of { name, text }`);
  return v.map((f, i) => {
    if (typeof f !== 'object' || f === null) throw new HttpError(400, `${field}[${i}] must be { name, text }`);
    const { name, text } = f as Record<string, unknown>;
    if (typeof name !== 'string' || typeof text !== 'string') throw new HttpError(400, `${field}[${i}] must have string name and text`);
    return { name, text };
  });
}

function resourceIds(v: unknown): ResourceId[] {
  if (!Array.isArray(v)) throw new HttpError(400, 'targets must be a list of { group, kind, namespace, name }');
  return v.map((t, i) => {
    const o = (typeof t === 'object' && t !== null ? t : {}) as Record<string, unknown>;
    const { group, kind, namespace, name } = o;
    if (typeof group !== 'string' || typeof kind !== 'string' || typeof namespace !== 'string' || typeof name !== 'string' || name === '') {
      throw new HttpError(400, `targets[${i}] must have string group, kind, namespace and name`);
    }
    return { group, kind, namespace, name };
  });
}

function optionalString(v: unknown, field: string): string | undefined {
  if (v === undefined || v === null) return undefined;
  if (typeof v !== 'string') throw new HttpError(400, `${field} must be a string`);
  return v === '' ? undefined : v;
}

function sendJson(res: ServerResponse, status: number, body: unknown): void {
  const text = `${JSON.stringify(body)}\n`;
  res.writeHead(status, { 'content-type': 'application/json', 'content-length': Buffer.byteLength(text), 'cache-control': 'no-store' });
  res.end(text);
}
