/** How httpbin writes its answers: JSON as Go's encoder indents it, errors in go-httpbin's shape. */
import { STATUS_CODES, type ServerResponse } from 'node:http';

export const JSON_TYPE = 'application/json; charset=utf-8';
export const TEXT_TYPE = 'text/plain; charset=utf-8';

/** Sends a complete response; headers go through setHeader so the access log can read the length. */
export function send(res: ServerResponse, status: number, headers: Record<string, string | string[]>, body: string | Buffer): void {
  for (const [name, value] of Object.entries(headers)) res.setHeader(name, value);
  res.setHeader('content-length', Buffer.byteLength(body));
  res.statusCode = status;
  res.end(body);
}

/** JSON the way Go's encoder with two-space indent writes it. */
export function writeJson(res: ServerResponse, status: number, value: unknown): void {
  send(res, status, { 'content-type': JSON_TYPE }, `${JSON.stringify(value, null, 2)}\n`);
}

/** `{"status_code": 404, "error": "Not Found"}`, with `detail` when there is one. */
export function writeError(res: ServerResponse, status: number, detail?: string): void {
  writeJson(res, status, { status_code: status, error: STATUS_CODES[status] ?? 'Error', ...(detail ? { detail } : {}) });
}
