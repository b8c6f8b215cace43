// The compiler kept current by change events: it remembers its last output per host and per
// network, recomputes only the networks a change can touch (graph.ts), and answers with the
// segments that actually changed. Its output always equals a full compile of the same view;
// the property test in test/unit/compile-incremental.test.ts holds it to that.
import type { Endpoint, IntentView, Network } from '../model/index.js';
import type { Segment } from '../protocol/index.js';
import { DeltaBuilder, type HostDelta } from './delta.js';
import { placementOf } from './endpoint-move.js';
import { Fabric } from './fabric.js';
import { affectedBy, type CompileEvent, type CompiledMemory } from './graph.js';
import { compileState, flatten, type CompiledState } from './host-segments.js';
import { compileNetwork, type CompiledNetwork } from './network-segments.js';
import type { NetworkMtu } from './network-mtu.js';
import type { Problem } from './problem.js';
import { SharedRemoteDiff } from './shared-remotes.js';

/** What compiling a network found out besides its segments; network status reports it. */
export interface NetworkFacts {
  problems: Problem[];
  mtu: NetworkMtu;
}

/**
 * Not safe to share across views. Segments it returns are also what it remembers: callers must
 * treat them as read-only.
 */
export class IncrementalCompiler implements CompiledMemory {
  private state?: CompiledState;
  /** Network ("tenant/network") → hosts holding segments of it; the reverse of `state`. */
  private readonly networkHosts = new Map<string, Set<string>>();
  /** Network ("tenant/network") → its latest compile: the base the next one is diffed against. */
  private readonly networks = new Map<string, CompiledNetwork>();
  /** Network ("tenant/network") → the facts of its latest compile. */
  private readonly facts = new Map<string, NetworkFacts>();
  /** Networks the latest full() or onChange() compiled (or found gone). */
  compiled: string[] = [];
  /** Networks compiled since construction: a counter for metrics and tests. */
  networksCompiled = 0;
  /** Host segments carried over (only their remote entries changed) instead of recompiled: for tests. */
  hostsCarriedOver = 0;
  /**
   * Host → networks whose segments on it are behind their latest compile: the host was of no
   * interest when only the network's remote entries changed, so they were not carried over.
   */
  private readonly behind = new Map<string, Set<string>>();
  /** The segments (by host) the latest onChanges() left behind rather than carried over; no delta names them. */
  leftBehind = new Map<string, string[]>();

  /**
   * `view` is live: it already reflects a change by the time onChange is called with it.
   * `interested` says which hosts' segments must be current after every change (a controller
   * replica: the hosts whose agents it serves). The others' are brought up to date by
   * catchUp() when they are needed: every replica carried each endpoint change over to every
   * host (a segment, a patch and a delta each), two thirds of them for agents another replica
   * serves. Every host is interesting by default.
   */
  constructor(
    private readonly view: IntentView,
    private readonly interested: (host: string) => boolean = () => true,
  ) {}

  /** Compiles everything and remembers it: every Host resource's segments, by id. */
  full(): Map<string, Segment[]> {
    this.adopt(this.compileAll());
    return this.current();
  }

  /** What the latest compile of a network found; undefined for a network not in intent. */
  networkFacts(key: string): NetworkFacts | undefined {
    return this.facts.get(key);
  }

  /** What the compiler last computed, as `full()` returns it; hosts left behind hold older segments (see catchUp). */
  current(): Map<string, Segment[]> {
    return flatten(this.remembered());
  }

  networksOn(host: string): Iterable<string> {
    return this.remembered().get(host)?.keys() ?? [];
  }

  /** Whether any of a host's segments were left behind. */
  isBehind(host: string): boolean {
    return this.behind.has(host);
  }

  /**
   * Brings a host's segments that were left behind up to date (call it before the host's
   * program is needed); returns its delta from what was remembered, empty when it was current.
   */
  catchUp(host: string): Map<string, HostDelta> {
    const keys = this.behind.get(host);
    const deltas = new DeltaBuilder();
    if (!keys) return deltas.build();
    this.behind.delete(host);
    const byNetwork = this.remembered().get(host);
    for (const key of keys) {
      const had = byNetwork?.get(key);
      const compiled = this.networks.get(key);
      if (!byNetwork || !had || !compiled) continue;
      const after = compiled.segmentsOn(host);
      deltas.diff(host, had, after);
      if (after.length) byNetwork.set(key, after);
      else {
        byNetwork.delete(key);
        this.networkHosts.get(key)?.delete(host);
      }
    }
    return deltas.build();
  }

