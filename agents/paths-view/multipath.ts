// dm-multipath from path health: each block device that is a path of a multipath map stands
// for one (peer, plane) path of the overlay. A path that is down is failed in multipathd, one
// that is up is reinstated, and one not known (no path, a stale view) is left to multipathd's
// own checker. The commands are multipathd's interactive ones, `fail path DEV` and
// `reinstate path DEV`, given as arguments (`multipathd fail path sdb`). Pure but for runMultipathd.
import { execFile } from 'node:child_process';
import type { AssessedView, PathState } from './view.js';

export interface DeviceMapping {
  device: string;
  peer: string;
  plane: string;
}

export interface MultipathAction {
  device: string;
  command: 'fail' | 'reinstate';
  peer: string;
  plane: string;
}

export const MAX_DEVICES = 1024;

/** Block device names (sdb, nvme0n1, dm-3) or major:minor: nothing a shell would read as more. */
const DEVICE = /^([a-zA-Z][a-zA-Z0-9_.-]{0,63}|\d{1,4}:\d{1,7})$/;
const LABEL = /^[a-z0-9]([-a-z0-9]{0,61}[a-z0-9])?$/;

/** `sdb=h2@a,sdc=h2@b`: device to (peer, plane), each device once. */
export function parseDeviceMap(text: string): DeviceMapping[] {
  const items = text.split(',').map((s) => s.trim()).filter(Boolean);
  if (!items.length || items.length > MAX_DEVICES) throw new Error(`--map: give 1 to ${MAX_DEVICES} DEVICE=PEER@PLANE pairs, e.g. sdb=h2@a,sdc=h2@b`);
  const seen = new Set<string>();
  return items.map((item) => {
    const m = /^([^=]+)=([^@]+)@(.+)$/.exec(item);
    if (!m || !DEVICE.test(m[1]!) || !LABEL.test(m[2]!) || !LABEL.test(m[3]!)) throw new Error(`--map: "${item.slice(0, 100)}" is not DEVICE=PEER@PLANE (e.g. sdb=h2@a)`);
    if (seen.has(m[1]!)) throw new Error(`--map: device "${m[1]}" is mapped twice`);
    seen.add(m[1]!);
    return { device: m[1]!, peer: m[2]!, plane: m[3]! };
  });
}

export function stateOf(view: AssessedView | undefined, peer: string, plane: string): PathState {
  return view?.paths.find((p) => p.peer === peer && p.plane === plane)?.state ?? 'unknown';
}

/** What multipathd should be told now; devices whose path is not known get nothing. */
export function multipathActions(view: AssessedView | undefined, mappings: readonly DeviceMapping[]): MultipathAction[] {
  const out: MultipathAction[] = [];
  for (const m of mappings) {
    const s = stateOf(view, m.peer, m.plane);
    if (s === 'unknown') continue;
    out.push({ ...m, command: s === 'up' ? 'reinstate' : 'fail' });
  }
  return out;
}

export const multipathdArgs = (a: MultipathAction): string[] => [a.command, 'path', a.device];
export const commandLine = (a: MultipathAction): string => `multipathd ${multipathdArgs(a).join(' ')}`;

/** Runs one command; resolves with multipathd's answer or rejects with why it failed. */
export function runMultipathd(a: MultipathAction, binary = 'multipathd'): Promise<string> {
  return new Promise((resolve, reject) => {
    execFile(binary, multipathdArgs(a), { timeout: 10_000, maxBuffer: 64 * 1024 }, (err, stdout, stderr) => {
      if (err) reject(new Error(`${commandLine(a)}: ${(stderr || err.message).trim().slice(0, 300)}`));
      else resolve(stdout.trim());
    });
  });
}
