/**
 * Command-line parsing for the curl-compatible client: the subset of curl's options that
 * Istio's documentation uses, with curl's own syntax (clustered short flags such as `-sSI`,
 * values attached or separate such as `-HHost:x` / `-o /dev/null`, repeatable -H and -d).
 */

export interface CurlOptions {
  urls: string[];
  method?: string;
  headers: string[];
  /** Request body parts, joined with `&`; `mode` says how each is read (see dataMode). */
  data: { value: string; mode: DataMode }[];
  get: boolean;
  head: boolean;
  include: boolean;
  verbose: boolean;
  silent: boolean;
  showError: boolean;
  fail: boolean;
  location: boolean;
  insecure: boolean;
  output?: string;
  writeOut?: string;
  cookie: string[];
  cookieJar?: string;
  maxTimeMs?: number;
  connectTimeoutMs?: number;
  user?: string;
  userAgent?: string;
  referer?: string;
  resolve: string[];
  cacert?: string;
  cert?: string;
  key?: string;
  proxy?: string;
  noproxy?: string;
  /** `-D FILE`: where response headers are written as received (`-` for stdout). */
  dumpHeader?: string;
  /** `--help [category]`: print the usage and exit. */
  help: boolean;
  /** `-V`: print the version and exit. */
  version: boolean;
}

/**
 * ascii (-d): `@file` reads a file, dropping newlines; binary (--data-binary): `@file` read as is;
 * raw (--data-raw): taken literally; urlencode (--data-urlencode): `name=value` with value encoded.
 */
export type DataMode = 'ascii' | 'binary' | 'raw' | 'urlencode';

export class UsageError extends Error {}

type Flag = keyof Pick<CurlOptions, 'get' | 'head' | 'include' | 'verbose' | 'silent' | 'showError' | 'fail' | 'location' | 'insecure' | 'help' | 'version'>;

const FLAGS: Record<string, Flag | 'ignore'> = {
  '-s': 'silent', '--silent': 'silent',
  '-S': 'showError', '--show-error': 'showError',
  '-I': 'head', '--head': 'head',
  '-i': 'include', '--include': 'include', '--show-headers': 'include',
  '-h': 'help', '--help': 'help',
  '-V': 'version', '--version': 'version',
  '-v': 'verbose', '--verbose': 'verbose',
  '-L': 'location', '--location': 'location',
  '-f': 'fail', '--fail': 'fail',
  '-k': 'insecure', '--insecure': 'insecure',
  '-G': 'get', '--get': 'get',
  '--http1.1': 'ignore', '--compressed': 'ignore', '-N': 'ignore', '--no-buffer': 'ignore', '--fail-early': 'ignore', '-#': 'ignore', '--progress-bar': 'ignore',
};

type Setter = (o: CurlOptions, value: string) => void;

function seconds(name: string): (value: string) => number {
  return (value) => {
    const n = Number(value);
    if (!Number.isFinite(n) || n < 0) throw new UsageError(`option ${name}: expected a number of seconds, got "${value}"`);
    return Math.round(n * 1000);
  };
}

const data =
  (mode: DataMode): Setter =>
  (o, value) =>
    o.data.push({ value, mode });

const VALUED: Record<string, Setter> = {
  '-o': (o, v) => (o.output = v), '--output': (o, v) => (o.output = v),
  '-D': (o, v) => (o.dumpHeader = v), '--dump-header': (o, v) => (o.dumpHeader = v),
  '-w': (o, v) => (o.writeOut = v), '--write-out': (o, v) => (o.writeOut = v),
  '-H': (o, v) => o.headers.push(v), '--header': (o, v) => o.headers.push(v),
  '-X': (o, v) => (o.method = v), '--request': (o, v) => (o.method = v),
  '-d': data('ascii'), '--data': data('ascii'), '--data-ascii': data('ascii'), '--data-binary': data('binary'),
  '--data-raw': data('raw'), '--data-urlencode': data('urlencode'),
  '-b': (o, v) => o.cookie.push(v), '--cookie': (o, v) => o.cookie.push(v),
  '-c': (o, v) => (o.cookieJar = v), '--cookie-jar': (o, v) => (o.cookieJar = v),
  '-m': (o, v) => (o.maxTimeMs = seconds('--max-time')(v)), '--max-time': (o, v) => (o.maxTimeMs = seconds('--max-time')(v)),
  '--connect-timeout': (o, v) => (o.connectTimeoutMs = seconds('--connect-timeout')(v)),
  '-u': (o, v) => (o.user = v), '--user': (o, v) => (o.user = v),
  '-A': (o, v) => (o.userAgent = v), '--user-agent': (o, v) => (o.userAgent = v),
  '-e': (o, v) => (o.referer = v), '--referer': (o, v) => (o.referer = v),
  '--resolve': (o, v) => o.resolve.push(v),
  '--cacert': (o, v) => (o.cacert = v),
  '-E': (o, v) => (o.cert = v), '--cert': (o, v) => (o.cert = v),
  '--key': (o, v) => (o.key = v),
  '-x': (o, v) => (o.proxy = v), '--proxy': (o, v) => (o.proxy = v),
  '--noproxy': (o, v) => (o.noproxy = v),
  '--url': (o, v) => o.urls.push(v),
  '--retry': () => undefined, '--retry-delay': () => undefined, '--max-redirs': () => undefined,
};

export function parseCurlArgs(argv: readonly string[]): CurlOptions {
  const o: CurlOptions = {
    urls: [], headers: [], data: [], cookie: [], resolve: [],
    get: false, head: false, include: false, verbose: false, silent: false, showError: false, fail: false, location: false, insecure: false,
    help: false, version: false,
  };
  const take = (name: string, i: number): string => {
    const value = argv[i];
    if (value === undefined) throw new UsageError(`option ${name}: requires parameter`);
    return value;
  };
  for (let i = 0; i < argv.length; i++) {
    const arg = argv[i];
    if (arg.startsWith('--')) {
      const flag = FLAGS[arg];
      const setter = VALUED[arg];
      if (flag !== undefined) {
        if (flag !== 'ignore') o[flag] = true;
        // `--help all`, `--help http`: curl's help takes an optional category word.
        if (flag === 'help' && /^[a-z]+$/.test(argv[i + 1] ?? '')) i++;
      } else if (setter !== undefined) setter(o, take(arg, ++i));
      else throw new UsageError(`option ${arg}: is unknown`);
    } else if (arg.startsWith('-') && arg.length > 1) {
      // A cluster of short options; a value-taking option consumes the rest of the word or the next word.
      for (let j = 1; j < arg.length; j++) {
        const name = `-${arg[j]}`;
        const flag = FLAGS[name];
        const setter = VALUED[name];
        if (flag !== undefined) {
          if (flag !== 'ignore') o[flag] = true;
        } else if (setter !== undefined) {
          const rest = arg.slice(j + 1);
          setter(o, rest !== '' ? rest : take(name, ++i));
          break;
        } else throw new UsageError(`option ${name}: is unknown`);
      }
    } else o.urls.push(arg);
  }
  if (o.urls.length === 0 && !o.help && !o.version) throw new UsageError('no URL specified');
  return o;
}