  /** Applies one change; returns only hosts whose segments changed. Call once per change, in order. */
  onChange(e: CompileEvent): Map<string, HostDelta> {
    return this.onChanges([e]);
  }

  /**
   * Applies changes that arrived together (the view already reflects all of them): each
   * network they touch is recompiled once, and each host gets one delta for the lot. A burst
   * of endpoint creates in one large network costs one compile and one message per host.
   */
  onChanges(events: readonly CompileEvent[]): Map<string, HostDelta> {
    this.compiled = [];
    this.leftBehind = new Map();
    const networks = new Set<string>();
    const hosts = new Set<string>();
    const endpointsOnly = new EndpointChanges();
    let any = false;
    for (const e of events) {
      const affected = affectedBy(e, this.view, this);
      switch (affected.scope) {
        case 'none':
          break;
        case 'all':
          return this.recomputeAll();
        case 'networks':
          any = true;
          for (const n of affected.networks) networks.add(n);
          for (const h of affected.hosts) hosts.add(h);
          endpointsOnly.add(e, affected.networks);
          break;
        default: {
          const never: never = affected;
          throw new Error(`unknown scope ${JSON.stringify(never)}`);
        }
      }
    }
    return any ? this.recompute(networks, hosts, endpointsOnly) : new Map();
  }

  /** The fallback: a full compile, diffed against what was remembered. */
  private recomputeAll(): Map<string, HostDelta> {
    const before = this.remembered();
    const after = this.compileAll();
    const deltas = new DeltaBuilder();
    for (const host of new Set([...before.keys(), ...after.keys()])) {
      deltas.diff(host, [...(before.get(host)?.values() ?? [])].flat(), [...(after.get(host)?.values() ?? [])].flat());
    }
    this.adopt(after);
    return deltas.build();
  }

  private recompute(networks: ReadonlySet<string>, hosts: ReadonlySet<string>, endpointsOnly?: EndpointChanges): Map<string, HostDelta> {
    const state = this.remembered();
    const fabric = new Fabric(this.view);
    const deltas = new DeltaBuilder();
    for (const h of hosts) {
      const had = state.get(h);
      if (fabric.host(h) && !had) state.set(h, new Map());
      if (!fabric.host(h) && had) {
        for (const [key, segments] of had) {
          deltas.diff(h, segments, []);
          this.networkHosts.get(key)?.delete(h);
        }
        state.delete(h);
        this.behind.delete(h);
      }
    }
    for (const key of networks) {
      const [tenant, name] = key.split('/') as [string, string];
      const n = this.view.get({ kind: 'Network', tenant, name }) as Network | undefined;
      const compiled = n && compileNetwork(this.view, n, fabric);
      const previous = this.networks.get(key);
      const remotesOf = compiled && remoteChanges(previous, compiled);
      // Only endpoints changed and no host's settings did: the hosts those endpoints are not
      // on keep their segments but for the remote entries, which the shared diff gives. At a
      // thousand hosts this spares specialising and comparing every host's segment per change.
      const touched = endpointsOnly?.hostsIn(key);
      const carry = touched && previous && remotesOf && compiled.carryOver(previous);
      if (compiled) this.remember(compiled);
      else this.forget(key);
      this.compiled.push(key);
      const holders = new Set<string>();
      for (const h of new Set([...(this.networkHosts.get(key) ?? []), ...(compiled?.hosts ?? [])])) {
        let byNetwork = state.get(h);
        if (!byNetwork && fabric.host(h)) state.set(h, (byNetwork = new Map()));
        if (!byNetwork) continue;
        const had = byNetwork.get(key);
        // Left behind earlier: what it holds is not the previous compile, so neither the carry
        // nor the shared diff applies to it. Only carried-over changes leave a host behind, so
        // its segments' settings are still this compile's.
        const wasBehind = this.behind.get(h)?.has(key) ?? false;
        let after: Segment[];
        if (carry && had && !touched.has(h) && (wasBehind || !this.interested(h))) {
          after = had;
          if (!wasBehind) this.leaveBehind(h, key, had);
        } else if (carry && had && !touched.has(h)) {
          after = deltas.carried(h, had, (s) => carry(h, s), (id) => remotesOf(id, h));
          this.hostsCarriedOver++;
        } else {
          after = compiled?.segmentsOn(h) ?? [];
          deltas.diff(h, had ?? [], after, remotesOf && !wasBehind ? (id) => remotesOf(id, h) : undefined);
          if (wasBehind) this.caughtUp(h, key);
        }
        if (after.length) {
          byNetwork.set(key, after);
          holders.add(h);
        } else {
          byNetwork.delete(key);
        }
      }
      if (holders.size) this.networkHosts.set(key, holders);
      else this.networkHosts.delete(key);
    }
    return deltas.build();
  }

