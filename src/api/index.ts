/**
 * Skiff's config API: resource types, the schema kit kinds are written with, validation of parsed
 * documents, the kind registry and CRD generation.
 */
export * from './types.js';
export * from './schema-kit.js';
export { parseDuration, parseDurationNanos, formatDuration } from './duration.js';
export { compileRegex } from './regex.js';
export type { CompiledRegex } from './regex.js';
export { validateResource } from './validate.js';
export type { ValidationResult } from './validate.js';
export { checkSchema, suggest } from './schema-check.js';
export { kinds, lookupKind, isUnsupportedKind, apiVersionOf, splitApiVersion, storageVersionOf } from './registry.js';
export { generateCrds, crdFor, toStructural } from './crd.js';
