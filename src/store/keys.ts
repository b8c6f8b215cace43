// The etcd key layout, versioned under one prefix. Children sit under their parents' names so
// that a cascade (all endpoints of a network, all claims of a network) is one range delete.
//
//   /weft/v1/r/<plural>/[<tenant>/[<network>/]]<name>   resources: metadata and spec (JSON)
//   /weft/v1/st/<plural>/[<tenant>/[<network>/]]<name>  their status, kept apart so that
//                                                        status churn never moves the spec's
//                                                        resourceVersion
//   /weft/v1/c/vni/<vni>                                 VNI claims, fabric-wide
//   /weft/v1/c/host-address/<address>                    hosts' underlay address claims,
//                                                        fabric-wide (canonical address text)
//   /weft/v1/c/ip/<tenant>/<network>/<address>           address claims, per network
//   /weft/v1/c/mac/<tenant>/<network>/<mac>              MAC claims, per network
//   /weft/v1/s/<area>/<path...>                          secrets (token hashes), never served
import { KINDS, type KindName, type ResourceRef } from '../model/index.js';
import type { Claim, Collection } from '../intent/index.js';

export const ROOT = '/weft/v1/';
const RES = `${ROOT}r/`;
const STATUS = `${ROOT}st/`;
const CLAIM = `${ROOT}c/`;
const SECRET = `${ROOT}s/`;

function parentPath(p: { tenant?: string; network?: string }, scope: string): string {
  if (scope === 'cluster') return '';
  if (scope === 'tenant') return `${p.tenant}/`;
  return `${p.tenant}/${p.network}/`;
}

function refPath(ref: ResourceRef): string {
  const def = KINDS[ref.kind];
  return `${def.plural}/${parentPath(ref, def.scope)}${ref.name}`;
}

export function resourceKey(ref: ResourceRef): string {
  return RES + refPath(ref);
}

export function statusKey(ref: ResourceRef): string {
  return STATUS + refPath(ref);
}

function collectionPath(c: Collection): string {
  let p = `${KINDS[c.kind].plural}/`;
  if (c.tenant !== undefined) p += `${c.tenant}/`;
  if (c.tenant !== undefined && c.network !== undefined) p += `${c.network}/`;
  return p;
}

/** The key prefix holding a collection; parents given narrow it (a tenant, then a network). */
export function collectionPrefix(c: Collection): string {
  return RES + collectionPath(c);
}

export function statusCollectionPrefix(c: Collection): string {
  return STATUS + collectionPath(c);
}

export function claimKey(c: Claim): string {
  if (c.pool === 'vni' || c.pool === 'host-address') return `${CLAIM}${c.pool}/${c.value}`;
  return `${CLAIM}${c.pool}/${c.tenant}/${c.network}/${c.value}`;
}

export function networkClaimPrefixes(tenant: string, network: string): string[] {
  return [`${CLAIM}ip/${tenant}/${network}/`, `${CLAIM}mac/${tenant}/${network}/`];
}

export function secretKey(path: string[]): string {
  return `${SECRET}${path.join('/')}`;
}

export function secretPrefix(path: string[]): string {
  return `${SECRET}${path.join('/')}/`;
}

export type ParsedKey =
  | { type: 'resource'; ref: ResourceRef }
  | { type: 'status'; ref: ResourceRef }
  | { type: 'secret'; path: string[] }
  | { type: 'claim' }
  | { type: 'other' };

const BY_PLURAL = new Map<string, KindName>(Object.values(KINDS).map((k) => [k.plural, k.kind]));

function parseRefPath(path: string): ResourceRef | undefined {
  const parts = path.split('/');
  const kind = BY_PLURAL.get(parts[0]!);
  if (!kind) return undefined;
  const scope = KINDS[kind].scope;
  const want = scope === 'cluster' ? 2 : scope === 'tenant' ? 3 : 4;
  if (parts.length !== want) return undefined;
  const ref: ResourceRef = { kind, name: parts[want - 1]! };
  if (scope !== 'cluster') ref.tenant = parts[1];
  if (scope === 'network') ref.network = parts[2];
  return ref;
}

export function parseKey(key: string): ParsedKey {
  if (key.startsWith(RES)) {
    const ref = parseRefPath(key.slice(RES.length));
    return ref ? { type: 'resource', ref } : { type: 'other' };
  }
  if (key.startsWith(STATUS)) {
    const ref = parseRefPath(key.slice(STATUS.length));
    return ref ? { type: 'status', ref } : { type: 'other' };
  }
  if (key.startsWith(SECRET)) return { type: 'secret', path: key.slice(SECRET.length).split('/') };
  if (key.startsWith(CLAIM)) return { type: 'claim' };
  return { type: 'other' };
}

/** The end of the range of all keys starting with `prefix` (etcd's "prefix + 1"). */
export function prefixEnd(prefix: string): Buffer {
  const b = Buffer.from(prefix);
  for (let i = b.length - 1; i >= 0; i--) {
    if (b[i]! < 0xff) {
      const end = b.subarray(0, i + 1);
      end[i]! += 1;
      return Buffer.from(end);
    }
  }
  return Buffer.from([0]);
}
