// A thin wrapper over ONE persistent rtnetlink socket (the `netlink` package), for the writes
// and dumps the dataplane makes in the agent's own network namespace.
//
// Cost model. Writes are pipelined: callers fire many and await all. Requests issued in the
// same tick go out together, up to 256 per sendmsg(2); only the last of each batch asks for an
// ACK, because the kernel processes a socket's requests in order and always answers a failed
// one with an error carrying its sequence number. One ACK therefore settles a whole batch,
// which is what makes 10^4 FDB entries cost about what `bridge -batch` costs. The number of
// unanswered requests is capped from the socket's receive buffer: an overrun would lose
// answers, and the `netlink` 0.3.0 native binding aborts the process when its socket reports
// an error (measured: "terminate called after throwing an instance of 'Napi::Error'").
//
// Dumps are exclusive: the package reassembles multipart replies with one buffer per socket,
// so no write may be in flight while a dump runs. A dump that the kernel marks interrupted
// (NLM_F_DUMP_INTR, the table changed under it) is retried.
//
// Events come from a long-lived `ip -o monitor label link address neigh route nexthop` child
// instead of multicast
// groups on a second socket from this package, for the same abort reason: a burst of
// neighbour events (10^4 FDB writes produce 10^4 of them) overruns a subscriber that is busy,
// and iproute2 survives ENOBUFS ("netlink receive error ... (105)") where the binding does not.
// Events only ever mean "look again". (A link going down flushes its IPv4 routes WITHOUT a
// route event; only the link event tells.)
import { spawn, type ChildProcess } from 'node:child_process';
import { createInterface } from 'node:readline';
import { getSystemErrorMap } from 'node:util';
import { createRtNetlink, type NetlinkMessage, type NetlinkSocket } from 'netlink';
import {
  AF_BRIDGE, AF_UNSPEC, NLMSG_ERROR, NLM_F, NTF_SELF, NUD_NOARP, NUD_PERMANENT, RTM,
  dumpRequest, encodeAddrMsg, encodeFdbNexthopMsg, encodeLinkMsg, encodeNeighMsg, encodeNexthopGroupMsg, encodeNexthopMsg, encodeRouteMsg,
  parseAddrMsg, parseLinkMsg, parseNeighMsg, parseNexthopMsg, parseRouteMsg, toFdbEntry, toNeighEntry, type LinkAttrs,
} from './codec.js';
import type { LinkKindSpec } from './linkinfo.js';
import { ipLength } from './nlattr.js';
import type { AddrEntry, FdbEntry, NeighEntry, NexthopEntry, ObservedLink, RouteEntry } from './observed.js';

const NLMSG_HDRLEN = 16;
/** Headroom every request body is encoded with: the pipeline writes the nlmsghdr there. */
const H = NLMSG_HDRLEN;
const MAX_BATCH = 256;
/** Receive-buffer bytes budgeted per unanswered request (a failed FDB add's error is < 1 KiB). */
const BYTES_PER_PENDING = 4096;

export class KernelError extends Error {
  readonly errno: number;
  readonly code: string;
  constructor(readonly op: string, errno: number) {
    const [code = `E${errno}`, text = 'unknown error'] = getSystemErrorMap().get(-errno) ?? [];
    super(`${op}: ${text} (${code})`);
    this.name = 'KernelError';
    this.errno = errno;
    this.code = code;
  }
}

export interface CreateLink {
  name: string;
  info: LinkKindSpec;
  mtu?: number;
  master?: number;
  alias?: string;
  mac?: string;
  up?: boolean;
}

export interface LinkChange {
  mtu?: number;
  /** 0 detaches from the current master. */
  master?: number;
  up?: boolean;
  alias?: string;
  mac?: string;
  name?: string;
}

export type KernelEventGroup = 'link' | 'addr' | 'neigh' | 'route' | 'nexthop' | 'overrun';

export interface KernelEvent {
  group: KernelEventGroup;
  /** The device the event is about, when the line names one. */
  ifname?: string;
  line: string;
  /**
   * When `ip monitor` read it from the kernel (epoch ms), when the line says: on a busy host the
   * agent may read the line much later, and own-write echoes are told by this time, not that.
   */
  atMs?: number;
}

