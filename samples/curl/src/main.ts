/**
 * A curl-compatible HTTP client for the local mesh: enough of curl for the invocations in
 * Istio's documentation (`-s -o /dev/null -w "%{http_code}"`, `-I -HHost:...`, `-c`/`-b` cookie
 * jars, `--data`, `--resolve`/`--cacert` for HTTPS ingress, `-v`), with curl's exit codes and
 * error messages. Honours HTTP_PROXY/HTTPS_PROXY/NO_PROXY like curl. Identifies itself as
 * `curl/8.16.0`, the version of the curl image it stands in for, so that policies on
 * User-Agent behave the same.
 */
import { appendFileSync, readFileSync, writeFileSync } from 'node:fs';
import { HttpCallError, httpCall, type HttpCallOptions, type HttpResult } from '../../lib/http-client.js';
import { parseProxyUrl } from '../../lib/proxy-env.js';
import { parseCurlArgs, UsageError, type CurlOptions } from './args.js';
import { CookieJar } from './cookies.js';
import { helpText, VERSION, versionText } from './help.js';

const USER_AGENT = `curl/${VERSION}`;

/** curl's exit code and message for a transport failure, worded as curl 8 with OpenSSL 3 words them. */
function curlError(err: HttpCallError, url: URL, elapsedMs: number, opts: CurlOptions): [number, string] {
  const port = url.port || (url.protocol === 'https:' ? '443' : '80');
  switch (err.kind) {
    case 'dns':
      return [6, `Could not resolve host: ${url.hostname}`];
    case 'connect':
      return [7, `Failed to connect to ${url.hostname} port ${port} after ${elapsedMs} ms: Couldn't connect to server`];
    case 'timeout':
      return err.message.startsWith('connection')
        ? [28, `Connection timed out after ${opts.connectTimeoutMs} milliseconds`]
        : [28, `Operation timed out after ${elapsedMs} milliseconds with 0 bytes received`];
    case 'empty-reply':
      return [52, 'Empty reply from server'];
    case 'partial':
      return [18, err.reason ?? err.message];
    case 'tls':
      // A reset during the handshake surfaces from the socket layer, anything else from OpenSSL.
      return err.reason === 'Connection reset by peer' ? [35, 'Recv failure: Connection reset by peer'] : [35, `TLS connect error: ${err.reason ?? err.message}`];
    case 'tls-verify':
      return [60, `SSL certificate problem: ${err.message.slice(err.message.indexOf(': ') + 2)}`];
    case 'protocol':
      // A reply that does not start with a status line is HTTP/0.9 to curl, which it refuses.
      return err.code === 'HPE_INVALID_CONSTANT' ? [1, 'Received HTTP/0.9 when not allowed'] : [8, 'Weird server reply'];
    case 'proxy':
      return [56, err.reason ?? err.message];
    default:
      return [56, 'Recv failure: Connection reset by peer'];
  }
}

function readData(opts: CurlOptions): string | undefined {
  if (opts.data.length === 0) return undefined;
  return opts.data
    .map(({ value, mode }) => {
      if (mode === 'raw') return value;
      if (mode === 'urlencode') {
        const eq = value.indexOf('=');
        return eq < 0 ? encodeURIComponent(value) : `${value.slice(0, eq + 1)}${encodeURIComponent(value.slice(eq + 1))}`;
      }
      if (!value.startsWith('@')) return value;
      const text = readFileSync(value.slice(1) === '-' ? 0 : value.slice(1), 'utf8');
      return mode === 'ascii' ? text.replace(/[\r\n]/g, '') : text;
    })
    .join('&');
}

function headerBlock(res: HttpResult): string {
  const lines = [`HTTP/${res.httpVersion} ${res.status}${res.statusText ? ` ${res.statusText}` : ''}`];
  for (let i = 0; i < res.rawHeaders.length; i += 2) lines.push(`${res.rawHeaders[i]}: ${res.rawHeaders[i + 1]}`);
  return `${lines.join('\r\n')}\r\n\r\n`;
}

