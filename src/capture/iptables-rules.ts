/**
 * The iptables rules that put a pod's traffic through its sidecar, as Istio's `istio-iptables`
 * writes them in REDIRECT mode: the `nat` chains ISTIO_INBOUND (PREROUTING: which inbound ports go
 * to the proxy's inbound capture port), ISTIO_IN_REDIRECT (REDIRECT to that port), ISTIO_OUTPUT
 * (OUTPUT: what leaves the pod, minus the proxy's own traffic — its uid and gid — and loopback) and
 * ISTIO_REDIRECT (REDIRECT to the outbound capture port).
 *
 * The rules are data: `captureRules` turns the parsed flags into an ordered list, and
 * `restoreText` writes it in `iptables-restore` form, which is both what `--dry-run` prints and
 * what is applied (`iptables-apply.ts`). Only IPv4 is written.
 */
import { isIPv4, isIPv6 } from 'node:net';

export const ISTIO_INBOUND = 'ISTIO_INBOUND';
export const ISTIO_REDIRECT = 'ISTIO_REDIRECT';
export const ISTIO_IN_REDIRECT = 'ISTIO_IN_REDIRECT';
export const ISTIO_OUTPUT = 'ISTIO_OUTPUT';

/** The chains Skiff creates, in the order Istio declares them. */
export const CAPTURE_CHAINS = [ISTIO_INBOUND, ISTIO_REDIRECT, ISTIO_IN_REDIRECT, ISTIO_OUTPUT] as const;

/** The source address a proxy's inbound passthrough binds, which ISTIO_OUTPUT lets through. */
export const INBOUND_PASSTHROUGH_SOURCE = '127.0.0.6/32';
/** The loopback address the app and the proxy talk over without capture. */
const HOST_LOOPBACK = '127.0.0.1/32';

/** What the flags of `skiff iptables` say, parsed and checked. */
export interface CaptureConfig {
  /** -p: where outbound TCP is redirected (the proxy's outbound capture listener). */
  proxyPort: number;
  /** -z: where inbound TCP is redirected (the proxy's inbound capture listener). */
  inboundCapturePort: number;
  /** -e: the inbound tunnel port, never captured (HBONE). */
  inboundTunnelPort: number;
  /** -u: uids whose traffic is not captured (the proxy's). */
  proxyUids: readonly number[];
  /** -g: gids whose traffic is not captured (the proxy's; defaults to the uids). */
  proxyGids: readonly number[];
  /** -b: inbound ports captured: `'*'` for every port, a list, or none (empty). */
  inboundPorts: '*' | readonly number[];
  /** -d: inbound ports never captured (with `-b '*'`). */
  inboundPortsExclude: readonly number[];
  /** -i: outbound destinations captured: `'*'` for every one, a list of IPv4 CIDRs, or none. */
  outboundCidrs: '*' | readonly string[];
  /** -x: outbound destinations never captured. */
  outboundCidrsExclude: readonly string[];
  /** -q: outbound ports always captured, whatever their destination. */
  outboundPorts: readonly number[];
  /** -o: outbound ports never captured. */
  outboundPortsExclude: readonly number[];
  /** -c: interfaces whose traffic is never captured, in either direction. */
  excludeInterfaces: readonly string[];
  /** -k: virtual interfaces whose inbound traffic is treated as outbound. */
  kubeVirtInterfaces: readonly string[];
}

/** One rule: `-A` appends, `-I` inserts at `position` (1 is the top), in the `nat` table. */
export interface IptablesRule {
  op: '-A' | '-I';
  chain: string;
  position?: number;
  args: readonly string[];
}