export interface KernelOptions {
  /** SO_RCVBUF to ask for (the kernel caps it at net.core.rmem_max). Default 4 MiB. */
  recvBufferSize?: number;
  /** A write with no answer for this long fails with ETIMEDOUT. Default 10 s. */
  timeoutMs?: number;
  /** The `ip` binary for event monitoring. */
  ipCommand?: string;
}

interface Pending {
  type: number;
  flags: number;
  /** The whole request; its first 16 bytes are the header, filled in when it is sent. */
  msg: Buffer;
  op: string;
  glue: boolean;
  seq: number;
  /** Carries NLM_F_ACK: its answer settles every request sent before it. */
  barrier: boolean;
  settled: boolean;
  resolve: () => void;
  reject: (e: Error) => void;
}

/** A FIFO that does not copy on shift. */
class Fifo<T> {
  private items: (T | undefined)[] = [];
  private head = 0;
  get length(): number { return this.items.length - this.head; }
  push(x: T): void { this.items.push(x); }
  peek(): T | undefined { return this.items[this.head]; }
  shift(): T | undefined {
    if (this.head >= this.items.length) return undefined;
    const x = this.items[this.head];
    this.items[this.head++] = undefined;
    if (this.head > 1024 && this.head * 2 > this.items.length) {
      this.items = this.items.slice(this.head);
      this.head = 0;
    }
    return x;
  }
}

export class Kernel {
  private readonly nl: NetlinkSocket;
  private readonly window: number;
  private readonly timeoutMs: number;
  private readonly ipCommand: string;
  private readonly backlog = new Fifo<Pending>();
  private readonly inflight = new Fifo<Pending>();
  private readonly bySeq = new Map<number, Pending>();
  private pumpScheduled = false;
  private reading = false;
  private readChain: Promise<unknown> = Promise.resolve();
  private drainWaiters: (() => void)[] = [];
  private lastProgress = Date.now();
  private watchdog: NodeJS.Timeout | undefined;
  private referenced = false;
  private closed = false;
  private writeCount = 0;
  private monitor: ChildProcess | undefined;
  private readonly listeners = new Set<(e: KernelEvent) => void>();

  private constructor(opts: KernelOptions) {
    const size = opts.recvBufferSize ?? 4 << 20;
    const rt = createRtNetlink({ recvBufferSize: size, sendBufferSize: 1 << 20 });
    this.nl = rt.socket;
    this.window = Math.max(32, Math.min(2048, Math.floor(this.nl.getRecvBufferSize() / BYTES_PER_PENDING)));
    this.timeoutMs = opts.timeoutMs ?? 10_000;
    this.ipCommand = opts.ipCommand ?? 'ip';
    this.nl.on('message', (msgs) => this.onMessages(msgs));
    this.nl.on('error', (e) => this.failAll(e));
  }

  static open(opts: KernelOptions = {}): Kernel {
    return new Kernel(opts);
  }

  /** Write requests sent to the kernel so far (reads are not counted). */
  get writes(): number {
    return this.writeCount;
  }

  /** How many requests may be unanswered at once (derived from the receive buffer). */
  get pipelineWindow(): number {
    return this.window;
  }

  // --- reads ----------------------------------------------------------------------------

  async listLinks(): Promise<ObservedLink[]> {
    const msgs = await this.dump(RTM.GETLINK, dumpRequest('link'));
    return msgs.filter((m) => m.type === RTM.NEWLINK).map((m) => parseLinkMsg(m.data));
  }

  /** Every bridge-family entry: vxlan `self` entries and bridge `master` entries alike. */
  async listFdb(): Promise<FdbEntry[]> {
    const msgs = await this.dump(RTM.GETNEIGH, dumpRequest('neigh', AF_BRIDGE));
    const out: FdbEntry[] = [];
    for (const m of msgs) {
      if (m.type !== RTM.NEWNEIGH) continue;
      const e = toFdbEntry(parseNeighMsg(m.data));
      if (e) out.push(e);
    }
    return out;
  }

