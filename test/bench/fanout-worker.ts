// A worker process for fanout.bench.ts: runs its share of many agents in one process. Not a
// benchmark itself (run.sh only picks up *.bench.ts); the parent forks it with an IPC channel.
//
// Agents: each joins the controller with joinController and runs a real AgentRuntime with a
// driver that programs nothing and flushes at once. Each agent's Session stream is observed
// (see `observe`) to stamp, in wall-clock milliseconds (performance.timeOrigin + now()), when a
// message making an armed condition true arrived, and when the agent wrote the ack covering it.
//
// Watchers (the baseline): each "agent" opens its own etcd client and a watch on one prefix,
// and stamps when the put of an armed key arrives.
//
// Raw sessions (the transport's floor): each "agent" opens a Session stream to a bare gRPC
// server (support/raw-session-server.ts) with the agent's own channel options and mutual TLS,
// and acks each delta at once: no runtime, no patch, no driver. Stamps as for agents.
import { mkdir } from 'node:fs/promises';
import { join } from 'node:path';
import type * as grpc from '@grpc/grpc-js';
import { Etcd3, type Watcher } from 'etcd3';
import { joinController } from '../../agents/join.js';
import { agentClient, keepaliveOptions } from '../../agents/dial.js';
import { AgentRuntime, type DataplaneDriver } from '../../agents/runtime.js';
import type { Identity } from '../../agents/identity.js';
import { loadProtocol, type AgentMessage, type ControllerMessage, type ObjectError, type Segment } from '../../src/protocol/index.js';

// ---------- the IPC protocol (the parent imports these types) ----------

/** What must be true of an agent's program: a MAC present, or a segment holding `size` endpoints. */
export type Condition = { kind: 'mac'; mac: string } | { kind: 'segment-size'; segment: string; size: number };

export type ToWorker =
  | { type: 'join'; controller: string; token: string; hosts: string[]; stateRoot: string; concurrency: number; attempts: number }
  /**
   * `controllers`: the addresses the agents' sessions use this time, in place of the list they
   * joined with (replicas.bench.ts runs the same agents on one replica, then on three). A start
   * after stop-agents runs fresh runtimes for the same identities.
   */
  | { type: 'start'; controllers?: string[] }
  /** `hosts`: the agents that must ack (those the change affects); all of this worker's when absent. */
  | { type: 'arm'; id: number; cond: Condition; hosts?: string[] }
  | { type: 'collect'; id: number }
  | { type: 'stop-agents' }
  | { type: 'watch'; endpoint: string; prefix: string; concurrency: number }
  | { type: 'arm-watch'; id: number; key: string }
  | { type: 'collect-watch'; id: number }
  /** Opens one raw Session per agent host of this worker (after stop-agents), with this identity. */
  | { type: 'raw'; address: string; caPem: string; certPem: string; keyPem: string }
  /** Stamps the delta of `generation` on every raw session. */
  | { type: 'arm-raw'; id: number; generation: number }
  | { type: 'collect-raw'; id: number }
  | { type: 'close-raw' }
  | { type: 'stats' }
  | { type: 'exit' };

export interface Stamp {
  host: string;
  /** When the message that made the condition true arrived on the agent's stream. */
  recv?: number;
  /** When the agent wrote the ack for that message's generation (or a later one). */
  ack?: number;
  generation?: number;
  /** Serialized ControllerMessage bytes the agent received from the arm until the result. */
  bytes?: number;
  /** The controller address the agent's session was on when the result was reported. */
  controller?: string;
}