/** The rules for a config, in the order Istio writes them. */
export function captureRules(c: CaptureConfig): IptablesRule[] {
  const rules: IptablesRule[] = [];
  const append = (chain: string, ...args: string[]): void => {
    rules.push({ op: '-A', chain, args });
  };
  const insertTop = (chain: string, ...args: string[]): void => {
    rules.push({ op: '-I', chain, position: 1, args });
  };

  for (const nic of c.excludeInterfaces) {
    append('PREROUTING', '-i', nic, '-j', 'RETURN');
    append('OUTPUT', '-o', nic, '-j', 'RETURN');
  }
  // Traffic from a VM's virtual interface is the VM's outbound, not the pod's inbound.
  for (const nic of c.kubeVirtInterfaces) insertTop('PREROUTING', '-i', nic, '-j', 'RETURN');

  append(ISTIO_INBOUND, '-p', 'tcp', '--dport', String(c.inboundTunnelPort), '-j', 'RETURN');
  append(ISTIO_REDIRECT, '-p', 'tcp', '-j', 'REDIRECT', '--to-ports', String(c.proxyPort));
  append(ISTIO_IN_REDIRECT, '-p', 'tcp', '-j', 'REDIRECT', '--to-ports', String(c.inboundCapturePort));

  if (c.inboundPorts === '*' || c.inboundPorts.length > 0) {
    append('PREROUTING', '-p', 'tcp', '-j', ISTIO_INBOUND);
    if (c.inboundPorts === '*') {
      for (const port of c.inboundPortsExclude) append(ISTIO_INBOUND, '-p', 'tcp', '--dport', String(port), '-j', 'RETURN');
      append(ISTIO_INBOUND, '-p', 'tcp', '-j', ISTIO_IN_REDIRECT);
    } else {
      for (const port of c.inboundPorts) append(ISTIO_INBOUND, '-p', 'tcp', '--dport', String(port), '-j', ISTIO_IN_REDIRECT);
    }
  }

  append('OUTPUT', '-j', ISTIO_OUTPUT);
  // Port exclusions come before anything that could send a connection back to the proxy.
  for (const port of c.outboundPortsExclude) {
    append(ISTIO_OUTPUT, '-p', 'tcp', '--dport', String(port), '-j', 'RETURN');
    append(ISTIO_OUTPUT, '-p', 'udp', '--dport', String(port), '-j', 'RETURN');
  }
  // The proxy's inbound passthrough connects to the app from 127.0.0.6: never captured again.
  append(ISTIO_OUTPUT, '-o', 'lo', '-s', INBOUND_PASSTHROUGH_SOURCE, '-j', 'RETURN');

  const loopbackIncluded = c.outboundCidrs !== '*' && c.outboundCidrs.some(isLoopbackCidr);
  const owners: Array<['--uid-owner' | '--gid-owner', readonly number[]]> = [
    ['--uid-owner', c.proxyUids],
    ['--gid-owner', c.proxyGids],
  ];
  for (const [match, ids] of owners) {
    for (const id of ids) {
      // The proxy calling its own pod through a Service VIP (app → proxy → proxy → app) goes
      // through the inbound listener, as from any other pod.
      append(ISTIO_OUTPUT, '-o', 'lo', '!', '-d', HOST_LOOPBACK, '-p', 'tcp', '!', '--dport', String(c.inboundTunnelPort), '-m', 'owner', match, String(id), '-j', ISTIO_IN_REDIRECT);
      // The app calling itself by its own address stays on loopback, unless loopback is captured.
      if (!loopbackIncluded) append(ISTIO_OUTPUT, '-o', 'lo', '-m', 'owner', '!', match, String(id), '-j', 'RETURN');
      // Everything else the proxy sends leaves as it is: capturing it would loop.
      append(ISTIO_OUTPUT, '-m', 'owner', match, String(id), '-j', 'RETURN');
    }
  }

  // Apps that talk to the proxy, or to each other, over localhost are not captured.
  append(ISTIO_OUTPUT, '-d', HOST_LOOPBACK, '-j', 'RETURN');
  for (const cidr of c.outboundCidrsExclude) append(ISTIO_OUTPUT, '-d', cidr, '-j', 'RETURN');
  for (const port of c.outboundPorts) append(ISTIO_OUTPUT, '-p', 'tcp', '--dport', String(port), '-j', ISTIO_REDIRECT);
  if (c.outboundCidrs === '*') {
    append(ISTIO_OUTPUT, '-j', ISTIO_REDIRECT);
    for (const nic of c.kubeVirtInterfaces) insertTop('PREROUTING', '-i', nic, '-j', ISTIO_REDIRECT);
  } else {
    for (const cidr of c.outboundCidrs) {
      for (const nic of c.kubeVirtInterfaces) insertTop('PREROUTING', '-i', nic, '-d', cidr, '-j', ISTIO_REDIRECT);
      append(ISTIO_OUTPUT, '-d', cidr, '-j', ISTIO_REDIRECT);
    }
  }
  return rules;
}