  /** IPv4 ARP and IPv6 ND entries. */
  async listNeighbours(): Promise<NeighEntry[]> {
    const msgs = await this.dump(RTM.GETNEIGH, dumpRequest('neigh', AF_UNSPEC));
    const out: NeighEntry[] = [];
    for (const m of msgs) {
      if (m.type !== RTM.NEWNEIGH) continue;
      const e = toNeighEntry(parseNeighMsg(m.data));
      if (e) out.push(e);
    }
    return out;
  }

  async listAddresses(): Promise<AddrEntry[]> {
    const msgs = await this.dump(RTM.GETADDR, dumpRequest('addr'));
    const out: AddrEntry[] = [];
    for (const m of msgs) {
      if (m.type !== RTM.NEWADDR) continue;
      const e = parseAddrMsg(m.data);
      if (e) out.push(e);
    }
    return out;
  }

  /** Every nexthop object; [] on a kernel without them (the dump is refused). */
  async listNexthops(): Promise<NexthopEntry[]> {
    let msgs: NetlinkMessage[];
    try {
      msgs = await this.dump(RTM.GETNEXTHOP, dumpRequest('nexthop'));
    } catch {
      return [];
    }
    const out: NexthopEntry[] = [];
    for (const m of msgs) {
      if (m.type !== RTM.NEWNEXTHOP) continue;
      const e = parseNexthopMsg(m.data);
      if (e) out.push(e);
    }
    return out;
  }

  /** Main-table routes, IPv4 and IPv6. */
  async listRoutes(): Promise<RouteEntry[]> {
    const msgs = await this.dump(RTM.GETROUTE, dumpRequest('route'));
    const out: RouteEntry[] = [];
    for (const m of msgs) {
      if (m.type !== RTM.NEWROUTE) continue;
      const e = parseRouteMsg(m.data);
      if (e) out.push(e);
    }
    return out;
  }

  // --- links ----------------------------------------------------------------------------

  createLink(l: CreateLink): Promise<void> {
    const attrs: LinkAttrs = { name: l.name, info: l.info };
    if (l.mtu !== undefined) attrs.mtu = l.mtu;
    if (l.master !== undefined) attrs.master = l.master;
    if (l.alias !== undefined) attrs.alias = l.alias;
    if (l.mac !== undefined) attrs.mac = l.mac;
    const body = encodeLinkMsg(l.up === undefined ? { attrs } : { up: l.up, attrs }, H);
    const op = `create ${l.info.kind} ${l.name}`;
    if (l.alias === undefined) return this.write(RTM.NEWLINK, NLM_F.CREATE | NLM_F.EXCL, body, op);
    // The kernel ignores IFLA_IFALIAS on creation; the ownership mark is a second request,
    // addressed by name and glued to the first so both go out in the same sendmsg(2).
    const created = this.write(RTM.NEWLINK, NLM_F.CREATE | NLM_F.EXCL, body, op, true);
    const marked = this.write(RTM.NEWLINK, 0, encodeLinkMsg({ attrs: { name: l.name, alias: l.alias } }, H), `${op}: set alias`);
    return Promise.allSettled([created, marked]).then(([c, m]) => {
      if (c.status === 'rejected') throw c.reason;
      if (m.status === 'rejected') throw m.reason;
    });
  }

  deleteLink(index: number, label = `link ${index}`): Promise<void> {
    return this.write(RTM.DELLINK, 0, encodeLinkMsg({ index, attrs: {} }, H), `delete ${label}`);
  }

  setLink(index: number, c: LinkChange, label = `link ${index}`): Promise<void> {
    const attrs: LinkAttrs = {};
    if (c.mtu !== undefined) attrs.mtu = c.mtu;
    if (c.master !== undefined) attrs.master = c.master;
    if (c.alias !== undefined) attrs.alias = c.alias;
    if (c.mac !== undefined) attrs.mac = c.mac;
    if (c.name !== undefined) attrs.name = c.name;
    const body = encodeLinkMsg(c.up === undefined ? { index, attrs } : { index, up: c.up, attrs }, H);
    return this.write(RTM.NEWLINK, 0, body, `set ${label} ${describeChange(c)}`);
  }