export type FromWorker =
  | { type: 'joined'; ok: number; ms: number; errors: { host: string; attempt: number; message: string }[] }
  | { type: 'started'; agents: number; msToFirstAcks: number; missing: string[] }
  | { type: 'armed'; id: number }
  | { type: 'result'; id: number; complete: boolean; stamps: Stamp[] }
  | { type: 'stopped'; ms: number }
  | { type: 'watching'; watchers: number; ms: number; errors: string[] }
  | { type: 'watch-result'; id: number; complete: boolean; stamps: { host: string; seen?: number }[] }
  | { type: 'raw-open'; sessions: number; ms: number; errors: string[] }
  | { type: 'raw-result'; id: number; complete: boolean; stamps: Stamp[] }
  | { type: 'raw-closed' }
  | { type: 'log'; host: string; level: 'warn' | 'error'; msg: string; obj: string }
  /** Warn/error log lines by message and reason, and sessions opened beyond each agent's first. */
  | { type: 'stats'; logs: Record<string, number>; reconnects: number; agents: number; byController: Record<string, number> }
  | { type: 'fatal'; message: string };

/**
 * Hundreds of agents (or raw sessions) share this process's event loop: a busy moment here is
 * not a silent controller, so keepalive (1 s / 1 s for a real agent alone on its host) is relaxed.
 */
const BENCH_KEEPALIVE = { intervalMs: 10_000, timeoutMs: 20_000 };

const now = () => performance.timeOrigin + performance.now();
const send = (m: FromWorker) => process.send!(m);

// ---------- agents ----------

class NullDriver implements DataplaneDriver {
  setDesired(): void {}
  async flush(): Promise<ObjectError[]> {
    return [];
  }
  watch(): () => void {
    return () => undefined;
  }
  async capabilities(): Promise<Record<string, boolean>> {
    return { vxlan: true, geneve: false };
  }
  close(): void {}
}

interface Armed {
  cond: Condition;
  /** How many messages the tracker had kept when armed. */
  keptAtArm: number;
  recv?: number;
  generation?: number;
  ack?: number;
}

/**
 * Stamps armed conditions as one agent's stream delivers its program. It reads the program the
 * runtime holds (heldProgram) just after the runtime took each message in, rather than applying
 * every delta a second time: that copy, per agent per message, was work (and garbage) on the
 * path of the agents under test.
 */
class Tracker {
  /** The runtime whose program this tracker reads (set on each start). */
  source?: AgentRuntime;
  readonly armed = new Map<number, Armed>();
  /**
   * The messages received while something is armed, serialized (to count their bytes as the
   * controller encoded them) only when the result is reported: encoding them on arrival was
   * work on the agents' path that the agents under test paid for.
   */
  kept: ControllerMessage[] = [];
  firstAck?: number;
  /** Sessions the controller welcomed this agent to. */
  welcomes = 0;
  /** The generation of the last program or delta the runtime took in, and of the last ack written. */
  generation?: number;
  lastAck?: number;
  onComplete: (id: number) => void = () => undefined;
  onFirstAck: () => void = () => undefined;

  constructor(readonly host: string) {}

  /** After the runtime took `m` in (it arrived at `t`): a delta it refused changed nothing. */
  message(m: ControllerMessage, t: number): void {
    if (m.welcome) this.welcomes++;
    if (!m.program && !m.delta) return;
    const held = this.source?.heldProgram;
    const generation = Number(m.program?.generation ?? m.delta?.generation);
    if (!held || held.generation !== generation) return;
    this.generation = generation;
    for (const a of this.armed.values()) {
      if (a.recv === undefined && this.madeTrue(m, a.cond)) {
        a.recv = t;
        a.generation = generation;
      }
    }
  }

  ack(generation: number): void {
    this.lastAck = generation;
    const t = now();
    if (this.firstAck === undefined) {
      this.firstAck = t;
      this.onFirstAck();
    }
    for (const [id, a] of this.armed) {
      if (a.recv !== undefined && a.ack === undefined && generation >= a.generation!) {
        a.ack = t;
        this.onComplete(id);
      }
    }
  }

  /** Returns true when the condition already held and its program was already acked. */
  arm(id: number, cond: Condition): boolean {
    const a: Armed = { cond, keptAtArm: this.kept.length };
    this.armed.set(id, a);
    // Already true (armed late): stamped now, against the generation the agent holds.
    if (this.generation !== undefined && this.holds(cond)) {
      a.recv = now();
      a.generation = this.generation;
      if (this.lastAck !== undefined && this.lastAck >= this.generation) {
        a.ack = a.recv;
        return true;
      }
    }
    return false;
  }

