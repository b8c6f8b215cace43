// Underlay routes: the union of the segments' `underlayRoutes`, as main-table routes with
// protocol WEFT_PROTO (87, see multipath.ts). PURE.
//
// What it costs the kernel: one route per distinct destination prefix, whatever the number of
// segments that ask for it (`ip route replace TO via VIA proto 87`). Stale owned routes are
// deleted with the protocol in the request, so the kernel itself refuses to delete anything
// that is not Weft's. Ownership: a main-table route is Weft's iff its protocol is WEFT_PROTO.
// A route of another protocol to the same prefix (and metric 0) is foreign: reported, never
// replaced. A link flap deletes the routes through that link without a route event; the
// driver watches the underlay links (underlayLinkNames) and the next flush puts them back.
import { isIP } from 'node:net';
import type { ObjectError, Segment } from '../../src/protocol/index.js';
import { parseCidr } from './codec.js';
import type { Action } from './diff.js';
import { WEFT_PROTO } from './multipath.js';
import { canonicalIp, ipText } from './nlattr.js';
import type { AddrEntry, RouteEntry } from './observed.js';

export interface RouteWant {
  /** Canonical network prefix. */
  to: string;
  via: string;
  /** The first segment that asked for it. */
  segment: string;
}

/** The prefix with host bits cleared, or undefined when `cidr` is not a prefix. */
function networkOf(cidr: string): { text: string; addr: Buffer; prefix: number } | undefined {
  let c;
  try { c = parseCidr(cidr); } catch { return undefined; }
  const addr = Buffer.from(c.addr);
  for (let bit = c.prefix; bit < addr.length * 8; bit++) addr[bit >> 3]! &= ~(0x80 >> (bit & 7));
  return { text: `${ipText(addr)}/${c.prefix}`, addr, prefix: c.prefix };
}

/** Whether `ip` lies inside `cidr` (same family). */
export function prefixContains(cidr: string, ip: string): boolean {
  const net = networkOf(cidr);
  const host = networkOf(`${ip}/${isIP(ip) === 6 ? 128 : 32}`);
  if (!net || !host || net.addr.length !== host.addr.length) return false;
  const masked = networkOf(`${ipText(host.addr)}/${net.prefix}`);
  return masked?.text === net.text;
}

/** The union of the segments' routes; conflicting or invalid ones become errors. */
export function wantedRoutes(segments: readonly Segment[], errors: ObjectError[]): Map<string, RouteWant> {
  const out = new Map<string, RouteWant>();
  for (const seg of segments) {
    if (seg.error) continue;
    for (const r of seg.underlayRoutes ?? []) {
      const object = `route ${r.to}`;
      const net = networkOf(r.to);
      if (!net || !r.to.includes('/')) { errors.push({ segment: seg.id, object, message: `invalid destination ${JSON.stringify(r.to)}` }); continue; }
      if (net.text !== canonicalPrefix(r.to)) { errors.push({ segment: seg.id, object, message: `${r.to} has host bits set; did you mean ${net.text}?` }); continue; }
      if (!isIP(r.via) || (isIP(r.via) === 6) !== (net.addr.length === 16)) { errors.push({ segment: seg.id, object, message: `invalid gateway ${JSON.stringify(r.via)} for ${net.text}` }); continue; }
      const via = canonicalIp(r.via);
      const have = out.get(net.text);
      if (have && have.via !== via) {
        errors.push({ segment: seg.id, object: `route ${net.text}`, message: `segments disagree on the gateway to ${net.text}: ${have.via} (segment ${have.segment}) and ${via}; keeping the first` });
        continue;
      }
      if (!have) out.set(net.text, { to: net.text, via, segment: seg.id });
    }
  }
  return out;
}

function canonicalPrefix(cidr: string): string {
  const c = parseCidr(cidr);
  return `${ipText(c.addr)}/${c.prefix}`;
}

export const isOwnedRoute = (r: RouteEntry): boolean => r.protocol === WEFT_PROTO;

/** Actions that take the main table's owned routes to `want`. */
export function planRoutes(want: ReadonlyMap<string, RouteWant>, have: readonly RouteEntry[], deletePhase: number, addPhase: number, errors: ObjectError[]): Action[] {
  const actions: Action[] = [];
  const owned = new Map<string, RouteEntry[]>();
  for (const r of have) {
    if (!isOwnedRoute(r)) continue;
    owned.set(r.to, [...(owned.get(r.to) ?? []), r]);
  }
  for (const [to, routes] of owned) {
    const w = want.get(to);
    for (const r of routes) {
      // The wanted one (metric 0, right gateway) stays; a wrong gateway is fixed by replace.
      if (w && r.metric === 0) continue;
      actions.push({ op: 'route-del', phase: deletePhase as Action['phase'], segment: w?.segment ?? '', object: `route ${to}${r.via ? ` via ${r.via}` : ''}`, needs: [], to, ...(r.via ? { via: r.via } : {}) });
    }
  }
  for (const w of want.values()) {
    const foreign = have.find((r) => !isOwnedRoute(r) && r.to === w.to && r.metric === 0);
    if (foreign) {
      errors.push({ segment: w.segment, object: `route ${w.to}`, message: `a route to ${w.to} with protocol ${foreign.protocol} (not Weft's) exists; left untouched` });
      continue;
    }
    const mine = owned.get(w.to)?.find((r) => r.metric === 0);
    if (mine && mine.via === w.via && mine.type === 1) continue;
    actions.push({ op: 'route-replace', phase: addPhase as Action['phase'], segment: w.segment, object: `route ${w.to} via ${w.via}`, needs: [], to: w.to, via: w.via });
  }
  return actions;
}

/** Ifindexes of the links the routes go through: those holding an address on the gateway's subnet. */
export function underlayLinks(want: Iterable<RouteWant>, addresses: readonly AddrEntry[]): Set<number> {
  const out = new Set<number>();
  for (const w of want) {
    for (const a of addresses) if (a.scope === 0 && prefixContains(a.cidr, w.via)) out.add(a.ifindex);
  }
  return out;
}
