// NVMe-oF ANA from path health: each plane is an ANA group of the local nvmet ports, and its
// state follows the plane's paths to the given peers (the hosts that reach the namespaces
// through those ports). The layout is the kernel's nvmet configfs:
//   <root>/ports/<port id>/ana_groups/<group id>/ana_state   ("optimized", "non-optimized",
//   "inaccessible", ...; reading gives the current state, writing one of them sets it).
// Groups are made by whoever sets up the target (mkdir in configfs); this never creates one.
// The decision is pure (anaPlan); applyAna writes only files whose state differs.
import { readdir, readFile, writeFile } from 'node:fs/promises';
import { join } from 'node:path';
import type { AssessedView, PathState } from './view.js';

export type AnaState = 'optimized' | 'non-optimized' | 'inaccessible';

/** nvmet's NVMET_MAX_ANAGRPS; group ids are 1..this. */
export const MAX_ANA_GROUP = 128;
export const DEFAULT_CONFIGFS_ROOT = '/sys/kernel/config/nvmet';

export interface AnaDecision {
  plane: string;
  group: number;
  state: AnaState;
  /** Why, e.g. "2 of 2 paths up". */
  reason: string;
}

/**
 * Optimized when every peer's path on the plane is up, inaccessible when every one is down,
 * non-optimized otherwise (some down, or unknown: no path, a stale view, not decided yet).
 */
export function anaPlan(view: AssessedView | undefined, groups: ReadonlyMap<string, number>, peers: readonly string[]): AnaDecision[] {
  const out: AnaDecision[] = [];
  for (const [plane, group] of groups) {
    const states = peers.map((peer): PathState => view?.paths.find((p) => p.peer === peer && p.plane === plane)?.state ?? 'unknown');
    const up = states.filter((s) => s === 'up').length;
    const down = states.filter((s) => s === 'down').length;
    const state: AnaState = up === states.length ? 'optimized' : down === states.length ? 'inaccessible' : 'non-optimized';
    const why = !view ? 'no path view' : view.stale ? `stale path view, ${Math.round(view.ageMs / 1000)} s old` : `${up} of ${states.length} paths up, ${down} down`;
    out.push({ plane, group, state, reason: why });
  }
  return out;
}

export interface AnaWrite {
  port: string;
  group: number;
  from: string;
  to: AnaState;
}

export interface AnaApplied {
  written: AnaWrite[];
  /** Ports (or groups in them) that do not have the group's directory: left alone. */
  missing: { port: string; group: number }[];
  /** ana_state files found (written or already right). */
  found: number;
}

const PORT_ID = /^\d{1,5}$/;

/** Writes each decision's state to the group's ana_state in every port (all ports if none given) where it differs. */
export async function applyAna(root: string, decisions: readonly AnaDecision[], ports?: readonly string[]): Promise<AnaApplied> {
  const portIds = ports ?? (await listPorts(root));
  const applied: AnaApplied = { written: [], missing: [], found: 0 };
  for (const port of portIds) {
    for (const d of decisions) {
      const file = join(root, 'ports', port, 'ana_groups', String(d.group), 'ana_state');
      let current: string;
      try {
        current = (await readFile(file, 'utf8')).slice(0, 64).trim();
      } catch (err) {
        if ((err as NodeJS.ErrnoException).code !== 'ENOENT') throw err;
        applied.missing.push({ port, group: d.group });
        continue;
      }
      applied.found++;
      if (current === d.state) continue;
      await writeFile(file, `${d.state}\n`);
      applied.written.push({ port, group: d.group, from: current, to: d.state });
    }
  }
  return applied;
}

async function listPorts(root: string): Promise<string[]> {
  try {
    return (await readdir(join(root, 'ports'))).filter((p) => PORT_ID.test(p)).sort((a, b) => Number(a) - Number(b));
  } catch (err) {
    if ((err as NodeJS.ErrnoException).code === 'ENOENT') throw new Error(`${join(root, 'ports')} does not exist: is the nvmet module loaded and configfs mounted?`);
    throw err;
  }
}

/** `a=1,b=2`: plane to ANA group id, each plane and group once. */
export function parseAnaMap(text: string): Map<string, number> {
  const map = new Map<string, number>();
  const groups = new Set<number>();
  const items = text.split(',').map((s) => s.trim()).filter(Boolean);
  if (!items.length || items.length > MAX_ANA_GROUP) throw new Error(`--map: give 1 to ${MAX_ANA_GROUP} PLANE=GROUP pairs, e.g. a=1,b=2`);
  for (const item of items) {
    const m = /^([a-z0-9]([-a-z0-9]{0,61}[a-z0-9])?)=(\d{1,3})$/.exec(item);
    const group = m ? Number(m[3]) : NaN;
    if (!m || group < 1 || group > MAX_ANA_GROUP) throw new Error(`--map: "${item}" is not PLANE=GROUP with GROUP from 1 to ${MAX_ANA_GROUP}`);
    if (map.has(m[1]!)) throw new Error(`--map: plane "${m[1]}" is mapped twice`);
    if (groups.has(group)) throw new Error(`--map: group ${group} is mapped twice (one plane per group)`);
    map.set(m[1]!, group);
    groups.add(group);
  }
  return map;
}

/** `1,2`: nvmet port ids. */
export function parsePorts(text: string): string[] {
  const ports = [...new Set(text.split(',').map((s) => s.trim()).filter(Boolean))];
  if (!ports.length || ports.length > 1024) throw new Error('--port: give 1 to 1024 port ids, e.g. 1,2');
  for (const p of ports) if (!PORT_ID.test(p) || Number(p) > 65535) throw new Error(`--port: "${p}" is not an nvmet port id (0-65535)`);
  return ports;
}
