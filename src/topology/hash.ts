// The applied hash: what apply stamps in the `weft.dev/applied-hash` label so that a later plan
// can tell whether a resource was changed outside the topology since. It covers the spec as the
// file declared it (after the model's parse: defaults filled, addresses canonical) and the
// file's labels. 128 bits of SHA-256 in hex: a valid label value (at most 63 characters).
import { createHash } from 'node:crypto';
import { RESERVED_LABELS } from './document.js';

/** JSON with object keys sorted and undefined members dropped, so equal values hash equally. */
export function canonicalJson(v: unknown): string {
  if (Array.isArray(v)) return `[${v.map((x) => (x === undefined ? 'null' : canonicalJson(x))).join(',')}]`;
  if (v && typeof v === 'object') {
    const entries = Object.entries(v as Record<string, unknown>)
      .filter(([, x]) => x !== undefined)
      .sort(([a], [b]) => (a < b ? -1 : a > b ? 1 : 0));
    return `{${entries.map(([k, x]) => `${JSON.stringify(k)}:${canonicalJson(x)}`).join(',')}}`;
  }
  return JSON.stringify(v);
}

/** Labels without the ones apply stamps. */
export function userLabels(labels: Record<string, string>): Record<string, string> {
  return Object.fromEntries(Object.entries(labels).filter(([k]) => !RESERVED_LABELS.includes(k)));
}

export function appliedHash(spec: unknown, labels: Record<string, string>): string {
  return createHash('sha256')
    .update(canonicalJson({ spec, labels: userLabels(labels) }))
    .digest('hex')
    .slice(0, 32);
}
