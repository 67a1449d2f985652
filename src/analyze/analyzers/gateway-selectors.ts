/**
 * A Gateway's selector must match some gateway workload, in any namespace (IST0101 "selector"),
 * as Istio's IngressGatewayPortAnalyzer checks. Skiff always runs the ingress gateway
 * (`istio: ingressgateway` in istio-system), so Gateways selecting it are satisfied.
 */
import type { GatewaySpec } from '../../api/kinds/networking/gateway.js';
import type { Analyzer } from '../context.js';
import { NETWORKING } from '../context.js';
import { MessageTypes, text } from '../messages.js';
import { selected, selectorString, workloads } from '../workloads.js';

export const gatewaySelectors: Analyzer = {
  name: 'gateway.SelectorAnalyzer',
  description: "Checks that each gateway's selector matches a gateway workload",
  analyze(ctx) {
    const all = workloads(ctx);
    for (const lr of ctx.all(NETWORKING, 'Gateway')) {
      const selector = (lr.resource.spec as GatewaySpec).selector ?? {};
      if (selected(all, selector).length > 0) continue;
      const first = Object.keys(selector).sort()[0];
      const path = first === undefined ? ['spec'] : ['spec', 'selector', first];
      ctx.report(MessageTypes.ReferencedResourceNotFound, lr, text.referencedResourceNotFound('selector', selectorString(selector)), path);
    }
  },
};
