// Turns a WritePlan into one etcd transaction, and a failed transaction back into the reason.
// Every compare has a matching read in the failure branch, so a failed commit tells exactly
// which condition broke, atomically, without a second round trip.
import type { ICompare, IRequestOp, IResponseOp, ITxnRequest } from 'etcd3';
import type { ClaimUse, Precondition, WritePlan } from '../intent/index.js';
import type { Resource } from '../model/index.js';
import { claimKey, collectionPrefix, networkClaimPrefixes, prefixEnd, resourceKey, secretKey, secretPrefix, statusCollectionPrefix, statusKey } from './keys.js';

export type Check = { kind: 'precondition'; pre: Precondition } | { kind: 'claim'; use: ClaimUse };

export interface CompiledTxn {
  request: ITxnRequest;
  checks: Check[];
}

const buf = (s: string) => Buffer.from(s);

/** The stored form: resourceVersion is the key's mod revision and status has its own key. */
export function encodeResource(r: Resource): Buffer {
  const { resourceVersion: _rv, ...metadata } = r.metadata;
  const { status: _status, ...rest } = r;
  return Buffer.from(JSON.stringify({ ...rest, metadata }));
}

function compareAndRead(pre: Precondition): { compare: ICompare; read: IRequestOp } {
  switch (pre.type) {
    case 'absent':
      return { compare: { key: buf(resourceKey(pre.ref)), target: 'Version', result: 'Equal', version: 0 }, read: { request_range: { key: buf(resourceKey(pre.ref)), keys_only: true } } };
    case 'exists':
      return { compare: { key: buf(resourceKey(pre.ref)), target: 'Version', result: 'Greater', version: 0 }, read: { request_range: { key: buf(resourceKey(pre.ref)), keys_only: true } } };
    case 'unchanged':
      return { compare: { key: buf(resourceKey(pre.ref)), target: 'Mod', result: 'Equal', mod_revision: pre.resourceVersion }, read: { request_range: { key: buf(resourceKey(pre.ref)) } } };
    case 'empty': {
      const p = collectionPrefix(pre.collection);
      // On a range, "version == 0" holds only when no key exists in it.
      return { compare: { key: buf(p), range_end: prefixEnd(p), target: 'Version', result: 'Equal', version: 0 }, read: { request_range: { key: buf(p), range_end: prefixEnd(p), count_only: true } } };
    }
    case 'stable': {
      const p = collectionPrefix(pre.collection);
      return {
        compare: { key: buf(p), range_end: prefixEnd(p), target: 'Mod', result: 'Less', mod_revision: pre.revision + 1 },
        read: { request_range: { key: buf(p), range_end: prefixEnd(p), count_only: true, min_mod_revision: pre.revision + 1 } },
      };
    }
    default: {
      const never: never = pre;
      throw new Error(`unknown precondition ${JSON.stringify(never)}`);
    }
  }
}

export function compilePlan(plan: WritePlan, owner: string): CompiledTxn {
  const checks: Check[] = [];
  const compare: ICompare[] = [];
  const failure: IRequestOp[] = [];
  for (const pre of plan.preconditions) {
    const { compare: c, read } = compareAndRead(pre);
    checks.push({ kind: 'precondition', pre });
    compare.push(c);
    failure.push(read);
  }
  for (const use of plan.claim) {
    const key = buf(claimKey(use.claim));
    checks.push({ kind: 'claim', use });
    compare.push({ key, target: 'Version', result: 'Equal', version: 0 });
    failure.push({ request_range: { key } });
  }
  const success: IRequestOp[] = [];
  const del = (key: string, prefix = false): IRequestOp => ({ request_delete_range: { key: buf(key), ...(prefix ? { range_end: prefixEnd(key) } : {}) } });
  if (plan.put) {
    const ref = { ...plan.put.metadata, kind: plan.put.kind };
    // Status first: the cache then has it when the resource itself arrives in the same revision.
    if (plan.initialStatus) success.push({ request_put: { key: buf(statusKey(ref)), value: buf(JSON.stringify(plan.put.status)) } });
    success.push({ request_put: { key: buf(resourceKey(ref)), value: encodeResource(plan.put) } });
  }
  for (const ref of plan.delete) success.push(del(resourceKey(ref)), del(statusKey(ref)));
  for (const c of plan.deleteCollections) success.push(del(collectionPrefix(c), true), del(statusCollectionPrefix(c), true));
  const value = buf(JSON.stringify({ owner }));
  for (const use of plan.claim) success.push({ request_put: { key: buf(claimKey(use.claim)), value } });
  for (const c of plan.release) success.push(del(claimKey(c)));
  for (const n of plan.releaseNetworks) for (const p of networkClaimPrefixes(n.tenant, n.network)) success.push(del(p, true));
  for (const s of plan.putSecrets) success.push({ request_put: { key: buf(secretKey(s.path)), value: buf(s.value) } });
  for (const s of plan.deleteSecrets) success.push(del(secretPrefix(s), true));
  return { request: { compare, success, failure }, checks };
}

/** Which checks failed, judged from the failure branch's reads. */
export function failedChecks(compiled: CompiledTxn, responses: IResponseOp[]): { check: Check; current?: Buffer; currentRevision?: string }[] {
  const out: { check: Check; current?: Buffer; currentRevision?: string }[] = [];
  compiled.checks.forEach((check, i) => {
    const r = responses[i]?.response_range;
    if (!r) return;
    const count = Number(r.count ?? r.kvs.length);
    const kv = r.kvs[0];
    let failed: boolean;
    if (check.kind === 'claim') failed = r.kvs.length > 0;
    else {
      const pre = check.pre;
      switch (pre.type) {
        case 'absent':
          failed = r.kvs.length > 0;
          break;
        case 'exists':
          failed = r.kvs.length === 0;
          break;
        case 'unchanged':
          failed = !kv || String(kv.mod_revision) !== pre.resourceVersion;
          break;
        case 'empty':
        case 'stable':
          failed = count > 0;
          break;
        default: {
          const never: never = pre;
          throw new Error(`unknown precondition ${JSON.stringify(never)}`);
        }
      }
    }
    if (failed) out.push({ check, current: kv?.value, currentRevision: kv ? String(kv.mod_revision) : undefined });
  });
  return out;
}