function isLoopbackCidr(cidr: string): boolean {
  return cidr.startsWith('127.');
}

/** One rule as `iptables-restore` reads it (and `iptables -t nat` takes it). */
export function ruleText(rule: IptablesRule): string {
  const head = rule.op === '-I' ? `-I ${rule.chain} ${rule.position ?? 1}` : `-A ${rule.chain}`;
  return [head, ...rule.args.map(quoteArg)].join(' ');
}

function quoteArg(arg: string): string {
  return /^[A-Za-z0-9_./:,!-]+$/.test(arg) ? arg : `"${arg.replace(/(["\\])/g, '\\$1')}"`;
}

/** The whole `nat` table section: the chains declared, then every rule, then COMMIT. */
export function restoreText(rules: readonly IptablesRule[]): string {
  const used = new Set(rules.flatMap((r) => [r.chain, ...targets(r)]));
  const lines = ['* nat'];
  for (const chain of CAPTURE_CHAINS) if (used.has(chain)) lines.push(`-N ${chain}`);
  for (const rule of rules) lines.push(ruleText(rule));
  lines.push('COMMIT', '');
  return lines.join('\n');
}

function targets(rule: IptablesRule): string[] {
  const j = rule.args.indexOf('-j');
  return j >= 0 && j + 1 < rule.args.length ? [rule.args[j + 1]] : [];
}

/** A flag's value that cannot be used, named by the flag. */
export class CaptureFlagError extends Error {
  override name = 'CaptureFlagError';
}

/** The flags as istio-iptables takes them, each a string as given on the command line. */
export interface CaptureFlags {
  envoyPort?: string;
  inboundCapturePort?: string;
  inboundTunnelPort?: string;
  proxyUid?: string;
  proxyGid?: string;
  interceptionMode?: string;
  inboundPorts?: string;
  localExcludePorts?: string;
  serviceCidr?: string;
  serviceExcludeCidr?: string;
  outboundPorts?: string;
  localOutboundPortsExclude?: string;
  excludeInterfaces?: string;
  kubeVirtInterfaces?: string;
}

/** What parsing the flags found worth saying without refusing them. */
export interface ParsedCapture {
  config: CaptureConfig;
  warnings: string[];
}

const DEFAULT_PROXY_PORT = 15001;
const DEFAULT_INBOUND_CAPTURE_PORT = 15006;
const DEFAULT_INBOUND_TUNNEL_PORT = 15008;
const DEFAULT_PROXY_UID = 1337;

/** Checks the flags and fills in istio-iptables' defaults. */
export function parseCaptureFlags(f: CaptureFlags): ParsedCapture {
  const warnings: string[] = [];
  const mode = f.interceptionMode ?? '';
  if (mode === 'TPROXY') {
    throw new CaptureFlagError('-m TPROXY: Skiff captures inbound traffic with REDIRECT only (TPROXY keeps the client address but needs policy routing and a transparent listener, which the proxy does not have); use -m REDIRECT');
  }
  if (mode !== '' && mode !== 'REDIRECT') throw new CaptureFlagError(`-m ${JSON.stringify(mode)}: the interception mode is REDIRECT (or TPROXY, which Skiff does not support)`);

  const proxyUids = ids('-u (--proxy-uid)', f.proxyUid ?? String(DEFAULT_PROXY_UID));
  const gidFlag = f.proxyGid;
  const proxyGids = gidFlag === undefined || gidFlag === '' ? proxyUids : ids('-g (--proxy-gid)', gidFlag);

  const inboundRaw = (f.inboundPorts ?? '').trim();
  const inboundPorts = inboundRaw === '*' ? '*' : ports('-b (--istio-inbound-ports)', inboundRaw);
  const inboundPortsExclude = ports('-d (--istio-local-exclude-ports)', f.localExcludePorts ?? '');
  if (inboundPorts !== '*' && inboundPortsExclude.length > 0) warnings.push('-d (--istio-local-exclude-ports) applies only with -b "*": ignored');

  const includeRaw = (f.serviceCidr ?? '').trim();
  const outboundCidrs = includeRaw === '*' ? '*' : cidrs('-i (--istio-service-cidr)', includeRaw, warnings);
  const excludeRaw = (f.serviceExcludeCidr ?? '').trim();
  if (excludeRaw === '*') throw new CaptureFlagError('-x (--istio-service-exclude-cidr) "*": excluding every destination is not a range; leave -i empty to capture no outbound traffic');

  return {
    config: {
      proxyPort: port('-p (--envoy-port)', f.envoyPort ?? String(DEFAULT_PROXY_PORT)),
      inboundCapturePort: port('-z (--inbound-capture-port)', f.inboundCapturePort ?? String(DEFAULT_INBOUND_CAPTURE_PORT)),
      inboundTunnelPort: port('-e (--inbound-tunnel-port)', f.inboundTunnelPort ?? String(DEFAULT_INBOUND_TUNNEL_PORT)),
      proxyUids,
      proxyGids,
      inboundPorts,
      inboundPortsExclude,
      outboundCidrs,
      outboundCidrsExclude: cidrs('-x (--istio-service-exclude-cidr)', excludeRaw, warnings),
      outboundPorts: ports('-q (--istio-outbound-ports)', f.outboundPorts ?? ''),
      outboundPortsExclude: ports('-o (--istio-local-outbound-ports-exclude)', f.localOutboundPortsExclude ?? ''),
      excludeInterfaces: names('-c (--istio-exclude-interfaces)', f.excludeInterfaces ?? ''),
      kubeVirtInterfaces: names('-k (--kube-virt-interfaces)', f.kubeVirtInterfaces ?? ''),
    },
    warnings,
  };
}

