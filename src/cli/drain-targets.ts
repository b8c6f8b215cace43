// Where `weft drain --auto` moves each endpoint: pure, so the rule is tested without a fabric.
// Per endpoint, a ready host that is not draining, in the drained host's site if it has one,
// else in any site; among those, the one with the fewest endpoints, counting the moves already
// chosen (so a drain spreads its endpoints), ties broken by name.

export interface HostLoad {
  name: string;
  site: string;
  /** Its agent is connected and it is not drained (status.state is `ready`). */
  ready: boolean;
  /** spec.drain: it takes no new endpoints. */
  draining: boolean;
  /** Endpoints on it now. */
  endpoints: number;
}

export type DrainTargets = { ok: true; targets: string[] } | { ok: false; reason: string };

/** One destination per endpoint of `source` (in the order given), or why there is none. */
export function chooseDrainTargets(source: HostLoad, endpointCount: number, hosts: readonly HostLoad[]): DrainTargets {
  const candidates = hosts.filter((h) => h.name !== source.name && h.ready && !h.draining);
  if (!candidates.length) {
    const others = hosts.filter((h) => h.name !== source.name).sort((a, b) => (a.name < b.name ? -1 : a.name > b.name ? 1 : 0));
    const why = others.map((h) => `${h.name} ${h.draining ? 'draining' : 'not ready'}`).join(', ');
    return { ok: false, reason: `no ready, non-draining host to move the endpoints of ${source.name} to${why ? ` (${why})` : ' (it is the only host)'}` };
  }
  const sameSite = candidates.filter((h) => h.site === source.site);
  const pool = sameSite.length ? sameSite : candidates;
  const load = new Map(pool.map((h) => [h.name, h.endpoints]));
  const targets: string[] = [];
  for (let i = 0; i < endpointCount; i++) {
    let best: string | undefined;
    for (const [name, n] of load) {
      const b = best === undefined ? undefined : load.get(best)!;
      if (b === undefined || n < b || (n === b && name < best!)) best = name;
    }
    targets.push(best!);
    load.set(best!, load.get(best!)! + 1);
  }
  return { ok: true, targets };
}
