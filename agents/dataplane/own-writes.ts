// Which kernel events a flush caused itself. A flush's own netlink writes come back as monitor
// events while it runs and shortly after; taken as drift they would schedule another flush that
// finds nothing to do, after every flush. An event is the flush's own when it arrives during
// the flush or within ECHO_MS of its end AND is about what the flush wrote: a device it created,
// changed or wrote entries on (a deletion only where it deleted), or routes and nexthops when it
// wrote those. Anything else, even in the window, is drift (an `ip link del` of our device
// while we were only adding FDB entries elsewhere is still repaired at once). What is lost:
// a foreign change to the very object we were writing, inside the window; the periodic resync
// repairs that. Pure: the caller passes the clock.
import type { KernelEvent } from './kernel.js';
import type { Action } from './diff.js';

/**
 * After a flush that wrote, how long its own events may still arrive from the monitor (by when
 * ip read them). Over a second: the kernel reports a device's carrier and operational state from
 * its linkwatch work, which it batches up to a second late, and later still on a busy host.
 */
export const ECHO_MS = 1500;

/**
 * Deletion events are the kernel's answers to our own requests and come at once: they keep a
 * short window, so that an operator's `ip link del` just after a flush is repaired at once.
 */
export const DELETE_ECHO_MS = 300;

interface Written {
  /** Devices written to (created, changed, entries or addresses added). */
  devices: Set<string>;
  /** Devices deleted, or with entries or addresses deleted. */
  deletedOn: Set<string>;
  /** Devices deleted (a device's own deletion is an echo only if we deleted it). */
  linksDeleted: Set<string>;
  routes: boolean;
  routesDeleted: boolean;
  nexthops: boolean;
  nexthopsDeleted: boolean;
}

export class OwnWrites {
  private current?: Written;
  private last?: Written;
  private lastEnd = -Infinity;

  /** A flush is about to apply `actions`. */
  begin(actions: readonly Action[]): void {
    const w: Written = { devices: new Set(), deletedOn: new Set(), linksDeleted: new Set(), routes: false, routesDeleted: false, nexthops: false, nexthopsDeleted: false };
    for (const a of actions) {
      switch (a.op) {
        case 'create-link':
          w.devices.add(a.want.name);
          if (a.want.master) w.devices.add(a.want.master);
          break;
        case 'set-link':
          w.devices.add(a.name);
          break;
        case 'delete-link':
          w.deletedOn.add(a.name);
          w.linksDeleted.add(a.name);
          break;
        case 'fdb-add':
        case 'fdb-add-nh':
        case 'neigh-add':
        case 'addr-add':
          w.devices.add(a.device);
          break;
        case 'fdb-del':
        case 'neigh-del':
        case 'addr-del':
          w.deletedOn.add(a.device);
          break;
        case 'route-replace':
          w.routes = true;
          break;
        case 'route-del':
          w.routesDeleted = true;
          break;
        case 'nexthop-set':
        case 'group-set':
          w.nexthops = true;
          break;
        case 'nexthop-del':
          w.nexthopsDeleted = true;
          break;
        case 'workload':
          // Inside the workload's namespace: the host's monitor does not see those writes.
          break;
        default: {
          const never: never = a;
          throw new Error(`unknown action ${JSON.stringify(never)}`);
        }
      }
    }
    this.current = w;
  }

  /** A failover is about to replace nexthop groups (and write nothing else). */
  beginNexthops(): void {
    this.current = { devices: new Set(), deletedOn: new Set(), linksDeleted: new Set(), routes: false, routesDeleted: false, nexthops: true, nexthopsDeleted: false };
  }

  /** The flush is done; `wrote` whether it wrote anything (no writes, no echoes to expect). */
  end(now: number, wrote: boolean): void {
    if (wrote && this.current) {
      this.last = this.current;
      this.lastEnd = now;
    }
    this.current = undefined;
  }

  /** Whether `e` is most likely an echo of the running or just-finished flush's writes. */
  isEcho(e: KernelEvent, now: number): boolean {
    if (e.group === 'overrun') return false;
    const window = e.line.startsWith('Deleted ') ? DELETE_ECHO_MS : ECHO_MS;
    return (this.current !== undefined && echoOf(this.current, e)) || (now < this.lastEnd + window && this.last !== undefined && echoOf(this.last, e));
  }
}

function echoOf(w: Written, e: KernelEvent): boolean {
  const deleted = e.line.startsWith('Deleted ');
  const on = (dev: string | undefined) => dev !== undefined && (w.deletedOn.has(dev) || (!deleted && w.devices.has(dev)));
  switch (e.group) {
    case 'link':
      return deleted ? e.ifname !== undefined && w.linksDeleted.has(e.ifname) : on(e.ifname);
    case 'addr':
    case 'neigh':
      return on(e.ifname);
    case 'route':
      return (deleted ? w.routesDeleted : w.routes) || on(e.ifname);
    case 'nexthop':
      // A link going down deletes its nexthops: that is never an echo of a replace.
      return (deleted ? w.nexthopsDeleted : w.nexthops) || on(e.ifname);
    default:
      return false;
  }
}