function writeOut(format: string, vars: Record<string, string>): string {
  return format
    .replace(/%\{([a-z_]+)\}/g, (m, name: string) => vars[name] ?? m)
    .replace(/\\([nrt\\])/g, (_m, c: string) => ({ n: '\n', r: '\r', t: '\t', '\\': '\\' })[c]!);
}

function requestOptions(opts: CurlOptions, url: URL, jar: CookieJar, body: string | undefined, method: string): HttpCallOptions {
  const headers: Record<string, string> = { 'user-agent': opts.userAgent ?? USER_AGENT, accept: '*/*' };
  if (opts.referer) headers.referer = opts.referer;
  if (opts.user) headers.authorization = `Basic ${Buffer.from(opts.user).toString('base64')}`;
  const cookie = jar.header(url);
  if (cookie) headers.cookie = cookie;
  if (body !== undefined) headers['content-type'] = 'application/x-www-form-urlencoded';
  for (const h of opts.headers) {
    // `Name:` removes a header, `Name;` sends it empty, as in curl.
    const colon = h.indexOf(':');
    if (colon > 0) {
      const value = h.slice(colon + 1).trim();
      const name = h.slice(0, colon).trim().toLowerCase();
      if (value === '') delete headers[name];
      else headers[name] = value;
    } else if (h.endsWith(';')) headers[h.slice(0, -1).trim().toLowerCase()] = '';
  }
  const call: HttpCallOptions = { method, headers, body, timeoutMs: opts.maxTimeMs, connectTimeoutMs: opts.connectTimeoutMs };
  const port = url.port || (url.protocol === 'https:' ? '443' : '80');
  for (const entry of opts.resolve) {
    const [host, p, ...addr] = entry.split(':');
    if (host === url.hostname && p === port) call.connectTo = { host: addr.join(':').replace(/^\[|\]$/g, ''), port: Number(port) };
  }
  if (opts.proxy !== undefined) call.proxy = opts.proxy === '' ? null : parseProxyUrl(opts.proxy, '--proxy');
  if (opts.noproxy !== undefined) call.env = { ...process.env, NO_PROXY: opts.noproxy, no_proxy: opts.noproxy };
  if (url.protocol === 'https:') {
    call.tls = { rejectUnauthorized: !opts.insecure };
    if (opts.cacert) call.tls.ca = readFileSync(opts.cacert);
    if (opts.cert) call.tls.cert = readFileSync(opts.cert);
    if (opts.key) call.tls.key = readFileSync(opts.key);
  }
  return call;
}

