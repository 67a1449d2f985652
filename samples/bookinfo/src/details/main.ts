/**
 * Bookinfo `details` service: the book's publication details as JSON on `/details/{id}`.
 * With ENABLE_EXTERNAL_BOOK_SERVICE=true (the v2 behaviour used by Istio's egress tasks) it
 * looks the book up on the Google Books API instead, over plain HTTP when DO_NOT_ENCRYPT=true.
 */
import type { IncomingMessage, ServerResponse } from 'node:http';
import { runHttpApp, sendJson, sendText } from '../../../lib/app-server.js';
import { httpCall } from '../../../lib/http-client.js';
import { forwardHeaders, parseProductId } from '../common.js';

/** ISBN of a single-author edition of The Comedy of Errors, as queried by the original. */
const EXTERNAL_ISBN = '0486424618';

function localDetails(id: number): Record<string, unknown> {
  return {
    id,
    author: 'William Shakespeare',
    year: 1595,
    type: 'paperback',
    pages: 200,
    publisher: 'PublisherA',
    language: 'English',
    'ISBN-10': '1234567890',
    'ISBN-13': '123-1234567890',
  };
}

interface VolumeInfo {
  authors?: string[];
  publishedDate?: string;
  printType?: string;
  pageCount?: number;
  publisher?: string;
  language?: string;
  industryIdentifiers?: { type?: string; identifier?: string }[];
}

async function externalDetails(id: number, req: IncomingMessage): Promise<Record<string, unknown>> {
  const plain = process.env.DO_NOT_ENCRYPT === 'true';
  const url = `${plain ? 'http://www.googleapis.com:80' : 'https://www.googleapis.com'}/books/v1/volumes?q=isbn:${EXTERNAL_ISBN}`;
  const res = await httpCall(url, { headers: forwardHeaders(req.headers, true), timeoutMs: 5000 });
  if (res.status !== 200) throw new Error(`book service answered ${res.status}`);
  const parsed = JSON.parse(res.body.toString('utf8')) as { items?: { volumeInfo?: VolumeInfo }[] };
  const book = parsed.items?.[0]?.volumeInfo;
  if (book === undefined) throw new Error(`book service has no volume for ISBN ${EXTERNAL_ISBN}`);
  const isbn = (type: string): string | undefined => book.industryIdentifiers?.find((i) => i.type === type)?.identifier;
  return {
    id,
    author: book.authors?.[0],
    year: book.publishedDate,
    type: book.printType === 'BOOK' ? 'paperback' : 'unknown',
    pages: book.pageCount,
    publisher: book.publisher,
    language: book.language === 'en' ? 'English' : 'unknown',
    'ISBN-10': isbn('ISBN_10'),
    'ISBN-13': isbn('ISBN_13'),
  };
}

async function handle(req: IncomingMessage, res: ServerResponse): Promise<void> {
  const path = new URL(req.url ?? '/', 'http://details').pathname;
  if (path === '/health') return sendJson(res, 200, { status: 'Details is healthy' });
  if (path === '/details' || path.startsWith('/details/')) {
    const id = parseProductId(path.split('/').pop());
    if (id === undefined) return sendJson(res, 400, { error: 'please provide numeric product id' });
    if (process.env.ENABLE_EXTERNAL_BOOK_SERVICE !== 'true') return sendJson(res, 200, localDetails(id));
    try {
      return sendJson(res, 200, await externalDetails(id, req));
    } catch (err) {
      // The original reports any lookup failure as a client error carrying the reason.
      return sendJson(res, 400, { error: err instanceof Error ? err.message : String(err) });
    }
  }
  sendText(res, 404, 'Not Found\n');
}

runHttpApp({ name: 'details', defaultPort: 9080, handler: handle });
