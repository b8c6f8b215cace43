// How long an agent waits for a controller's welcome (pure). A replica that accepts a session
// but never welcomes it must not hold the agent forever, so the wait is bounded; but a replica
// that is merely overloaded (a whole fleet reconnecting after a restart, on a busy machine) is
// doing the agent's handshake and hello when the wait runs out, and an agent that gives up and
// dials again throws that work away and adds more: every agent doing so keeps the replica
// overloaded for good. So each wait that ran out doubles the next one, up to a bound, and a
// welcome brings it back to the base.

export interface WelcomeWait {
  baseMs: number;
  maxMs: number;
}

/** The default bound: long enough for a thousand agents' handshakes on a slow replica. */
export const MAX_WELCOME_WAIT_MS = 80_000;

export type SessionStart = 'welcomed' | 'no-welcome' | 'failed';

/** The wait for the next session's welcome, after one that started this way with `currentMs`. */
export function nextWelcomeWait(currentMs: number, start: SessionStart, w: WelcomeWait): number {
  switch (start) {
    case 'welcomed':
      return w.baseMs;
    case 'no-welcome':
      return Math.min(Math.max(currentMs, w.baseMs) * 2, Math.max(w.maxMs, w.baseMs));
    case 'failed':
      // Refused or unreachable: says nothing of how long a welcome takes.
      return currentMs;
    default: {
      const never: never = start;
      throw new Error(`unknown session start ${String(never)}`);
    }
  }
}
