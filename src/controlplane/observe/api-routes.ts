/**
 * skiffd's observability endpoints, on its API:
 *
 *   POST /api/v2/spans               Zipkin v2 JSON spans (what proxies send; any Zipkin client may) → 202
 *   GET  /api/v1/graph?namespace=a,b&window=60   the service graph (`ServiceGraph`)
 *   GET  /api/v1/traces?limit=20&service=APP     trace summaries, newest first
 *   GET  /api/v1/traces/<traceId>                a trace's spans, earliest first (404 when not kept)
 */
import type { IncomingMessage, ServerResponse } from 'node:http';
import type { MeshObserver } from './mesh-observer.js';
import { SpanBatchError } from './trace-collector.js';

export const SPANS_PATH = '/api/v2/spans';
export const GRAPH_PATH = '/api/v1/graph';
export const TRACES_PATH = '/api/v1/traces';

/** Span batches beyond this are refused (a proxy sends at most 512 spans at a time). */
const MAX_SPANS_BODY = 8 * 1024 * 1024;

function send(res: ServerResponse, status: number, body: unknown): void {
  const text = `${JSON.stringify(body)}\n`;
  res.writeHead(status, { 'content-type': 'application/json', 'content-length': Buffer.byteLength(text), 'cache-control': 'no-store' });
  res.end(text);
}

async function readBody(req: IncomingMessage): Promise<string | null> {
  const chunks: Buffer[] = [];
  let size = 0;
  for await (const chunk of req) {
    const b = chunk as Buffer;
    size += b.length;
    if (size > MAX_SPANS_BODY) return null;
    chunks.push(b);
  }
  return Buffer.concat(chunks).toString('utf8');
}

function intParam(url: URL, name: string, fallback: number, min: number, max: number): number {
  const v = url.searchParams.get(name);
  if (v === null || v === '') return fallback;
  const n = Number(v);
  if (!Number.isFinite(n) || n < min) throw new RangeError(`${name} must be a number ≥ ${min} (got "${v}")`);
  return Math.min(n, max);
}

/**
 * Answers the request when it is one of the endpoints above; false otherwise (the caller goes on
 * with its own routes). Bad parameters get 400 naming the parameter.
 */
export async function handleObserveRequest(observer: MeshObserver, req: IncomingMessage, url: URL, res: ServerResponse): Promise<boolean> {
  const path = url.pathname;
  const method = req.method === 'HEAD' ? 'GET' : req.method;
  if (path === SPANS_PATH) {
    if (method !== 'POST') return send(res, 405, { error: `${SPANS_PATH} takes POST` }), true;
    const text = await readBody(req);
    if (text === null) return send(res, 413, { error: `span batch larger than ${MAX_SPANS_BODY} bytes` }), true;
    let body: unknown;
    try {
      body = JSON.parse(text);
    } catch (err) {
      return send(res, 400, { error: `the body is not JSON: ${(err as Error).message}` }), true;
    }
    try {
      const r = observer.collector.ingest(body);
      // Zipkin answers 202; refused spans are named so a client can see what was wrong.
      send(res, 202, r);
    } catch (err) {
      if (!(err instanceof SpanBatchError)) throw err;
      send(res, 400, { error: err.message });
    }
    return true;
  }
  if (path !== GRAPH_PATH && path !== TRACES_PATH && !path.startsWith(`${TRACES_PATH}/`)) return false;
  if (method !== 'GET') return send(res, 405, { error: `${path} takes GET` }), true;
  try {
    if (path === GRAPH_PATH) {
      const namespaces = (url.searchParams.get('namespace') ?? url.searchParams.get('namespaces') ?? '')
        .split(',')
        .map((s) => s.trim())
        .filter((s) => s !== '');
      const windowSeconds = intParam(url, 'window', 60, 1, Number.MAX_SAFE_INTEGER);
      send(res, 200, await observer.graph({ namespaces, windowSeconds }));
      return true;
    }
    if (path === TRACES_PATH) {
      const limit = Math.floor(intParam(url, 'limit', 20, 0, 1000));
      const service = url.searchParams.get('service');
      send(res, 200, { traces: observer.traces({ limit, ...(service !== null && service !== '' ? { service } : {}) }) });
      return true;
    }
    const id = decodeURIComponent(path.slice(TRACES_PATH.length + 1));
    const spans = observer.trace(id);
    if (spans === undefined) send(res, 404, { error: `no trace ${id} is kept (it may never have been sampled, or was evicted)` });
    else send(res, 200, { traceId: id.toLowerCase(), spans });
    return true;
  } catch (err) {
    if (!(err instanceof RangeError)) throw err;
    send(res, 400, { error: err.message });
    return true;
  }
}
