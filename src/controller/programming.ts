// How many of the hosts that hold a network's segments have a resource's version programmed,
// from the program book's acks. Pure: the host facts are gathered once per status pass and
// then counted for the network and for each of its endpoints, instead of asking the book
// again per endpoint.
import type { ObjectError } from '../protocol/index.js';

/** The program book as status needs it (src/push implements it). */
export interface ProgramStateSource {
  hostsWith(segmentId: string): string[];
  state(host: string, segmentId: string): { applied: boolean; currentTo: number; errors: ObjectError[] };
}

/** One host's applied state across a network's segments. */
export interface HostProgramming {
  host: string;
  /** The lowest revision its segments of the network are current to. */
  currentTo: number;
  /** What its kernel refused (and segment errors), in segment order. */
  errors: ObjectError[];
}

export interface Programming {
  observedVersion: string;
  hosts: { total: number; programmed: number };
  hostErrors?: { host: string; object: string; message: string }[];
}

export const MAX_HOST_ERRORS = 20;

/** Every host holding any of `segmentIds`, sorted by name. */
export function hostProgramming(source: ProgramStateSource, segmentIds: readonly string[]): HostProgramming[] {
  const holders = segmentIds.map((id) => ({ id, hosts: new Set(source.hostsWith(id)) }));
  const hosts = [...new Set(holders.flatMap((h) => [...h.hosts]))].sort();
  return hosts.map((host) => {
    let currentTo = Infinity;
    const errors: ObjectError[] = [];
    for (const { id, hosts: on } of holders) {
      if (!on.has(host)) continue;
      const st = source.state(host, id);
      currentTo = Math.min(currentTo, st.currentTo);
      errors.push(...st.errors);
    }
    return { host, currentTo, errors };
  });
}

/**
 * A host counts as programmed for a resource at `revision` when its segments are current to it
 * and it reports no error about it (`relevant` picks the errors that are; default all).
 */
export function countProgrammed(hosts: readonly HostProgramming[], revision: number, relevant?: (e: ObjectError) => boolean): Programming {
  let programmed = 0;
  const hostErrors: { host: string; object: string; message: string }[] = [];
  for (const h of hosts) {
    const errors = relevant ? h.errors.filter((e) => e.object === 'segment' || relevant(e)) : h.errors;
    if (h.currentTo >= revision && !errors.length) programmed++;
    for (const e of errors) if (hostErrors.length < MAX_HOST_ERRORS) hostErrors.push({ host: h.host, object: e.object, message: e.message });
  }
  return { observedVersion: String(revision), hosts: { total: hosts.length, programmed }, ...(hostErrors.length ? { hostErrors } : {}) };
}

/**
 * countProgrammed for many resources of one network: hosts' revisions sorted once, so each
 * count is a binary search plus a look at the hosts that reported errors (few, as a rule).
 * A status pass of E endpoints on H hosts costs E log H instead of E × H.
 */
export class ProgrammingCounter {
  /** Every host's currentTo, ascending. */
  private readonly currentTo: number[];
  /** Hosts with any error, in the given (name) order. */
  private readonly withErrors: HostProgramming[];

  constructor(private readonly hosts: readonly HostProgramming[]) {
    this.currentTo = hosts.map((h) => h.currentTo).sort((a, b) => a - b);
    this.withErrors = hosts.filter((h) => h.errors.length > 0);
  }

  /** The same answer as countProgrammed(hosts, revision, relevant). */
  count(revision: number, relevant?: (e: ObjectError) => boolean): Programming {
    let programmed = this.currentTo.length - firstAtLeast(this.currentTo, revision);
    const hostErrors: { host: string; object: string; message: string }[] = [];
    for (const h of this.withErrors) {
      const errors = relevant ? h.errors.filter((e) => e.object === 'segment' || relevant(e)) : h.errors;
      if (errors.length && h.currentTo >= revision) programmed--;
      for (const e of errors) if (hostErrors.length < MAX_HOST_ERRORS) hostErrors.push({ host: h.host, object: e.object, message: e.message });
    }
    return { observedVersion: String(revision), hosts: { total: this.hosts.length, programmed }, ...(hostErrors.length ? { hostErrors } : {}) };
  }
}

/** The index of the first element of ascending `xs` that is at least `x` (xs.length when none). */
function firstAtLeast(xs: readonly number[], x: number): number {
  let lo = 0;
  let hi = xs.length;
  while (lo < hi) {
    const mid = (lo + hi) >>> 1;
    if (xs[mid]! < x) lo = mid + 1;
    else hi = mid;
  }
  return lo;
}

/** Whether a status already says what `prog` says (so writing it would change nothing). */
export function sameProgramming(status: { observedVersion?: unknown; hosts?: unknown; hostErrors?: unknown }, prog: Programming): boolean {
  return status.observedVersion === prog.observedVersion && JSON.stringify(status.hosts) === JSON.stringify(prog.hosts) && JSON.stringify(status.hostErrors) === JSON.stringify(prog.hostErrors);
}

export function withProgramming<T extends { observedVersion?: unknown; hosts?: unknown; hostErrors?: unknown }>(status: T, prog: Programming): T {
  status.observedVersion = prog.observedVersion;
  status.hosts = prog.hosts;
  if (prog.hostErrors) status.hostErrors = prog.hostErrors;
  else delete status.hostErrors;
  return status;
}
