/**
 * The skiffd API endpoint behind `skiff proxy-status`: every connected proxy with its sync state,
 * as JSON. skiffd's API server mounts the handler at `PROXY_STATUS_PATH`.
 */
import type { IncomingMessage, ServerResponse } from 'node:http';
import type { ProxyStatus } from './types.js';
import type { LeftOutEntry } from '../api-types.js';

/** Where skiffd's HTTP API serves the proxy status. */
export const PROXY_STATUS_PATH = '/api/v1/proxy-status';

/** The body of `GET PROXY_STATUS_PATH`. */
export interface ProxyStatusReport {
  proxies: ProxyStatus[];
  /** Resources left out of every proxy's config (skiffd's API adds them; see `SkiffdStatus.leftOut`). */
  leftOut?: LeftOutEntry[];
}

/** Anything that can list its proxies' status (the push server). */
export interface StatusSource {
  status(): ProxyStatus[];
}

export function proxyStatusReport(source: StatusSource): ProxyStatusReport {
  return { proxies: source.status() };
}

/** A node:http handler answering GET (and HEAD) with the report; other methods get 405. */
export function proxyStatusHandler(source: StatusSource): (req: IncomingMessage, res: ServerResponse) => void {
  return (req, res) => {
    if (req.method !== 'GET' && req.method !== 'HEAD') {
      res.writeHead(405, { allow: 'GET', 'content-type': 'application/json' });
      res.end(`${JSON.stringify({ error: `${PROXY_STATUS_PATH} takes GET` })}\n`);
      return;
    }
    const body = `${JSON.stringify(proxyStatusReport(source))}\n`;
    res.writeHead(200, { 'content-type': 'application/json', 'content-length': Buffer.byteLength(body) });
    res.end(req.method === 'HEAD' ? undefined : body);
  };
}