  /**
   * Whether `m` (just applied) made the condition hold. A MAC is found in what a delta added,
   * not by scanning every remote of the program: that scan, per agent per message, was a
   * visible share of the workers' CPU, which the agents under test share.
   */
  private madeTrue(m: ControllerMessage, c: Condition): boolean {
    if (c.kind !== 'mac' || !m.delta) return this.holds(c);
    const has = (xs: readonly { mac: string }[]) => xs.some((x) => x.mac === c.mac);
    return m.delta.upsert.some((s) => has(s.attachments) || has(s.remotes)) || (m.delta.patch ?? []).some((p) => has(p.upsertAttachments) || has(p.upsertRemotes));
  }

  holds(c: Condition): boolean {
    const segments = this.source?.heldProgram?.segments ?? new Map<string, Segment>();
    switch (c.kind) {
      case 'mac':
        for (const s of segments.values()) {
          if (s.attachments.some((a) => a.mac === c.mac) || s.remotes.some((r) => r.mac === c.mac)) return true;
        }
        return false;
      case 'segment-size': {
        const s = segments.get(c.segment);
        return !!s && s.attachments.length + s.remotes.length >= c.size;
      }
      default: {
        const never: never = c;
        throw new Error(`unknown condition ${JSON.stringify(never)}`);
      }
    }
  }
}

/** Encodes ControllerMessages as the controller does, to count their bytes on the wire. */
const sessionCodec = () => loadProtocol().weft.agent.v1.AgentService.service.Session;

/**
 * Watches an agent's Session stream from outside: AgentRuntime keeps the stream in its private
 * `call` field, so an accessor on the instance sees each new stream as the runtime stores it
 * (before the runtime adds its own listener), and wraps its write to see acks go out.
 */
function observe(rt: AgentRuntime, tracker: Tracker): void {
  let current: grpc.ClientDuplexStream<AgentMessage, ControllerMessage> | undefined;
  const desc = Object.getOwnPropertyDescriptor(rt, 'call');
  if (desc && !desc.configurable) throw new Error('AgentRuntime.call is not configurable; the benchmark cannot observe sessions');
  Object.defineProperty(rt, 'call', {
    configurable: true,
    enumerable: true,
    get: () => current,
    set: (c: typeof current) => {
      current = c;
      if (!c || (c as { __observed?: boolean }).__observed) return;
      (c as { __observed?: boolean }).__observed = true;
      c.on('data', (m: ControllerMessage) => {
        const t = now();
        // Only for endpoint changes: the fill's arm lasts a thousand messages per agent.
        if ([...tracker.armed.values()].some((x) => x.cond.kind === 'mac')) tracker.kept.push(m);
        // This listener runs before the runtime's (it is added first); the microtask runs after
        // the runtime took the message in, and before its ack (which follows an awaited flush).
        queueMicrotask(() => tracker.message(m, t));
      });
      const write = c.write.bind(c) as (...args: unknown[]) => boolean;
      (c as { write: unknown }).write = (msg: AgentMessage, ...rest: unknown[]) => {
        if (msg.ack) tracker.ack(Number(msg.ack.generation));
        return write(msg, ...rest);
      };
    },
  });
}

interface Agent {
  host: string;
  identity: Identity;
  stateDir: string;
  runtime?: AgentRuntime;
  tracker: Tracker;
}

const agents: Agent[] = [];
const MAX_LOGS = 30;
let logsSent = 0;

const logCounts = new Map<string, number>();

function logger(host: string) {
  const fwd = (level: 'warn' | 'error') => (obj: object, msg?: string) => {
    const reason = (obj as { reason?: unknown; err?: unknown }).reason ?? (obj as { err?: unknown }).err;
    const key = `${level}: ${msg ?? ''}${reason !== undefined ? ` (${String(reason).replace(/\d+/g, '#')})` : ''}`;
    logCounts.set(key, (logCounts.get(key) ?? 0) + 1);
    if (logsSent++ >= MAX_LOGS) return;
    send({ type: 'log', host, level, msg: msg ?? '', obj: JSON.stringify(obj).slice(0, 400) });
  };
  return { info() {}, warn: fwd('warn'), error: fwd('error') };
}

