/**
 * VirtualService destinations must name a host some Service or ServiceEntry provides (IST0101),
 * a port that host serves (IST0101 host:port), and a port at all when the host serves several
 * (IST0112) — as Istio's DestinationHostAnalyzer checks.
 */
import type { Analyzer } from '../context.js';
import { NETWORKING, namespaceOf } from '../context.js';
import { findHost, providedHosts } from '../hosts.js';
import { MessageTypes, text } from '../messages.js';
import { destinationsOf, vsSpec } from './vs-util.js';

export const vsDestinationHosts: Analyzer = {
  name: 'virtualservice.DestinationHostAnalyzer',
  description: 'Checks the destination hosts associated with each virtual service',
  analyze(ctx) {
    const hosts = providedHosts(ctx);
    for (const lr of ctx.all(NETWORKING, 'VirtualService')) {
      const ns = namespaceOf(lr.resource);
      for (const d of destinationsOf(vsSpec(lr))) {
        const host = d.destination.host;
        const found = findHost(hosts, host, ns);
        if (!found) {
          ctx.report(MessageTypes.ReferencedResourceNotFound, lr, text.referencedResourceNotFound(d.mirror ? 'mirror host' : 'host', host), [...d.path, 'host']);
          continue;
        }
        const port = d.destination.port?.number;
        if (port === undefined) {
          if (found.ports.length > 1) {
            ctx.report(MessageTypes.VirtualServiceDestinationPortSelectorRequired, lr, text.portSelectorRequired(host, found.ports), [...d.path, 'host']);
          }
        } else if (found.ports.length > 0 && !found.ports.includes(port)) {
          ctx.report(MessageTypes.ReferencedResourceNotFound, lr, text.referencedResourceNotFound('host:port', `${host}:${port}`), [...d.path, 'port', 'number']);
        }
      }
    }
  },
};
