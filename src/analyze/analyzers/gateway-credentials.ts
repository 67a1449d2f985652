/**
 * A Gateway server terminating TLS with `credentialName` needs that Secret, with a certificate
 * and its key (and CA certificates for MUTUAL), in the namespace of every gateway workload the
 * Gateway selects — where Istio, and Skiff's translation, look it up. A missing Secret is IST0101
 * (`Referenced credentialName not found`), one that cannot be used IST0161, as Istio's
 * `gateway.SecretAnalyzer` reports them. Translation leaves such a server out; the other servers
 * keep serving.
 */
import type { GatewaySpec } from '../../api/kinds/networking/gateway.js';
import type { Resource } from '../../api/types.js';
import { resolveCredential } from '../../config/tls-credentials.js';
import type { Analyzer } from '../context.js';
import { CORE, NETWORKING, namespaceOf } from '../context.js';
import { MessageTypes, text } from '../messages.js';
import { selected, workloads } from '../workloads.js';

export const gatewayCredentials: Analyzer = {
  name: 'gateway.SecretAnalyzer',
  description: 'Checks that the credentials Gateway servers terminate TLS with exist and can be used',
  analyze(ctx) {
    const secrets = new Map<string, Resource>();
    for (const lr of ctx.all(CORE, 'Secret')) secrets.set(`${namespaceOf(lr.resource)}/${lr.resource.metadata.name}`, lr.resource);
    const lookup = (namespace: string, name: string): Resource | undefined => secrets.get(`${namespace}/${name}`);
    const all = workloads(ctx);
    for (const lr of ctx.all(NETWORKING, 'Gateway')) {
      const spec = lr.resource.spec as GatewaySpec;
      // The gateway workloads' namespaces; none selected: the Gateway's own (Istio's fallback).
      const namespaces = [...new Set(selected(all, spec.selector ?? {}).map((w) => w.namespace))];
      if (namespaces.length === 0) namespaces.push(namespaceOf(lr.resource));
      (spec.servers ?? []).forEach((server, i) => {
        const tls = server.tls;
        const name = tls?.credentialName;
        if (name === undefined || (tls?.mode !== 'SIMPLE' && tls?.mode !== 'MUTUAL')) return;
        const path = ['spec', 'servers', i, 'tls', 'credentialName'];
        for (const ns of namespaces) {
          const found = resolveCredential(lookup, ns, name, { cert: true, ca: tls.mode === 'MUTUAL' });
          if (found.ok) continue;
          if (found.missing) ctx.report(MessageTypes.ReferencedResourceNotFound, lr, text.referencedResourceNotFound('credentialName', name), path);
          else ctx.report(MessageTypes.InvalidGatewayCredential, lr, text.invalidGatewayCredential(name, found.error), path);
          break;
        }
      });
    }
  },
};