  // --- FDB (AF_BRIDGE, `self`: the vxlan device's own table) ----------------------------

  /** `bridge fdb add|append MAC dev IF dst VTEP self permanent`. */
  addFdb(ifindex: number, mac: string, dst: string, opts: { append?: boolean } = {}): Promise<void> {
    const flags = NLM_F.CREATE | (opts.append ? NLM_F.APPEND : NLM_F.EXCL);
    const body = encodeNeighMsg({ family: AF_BRIDGE, ifindex, state: NUD_NOARP | NUD_PERMANENT, flags: NTF_SELF, lladdr: mac, dst }, H);
    return this.write(RTM.NEWNEIGH, flags, body, `fdb ${opts.append ? 'append' : 'add'} ${mac} dst ${dst}`);
  }

  /** Deletes one remote of an entry (with dst) or the whole entry (without). */
  deleteFdb(ifindex: number, mac: string, dst?: string): Promise<void> {
    const m = { family: AF_BRIDGE, ifindex, flags: NTF_SELF, lladdr: mac, ...(dst ? { dst } : {}) };
    return this.write(RTM.DELNEIGH, 0, encodeNeighMsg(m, H), `fdb del ${mac}${dst ? ` dst ${dst}` : ''}`);
  }

  // --- neighbours (ARP / ND, permanent) ---------------------------------------------------

  addNeighbour(ifindex: number, ip: string, mac: string, opts: { replace?: boolean } = {}): Promise<void> {
    const family = ipLength(ip) === 4 ? 2 : 10;
    const flags = NLM_F.CREATE | (opts.replace ? NLM_F.REPLACE : NLM_F.EXCL);
    const body = encodeNeighMsg({ family, ifindex, state: NUD_PERMANENT, dst: ip, lladdr: mac }, H);
    return this.write(RTM.NEWNEIGH, flags, body, `neigh ${opts.replace ? 'replace' : 'add'} ${ip} lladdr ${mac}`);
  }

  deleteNeighbour(ifindex: number, ip: string): Promise<void> {
    const family = ipLength(ip) === 4 ? 2 : 10;
    return this.write(RTM.DELNEIGH, 0, encodeNeighMsg({ family, ifindex, dst: ip }, H), `neigh del ${ip}`);
  }

  // --- addresses ----------------------------------------------------------------------------

  addAddress(ifindex: number, cidr: string): Promise<void> {
    return this.write(RTM.NEWADDR, NLM_F.CREATE | NLM_F.EXCL, encodeAddrMsg(ifindex, cidr, H), `addr add ${cidr}`);
  }

  deleteAddress(ifindex: number, cidr: string): Promise<void> {
    return this.write(RTM.DELADDR, 0, encodeAddrMsg(ifindex, cidr, H), `addr del ${cidr}`);
  }

  /** `bridge fdb add MAC dev IF nhid G self permanent`. */
  addFdbNexthop(ifindex: number, mac: string, nhid: number): Promise<void> {
    return this.write(RTM.NEWNEIGH, NLM_F.CREATE | NLM_F.EXCL, encodeFdbNexthopMsg(ifindex, mac, nhid, H), `fdb add ${mac} nhid ${nhid}`);
  }

  // --- nexthops -------------------------------------------------------------------------------

  /** `ip nexthop add|replace id N via GW [fdb] [proto P]`. */
  addNexthop(id: number, gateway: string, opts: { fdb?: boolean; replace?: boolean; protocol?: number } = {}): Promise<void> {
    const flags = NLM_F.CREATE | (opts.replace ? NLM_F.REPLACE : NLM_F.EXCL);
    return this.write(RTM.NEWNEXTHOP, flags, encodeNexthopMsg(id, gateway, opts.fdb, H, opts.protocol ?? 0), `nexthop ${opts.replace ? 'replace' : 'add'} id ${id} via ${gateway}`);
  }

