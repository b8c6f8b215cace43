// Indexes a view keeps incrementally (add/remove as resources change) so that the questions
// asked on every write are lookups, not scans of every endpoint of a network: which pool
// values are in use (VNIs and hosts' underlay addresses fabric-wide, addresses and MACs per
// network), and which hosts a network has endpoints on.
import type { Resource } from './kinds.js';
import { parseIp, type Family } from './net.js';

export interface PoolView {
  vniTaken(vni: number): boolean;
  addressTaken(tenant: string, network: string, family: Family, value: bigint): boolean;
  macTaken(tenant: string, network: string, mac: string): boolean;
  /** Hosts whose spec lists this underlay address (canonical text). */
  hostsWithAddress(address: string): Iterable<string>;
  /** Hosts the network has endpoints on. */
  endpointHosts(tenant: string, network: string): Iterable<string>;
}

function vnisOf(r: Resource): number[] {
  if (r.kind !== 'Network') return [];
  const spec = (r as Resource<'Network'>).spec;
  if (spec.multipath?.mode === 'dual-fabric') return spec.multipath.planes.flatMap((p) => (p.vni === undefined ? [] : [p.vni]));
  return spec.vni === undefined ? [] : [spec.vni];
}

const netKey = (tenant: string, network: string) => `${tenant}/${network}`;
const addrKey = (family: Family, value: bigint) => `${family}:${value}`;

/** Reference-counted, so a value briefly held by two resources is released only by both. */
class Counted<K> {
  private readonly m = new Map<K, number>();
  add(k: K): void {
    this.m.set(k, (this.m.get(k) ?? 0) + 1);
  }
  remove(k: K): void {
    const n = (this.m.get(k) ?? 0) - 1;
    if (n <= 0) this.m.delete(k);
    else this.m.set(k, n);
  }
  has(k: K): boolean {
    return this.m.has(k);
  }
  keys(): Iterable<K> {
    return this.m.keys();
  }
  empty(): boolean {
    return this.m.size === 0;
  }
}

export class PoolIndex implements PoolView {
  private readonly vnis = new Counted<number>();
  private readonly addresses = new Counted<string>();
  private readonly macs = new Counted<string>();
  private readonly hosts = new Map<string, Counted<string>>();
  private readonly hostAddresses = new Map<string, Counted<string>>();

  add(r: Resource): void {
    this.apply(r, 1);
  }

  remove(r: Resource): void {
    this.apply(r, -1);
  }

  private apply(r: Resource, sign: 1 | -1): void {
    const op = <K>(c: Counted<K>, k: K) => (sign > 0 ? c.add(k) : c.remove(k));
    for (const v of vnisOf(r)) op(this.vnis, v);
    if (r.kind === 'Host') {
      for (const address of (r as Resource<'Host'>).spec.addresses) {
        let holders = this.hostAddresses.get(address);
        if (!holders) this.hostAddresses.set(address, (holders = new Counted<string>()));
        op(holders, r.metadata.name);
        if (holders.empty()) this.hostAddresses.delete(address);
      }
    }
    if (r.kind !== 'Endpoint') return;
    const spec = (r as Resource<'Endpoint'>).spec;
    const net = netKey(r.metadata.tenant!, r.metadata.network!);
    for (const ip of spec.ips ?? []) {
      const a = parseIp(ip);
      if (a) op(this.addresses, `${net}|${addrKey(a.family, a.value)}`);
    }
    if (spec.mac) op(this.macs, `${net}|${spec.mac}`);
    let hosts = this.hosts.get(net);
    if (!hosts) this.hosts.set(net, (hosts = new Counted<string>()));
    op(hosts, spec.host);
  }

  vniTaken(vni: number): boolean {
    return this.vnis.has(vni);
  }
  addressTaken(tenant: string, network: string, family: Family, value: bigint): boolean {
    return this.addresses.has(`${netKey(tenant, network)}|${addrKey(family, value)}`);
  }
  macTaken(tenant: string, network: string, mac: string): boolean {
    return this.macs.has(`${netKey(tenant, network)}|${mac}`);
  }
  hostsWithAddress(address: string): Iterable<string> {
    return this.hostAddresses.get(address)?.keys() ?? [];
  }
  endpointHosts(tenant: string, network: string): Iterable<string> {
    return this.hosts.get(netKey(tenant, network))?.keys() ?? [];
  }
}
