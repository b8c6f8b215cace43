// The physical side of one compile pass: hosts and their plane addresses, looked up once per
// pass instead of once per network. Built over a view and thrown away after the pass, so it
// never outlives the snapshot it read.
import type { Host, IntentView, Underlay } from '../model/index.js';
import { compareText } from './names.js';
import { hostPlaneAddresses, type PlaneAddress } from './vtep.js';

const NONE: ReadonlyMap<string, PlaneAddress> = new Map();

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
      p = host ? hostPlaneAddresses(host, this.underlays) : NONE;
      this.planes.set(name, p);
    }
    return p;
  }
}
