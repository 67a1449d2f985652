/**
 * What skiffd reports as left out of every proxy's config, in one list: resources its config
 * source holds but does not serve (they fail their kind's schema) and resources translation left
 * out (translating them throws), each with the way to mend it.
 */
import type { ConfigSource } from '../config/source.js';
import type { LeftOutEntry } from './api-types.js';
import type { LeftOutResource } from './translate/isolate.js';

export function leftOutEntries(config: ConfigSource, translation: readonly LeftOutResource[]): LeftOutEntry[] {
  const rejected = (config.rejected?.() ?? []).map(
    (r): LeftOutEntry => ({ resource: r.ref, stage: 'validation', reason: r.errors.join('; '), mend: r.mend }),
  );
  const untranslated = translation.map((t): LeftOutEntry => {
    const group = t.apiVersion.includes('/') ? t.apiVersion.slice(0, t.apiVersion.indexOf('/')) : '';
    const type = group === '' ? t.kind.toLowerCase() : `${t.kind.toLowerCase()}.${group}`;
    return {
      resource: t.ref,
      stage: 'translation',
      reason: `translating it fails: ${t.error}`,
      mend: `change it and apply it again (skiff apply -f FILE), or remove it: skiff delete ${type} ${t.name}${t.namespace !== undefined && t.namespace !== '' ? ` -n ${t.namespace}` : ''}`,
    };
  });
  return [...rejected, ...untranslated];
}
