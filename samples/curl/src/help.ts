/**
 * What `curl --help` and `curl --version` print: curl's layout, listing the options this client
 * understands (the ones Istio's documentation uses), so `--help` never promises what it lacks.
 */

export const VERSION = '8.16.0';

const OPTIONS: readonly (readonly [string, string])[] = [
  ['-b, --cookie <data|filename>', 'Send cookies from string/load from file'],
  ['-c, --cookie-jar <filename>', 'Save cookies to <filename> after operation'],
  ['    --cacert <file>', 'CA certificate to verify peer against'],
  ['-E, --cert <certificate>', 'Client certificate file'],
  ['    --connect-timeout <seconds>', 'Maximum time allowed to connect'],
  ['-d, --data <data>', 'HTTP POST data'],
  ['    --data-binary <data>', 'HTTP POST binary data'],
  ['    --data-raw <data>', 'HTTP POST data, \'@\' allowed'],
  ['    --data-urlencode <data>', 'HTTP POST data URL encoded'],
  ['-D, --dump-header <filename>', 'Write the received headers to <filename>'],
  ['-f, --fail', 'Fail fast with no output on HTTP errors'],
  ['-G, --get', 'Put the post data in the URL and use GET'],
  ['-H, --header <header/@file>', 'Pass custom header(s) to server'],
  ['-I, --head', 'Show document info only'],
  ['-h, --help <subject>', 'Get help for commands'],
  ['-i, --include', 'Include response headers in output'],
  ['-k, --insecure', 'Allow insecure server connections'],
  ['    --key <key>', 'Private key filename'],
  ['-L, --location', 'Follow redirects'],
  ['-m, --max-time <seconds>', 'Maximum time allowed for transfer'],
  ['    --noproxy <no-proxy-list>', 'List of hosts which do not use proxy'],
  ['-o, --output <file>', 'Write to file instead of stdout'],
  ['-x, --proxy [protocol://]host[:port]', 'Use this proxy'],
  ['-e, --referer <URL>', 'Referrer URL'],
  ['-X, --request <method>', 'Specify request method to use'],
  ['    --resolve <[+]host:port:addr[,addr]...>', 'Resolve the host+port to this address'],
  ['-S, --show-error', 'Show error even when -s is used'],
  ['-s, --silent', 'Silent mode'],
  ['-u, --user <user:password>', 'Server user and password'],
  ['-A, --user-agent <name>', 'Send User-Agent <name> to server'],
  ['-v, --verbose', 'Make the operation more talkative'],
  ['-V, --version', 'Show version number and quit'],
  ['-w, --write-out <format>', 'Output FORMAT after completion'],
];

export function helpText(): string {
  const width = Math.max(...OPTIONS.map(([flags]) => flags.length)) + 2;
  const lines = OPTIONS.map(([flags, what]) => ` ${flags.padEnd(width)}${what}`);
  return `Usage: curl [options...] <url>\n${lines.join('\n')}\n\nThis curl stands in for the curl image on the local mesh; it knows the options above.\n`;
}

export function versionText(): string {
  return `curl ${VERSION} (skiff sample) node/${process.versions.node}\nProtocols: http https\nFeatures: IPv6 SSL\n`;
}