async function pool<T>(items: T[], concurrency: number, fn: (x: T) => Promise<void>): Promise<void> {
  let next = 0;
  await Promise.all(
    Array.from({ length: Math.min(concurrency, items.length) }, async () => {
      while (next < items.length) await fn(items[next++]!);
    }),
  );
}

async function joinAll(m: Extract<ToWorker, { type: 'join' }>): Promise<void> {
  const t0 = performance.now();
  const errors: { host: string; attempt: number; message: string }[] = [];
  await pool(m.hosts, m.concurrency, async (host) => {
    const stateDir = join(m.stateRoot, host);
    await mkdir(stateDir, { recursive: true });
    for (let attempt = 1; attempt <= m.attempts; attempt++) {
      try {
        const identity = await joinController({ controller: m.controller, token: m.token, stateDir, hostName: host, agentVersion: 'bench', capabilities: { vxlan: true, geneve: false } });
        agents.push({ host, identity, stateDir, tracker: new Tracker(host) });
        return;
      } catch (err) {
        errors.push({ host, attempt, message: err instanceof Error ? err.message : String(err) });
        await new Promise((r) => setTimeout(r, 100 * attempt));
      }
    }
  });
  send({ type: 'joined', ok: agents.length, ms: performance.now() - t0, errors });
}

async function startAll(m: Extract<ToWorker, { type: 'start' }>): Promise<void> {
  const t0 = performance.now();
  let acked = 0;
  let done: () => void = () => undefined;
  const all = new Promise<void>((r) => (done = r));
  for (const a of agents) {
    // Started before: this start's first acks and sessions are counted afresh.
    a.tracker.firstAck = undefined;
    a.tracker.welcomes = 0;
    const identity = m.controllers ? { ...a.identity, controllers: m.controllers } : a.identity;
    const rt = new AgentRuntime(identity, a.stateDir, new NullDriver(), logger(a.host), { agentVersion: 'bench', resyncMs: 3_600_000, keepalive: BENCH_KEEPALIVE });
    a.tracker.source = rt;
    observe(rt, a.tracker);
    a.tracker.onFirstAck = () => {
      if (++acked === agents.length) done();
    };
    a.runtime = rt;
  }
  for (const a of agents) await a.runtime!.start();
  if (!agents.length) done();
  const timeout = new Promise<void>((r) => setTimeout(r, 120_000).unref());
  await Promise.race([all, timeout]);
  send({ type: 'started', agents: agents.length, msToFirstAcks: performance.now() - t0, missing: agents.filter((a) => a.tracker.firstAck === undefined).map((a) => a.host) });
}

function arm(id: number, cond: Condition, hosts?: string[]): void {
  const expect = hosts ? new Set(hosts) : undefined;
  let remaining = 0;
  pendingFor.set(id, () => {
    if (--remaining === 0) report(id, true);
  });
  for (const a of agents) {
    if (expect && !expect.has(a.host)) continue;
    a.tracker.onComplete = (done) => pendingFor.get(done)?.();
    if (!a.tracker.arm(id, cond)) remaining++;
  }
  // Everyone already had it (or nobody here is affected): the answer goes out at once.
  if (remaining === 0) report(id, true);
}

const pendingFor = new Map<number, () => void>();

/** Connected agents by the controller address their session is on. */
function sessionsByController(): Record<string, number> {
  const out: Record<string, number> = {};
  for (const a of agents) if (a.runtime?.connected && a.runtime.controller) out[a.runtime.controller] = (out[a.runtime.controller] ?? 0) + 1;
  return out;
}

