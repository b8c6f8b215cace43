// Workload attachments: the side of a veth pair that lives in the workload's network namespace.
//
// The pair itself is made over rtnetlink in one request (kernel.ts / dataplane.ts): the host
// side `wv…` with its weft alias, bridge master, MTU and up, and the peer created directly in
// the target namespace (IFLA_NET_NS_FD of /run/netns/NAME) under its final name, MAC and MTU.
// Our rtnetlink socket only sees the agent's own namespace, so what happens inside the
// workload namespace goes through iproute2: per attachment, one `ip -n NS -force -batch -`
// carrying only the changes the diff asked for (up, addresses, default route; MTU and MAC
// when they drifted), and two reads (`ip -n NS -j -d addr show dev IF`, `ip -n NS -j route
// show table all default`) to observe it, so a second flush changes nothing.
import { execFile, spawn } from 'node:child_process';
import { closeSync, existsSync, openSync } from 'node:fs';
import { isIP } from 'node:net';
import { canonicalCidr } from './codec.js';
import type { WorkloadStep } from './diff.js';
import { canonicalIp } from './nlattr.js';
import type { WorkloadView } from './observed.js';

export const NETNS_DIR = '/run/netns';
export const netnsPath = (name: string): string => `${NETNS_DIR}/${name}`;
export const netnsExists = (name: string): boolean => existsSync(netnsPath(name));

/** Opens a namespace for IFLA_NET_NS_FD; the caller closes it once the request is answered. */
export function openNetns(name: string): { fd: number; close: () => void } {
  const fd = openSync(netnsPath(name), 'r');
  let open = true;
  return { fd, close: () => { if (open) { open = false; closeSync(fd); } } };
}

interface Run { code: number; stdout: string; stderr: string }

function run(cmd: string, args: string[]): Promise<Run> {
  return new Promise((resolve) => {
    execFile(cmd, args, { maxBuffer: 16 << 20 }, (err, stdout, stderr) => {
      const code = err ? (typeof err.code === 'number' ? err.code : 1) : 0;
      resolve({ code, stdout, stderr });
    });
  });
}

interface IpAddrJson {
  ifname: string;
  ifindex?: number;
  mtu: number;
  flags?: string[];
  address?: string;
  linkinfo?: { info_kind?: string };
  addr_info?: { family: string; local: string; prefixlen: number; scope: string }[];
}

interface IpRouteJson { dst: string; gateway?: string; dev?: string }

/** What the workload namespace holds for one attachment (two `ip -n` reads, in parallel). */
export async function observeWorkload(netns: string, iface: string, ip = 'ip'): Promise<WorkloadView> {
  const view: WorkloadView = { netnsExists: netnsExists(netns), addresses: [], defaultRoutes: [] };
  if (!view.netnsExists) return view;
  const [addr, routes] = await Promise.all([
    run(ip, ['-n', netns, '-j', '-d', 'addr', 'show', 'dev', iface]),
    run(ip, ['-n', netns, '-j', 'route', 'show', 'table', 'all', 'default']),
  ]);
  if (addr.code === 0) {
    const l = (JSON.parse(addr.stdout || '[]') as IpAddrJson[])[0];
    if (l) {
      view.link = { name: l.ifname, mtu: l.mtu, up: (l.flags ?? []).includes('UP') };
      if (l.ifindex !== undefined) view.link.index = l.ifindex;
      if (l.linkinfo?.info_kind) view.link.kind = l.linkinfo.info_kind;
      if (l.address) view.link.mac = l.address.toLowerCase();
      for (const a of l.addr_info ?? []) {
        if (a.scope === 'global') view.addresses.push(canonicalCidr(`${a.local}/${a.prefixlen}`));
      }
    }
  } else if (!/does not exist/.test(addr.stderr)) {
    throw new Error(`ip -n ${netns} addr show dev ${iface}: ${addr.stderr.trim()}`);
  }
  if (routes.code === 0) {
    for (const r of JSON.parse(routes.stdout || '[]') as IpRouteJson[]) {
      if (r.dev !== iface || !r.gateway || !isIP(r.gateway)) continue;
      view.defaultRoutes.push({ family: isIP(r.gateway) === 6 ? 6 : 4, via: canonicalIp(r.gateway) });
    }
  }
  return view;
}

/** The iproute2 batch lines for `steps` on `iface`. Pure. */
export function workloadBatch(iface: string, steps: readonly WorkloadStep[]): string[] {
  return steps.map((s) => {
    switch (s.do) {
      case 'mtu': return `link set dev ${iface} mtu ${s.mtu}`;
      case 'mac': return `link set dev ${iface} address ${s.mac}`;
      case 'up': return `link set dev ${iface} up`;
      case 'addr-add': return `address add ${s.cidr} dev ${iface}${s.cidr.includes(':') ? ' nodad' : ''}`;
      case 'addr-del': return `address del ${s.cidr} dev ${iface}`;
      case 'route-replace': return `route replace ${s.family === 6 ? '::/0' : '0.0.0.0/0'} via ${s.via} dev ${iface}`;
      case 'route-del': return `route del ${s.family === 6 ? '::/0' : '0.0.0.0/0'} via ${s.via} dev ${iface}`;
      default: {
        const never: never = s;
        throw new Error(`unknown workload step ${JSON.stringify(never)}`);
      }
    }
  });
}

/** Applies `steps` inside `netns` with one iproute2 process; resolves to the failure text, if any. */
export function applyWorkload(netns: string, iface: string, steps: readonly WorkloadStep[], ip = 'ip'): Promise<string | undefined> {
  const lines = workloadBatch(iface, steps);
  return new Promise((resolve) => {
    const child = spawn(ip, ['-n', netns, '-force', '-batch', '-'], { stdio: ['pipe', 'ignore', 'pipe'] });
    let stderr = '';
    child.stderr.on('data', (d: Buffer) => { stderr += d.toString(); });
    child.on('error', (e) => resolve(`cannot run ${ip}: ${e.message}`));
    child.on('close', (code) => {
      if (code === 0) return resolve(undefined);
      const text = stderr.split('\n').map((l) => l.trim()).filter((l) => l && !l.startsWith('Command failed')).join('; ');
      resolve(text || `ip -batch exited with ${code}`);
    });
    child.stdin.end(lines.join('\n') + '\n');
  });
}