function list(value: string): string[] {
  return value
    .split(',')
    .map((s) => s.trim())
    .filter((s) => s !== '');
}

function port(flag: string, value: string): number {
  const n = Number(value.trim());
  if (!/^\d+$/.test(value.trim()) || n < 1 || n > 65535) throw new CaptureFlagError(`${flag} ${JSON.stringify(value)}: not a port (1-65535)`);
  return n;
}

function ports(flag: string, value: string): number[] {
  return list(value).map((p) => port(flag, p));
}

function ids(flag: string, value: string): number[] {
  const out = list(value).map((s) => {
    if (!/^\d+$/.test(s) || Number(s) > 0xffffffff) throw new CaptureFlagError(`${flag} ${JSON.stringify(s)}: not a numeric id`);
    return Number(s);
  });
  if (out.length === 0) throw new CaptureFlagError(`${flag}: empty; the proxy's own traffic would be captured and loop`);
  return out;
}

function names(flag: string, value: string): string[] {
  return list(value).map((s) => {
    if (!/^[A-Za-z0-9_.:@+-]{1,15}$/.test(s)) throw new CaptureFlagError(`${flag} ${JSON.stringify(s)}: not an interface name`);
    return s;
  });
}

/** IPv4 CIDRs, normalised as iptables prints them; IPv6 ones are left out with a warning. */
function cidrs(flag: string, value: string, warnings: string[]): string[] {
  const out: string[] = [];
  for (const item of list(value)) {
    const [addr, bits, ...rest] = item.split('/');
    const prefix = bits === undefined ? NaN : Number(bits);
    if (rest.length > 0 || bits === undefined || !/^\d+$/.test(bits)) throw new CaptureFlagError(`${flag} ${JSON.stringify(item)}: not a CIDR (address/prefix)`);
    if (isIPv6(addr) && prefix <= 128) {
      warnings.push(`${flag} ${item}: IPv6 ranges are not captured (Skiff writes IPv4 rules only); ignored`);
      continue;
    }
    if (!isIPv4(addr) || prefix > 32) throw new CaptureFlagError(`${flag} ${JSON.stringify(item)}: not a CIDR (address/prefix)`);
    out.push(networkOf(addr, prefix));
  }
  return out;
}

/** `10.1.2.3/16` → `10.1.0.0/16`, as iptables-save prints it. */
function networkOf(addr: string, prefix: number): string {
  const n = addr.split('.').reduce((acc, o) => acc * 256 + Number(o), 0);
  const mask = prefix === 0 ? 0 : (0xffffffff << (32 - prefix)) >>> 0;
  const net = (n & mask) >>> 0;
  return `${[net >>> 24, (net >>> 16) & 255, (net >>> 8) & 255, net & 255].join('.')}/${prefix}`;
}
