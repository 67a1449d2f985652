/**
 * Bookinfo `reviews` service: two reviews of a book on `/reviews/{id}`, naming the pod that
 * served them. ENABLE_RATINGS and STAR_COLOR give the three versions: v1 without ratings,
 * v2 with black stars (waits up to 10 s for ratings), v3 with red stars (gives up after 2.5 s).
 */
import { hostname } from 'node:os';
import type { IncomingMessage, ServerResponse } from 'node:http';
import { runHttpApp, sendJson, sendText } from '../../../lib/app-server.js';
import { httpCall } from '../../../lib/http-client.js';
import { forwardHeaders, serviceUrl } from '../common.js';

interface Config {
  ratingsEnabled: boolean;
  starColor: string;
  ratingsTimeoutMs: number;
  podName: string;
  clusterName: string;
  ratingsUrl: string;
}

function configFromEnv(env: NodeJS.ProcessEnv): Config {
  const starColor = env.STAR_COLOR || 'black';
  const rawTimeout = env.RATINGS_TIMEOUT_MS;
  const ratingsTimeoutMs = rawTimeout ? Number(rawTimeout) : starColor === 'black' ? 10_000 : 2_500;
  if (!Number.isFinite(ratingsTimeoutMs) || ratingsTimeoutMs <= 0) throw new Error(`RATINGS_TIMEOUT_MS=${rawTimeout} must be a positive number of milliseconds`);
  return {
    // Like Java's Boolean.valueOf: only "true" (any case) enables ratings.
    ratingsEnabled: (env.ENABLE_RATINGS ?? '').toLowerCase() === 'true',
    starColor,
    ratingsTimeoutMs,
    podName: env.HOSTNAME || hostname(),
    // The original renders an unset cluster name as the string "null"; productpage relies on it.
    clusterName: env.CLUSTER_NAME || 'null',
    ratingsUrl: `${serviceUrl('ratings', env)}/ratings`,
  };
}

let config: Config;
try {
  config = configFromEnv(process.env);
} catch (err) {
  process.stderr.write(`reviews: ${err instanceof Error ? err.message : String(err)}\n`);
  process.exit(2);
}

const REVIEWS = [
  { reviewer: 'Reviewer1', text: 'An extremely entertaining play by Shakespeare. The slapstick humour is refreshing!' },
  { reviewer: 'Reviewer2', text: 'Absolutely fun and entertaining. The play lacks thematic depth when compared to other plays by Shakespeare.' },
] as const;

/** Stars per reviewer from the ratings service, or undefined when it could not be asked. */
async function fetchStars(productId: number, req: IncomingMessage): Promise<Record<string, unknown> | undefined> {
  try {
    const res = await httpCall(`${config.ratingsUrl}/${productId}`, {
      headers: { ...forwardHeaders(req.headers, true), accept: 'application/json' },
      timeoutMs: config.ratingsTimeoutMs,
    });
    if (res.status !== 200) {
      process.stdout.write(`Error: unable to contact ${config.ratingsUrl} got status of ${res.status}\n`);
      return undefined;
    }
    const parsed = JSON.parse(res.body.toString('utf8')) as { ratings?: unknown };
    return typeof parsed.ratings === 'object' && parsed.ratings !== null ? (parsed.ratings as Record<string, unknown>) : {};
  } catch (err) {
    process.stdout.write(`Error: unable to contact ${config.ratingsUrl}: ${err instanceof Error ? err.message : String(err)}\n`);
    return undefined;
  }
}

async function reviewsBody(productId: number, req: IncomingMessage): Promise<unknown> {
  const stars = config.ratingsEnabled ? await fetchStars(productId, req) : undefined;
  return {
    id: String(productId),
    podname: config.podName,
    clustername: config.clusterName,
    reviews: REVIEWS.map((review) => {
      if (!config.ratingsEnabled) return { ...review };
      const n = stars?.[review.reviewer];
      const rating = Number.isInteger(n) ? { stars: n, color: config.starColor } : { error: 'Ratings service is currently unavailable' };
      return { ...review, rating };
    }),
  };
}

async function handle(req: IncomingMessage, res: ServerResponse): Promise<void> {
  const path = new URL(req.url ?? '/', 'http://reviews').pathname;
  if (req.method === 'GET' && path === '/health') return sendJson(res, 200, { status: 'Reviews is healthy' });
  const match = /^\/reviews\/([+-]?\d+)$/.exec(path);
  // A non-integer id does not match the route at all, as with the original's int path parameter.
  if (req.method !== 'GET' || !match) return sendText(res, 404, 'Not Found\n');
  const productId = Number(match[1]);
  if (!Number.isSafeInteger(productId)) return sendText(res, 404, 'Not Found\n');
  sendJson(res, 200, await reviewsBody(productId, req));
}

runHttpApp({ name: 'reviews', defaultPort: 9080, handler: handle });
