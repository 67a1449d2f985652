/**
 * productpage's calls to details, reviews and ratings, with the original's timeouts and
 * attempts (reviews is tried twice: the deliberate "bug" Istio's fault-injection task shows),
 * and the `request_result` counter exposed on /metrics.
 */
import { httpCall } from '../../../lib/http-client.js';
import { serviceUrl } from '../common.js';

export interface Fetched {
  /** 200 on success; otherwise the last upstream status, or 500 when no response came back. */
  status: number;
  body: unknown;
}

const TIMEOUT_MS = 3000;
const results = new Map<string, number>();

function count(app: string, status: number): void {
  const key = `${app}\u0000${status}`;
  results.set(key, (results.get(key) ?? 0) + 1);
}

/** GETs `url` up to `attempts` times, each with its own 3 s deadline and a fresh connection. */
async function fetchJson(app: string, url: string, headers: Record<string, string>, attempts: number, errorText: string): Promise<Fetched> {
  let status = 500;
  for (let attempt = 0; attempt < attempts; attempt++) {
    try {
      const res = await httpCall(url, { headers, timeoutMs: TIMEOUT_MS });
      status = res.status;
      if (res.status === 200) {
        const body: unknown = JSON.parse(res.body.toString('utf8'));
        count(app, 200);
        return { status: 200, body };
      }
    } catch (err) {
      status = 500;
      process.stdout.write(`error calling ${url}: ${err instanceof Error ? err.message : String(err)}\n`);
    }
  }
  count(app, status);
  return { status, body: { error: errorText } };
}

export function getDetails(productId: string, headers: Record<string, string>): Promise<Fetched> {
  return fetchJson('details', `${serviceUrl('details')}/details/${productId}`, headers, 1, 'Sorry, product details are currently unavailable for this book.');
}

export function getReviews(productId: string, headers: Record<string, string>): Promise<Fetched> {
  return fetchJson('reviews', `${serviceUrl('reviews')}/reviews/${productId}`, headers, 2, 'Sorry, product reviews are currently unavailable for this book.');
}

export function getRatings(productId: string, headers: Record<string, string>): Promise<Fetched> {
  return fetchJson('ratings', `${serviceUrl('ratings')}/ratings/${productId}`, headers, 1, 'Sorry, product ratings are currently unavailable for this book.');
}

/** The counters in Prometheus text format, named as the original's client library names them. */
export function renderMetrics(): string {
  const lines = ['# HELP request_result_total Results of requests', '# TYPE request_result_total counter'];
  for (const [key, value] of [...results].sort()) {
    const [app, status] = key.split('\u0000');
    lines.push(`request_result_total{destination_app="${app}",response_code="${status}"} ${value.toFixed(1)}`);
  }
  return `${lines.join('\n')}\n`;
}
