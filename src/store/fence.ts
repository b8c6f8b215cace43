// A fence: a condition on the leader key added to a write's transaction, so that a write of
// leader-only work lands only while its replica still holds the leadership it started under.
// The key's create revision names one term of leadership: a key deleted and taken again,
// even by the same replica, has a new one, and a missing key has none (0).
import type { ICompare, IRequestOp, IResponseOp } from 'etcd3';

export interface Fence {
  key: string;
  /** The leader key's create revision when this term began. */
  createRevision: string;
}

export function fenceCompare(fence: Fence): ICompare {
  return { key: Buffer.from(fence.key), target: 'Create', result: 'Equal', create_revision: fence.createRevision };
}

/** The read a fenced transaction's failure branch makes first, to tell a lost fence from other failures. */
export function fenceRead(fence: Fence): IRequestOp {
  return { request_range: { key: Buffer.from(fence.key), keys_only: true } };
}

/** Whether that read shows the fence still holding. */
export function fenceHolds(fence: Fence, read: IResponseOp | undefined): boolean {
  const kv = read?.response_range?.kvs[0];
  return !!kv && String(kv.create_revision) === fence.createRevision;
}
