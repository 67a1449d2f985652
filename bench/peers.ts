/**
 * The reference proxies, configured as in the performance baseline: nginx with one worker and an
 * upstream keep-alive pool, HAProxy with one thread and `http-reuse always`, both forwarding every
 * request to the backend.
 */
import { mkdirSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { nginxBuildInfo, nginxConfig, PROXY_CORE } from './backend.js';
import { freePort, start, waitForPort } from './processes.js';
import type { Managed } from './processes.js';
import { pinned } from './tools.js';
import type { Tools } from './tools.js';

export interface Endpoint {
  address: string;
  port: number;
}

export function nginxProxyConfig(dir: string, listen: Endpoint, upstream: Endpoint, nginxV: string): string {
  return nginxConfig(
    dir,
    nginxV,
    `  upstream be { server ${upstream.address}:${upstream.port}; keepalive 64; keepalive_requests 1000000; }
  server {
    listen ${listen.address}:${listen.port};
    location / { proxy_pass http://be; proxy_http_version 1.1; proxy_set_header Connection ""; }
  }`,
  );
}

export function haproxyConfig(listen: Endpoint, upstream: Endpoint): string {
  return `global
  nbthread 1
  maxconn 4000
defaults
  mode http
  option http-keep-alive
  http-reuse always
  timeout connect 5s
  timeout client 120s
  timeout server 120s
frontend fe
  bind ${listen.address}:${listen.port}
  default_backend be
backend be
  server s1 ${upstream.address}:${upstream.port}
`;
}

export interface RunningPeer {
  process: Managed;
  listen: Endpoint;
}

export async function startNginxProxy(tools: Tools, nginx: string, workDir: string, upstream: Endpoint, name = 'proxy-nginx'): Promise<RunningPeer> {
  const dir = join(workDir, name);
  mkdirSync(dir, { recursive: true });
  const listen = { address: '127.0.0.1', port: await freePort() };
  const conf = join(dir, 'nginx.conf');
  writeFileSync(conf, nginxProxyConfig(dir, listen, upstream, nginxBuildInfo(nginx)));
  const cmd = pinned(tools, PROXY_CORE, nginx, ['-p', dir, '-c', conf]);
  const process = start(`nginx (${name})`, cmd.command, cmd.args);
  await waitForPort(listen.address, listen.port, process);
  return { process, listen };
}

export async function startHaproxy(tools: Tools, haproxy: string, workDir: string, upstream: Endpoint): Promise<RunningPeer> {
  const listen = { address: '127.0.0.1', port: await freePort() };
  const conf = join(workDir, 'haproxy.cfg');
  writeFileSync(conf, haproxyConfig(listen, upstream));
  const cmd = pinned(tools, PROXY_CORE, haproxy, ['-f', conf, '-db']);
  const process = start('haproxy', cmd.command, cmd.args);
  await waitForPort(listen.address, listen.port, process);
  return { process, listen };
}