function report(id: number, complete: boolean): void {
  pendingFor.delete(id);
  const stamps = agents.filter((a) => a.tracker.armed.has(id)).map((a) => {
    const s = a.tracker.armed.get(id);
    a.tracker.armed.delete(id);
    const bytes = s ? a.tracker.kept.slice(s.keptAtArm).reduce((n, m) => n + sessionCodec().responseSerialize(m).length, 0) : undefined;
    if (![...a.tracker.armed.values()].some((x) => x.cond.kind === 'mac')) a.tracker.kept = [];
    return { host: a.host, recv: s?.recv, ack: s?.ack, generation: s?.generation, bytes, controller: a.runtime?.controller };
  });
  send({ type: 'result', id, complete, stamps });
}

async function stopAgents(): Promise<void> {
  const t0 = performance.now();
  await Promise.all(agents.map((a) => a.runtime?.stop().catch(() => undefined)));
  send({ type: 'stopped', ms: performance.now() - t0 });
}

// ---------- armed stamps (watchers and raw sessions) ----------

/**
 * One kind of recipient's armed measurements: `arm` marks every recipient, `stamped` counts one
 * down and reports once all have it; `collect` reports what there is (a timeout).
 */
class Armings<R extends { host: string; armed: Map<number, A> }, A> {
  private readonly pending = new Map<number, number>();

  constructor(
    private readonly recipients: R[],
    private readonly report: (id: number, complete: boolean, stamps: ({ host: string } & Partial<A>)[]) => void,
  ) {}

  arm(id: number, init: () => A): void {
    this.pending.set(id, this.recipients.length);
    for (const r of this.recipients) r.armed.set(id, init());
    if (!this.recipients.length) this.finish(id, true);
  }

  stamped(id: number): void {
    const left = this.pending.get(id);
    if (left === undefined) return;
    if (left <= 1) this.finish(id, true);
    else this.pending.set(id, left - 1);
  }

  collect(id: number): void {
    if (this.pending.has(id)) this.finish(id, false);
  }

  private finish(id: number, complete: boolean): void {
    this.pending.delete(id);
    const stamps = this.recipients.map((r) => {
      const a: Partial<A> = r.armed.get(id) ?? {};
      r.armed.delete(id);
      return { host: r.host, ...a };
    });
    this.report(id, complete, stamps);
  }
}

// ---------- watchers (baseline) ----------

interface EtcdWatcher {
  host: string;
  client: Etcd3;
  watcher?: Watcher;
  armed: Map<number, { key: string; seen?: number }>;
}

const watchers: EtcdWatcher[] = [];
const watchArmings = new Armings<EtcdWatcher, { key: string; seen?: number }>(watchers, (id, complete, stamps) =>
  send({ type: 'watch-result', id, complete, stamps: stamps.map((x) => ({ host: x.host, seen: x.seen })) }),
);

async function openWatchers(m: Extract<ToWorker, { type: 'watch' }>): Promise<void> {
  const t0 = performance.now();
  const errors: string[] = [];
  const hosts = agents.length ? agents.map((a) => a.host) : [];
  await pool(hosts, m.concurrency, async (host) => {
    const w: EtcdWatcher = { host, client: new Etcd3({ hosts: m.endpoint }), armed: new Map() };
    try {
      w.watcher = await w.client.watch().prefix(m.prefix).create();
      w.watcher.on('put', (kv) => {
        const t = now();
        const key = kv.key.toString();
        for (const [id, a] of w.armed) {
          if (a.seen === undefined && a.key === key) {
            a.seen = t;
            watchArmings.stamped(id);
          }
        }
      });
      w.watcher.on('error', (err) => errors.length < 10 && errors.push(`${host}: ${String(err)}`));
      watchers.push(w);
    } catch (err) {
      errors.push(`${host}: ${String(err)}`);
      w.client.close();
    }
  });
  send({ type: 'watching', watchers: watchers.length, ms: performance.now() - t0, errors });
}

// ---------- raw sessions (the transport's floor) ----------

interface RawSession {
  host: string;
  client: grpc.Client;
  armed: Map<number, { generation: number; recv?: number; ack?: number }>;
}

