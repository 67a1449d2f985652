/**
 * Resources, or fields of them, that Skiff stores but does not act on yet (SKF0005), read from
 * the same list `skiff apply` warns from (`src/api/not-enforced.ts`): a policy that looks
 * applied but changes nothing is worse than one that is refused.
 */
import { unenforcedUses } from '../../api/not-enforced.js';
import type { Analyzer } from '../context.js';
import { MessageTypes, text } from '../messages.js';

export const notEnforced: Analyzer = {
  name: 'skiff.NotEnforcedAnalyzer',
  description: 'Reports kinds and fields Skiff accepts but does not enforce yet',
  analyze(ctx) {
    for (const lr of ctx.resources) {
      for (const use of unenforcedUses(lr.resource)) {
        const { entry } = use;
        if (use.paths.length === 0) {
          ctx.report(MessageTypes.NotEnforced, lr, text.kindNotEnforced(entry.kind, entry.effect));
          continue;
        }
        for (const path of use.paths) ctx.report(MessageTypes.NotEnforced, lr, text.fieldNotEnforced(entry.kind, entry.field ?? '', entry.effect), path);
      }
    }
  },
};
