/**
 * A fortio-compatible load-testing client for the circuit-breaking task:
 * `load [-c N] [-qps Q] [-n CALLS | -t DURATION] [-loglevel L] [-H h] URL` prints the latency
 * summary and the per-status-code distribution; `curl URL` prints one response with its headers;
 * `server` runs a small echo server (the image's default), so a fortio pod has something to run.
 * Honours HTTP_PROXY like the other sample clients.
 */
import http from 'node:http';
import type { IncomingMessage, ServerResponse } from 'node:http';
import { hostFromEnv, readBody, runHttpApp } from '../../lib/app-server.js';
import { parseDuration } from '../../lib/duration.js';
import { HttpCallError, httpCall } from '../../lib/http-client.js';
import { FlagError, numberFlag, parseFlags, type ParsedFlags } from './flags.js';
import { runLoad, type LoadOptions } from './load.js';
import { header, summary } from './report.js';

const LOG_LEVELS = ['debug', 'verbose', 'info', 'warning', 'error', 'critical', 'fatal'];
const COMMON = { values: ['loglevel', 'H', 'timeout', 'payload'], booleans: ['quiet', 'keepalive', 'allow-initial-errors', 'stdclient', 'h2'], repeatable: ['H'] };

function headersFrom(flags: ParsedFlags): Record<string, string> {
  const out: Record<string, string> = {};
  for (const h of flags.values.get('H') ?? []) {
    const colon = h.indexOf(':');
    if (colon <= 0) throw new FlagError(`invalid -H "${h}": expected "Name: value"`);
    out[h.slice(0, colon).trim().toLowerCase()] = h.slice(colon + 1).trim();
  }
  return out;
}

function durationFlag(flags: ParsedFlags, name: string, fallbackMs: number): number {
  const raw = flags.values.get(name)?.[0];
  if (raw === undefined) return fallbackMs;
  const ms = parseDuration(raw, false);
  if (ms === undefined) throw new FlagError(`invalid value "${raw}" for flag -${name}: expected a duration like 5s or 300ms`);
  return ms;
}

function targetUrl(flags: ParsedFlags): string {
  const [raw] = flags.positional;
  if (raw === undefined) throw new FlagError('missing URL argument');
  return /^[a-z][a-z0-9+.-]*:\/\//i.test(raw) ? raw : `http://${raw}`;
}

async function load(argv: readonly string[]): Promise<number> {
  const flags = parseFlags(argv, { values: [...COMMON.values, 'c', 'qps', 'n', 't', 'p'], booleans: COMMON.booleans, repeatable: COMMON.repeatable });
  const level = (flags.values.get('loglevel')?.[0] ?? 'info').toLowerCase();
  if (!LOG_LEVELS.includes(level)) throw new FlagError(`invalid -loglevel "${level}": one of ${LOG_LEVELS.join(', ')}`);
  const warn = LOG_LEVELS.indexOf(level) <= LOG_LEVELS.indexOf('warning');
  const connections = numberFlag(flags, 'c', 4);
  const calls = flags.values.has('n') ? numberFlag(flags, 'n', 0) : undefined;
  if (!Number.isInteger(connections) || connections < 1) throw new FlagError(`-c must be a positive integer, got ${connections}`);
  if (calls !== undefined && (!Number.isInteger(calls) || calls < 0)) throw new FlagError(`-n must be a non-negative integer, got ${calls}`);
  const percentiles = (flags.values.get('p')?.[0] ?? '50,75,90,99,99.9').split(',').map(Number);
  const opts: LoadOptions = {
    url: targetUrl(flags),
    connections,
    qps: numberFlag(flags, 'qps', 8),
    calls: calls === 0 ? undefined : calls,
    durationMs: durationFlag(flags, 't', 5000),
    timeoutMs: durationFlag(flags, 'timeout', 3000),
    keepAlive: flags.booleans.get('keepalive') ?? true,
    headers: headersFrom(flags),
    payload: flags.values.get('payload')?.[0],
    onError: warn ? (code, detail) => process.stderr.write(`[W] ${code === -1 ? `Error: ${detail}` : detail}\n`) : undefined,
  };
  process.stdout.write(header(opts));
  const result = await runLoad(opts);
  process.stdout.write(summary(opts, result, percentiles));
  return 0;
}

