/**
 * The pages to open in a browser once `skiff up` is ready: for each VirtualService bound to a
 * Gateway for any host (`hosts: ["*"]`), its first exact-path match, as an URL on the ingress
 * gateway. For Bookinfo this is `http://127.0.0.1:8080/productpage`.
 */
import type { Resource } from '../api/types.js';
import type { VirtualServiceSpec } from '../api/kinds/networking/virtual-service.js';

export function gatewayPages(virtualServices: readonly Resource[], ingressUrl: string): string[] {
  const pages = new Set<string>();
  for (const r of virtualServices) {
    if (r.kind !== 'VirtualService') continue;
    const spec = r.spec as VirtualServiceSpec;
    const onGateway = (spec.gateways ?? []).some((g) => g !== 'mesh');
    if (!onGateway || !(spec.hosts ?? []).includes('*')) continue;
    const path = (spec.http ?? []).flatMap((rule) => rule.match ?? []).find((m) => m.uri?.exact !== undefined)?.uri?.exact;
    if (path !== undefined && path.startsWith('/')) pages.add(`${ingressUrl}${path}`);
  }
  return [...pages];
}
