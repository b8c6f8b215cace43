// The physical side of one compile pass: hosts and their plane addresses, looked up once per
// pass instead of once per network. Built over a view and thrown away after the pass, so it
// never outlives the snapshot it read.
import type { Host, IntentView, Underlay } from '../model/index.js';
import { compareText } from './names.js';
import { hostPlaneAddresses, type PlaneAddress } from './vtep.js';

const NONE: ReadonlyMap<string, PlaneAddress> = new Map();

/**
 * A host's plane addresses outlive one pass while neither the host nor any underlay changed:
 * resources are immutable values (a change is a new object), so the objects themselves are
 * the key. Parsing every member host's addresses on every change of a large network was most
 * of its recompile.
 */
const planesCache = new WeakMap<Host, { underlays: readonly Underlay[]; planes: ReadonlyMap<string, PlaneAddress> }>();

function sameItems<T>(a: readonly T[], b: readonly T[]): boolean {
  if (a === b) return true;
  if (a.length !== b.length) return false;
  for (let i = 0; i < a.length; i++) if (a[i] !== b[i]) return false;
  return true;
}

export class Fabric {
  readonly underlays: readonly Underlay[];
  /** Every plane some underlay belongs to, by name: the preference of ordinary networks. */
  readonly planeNames: readonly string[];
  private readonly planes = new Map<string, ReadonlyMap<string, PlaneAddress>>();
  private readonly underlaysByName: ReadonlyMap<string, Underlay>;

  constructor(private readonly view: IntentView) {
    this.underlays = view.list('Underlay') as Underlay[];
    this.planeNames = [...new Set(this.underlays.map((u) => u.spec.plane))].sort(compareText);
    this.underlaysByName = new Map(this.underlays.map((u) => [u.metadata.name, u]));
  }

  underlay(name: string): Underlay | undefined {
    return this.underlaysByName.get(name);
  }

  host(name: string): Host | undefined {
    return this.view.get({ kind: 'Host', name }) as Host | undefined;
  }

  /** The host's address per plane; empty for a host that does not exist. */
  planesOf(name: string): ReadonlyMap<string, PlaneAddress> {
    let p = this.planes.get(name);
    if (!p) {
      const host = this.host(name);
      p = host ? planesOfHost(host, this.underlays) : NONE;
      this.planes.set(name, p);
    }
    return p;
  }
}

function planesOfHost(host: Host, underlays: readonly Underlay[]): ReadonlyMap<string, PlaneAddress> {
  const hit = planesCache.get(host);
  if (hit && sameItems(hit.underlays, underlays)) return hit.planes;
  const planes = hostPlaneAddresses(host, underlays);
  planesCache.set(host, { underlays, planes });
  return planes;
}