async function curl(argv: readonly string[]): Promise<number> {
  const flags = parseFlags(argv, COMMON);
  const url = targetUrl(flags);
  const payload = flags.values.get('payload')?.[0];
  try {
    const res = await httpCall(url, {
      method: payload === undefined ? 'GET' : 'POST',
      headers: { 'user-agent': 'fortio.org/fortio-compatible', ...headersFrom(flags) },
      body: payload,
      timeoutMs: durationFlag(flags, 'timeout', 3000),
    });
    const lines = [`HTTP/${res.httpVersion} ${res.status} ${res.statusText}`];
    for (let i = 0; i < res.rawHeaders.length; i += 2) lines.push(`${res.rawHeaders[i]}: ${res.rawHeaders[i + 1]}`);
    process.stdout.write(`${lines.join('\r\n')}\r\n\r\n`);
    process.stdout.write(res.body);
    return 0;
  } catch (err) {
    if (!(err instanceof HttpCallError)) throw err;
    process.stderr.write(`[E] ${url}: ${err.message}\n`);
    return 1;
  }
}

/** Echo handler: answers with the request body; `?status=N` and `?delay=D` shape the reply. */
async function echo(req: IncomingMessage, res: ServerResponse): Promise<void> {
  const query = new URL(req.url ?? '/', 'http://fortio').searchParams;
  const body = await readBody(req);
  const delay = parseDuration(query.get('delay') ?? '0', false) ?? 0;
  if (delay > 0) await new Promise((resolve) => setTimeout(resolve, Math.min(delay, 10_000)));
  const status = Number(query.get('status') ?? 200);
  res.writeHead(Number.isInteger(status) && status >= 100 && status <= 599 ? status : 400, { 'content-type': req.headers['content-type'] ?? 'text/plain', 'content-length': body.length });
  res.end(body);
}

/**
 * The image's default: the echo server on PORT, and on every other port of PORTS too. Istio's
 * fortio manifest also declares fortio's grpc-ping port (8079); a pod is ready only once each
 * declared port answers, so those get the same echo server.
 */
function server(): number {
  const main = runHttpApp({ name: 'fortio echo server', defaultPort: 8080, handler: echo });
  const first = process.env.PORT;
  const others = (process.env.PORTS ?? '').split(',').map((p) => p.trim()).filter((p) => p !== '' && p !== first);
  for (const raw of others) {
    const port = Number(raw);
    if (!Number.isInteger(port) || port <= 0 || port > 65535) {
      process.stderr.write(`PORTS: ${raw} is not a valid TCP port\n`);
      process.exit(2);
    }
    const extra = http.createServer((req, res) => {
      echo(req, res).catch(() => res.destroy());
    });
    extra.on('error', (err) => {
      process.stderr.write(`fortio echo server: cannot listen on port ${port}: ${err.message}\n`);
      process.exit(1);
    });
    extra.listen(port, hostFromEnv(), () => process.stdout.write(`fortio echo server listening on ${port}\n`));
    main.on('close', () => extra.close());
  }
  return 0;
}

const USAGE = 'usage: fortio <load|curl|server|version> [flags] [url]\n';

async function main(argv: readonly string[]): Promise<number> {
  const [command, ...rest] = argv;
  try {
    switch (command) {
      case 'load':
        return await load(rest);
      case 'curl':
        return await curl(rest);
      case 'server':
        return server();
      case 'version':
        process.stdout.write('fortio-compatible load client (skiff samples)\n');
        return 0;
      default:
        process.stderr.write(command === undefined ? USAGE : `fortio: unknown command "${command}"\n${USAGE}`);
        return 1;
    }
  } catch (err) {
    if (!(err instanceof FlagError)) throw err;
    process.stderr.write(`fortio: ${err.message}\n${USAGE}`);
    return 1;
  }
}

// A closed pipe (`fortio curl ... | head`) ends output quietly, as for any command-line tool.
process.stdout.on('error', (err: NodeJS.ErrnoException) => process.exit(err.code === 'EPIPE' ? 0 : 1));
const code = await main(process.argv.slice(2));
if (process.argv[2] !== 'server') process.exitCode = code;