/** Fetches one URL (following redirects with -L) and writes what curl would. Returns the exit code. */
async function fetchOne(rawUrl: string, opts: CurlOptions, jar: CookieJar): Promise<number> {
  let url: URL;
  try {
    url = new URL(/^[a-z][a-z0-9+.-]*:\/\//i.test(rawUrl) ? rawUrl : `http://${rawUrl}`);
  } catch {
    process.stderr.write(`curl: (3) URL rejected: Malformed input to a URL function\n`);
    return 3;
  }
  let body = readData(opts);
  if (opts.get && body !== undefined) {
    url.search = url.search ? `${url.search}&${body}` : `?${body}`;
    body = undefined;
  }
  let method = opts.method ?? (opts.head ? 'HEAD' : body !== undefined ? 'POST' : 'GET');
  const started = Date.now();
  const vars: Record<string, string> = { http_code: '000', response_code: '000', size_download: '0', num_redirects: '0', content_type: '', method };
  let code = 0;
  let output = '';
  const outFile = opts.output === undefined || opts.output === '-' ? undefined : opts.output;
  /** `-D -` heads when the body goes to a file (-o): they still go to stdout. */
  let dumped = '';
  // -D: every response's head as it arrives, redirects included.
  const dumpHead = (res: HttpResult): void => {
    if (opts.dumpHeader === undefined) return;
    if (opts.dumpHeader !== '-') appendFileSync(opts.dumpHeader, headerBlock(res), 'latin1');
    else if (outFile === undefined) output += headerBlock(res);
    else dumped += headerBlock(res);
  };
  if (opts.dumpHeader !== undefined && opts.dumpHeader !== '-') writeFileSync(opts.dumpHeader, '');
  try {
    for (let hops = 0; ; hops++) {
      const call = requestOptions(opts, url, jar, body, method);
      if (opts.verbose) process.stderr.write(`> ${method} ${url.pathname}${url.search} HTTP/1.1\n${Object.entries({ host: url.host, ...call.headers }).map(([k, v]) => `> ${k}: ${String(v)}\n`).join('')}>\n`);
      const res = await httpCall(url, call);
      if (opts.verbose) process.stderr.write(`${headerBlock(res).trimEnd().split('\r\n').map((l) => `< ${l}\n`).join('')}<\n`);
      dumpHead(res);
      const setCookie = res.headers['set-cookie'];
      jar.store(url, setCookie);
      Object.assign(vars, { http_code: String(res.status).padStart(3, '0'), response_code: String(res.status), size_download: String(res.body.length), content_type: res.headers['content-type'] ?? '', num_redirects: String(hops), url_effective: url.href });
      const location = res.headers.location;
      if (opts.location && location && res.status >= 300 && res.status < 400 && hops < 50) {
        if (opts.include) output += headerBlock(res);
        url = new URL(location, url);
        if (res.status === 301 || res.status === 302 || res.status === 303) {
          if (method !== 'HEAD' && opts.method === undefined) method = 'GET';
          body = undefined;
        }
        continue;
      }
      if (opts.fail && res.status >= 400) {
        code = 22;
        if (!opts.silent || opts.showError) process.stderr.write(`curl: (22) The requested URL returned error: ${res.status}\n`);
        break;
      }
      if (opts.head || opts.include) output += headerBlock(res);
      if (!opts.head) output += res.body.toString('latin1');
      break;
    }
  } catch (err) {
    if (!(err instanceof HttpCallError)) throw err;
    const [exit, message] = curlError(err, url, Date.now() - started, opts);
    code = exit;
    if (!opts.silent || opts.showError) process.stderr.write(`curl: (${exit}) ${message}\n`);
  }
  const bytes = Buffer.from(output, 'latin1');
  if (outFile === undefined) process.stdout.write(bytes);
  else {
    if (dumped !== '') process.stdout.write(Buffer.from(dumped, 'latin1'));
    writeFileSync(outFile, bytes);
  }
  vars.time_total = ((Date.now() - started) / 1000).toFixed(6);
  vars.url_effective ??= url.href;
  vars.exitcode = String(code);
  if (opts.writeOut !== undefined) process.stdout.write(writeOut(opts.writeOut, vars));
  return code;
}

async function main(argv: readonly string[]): Promise<number> {
  let opts: CurlOptions;
  try {
    opts = parseCurlArgs(argv);
  } catch (err) {
    if (!(err instanceof UsageError)) throw err;
    process.stderr.write(`curl: ${err.message}\ncurl: try 'curl --help' for more information\n`);
    return 2;
  }
  if (opts.help || opts.version) {
    process.stdout.write(opts.help ? helpText() : versionText());
    return 0;
  }
  const jar = new CookieJar();
  let code = 0;
  try {
    for (const c of opts.cookie) jar.load(c);
    for (const url of opts.urls) code = (await fetchOne(url, opts, jar)) || code;
    if (opts.cookieJar !== undefined) jar.save(opts.cookieJar);
  } catch (err) {
    // Local files (data, certificates, output, cookie jar) that cannot be read or written.
    process.stderr.write(`curl: (26) ${err instanceof Error ? err.message : String(err)}\n`);
    return 26;
  }
  return code;
}

// A closed pipe (`curl ... | head`) ends output quietly, as for any command-line tool.
process.stdout.on('error', (err: NodeJS.ErrnoException) => process.exit(err.code === 'EPIPE' ? 0 : 23));
process.exitCode = await main(process.argv.slice(2));
