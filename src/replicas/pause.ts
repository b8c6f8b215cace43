// A leader whose keepalives went unanswered until its lease could end within the margin pauses
// its leader work rather than resigning. Whether it may take the work up again under the same
// term (pure): only while the leader key is still the one it created, on its own lease, and that
// lease surely lives on. Nobody else can have led meanwhile: another leader would have created
// the key anew, with another create revision, and every fenced write compares that revision.
// So a stall of its own (a long GC pause, a starved CPU) costs a pause, not a leadership change.

/** The leader key as a heartbeat read it. */
export interface LeaderKeyHeld {
  createRevision: string;
  /** The lease it is attached to. */
  lease: string;
}

/** 'resume': lead again with the same fence; 'wait': not yet; 'forget': that term is over. */
export type PausedVerdict = 'resume' | 'wait' | 'forget';

export function pausedVerdict(term: string, ourLease: string, held: LeaderKeyHeld | undefined, leaseSurelyAlive: boolean): PausedVerdict {
  if (!held || held.createRevision !== term || held.lease !== ourLease) return 'forget';
  return leaseSurelyAlive ? 'resume' : 'wait';
}
