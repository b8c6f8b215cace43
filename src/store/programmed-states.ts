// What each replica says its agents have programmed, so that the leader's status counts hosts
// connected to any replica. Every replica compiles the same programs from the same intent;
// only the acks differ, so only they are published. Outside the intent root, like path states:
// they follow acks, and the intent cache, its watchers and its history have no use for them.
//
//   /weft/programmed/v1/hosts/<host>/<replica>   {"segments":[{"id","applied","currentTo","errors"}]}
//   /weft/programmed/v1/revisions/<replica>      {"revision"}
//
// Both under the publishing replica's lease, so a dead replica's entries go with it. One key
// per host and replica (never two replicas writing one key): a replica deletes its own entry
// when the session ends, with no race against the replica the host moved to.
//
// An applied segment is current to the publisher's revision (its program book's, written
// after the host entries of the same flush), not to a revision stored per segment: a change
// that leaves a host's segments as they were moves that one key, not every host's entry.
// Keys and values are checked and bounded here (parse*), on the way in from etcd. Pure.
import { z } from 'zod';
import type { ObjectError } from '../protocol/index.js';

export const PROGRAMMED_ROOT = '/weft/programmed/v1/';
export const PROGRAMMED_HOSTS = `${PROGRAMMED_ROOT}hosts/`;
export const PROGRAMMED_REVISIONS = `${PROGRAMMED_ROOT}revisions/`;
export const programmedHostKey = (host: string, replica: string): string => `${PROGRAMMED_HOSTS}${host}/${replica}`;
export const programmedRevisionKey = (replica: string): string => `${PROGRAMMED_REVISIONS}${replica}`;

/** Host names are DNS labels; replica ids short lowercase words (12 hex digits as generated). */
const NAME_RE = /^[a-z0-9]([-a-z0-9]{0,61}[a-z0-9])?$/;
/** Segments one host entry may hold (a host in this many networks' segments is far past any fabric). */
export const MAX_ENTRY_SEGMENTS = 4096;
/** Errors kept per segment: status shows at most 20 per resource anyway. */
export const MAX_SEGMENT_ERRORS = 20;
const MAX_ERROR_TEXT = 512;
/** One entry's bytes; a flush also keeps each transaction under etcd's request limit. */
export const MAX_ENTRY_BYTES = 512 * 1024;
const MAX_REVISION_BYTES = 64;

const Text = (max: number) => z.string().max(max);
const StoredError = z.strictObject({ segment: Text(256), object: Text(MAX_ERROR_TEXT), message: Text(MAX_ERROR_TEXT) });
const StoredSegment = z.strictObject({
  id: Text(256).min(1),
  applied: z.boolean(),
  /** While not applied: the revision the host's applied content is current to. */
  currentTo: z.number().int().nonnegative().optional(),
  errors: z.array(StoredError).max(MAX_SEGMENT_ERRORS),
});
const StoredEntry = z.strictObject({ segments: z.array(StoredSegment).max(MAX_ENTRY_SEGMENTS) });
const StoredRevision = z.strictObject({ revision: z.number().int().nonnegative() });

export interface ProgrammedSegment {
  id: string;
  applied: boolean;
  /** Only when not applied (an applied segment is current to its publisher's revision). */
  currentTo?: number;
  errors: ObjectError[];
}

export interface ProgrammedHostId {
  host: string;
  replica: string;
}

export interface ProgrammedEntry extends ProgrammedHostId {
  segments: ProgrammedSegment[];
  /** etcd's mod revision of the entry: of two replicas' entries for one host, the newer wins. */
  modRevision: number;
}

export type ProgrammedChange =
  /** Everything etcd holds now (on start, and after a reload): anything else is gone. */
  | { type: 'snapshot'; entries: ProgrammedEntry[]; revisions: Map<string, number> }
  | { type: 'put'; entry: ProgrammedEntry }
  | { type: 'delete'; id: ProgrammedHostId }
  | { type: 'revision'; replica: string; revision: number | undefined };

/** A host's segment states as published: errors bounded, messages cut. Pure. */
export function encodeProgrammedEntry(segments: readonly ProgrammedSegment[]): string {
  const cut = (s: string) => (s.length > MAX_ERROR_TEXT ? s.slice(0, MAX_ERROR_TEXT) : s);
  return JSON.stringify({
    segments: segments.slice(0, MAX_ENTRY_SEGMENTS).map((s) => ({
      id: s.id,
      applied: s.applied,
      ...(s.applied ? {} : { currentTo: s.currentTo ?? 0 }),
      errors: s.errors.slice(0, MAX_SEGMENT_ERRORS).map((e) => ({ segment: cut(e.segment), object: cut(e.object), message: cut(e.message) })),
    })),
  });
}

export const encodeProgrammedRevision = (revision: number): string => JSON.stringify({ revision });

/** The key's parts: a host entry's ids, a revision key's replica, or undefined. Pure. */
export function parseProgrammedKey(key: string): { type: 'host'; id: ProgrammedHostId } | { type: 'revision'; replica: string } | undefined {
  if (key.startsWith(PROGRAMMED_HOSTS)) {
    const parts = key.slice(PROGRAMMED_HOSTS.length).split('/');
    if (parts.length !== 2 || !parts.every((p) => NAME_RE.test(p))) return undefined;
    return { type: 'host', id: { host: parts[0]!, replica: parts[1]! } };
  }
  if (key.startsWith(PROGRAMMED_REVISIONS)) {
    const replica = key.slice(PROGRAMMED_REVISIONS.length);
    return NAME_RE.test(replica) ? { type: 'revision', replica } : undefined;
  }
  return undefined;
}

function json(value: Buffer, max: number): unknown {
  if (value.length > max) return undefined;
  try {
    return JSON.parse(value.toString());
  } catch {
    return undefined;
  }
}

/** A stored host entry, checked; undefined when the value is not one. Pure. */
export function parseProgrammedEntry(id: ProgrammedHostId, value: Buffer, modRevision: number): ProgrammedEntry | undefined {
  const r = StoredEntry.safeParse(json(value, MAX_ENTRY_BYTES));
  return r.success ? { ...id, segments: r.data.segments, modRevision } : undefined;
}

/** A stored publisher revision, checked. Pure. */
export function parseProgrammedRevision(value: Buffer): number | undefined {
  const r = StoredRevision.safeParse(json(value, MAX_REVISION_BYTES));
  return r.success ? r.data.revision : undefined;
}