  /** `ip nexthop add|replace id G group A/B [fdb] proto P`: a replace swaps members atomically. */
  setNexthopGroup(id: number, members: readonly number[], opts: { fdb: boolean; replace: boolean; protocol: number }): Promise<void> {
    const flags = NLM_F.CREATE | (opts.replace ? NLM_F.REPLACE : NLM_F.EXCL);
    return this.write(RTM.NEWNEXTHOP, flags, encodeNexthopGroupMsg(id, members, opts.fdb, opts.protocol, H), `nexthop ${opts.replace ? 'replace' : 'add'} id ${id} group ${members.join('/')}`);
  }

  deleteNexthop(id: number): Promise<void> {
    return this.write(RTM.DELNEXTHOP, 0, encodeNexthopMsg(id, undefined, false, H), `nexthop del id ${id}`);
  }

  // --- routes (main table) ---------------------------------------------------------------------

  /** `ip route replace TO via VIA proto P`. */
  replaceRoute(to: string, via: string, protocol: number): Promise<void> {
    return this.write(RTM.NEWROUTE, NLM_F.CREATE | NLM_F.REPLACE, encodeRouteMsg(to, via, protocol, false, H), `route replace ${to} via ${via}`);
  }

  /** Deletes only a route of `protocol` (the kernel matches it). */
  deleteRoute(to: string, via: string | undefined, protocol: number): Promise<void> {
    return this.write(RTM.DELROUTE, 0, encodeRouteMsg(to, via, protocol, true, H), `route del ${to}${via ? ` via ${via}` : ''}`);
  }

  // --- events -------------------------------------------------------------------------------

  /**
   * Calls `onEvent` for every link, address, neighbour, route and nexthop change in this namespace (and an
   * `overrun` when the monitor lost some). Returns the unsubscribe function.
   */
  subscribe(onEvent: (e: KernelEvent) => void): () => void {
    this.listeners.add(onEvent);
    if (!this.monitor) this.startMonitor();
    return () => {
      this.listeners.delete(onEvent);
      if (this.listeners.size === 0) this.stopMonitor();
    };
  }

  /** Starts `ip -o monitor`; it subscribes a few milliseconds after the spawn. */
  private startMonitor(): void {
    // `label` prefixes each line with its object ([ROUTE], …): route and neighbour lines look alike.
    // -ts: each line starts with when ip read it (see KernelEvent.atMs).
    const child = spawn(this.ipCommand, ['-ts', '-o', 'monitor', 'label', 'link', 'address', 'neigh', 'route', 'nexthop'], { stdio: ['ignore', 'pipe', 'pipe'] });
    this.monitor = child;
    const emit = (e: KernelEvent): void => { for (const l of [...this.listeners]) l(e); };
    createInterface({ input: child.stdout! }).on('line', (line) => emit(parseMonitorLine(line)));
    createInterface({ input: child.stderr! }).on('line', (line) => emit({ group: 'overrun', line }));
    child.on('exit', () => {
      if (this.monitor !== child) return;
      this.monitor = undefined;
      if (this.closed || this.listeners.size === 0) return;
      // Whatever happened in between is unknown: say so, then monitor again.
      emit({ group: 'overrun', line: 'ip monitor exited' });
      setTimeout(() => { if (!this.closed && this.listeners.size && !this.monitor) this.startMonitor(); }, 500).unref();
    });
  }

  private stopMonitor(): void {
    const child = this.monitor;
    this.monitor = undefined;
    if (child && child.exitCode === null) child.kill('SIGTERM');
  }

  close(): void {
    if (this.closed) return;
    this.closed = true;
    this.listeners.clear();
    this.stopMonitor();
    if (this.watchdog) clearInterval(this.watchdog);
    this.failAll(new Error('kernel socket closed'));
    this.nl.close();
  }

  // --- the pipeline -------------------------------------------------------------------------

