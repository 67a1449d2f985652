/** What every httpbin endpoint receives: the exchange, the parsed URL, the rest of the path, the settings. */
import type { IncomingMessage, ServerResponse } from 'node:http';
import type { HttpbinConfig } from './config.js';

export interface Ctx {
  req: IncomingMessage;
  res: ServerResponse;
  url: URL;
  /** The path after a prefix route's prefix (`/status/418` → `418`); empty for exact routes. */
  rest: string;
  config: HttpbinConfig;
}

export type Endpoint = (ctx: Ctx) => void | Promise<void>;
