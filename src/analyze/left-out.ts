/**
 * The running skiffd's left-out resources as analysis messages (SKF0006): resources it holds but
 * gives no proxy, with why and how to mend them. They come from skiffd's status, not from files.
 */
import type { AnalysisMessage, MessageResource } from './context.js';
import { MessageTypes } from './messages.js';

/** What skiffd reports of one left-out resource (`SkiffdStatus.leftOut`). */
export interface LeftOutReport {
  /** `VirtualService default/reviews`. */
  resource: string;
  stage: 'validation' | 'translation';
  reason: string;
  mend: string;
}

export function leftOutMessages(entries: readonly LeftOutReport[]): AnalysisMessage[] {
  const type = MessageTypes.LeftOutOfProxyConfig;
  return entries.map((e) => {
    const resource = parseRef(e.resource);
    return {
      code: type.code,
      name: type.name,
      level: type.level,
      message: `skiffd leaves ${resource === undefined ? e.resource : 'it'} out of every proxy's config: ${e.reason}. To mend it: ${e.mend}`,
      ...(resource !== undefined ? { resource } : {}),
    };
  });
}

/** `VirtualService default/reviews` → kind, namespace, name; undefined for anything else. */
function parseRef(ref: string): MessageResource | undefined {
  const m = /^(\S+) (?:([^/\s]+)\/)?(\S+)$/.exec(ref);
  if (m === null) return undefined;
  return { kind: m[1], name: m[3], ...(m[2] !== undefined ? { namespace: m[2] } : {}) };
}
