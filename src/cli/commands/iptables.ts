/**
 * `skiff iptables`, as Istio's `istio-iptables` (the `istio-init` container runs it): writes the
 * `nat` rules that redirect a pod's inbound and outbound TCP to its sidecar's capture listeners
 * (`src/capture/`). `--dry-run` prints them instead.
 */
import type { Command } from 'commander';

interface IptablesCliOptions {
  envoyPort?: string;
  inboundCapturePort?: string;
  inboundTunnelPort?: string;
  proxyUid?: string;
  proxyGid?: string;
  istioInboundInterceptionMode?: string;
  istioInboundPorts?: string;
  istioLocalExcludePorts?: string;
  istioServiceCidr?: string;
  istioServiceExcludeCidr?: string;
  istioOutboundPorts?: string;
  istioLocalOutboundPortsExclude?: string;
  istioExcludeInterfaces?: string;
  kubeVirtInterfaces?: string;
  dryRun?: boolean;
}

export function register(program: Command): void {
  program
    .command('iptables')
    .description("Redirect the pod's TCP traffic to its sidecar with iptables (as istio-iptables)")
    .option('-p, --envoy-port <port>', 'where outbound TCP is redirected (default 15001)')
    .option('-z, --inbound-capture-port <port>', 'where inbound TCP is redirected (default 15006)')
    .option('-e, --inbound-tunnel-port <port>', 'the inbound tunnel port, never captured (default 15008)')
    .option('-u, --proxy-uid <uids>', "uids whose traffic is not captured: the proxy's (default 1337)")
    .option('-g, --proxy-gid <gids>', "gids whose traffic is not captured (default: the uids)")
    .option('-m, --istio-inbound-interception-mode <mode>', 'REDIRECT (TPROXY is not supported)')
    .option('-b, --istio-inbound-ports <ports>', 'inbound ports captured: "*" for all, a list, or empty for none')
    .option('-d, --istio-local-exclude-ports <ports>', 'inbound ports not captured (with -b "*")')
    .option('-i, --istio-service-cidr <cidrs>', 'outbound destinations captured: "*" for all, CIDRs, or empty for none')
    .option('-x, --istio-service-exclude-cidr <cidrs>', 'outbound destinations not captured')
    .option('-q, --istio-outbound-ports <ports>', 'outbound ports captured whatever the destination')
    .option('-o, --istio-local-outbound-ports-exclude <ports>', 'outbound ports not captured')
    .option('-c, --istio-exclude-interfaces <nics>', 'interfaces whose traffic is never captured')
    .option('-k, --kube-virt-interfaces <nics>', 'virtual interfaces whose inbound traffic is treated as outbound')
    .option('-n, --dry-run', 'print the rules (iptables-restore input) instead of applying them')
    .action(async (opts: IptablesCliOptions) => {
      const { parseCaptureFlags, captureRules, restoreText } = await import('../../capture/iptables-rules.js');
      const { applyRestoreText } = await import('../../capture/iptables-apply.js');
      const { config, warnings } = parseCaptureFlags({
        envoyPort: opts.envoyPort,
        inboundCapturePort: opts.inboundCapturePort,
        inboundTunnelPort: opts.inboundTunnelPort,
        proxyUid: opts.proxyUid,
        proxyGid: opts.proxyGid,
        interceptionMode: opts.istioInboundInterceptionMode,
        inboundPorts: opts.istioInboundPorts,
        localExcludePorts: opts.istioLocalExcludePorts,
        serviceCidr: opts.istioServiceCidr,
        serviceExcludeCidr: opts.istioServiceExcludeCidr,
        outboundPorts: opts.istioOutboundPorts,
        localOutboundPortsExclude: opts.istioLocalOutboundPortsExclude,
        excludeInterfaces: opts.istioExcludeInterfaces,
        kubeVirtInterfaces: opts.kubeVirtInterfaces,
      });
      for (const w of warnings) process.stderr.write(`Warning: ${w}\n`);
      const rules = captureRules(config);
      const text = restoreText(rules);
      process.stdout.write(text);
      if (opts.dryRun === true) return;
      await applyRestoreText(text);
      process.stdout.write(`applied ${rules.length} rules to the nat table with iptables-restore\n`);
    });
}
