/**
 * Pod names as Kubernetes makes them: `<deployment>-<template hash>-<random>`, using the
 * alphabet Kubernetes uses for generated names (no vowels, no look-alike characters).
 */
import { randomInt } from 'node:crypto';

const ALPHABET = 'bcdfghjklmnpqrstvwxz2456789';

/** 32-bit FNV-1a, the hash Kubernetes uses for pod-template-hash. */
function fnv1a32(text: string): number {
  let h = 0x811c9dc5;
  for (const byte of Buffer.from(text, 'utf8')) {
    h ^= byte;
    h = Math.imul(h, 0x01000193) >>> 0;
  }
  return h;
}

/** JSON with object keys sorted, so equal templates hash equally whatever their key order. */
function canonical(value: unknown): string {
  if (Array.isArray(value)) return `[${value.map(canonical).join(',')}]`;
  if (typeof value === 'object' && value !== null) {
    const entries = Object.entries(value as Record<string, unknown>)
      .filter(([, v]) => v !== undefined)
      .sort(([a], [b]) => (a < b ? -1 : a > b ? 1 : 0));
    return `{${entries.map(([k, v]) => `${JSON.stringify(k)}:${canonical(v)}`).join(',')}}`;
  }
  return JSON.stringify(value) ?? 'null';
}

/** The 10-character `pod-template-hash` of a pod template (same template, same hash). */
export function templateHash(template: unknown): string {
  const digits = String(fnv1a32(canonical(template))).padStart(10, '0');
  return [...digits].map((d) => ALPHABET[d.charCodeAt(0) % ALPHABET.length]).join('');
}

export function randomSuffix(length = 5): string {
  let out = '';
  for (let i = 0; i < length; i++) out += ALPHABET[randomInt(ALPHABET.length)];
  return out;
}

/** A new replica's name; `exists` rejects names in use (collisions are rare but possible). */
export function replicaName(deployment: string, hash: string, exists: (name: string) => boolean): string {
  for (;;) {
    const name = `${deployment}-${hash}-${randomSuffix()}`;
    if (!exists(name)) return name;
  }
}
