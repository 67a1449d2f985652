/** Every verb of the CLI, one module each. Add a verb by adding its `register` here. */
import type { Command } from 'commander';
import { register as analyze } from './analyze.js';
import { register as apply } from './apply.js';
import { register as authz } from './authz.js';
import { register as dashboard } from './dashboard.js';
import { register as del } from './delete.js';
import { register as describe } from './describe.js';
import { register as down } from './down.js';
import { register as exec } from './exec.js';
import { register as get } from './get.js';
import { register as install } from './install.js';
import { register as iptables } from './iptables.js';
import { register as kubeInject } from './kube-inject.js';
import { register as logs } from './logs.js';
import { register as manifest } from './manifest.js';
import { register as proxy } from './proxy.js';
import { register as proxyConfig } from './proxy-config.js';
import { register as proxyStatus } from './proxy-status.js';
import { register as scale } from './scale.js';
import { register as skiffd } from './skiffd.js';
import { register as up } from './up.js';
import { register as validate } from './validate.js';
import { register as version } from './version.js';

type Register = (program: Command) => void;

const verbs: Register[] = [analyze, apply, authz, dashboard, del, describe, down, exec, get, install, iptables, kubeInject, logs, manifest, proxy, proxyConfig, proxyStatus, scale, skiffd, up, validate, version];

export function registerCommands(program: Command): void {
  for (const register of verbs) register(program);
}
