// The path transitions the agents logged, read back from their captured output: the agents'
// own view of path health, to count false downs and to explain a failed wait. Pure parsing.
//
// The prober logs each transition as one pino JSON line: {time, peer, plane, from, to, reason,
// msg: "path up" | "path down"}. Lines that are not such records are skipped.

export interface PathTransition {
  /** The agent that logged it (the path's host). */
  host: string;
  peer: string;
  plane: string;
  from: string;
  to: string;
  reason: string;
  /** Epoch ms, from the log line. */
  at: number;
}

/** Lines longer than this are no transition record (and are not parsed). */
const MAX_LINE = 4096;

/** The transitions in one agent's output lines, oldest first. */
export function parseTransitions(host: string, lines: readonly string[]): PathTransition[] {
  const out: PathTransition[] = [];
  for (const line of lines) {
    if (line.length > MAX_LINE || !line.includes('"msg":"path ')) continue;
    let r: Record<string, unknown>;
    try {
      r = JSON.parse(line) as Record<string, unknown>;
    } catch {
      continue;
    }
    if ((r.msg !== 'path up' && r.msg !== 'path down') || typeof r.peer !== 'string' || typeof r.plane !== 'string' || typeof r.time !== 'number') continue;
    out.push({ host, peer: r.peer, plane: r.plane, from: String(r.from), to: String(r.to), reason: String(r.reason ?? ''), at: r.time });
  }
  return out;
}

/** Every agent's transitions at or after `since` (epoch ms), in time order. */
export function transitionsSince(agents: ReadonlyMap<string, { output: readonly string[] }>, since: number): PathTransition[] {
  const all: PathTransition[] = [];
  for (const [host, a] of agents) for (const t of parseTransitions(host, a.output)) if (t.at >= since) all.push(t);
  return all.sort((a, b) => a.at - b.at);
}

/** One line per transition, times relative to `since`, for failure messages. */
export function describeTransitions(ts: readonly PathTransition[], since: number): string {
  if (ts.length === 0) return '(no path transitions logged)';
  return ts.map((t) => `+${t.at - since} ms ${t.host}→${t.peer}/${t.plane} ${t.from}→${t.to} (${t.reason})`).join('\n');
}