  private leaveBehind(host: string, key: string, had: readonly Segment[]): void {
    let keys = this.behind.get(host);
    if (!keys) this.behind.set(host, (keys = new Set()));
    keys.add(key);
    const ids = this.leftBehind.get(host);
    if (ids) ids.push(...had.map((s) => s.id));
    else this.leftBehind.set(host, had.map((s) => s.id));
  }

  private caughtUp(host: string, key: string): void {
    const keys = this.behind.get(host);
    keys?.delete(key);
    if (keys?.size === 0) this.behind.delete(host);
  }

  /** A full compile that also remembers every network's facts (and forgets gone networks'). */
  private compileAll(): CompiledState {
    const before = new Set(this.facts.keys());
    this.facts.clear();
    this.networks.clear();
    const state = compileState(this.view, new Fabric(this.view), (c) => this.remember(c));
    this.compiled = [...new Set([...before, ...this.facts.keys()])];
    return state;
  }

  private remember(c: CompiledNetwork): void {
    this.networks.set(c.key, c);
    this.facts.set(c.key, { problems: c.problems, mtu: c.mtu });
    this.networksCompiled++;
  }

  private forget(key: string): void {
    this.networks.delete(key);
    this.facts.delete(key);
  }

  private adopt(state: CompiledState): void {
    this.state = state;
    this.behind.clear();
    this.networkHosts.clear();
    for (const [host, byNetwork] of state) {
      for (const key of byNetwork.keys()) {
        let hosts = this.networkHosts.get(key);
        if (!hosts) this.networkHosts.set(key, (hosts = new Set()));
        hosts.add(host);
      }
    }
  }

  private remembered(): CompiledState {
    if (!this.state) throw new Error('IncrementalCompiler: call full() before onChange() or current()');
    return this.state;
  }
}

/**
 * Per network, the hosts a batch's endpoint events were on (before and after), or that
 * something other than its endpoints changed (a network, host or underlay event, or an
 * endpoint modification without its previous version): then every host is recompiled.
 */
class EndpointChanges {
  private readonly hosts = new Map<string, Set<string> | 'all'>();

  add(e: CompileEvent, networks: ReadonlySet<string>): void {
    const endpoint = e.ref.kind === 'Endpoint' && (e.type !== 'modified' || e.previous !== undefined);
    for (const key of networks) {
      if (!endpoint) {
        this.hosts.set(key, 'all');
        continue;
      }
      let on = this.hosts.get(key);
      if (on === 'all') continue;
      if (!on) this.hosts.set(key, (on = new Set()));
      for (const r of [e.resource, e.previous]) {
        if (r) for (const a of placementOf(r as Endpoint).attached) on.add(a.host);
      }
    }
  }

  /** The hosts whose own endpoints changed in a network; undefined when more than endpoints did. */
  hostsIn(key: string): ReadonlySet<string> | undefined {
    const on = this.hosts.get(key);
    return on === 'all' ? undefined : on;
  }
}

/**
 * Per segment of a recompiled network, its change to each host's remote entries, from one diff
 * of the shared lists (computed when first asked). Undefined for a segment without a shared
 * list on either side, or one not in MAC order: that host's lists are then compared whole.
 */
function remoteChanges(before: CompiledNetwork | undefined, after: CompiledNetwork): ((segmentId: string, host: string) => ReturnType<SharedRemoteDiff['forHost']> | undefined) | undefined {
  if (!before) return undefined;
  const diffs = new Map<string, SharedRemoteDiff | undefined>();
  return (id, host) => {
    // A host with an endpoint attached that it does not serve: its list is not the shared one minus its own.
    if (before.movingHosts.has(host) || after.movingHosts.has(host)) return undefined;
    if (!diffs.has(id)) {
      const b = before.sharedRemotes(id);
      const a = after.sharedRemotes(id);
      diffs.set(id, b && a ? SharedRemoteDiff.of(b, a) : undefined);
    }
    return diffs.get(id)?.forHost(host);
  };
}