  /** `glue`: never send this request as the last of a batch, its successor goes with it. */
  private write(type: number, flags: number, msg: Buffer, op: string, glue = false): Promise<void> {
    if (this.closed) return Promise.reject(new Error(`${op}: kernel socket closed`));
    return new Promise<void>((resolve, reject) => {
      this.backlog.push({ type, flags, msg, op, glue, seq: 0, barrier: false, settled: false, resolve, reject });
      this.setReferenced(true);
      this.schedulePump();
    });
  }

  private schedulePump(): void {
    if (this.pumpScheduled) return;
    this.pumpScheduled = true;
    queueMicrotask(() => {
      this.pumpScheduled = false;
      this.pump();
    });
  }

  private pump(): void {
    if (this.closed || this.reading) return;
    while (this.backlog.length > 0 && this.inflight.length < this.window) {
      let n = Math.min(this.backlog.length, this.window - this.inflight.length, MAX_BATCH);
      const batch: Pending[] = [];
      const bufs: Buffer[] = [];
      for (let i = 0; i < n; i++) {
        const p = this.backlog.shift()!;
        if (i === n - 1 && p.glue && this.backlog.length > 0) n++;
        p.seq = this.nl.generateSeq();
        p.barrier = i === n - 1;
        const msg = p.msg;
        msg.writeUInt32LE(msg.length, 0);
        msg.writeUInt16LE(p.type, 4);
        msg.writeUInt16LE(NLM_F.REQUEST | p.flags | (p.barrier ? NLM_F.ACK : 0), 6);
        msg.writeUInt32LE(p.seq, 8);
        msg.writeUInt32LE(0, 12);
        bufs.push(msg);
        batch.push(p);
        this.inflight.push(p);
        this.bySeq.set(p.seq, p);
      }
      this.writeCount += n;
      this.armWatchdog();
      this.nl.socket.send(bufs, {}, (err) => {
        if (!err) return;
        // Never reached the kernel: no answer will come for any of them.
        for (const p of batch) {
          this.bySeq.delete(p.seq);
          this.settle(p, new Error(`${p.op}: ${err.message}`));
        }
        this.dropSettledHead();
        this.maybeIdle();
      });
    }
  }

  private onMessages(msgs: NetlinkMessage[]): void {
    let progressed = false;
    for (const m of msgs) {
      if (m.type !== NLMSG_ERROR || m.data.length < 4) continue;
      const p = this.bySeq.get(m.seq);
      if (!p) continue;
      progressed = true;
      const errno = -m.data.readInt32LE(0);
      if (errno !== 0) this.settle(p, new KernelError(p.op, errno));
      if (p.barrier) {
        // In-order processing: everything sent up to the barrier has been handled, and any
        // failure among it has already been answered with its own error.
        for (;;) {
          const q = this.inflight.shift();
          if (!q) break;
          this.bySeq.delete(q.seq);
          if (!q.settled) this.settle(q);
          if (q === p) break;
        }
      } else {
        this.bySeq.delete(p.seq);
      }
    }
    this.dropSettledHead();
    if (progressed) {
      this.lastProgress = Date.now();
      this.maybeIdle();
      this.pump();
    }
  }

  /** Requests that failed to send sit in `inflight` with no answer coming: drop them. */
  private dropSettledHead(): void {
    while (this.inflight.peek()?.settled && !this.bySeq.has(this.inflight.peek()!.seq)) this.inflight.shift();
  }

  private settle(p: Pending, err?: Error): void {
    if (p.settled) return;
    p.settled = true;
    if (err) p.reject(err);
    else p.resolve();
  }

  private maybeIdle(): void {
    if (this.inflight.length === 0) {
      const waiters = this.drainWaiters;
      this.drainWaiters = [];
      for (const w of waiters) w();
      if (this.backlog.length === 0) this.setReferenced(false);
    }
  }

  private setReferenced(on: boolean): void {
    if (this.referenced === on || this.closed) return;
    this.referenced = on;
    this.nl.ref(on);
  }

