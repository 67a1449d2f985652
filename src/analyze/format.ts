/**
 * Prints analysis messages as istioctl does
 * (`Error [IST0101] (VirtualService default/reviews bookinfo.yaml:12) Referenced ...`), or as
 * JSON for machines: `[{code, level, message, resource, origin: {file, line, column}}]`.
 */
import { resourceKey } from '../api/types.js';
import { paint } from '../config/format.js';
import type { AnalysisMessage, MessageResource } from './context.js';
import type { Level } from './messages.js';

function display(r: MessageResource): string {
  return r.namespace ? `${r.kind} ${r.namespace}/${r.name}` : `${r.kind} ${r.name}`;
}

function keyOf(r: MessageResource): string {
  return resourceKey({ kind: r.kind, metadata: { name: r.name, ...(r.namespace ? { namespace: r.namespace } : {}) } });
}

const STYLE: Record<Level, 'red' | 'yellow' | 'blue'> = { Error: 'red', Warning: 'yellow', Info: 'blue' };

export function formatMessage(m: AnalysisMessage, color = false): string {
  const where = m.origin ? (m.origin.line !== undefined ? `${m.origin.file}:${m.origin.line}` : m.origin.file) : undefined;
  const subject = [m.resource ? display(m.resource) : undefined, where].filter((s) => s !== undefined).join(' ');
  const head = paint(`${m.level} [${m.code}]`, STYLE[m.level], color);
  return subject ? `${head} (${subject}) ${m.message}` : `${head} ${m.message}`;
}

export interface MessageJson {
  code: string;
  level: Level;
  message: string;
  resource?: string;
  origin?: { file: string; line?: number; column?: number };
  documentationUrl?: string;
}

export function messageToJson(m: AnalysisMessage): MessageJson {
  return {
    code: m.code,
    level: m.level,
    message: m.message,
    ...(m.resource ? { resource: keyOf(m.resource) } : {}),
    ...(m.origin
      ? {
          origin: {
            file: m.origin.file,
            ...(m.origin.line !== undefined ? { line: m.origin.line } : {}),
            ...(m.origin.col !== undefined ? { column: m.origin.col } : {}),
          },
        }
      : {}),
    ...(m.documentationUrl !== undefined ? { documentationUrl: m.documentationUrl } : {}),
  };
}
