// Where the time between a path's DOWN and the storage traffic moving goes, per cut and per
// end of the flows' host pair (failover-run.ts). Every time is on the one machine clock:
//   down       the prober's transition (the engine's T line: /v1/paths `since`)
//   main       the agent's main thread logs the transition (it arrives from the prober thread)
//   asked      the runtime has asked the dataplane for the failover ("path state changed"); it
//              waits there for a flush in progress
//   failover   the dataplane starts the nexthop group replace ("failover: group N")
//   kernel     the kernel reports the group changed (`ip -tshort monitor nexthop` in the host's netns)
//   traffic    the first flow reply after the silence that spans the cut
// Pure parsing, but for startNexthopMonitor.
import type { ChildProcess } from 'node:child_process';

export interface HopTimes {
  down: number;
  main?: number;
  asked?: number;
  failover?: number;
  kernel?: number;
}

/** A nexthop group change the kernel in one netns reported: the group's id, when (epoch ms). */
export interface NexthopEvent {
  id: number;
  at: number;
}

export interface NexthopMonitor {
  events: NexthopEvent[];
  stop(): void;
}

/**
 * `ip -tshort monitor nexthop` in a host's netns (spawned by `spawn`), recording each group
 * change. ip dates a line when it prints it: at nice -15, so CPU stress delays it little.
 */
export function startNexthopMonitor(spawn: (argv: string[]) => ChildProcess): NexthopMonitor {
  const events: NexthopEvent[] = [];
  const child = spawn(['nice', '-n', '-15', 'ip', '-tshort', 'monitor', 'nexthop']);
  let partial = '';
  child.stdout?.setEncoding('utf8');
  child.stdout?.on('data', (chunk: string) => {
    const lines = (partial + chunk).split('\n');
    partial = lines.pop() ?? '';
    for (const l of lines) {
      const e = nexthopEvent(l);
      if (e !== undefined && events.length < 100_000) events.push(e);
    }
  });
  return { events, stop: () => void (child.pid !== undefined && child.exitCode === null && child.kill('SIGTERM')) };
}

/** An `ip -tshort monitor nexthop` line about a group (not its deletion), or undefined. */
export function nexthopEvent(line: string): NexthopEvent | undefined {
  const m = /^\[(\d{4}-\d\d-\d\dT\d\d:\d\d:\d\d(?:\.\d+)?)\]\s+id (\d+) group /.exec(line);
  if (m === null) return undefined;
  // ip prints local time without a zone; Date.parse reads such a string as local time too.
  const at = Date.parse(m[1]!.slice(0, 23));
  return Number.isFinite(at) ? { id: Number(m[2]), at } : undefined;
}

/** The first pino record at or after `since` in `lines` that `match` accepts, as its time. */
export function firstRecord(lines: readonly string[], since: number, match: (r: Record<string, unknown>) => boolean): Record<string, unknown> | undefined {
  for (const line of lines) {
    if (line.length > 4096 || !line.startsWith('{')) continue;
    let r: Record<string, unknown>;
    try {
      r = JSON.parse(line) as Record<string, unknown>;
    } catch {
      continue;
    }
    if (typeof r.time === 'number' && r.time >= since && match(r)) return r;
  }
  return undefined;
}

/** One end's hops after a cut at `cutAt`: its agent's output, the kernel's nexthop events. */
export function hopsOf(peer: string, down: number, cutAt: number, output: readonly string[], kernel: readonly NexthopEvent[]): HopTimes {
  const main = firstRecord(output, cutAt, (r) => r.msg === 'path down' && r.peer === peer && r.plane === 'a')?.time as number | undefined;
  const asked = firstRecord(output, cutAt, (r) => r.msg === 'path state changed' && r.peer === peer && r.plane === 'a' && r.state === 'PATH_STATE_DOWN')?.time as number | undefined;
  const failover = firstRecord(output, cutAt, (r) => typeof r.msg === 'string' && r.msg.startsWith('failover: group ') && r.host === peer);
  const group = failover === undefined ? undefined : Number((failover.msg as string).slice('failover: group '.length));
  return { down, main, asked, failover: failover?.time as number | undefined, kernel: kernel.find((e) => e.id === group && e.at >= cutAt)?.at };
}

/** The first reply after the silence that spans `cutAt`, over every flow's gaps ([end, length]). */
export function trafficBack(gaps: readonly (readonly [number, number])[], cutAt: number): number | undefined {
  let back: number | undefined;
  for (const [end, ms] of gaps) if (end - ms <= cutAt + 1 && end >= cutAt && (back === undefined || end > back)) back = end;
  return back;
}
