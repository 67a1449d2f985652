/**
 * Bookinfo `ratings` service: each reviewer's stars for a book on `/ratings/{id}`, with POST
 * storing new ratings in memory. SERVICE_VERSION selects the misbehaving variants Istio's
 * resilience demos use (v-faulty, v-delayed, v-unavailable, v-unhealthy).
 */
import type { IncomingMessage, ServerResponse } from 'node:http';
import { readBody, runHttpApp, sendJson, sendText } from '../../../lib/app-server.js';
import { parseProductId } from '../common.js';
import { variantFromEnv, type Variant } from './variant.js';

interface Ratings {
  id: number;
  ratings: unknown;
}

let variant: Variant;
try {
  variant = variantFromEnv(process.env);
} catch (err) {
  process.stderr.write(`ratings: ${err instanceof Error ? err.message : String(err)}\n`);
  process.exit(2);
}
/** Ratings added with POST, by product id (kept for the life of the process, as the original). */
const added = new Map<number, Ratings>();

function ratingsFor(id: number): Ratings {
  return added.get(id) ?? { id, ratings: { Reviewer1: 5, Reviewer2: 4 } };
}

async function handle(req: IncomingMessage, res: ServerResponse): Promise<void> {
  const path = new URL(req.url ?? '/', 'http://ratings').pathname;
  if (path === '/health' && req.method === 'GET') {
    return variant.healthy() ? sendJson(res, 200, { status: 'Ratings is healthy' }) : sendJson(res, 500, { status: 'Ratings is not healthy' });
  }
  if (!path.startsWith('/ratings/') || (req.method !== 'GET' && req.method !== 'POST')) return sendText(res, 404, 'Not Found\n');

  const id = parseProductId(path.slice('/ratings/'.length));
  if (id === undefined) return sendJson(res, 400, { error: 'please provide numeric product ID' });

  if (req.method === 'POST') {
    let ratings: unknown;
    try {
      ratings = JSON.parse((await readBody(req)).toString('utf8'));
    } catch {
      return sendJson(res, 400, { error: 'please provide valid ratings JSON' });
    }
    if (variant.databaseBacked) return sendJson(res, 501, { error: 'Post not implemented for database backed ratings' });
    added.set(id, { id, ratings });
    return sendJson(res, 200, ratingsFor(id));
  }

  const outcome = variant.outcome();
  if (outcome.kind === 'unavailable') return sendJson(res, 503, { error: 'Service unavailable' });
  if (outcome.kind === 'no-database') return sendJson(res, 500, { error: 'could not connect to ratings database' });
  if (outcome.kind === 'delayed') await new Promise((resolve) => setTimeout(resolve, outcome.delayMs));
  sendJson(res, 200, ratingsFor(id));
}

runHttpApp({ name: 'ratings', defaultPort: 9080, handler: handle });
