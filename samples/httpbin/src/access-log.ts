/** httpbin's access log: one combined-format line per request, as gunicorn writes it. */
import type { IncomingMessage, ServerResponse } from 'node:http';
import { clientIp } from './echo.js';

const MONTHS = ['Jan', 'Feb', 'Mar', 'Apr', 'May', 'Jun', 'Jul', 'Aug', 'Sep', 'Oct', 'Nov', 'Dec'];

function logTime(d: Date): string {
  const pad = (n: number): string => String(n).padStart(2, '0');
  return `${pad(d.getUTCDate())}/${MONTHS[d.getUTCMonth()]}/${d.getUTCFullYear()}:${pad(d.getUTCHours())}:${pad(d.getUTCMinutes())}:${pad(d.getUTCSeconds())} +0000`;
}

/** `10.0.0.1 - - [21/Aug/2026:10:00:00 +0000] "GET /headers HTTP/1.1" 200 512 "-" "curl/8.16.0"` */
export function accessLogLine(req: IncomingMessage, res: ServerResponse): string {
  const header = res.getHeader('content-length');
  const length = typeof header === 'number' || typeof header === 'string' ? String(header) : '-';
  const quoted = (v: string | string[] | undefined): string => (typeof v === 'string' ? v.replace(/"/g, '\\"') : '-');
  return `${clientIp(req)} - - [${logTime(new Date())}] "${req.method} ${req.url} HTTP/${req.httpVersion}" ${res.statusCode} ${length} "${quoted(req.headers.referer)}" "${quoted(req.headers['user-agent'])}"`;
}