const raws: RawSession[] = [];
const rawArmings = new Armings<RawSession, { generation: number; recv?: number; ack?: number }>(raws, (id, complete, stamps) =>
  send({ type: 'raw-result', id, complete, stamps: stamps.map((x) => ({ host: x.host, recv: x.recv, ack: x.ack, generation: x.generation })) }),
);

async function openRaw(m: Extract<ToWorker, { type: 'raw' }>): Promise<void> {
  const t0 = performance.now();
  const errors: string[] = [];
  // A few at a time, each until the server's first message: a thousand connects at once
  // overflow the unix socket's backlog (EAGAIN), and grpc-js then backs off for seconds.
  await pool(
    agents.map((a) => a.host),
    16,
    (host) =>
      new Promise<void>((resolve) => {
        const client = agentClient(m.address, m.caPem, { keyPem: m.keyPem, certPem: m.certPem }, keepaliveOptions(BENCH_KEEPALIVE));
        const call = client.Session();
        const r: RawSession = { host, client, armed: new Map() };
        const timer = setTimeout(() => {
          errors.push(`${host}: no first message within 30 s`);
          resolve();
        }, 30_000);
        call.on('data', (msg: ControllerMessage) => {
          clearTimeout(timer);
          resolve();
          if (!msg.delta) return;
          const t = now();
          const generation = Number(msg.delta.generation);
          call.write({ ack: { generation, errors: [] } });
          const written = now();
          for (const [id, a] of r.armed) {
            if (a.recv !== undefined || a.generation !== generation) continue;
            a.recv = t;
            a.ack = written;
            rawArmings.stamped(id);
          }
        });
        call.on('error', (err: Error) => {
          clearTimeout(timer);
          if (errors.length < 10) errors.push(`${host}: ${err.message}`);
          resolve();
        });
        call.write({ hello: { protocolVersion: 2, agentVersion: 'bench-raw', capabilities: {}, addresses: [], appliedGeneration: 0 } });
        raws.push(r);
      }),
  );
  send({ type: 'raw-open', sessions: raws.length, ms: performance.now() - t0, errors });
}

// ---------- main loop ----------

process.on('message', (raw) => {
  const m = raw as ToWorker;
  const run = async () => {
    switch (m.type) {
      case 'join':
        return joinAll(m);
      case 'start':
        return startAll(m);
      case 'arm':
        arm(m.id, m.cond, m.hosts);
        return send({ type: 'armed', id: m.id });
      case 'collect':
        if (pendingFor.has(m.id)) report(m.id, false);
        return;
      case 'stop-agents':
        return stopAgents();
      case 'watch':
        return openWatchers(m);
      case 'arm-watch':
        watchArmings.arm(m.id, () => ({ key: m.key }));
        return send({ type: 'armed', id: m.id });
      case 'collect-watch':
        return watchArmings.collect(m.id);
      case 'raw':
        return openRaw(m);
      case 'arm-raw':
        rawArmings.arm(m.id, () => ({ generation: m.generation }));
        return send({ type: 'armed', id: m.id });
      case 'collect-raw':
        return rawArmings.collect(m.id);
      case 'close-raw':
        for (const r of raws.splice(0)) r.client.close();
        return send({ type: 'raw-closed' });
      case 'stats':
        return send({ type: 'stats', logs: Object.fromEntries(logCounts), reconnects: agents.reduce((n, a) => n + Math.max(0, a.tracker.welcomes - 1), 0), agents: agents.length, byController: sessionsByController() });
      case 'exit':
        await Promise.all(agents.map((a) => a.runtime?.stop().catch(() => undefined)));
        for (const w of watchers) {
          await w.watcher?.cancel().catch(() => undefined);
          w.client.close();
        }
        for (const r of raws) r.client.close();
        process.exit(0);
        return;
      default: {
        const never: never = m;
        throw new Error(`unknown message ${JSON.stringify(never)}`);
      }
    }
  };
  run().catch((err: unknown) => send({ type: 'fatal', message: err instanceof Error ? (err.stack ?? err.message) : String(err) }));
});
process.on('disconnect', () => process.exit(0));