  private armWatchdog(): void {
    this.lastProgress = Date.now();
    if (this.watchdog) return;
    this.watchdog = setInterval(() => {
      if (this.inflight.length === 0) {
        clearInterval(this.watchdog);
        this.watchdog = undefined;
        return;
      }
      if (Date.now() - this.lastProgress > this.timeoutMs) this.failInflight(new Error('no answer from the kernel (ETIMEDOUT)'));
    }, Math.min(1000, this.timeoutMs));
    this.watchdog.unref();
  }

  private failInflight(err: Error): void {
    for (;;) {
      const p = this.inflight.shift();
      if (!p) break;
      this.bySeq.delete(p.seq);
      this.settle(p, new Error(`${p.op}: ${err.message}`));
    }
    this.maybeIdle();
  }

  private failAll(err: Error): void {
    this.failInflight(err);
    for (;;) {
      const p = this.backlog.shift();
      if (!p) break;
      this.settle(p, new Error(`${p.op}: ${err.message}`));
    }
    this.maybeIdle();
  }

  private drained(): Promise<void> {
    if (this.inflight.length === 0) return Promise.resolve();
    return new Promise((resolve) => this.drainWaiters.push(resolve));
  }

  /** Runs a dump alone on the socket: waits for writes to drain, holds new ones back. */
  private dump(type: number, body: Buffer): Promise<NetlinkMessage[]> {
    const run = async (): Promise<NetlinkMessage[]> => {
      if (this.closed) throw new Error('kernel socket closed');
      this.reading = true;
      try {
        await this.drained();
        for (let attempt = 0; ; attempt++) {
          const [msgs] = await this.nl.request(type, body, { flags: NLM_F.DUMP, timeout: this.timeoutMs });
          const interrupted = msgs.some((m) => (m.flags & NLM_F.DUMP_INTR) !== 0);
          if (!interrupted || attempt >= 4) return msgs;
        }
      } finally {
        this.reading = false;
        this.schedulePump();
      }
    };
    const p = this.readChain.then(run, run);
    this.readChain = p.catch(() => undefined);
    return p;
  }
}

function describeChange(c: LinkChange): string {
  return Object.entries(c).map(([k, v]) => `${k} ${String(v)}`).join(' ');
}

const LABEL = /^\[(LINK|ADDR|NEIGH|ROUTE|NEXTHOP)\]/;
const LINK_LINE = /^(?:Deleted )?\d+: ([^:@\s]+)(?:@[^:\s]+)?: </;
const ADDR_LINE = /^(?:Deleted )?\d+: ([^:@\s]+)\s+inet6? /;
const DEV = /\bdev (\S+)/;

/** `ip -ts`'s prefix: local time to the microsecond. */
const STAMP = /^\[(\d{4}-\d\d-\d\dT\d\d:\d\d:\d\d)(\.\d{1,9})?\] ?/;

/** Classifies one line of `ip [-ts] -o monitor [label] link address neigh route nexthop`. */
export function parseMonitorLine(stamped: string): KernelEvent {
  const stamp = STAMP.exec(stamped);
  const { line, ...event } = classify(stamp ? stamped.slice(stamp[0].length) : stamped);
  // Local time, as ip prints it (an ISO date-time without a zone is local in JavaScript too).
  const atMs = stamp ? Date.parse(`${stamp[1]}${(stamp[2] ?? '').slice(0, 4)}`) : NaN;
  return Number.isFinite(atMs) ? { ...event, line, atMs } : { ...event, line };
}

function classify(raw: string): KernelEvent {
  const label = LABEL.exec(raw)?.[1];
  const line = label ? raw.slice(label.length + 2) : raw;
  if (label === 'ROUTE' || label === 'NEXTHOP') {
    const dev = DEV.exec(line)?.[1];
    return { group: label === 'ROUTE' ? 'route' : 'nexthop', ...(dev ? { ifname: dev } : {}), line };
  }
  let m = LINK_LINE.exec(line);
  if (m?.[1]) return { group: 'link', ifname: m[1], line };
  m = ADDR_LINE.exec(line);
  if (m?.[1]) return { group: 'addr', ifname: m[1], line };
  m = DEV.exec(line);
  if (m?.[1]) return { group: 'neigh', ifname: m[1], line };
  return { group: 'neigh', line };
}
