// Two ends of one path, each a PathMonitor, in simulated time: each end probes the other at its
// own phase, the other end's kernel answers, and the request itself reaches the other end's
// monitor as the peer's probe (as the ICMP engine reports it). Looks come at every send and at
// every deadline a monitor asks for (the engine writes a T at least every 10 ms). Packets are
// lost at random, delayed with jitter, or dropped by a cut in either direction.
import { monitorConfig, PathMonitor, type MonitorConfig, type Transition } from '../../../agents/paths/monitor.js';
import { PhaseAligner, phaseConfig } from '../../../agents/paths/phase.js';
import { TimerHeap } from '../../../agents/paths/timer-heap.js';
import type { Rng } from '../../support/prng.js';

export type End = 'a' | 'b';

export interface PairOptions {
  rng: Rng;
  /** Each end's monitor config (default: monitorConfig()); its interval is the end's probe spacing. */
  config?: Partial<Record<End, MonitorConfig>>;
  /** First send of each end, ms (their schedules' phases). */
  phase: Record<End, number>;
  /** Whether the end sends probes at all (an old agent only answers). */
  probes?: Record<End, boolean>;
  /** Each packet is lost with this probability, independently. */
  loss?: number;
  /** One-way delay of a packet, ms. */
  delay?: () => number;
  /** Ends that align their schedule to the peer's (phase.ts); a shift moves the next send, as the engine does. */
  align?: Partial<Record<End, boolean>>;
}

type Event =
  | { kind: 'send'; end: End }
  | { kind: 'request'; to: End; seq: number; sentAt: number }
  | { kind: 'reply'; to: End; seq: number; sentAt: number }
  | { kind: 'look'; end: End };

// Arrivals before looks at the same instant: a look covers what arrived by then.
const ORDER: Record<Event['kind'], number> = { request: 0, reply: 0, send: 1, look: 2 };

export class PathPair {
  readonly monitors: Record<End, PathMonitor>;
  readonly changes: Record<End, Transition[]> = { a: [], b: [] };
  /** Directions that drop everything from this time on: 'a' is a→b. */
  readonly cutFrom: Record<End, number> = { a: Infinity, b: Infinity };
  /** Until this time the end sends no probes (it stopped probing, or was not scheduled). */
  readonly silentUntil: Record<End, number> = { a: -Infinity, b: -Infinity };
  t = 0;
  private readonly heap = new TimerHeap<{ at: number; ev: Event }>();
  private readonly looking: Record<End, number> = { a: Infinity, b: Infinity };
  private readonly probes: Record<End, boolean>;
  readonly aligners: Partial<Record<End, PhaseAligner>> = {};
  /** Each end's next send; a send event at another time is stale (its schedule moved). */
  private readonly nextSend: Record<End, number> = { a: 0, b: 0 };
  /** Each end's sends, for tests of the schedule. */
  readonly sends: Record<End, number[]> = { a: [], b: [] };

  constructor(readonly opts: PairOptions) {
    this.monitors = { a: new PathMonitor(opts.config?.a ?? monitorConfig(), 0), b: new PathMonitor(opts.config?.b ?? monitorConfig(), 0) };
    this.probes = opts.probes ?? { a: true, b: true };
    for (const end of ['a', 'b'] as const) {
      if (opts.align?.[end]) this.aligners[end] = new PhaseAligner(phaseConfig(this.monitors[end].config.intervalMs));
      this.nextSend[end] = opts.phase[end];
      this.push(opts.phase[end], { kind: 'send', end });
    }
  }

  /** Runs every event up to `until`. */
  runUntil(until: number, stop?: () => boolean): void {
    for (;;) {
      const at = this.heap.peekTime();
      if (at === undefined || at > until) break;
      const due = this.heap.popDue(at) as { at: number; ev: Event };
      this.t = due.at;
      this.handle(due.ev);
      if (stop?.()) break;
    }
    if (this.t < until && !stop?.()) this.t = until;
  }

  private handle(ev: Event): void {
    const other = (e: End): End => (e === 'a' ? 'b' : 'a');
    switch (ev.kind) {
      case 'send': {
        if (this.t !== this.nextSend[ev.end]) return; // moved by a shift
        const m = this.monitors[ev.end];
        this.nextSend[ev.end] = this.t + m.config.intervalMs;
        this.push(this.nextSend[ev.end], ev);
        if (this.probes[ev.end] && this.t >= this.silentUntil[ev.end]) {
          const seq = m.probeSent(this.t);
          this.aligners[ev.end]?.sent(this.t);
          this.sends[ev.end].push(this.t);
          this.carry(ev.end, { kind: 'request', to: other(ev.end), seq, sentAt: this.t });
        }
        this.look(ev.end);
        return;
      }
      case 'request': {
        this.note(ev.to, this.monitors[ev.to].peerProbeSeen(this.t));
        const shift = this.aligners[ev.to]?.peerSeen(this.t);
        if (shift !== undefined) {
          this.nextSend[ev.to] = Math.max(this.t, this.nextSend[ev.to] + shift);
          this.push(this.nextSend[ev.to], { kind: 'send', end: ev.to });
        }
        this.carry(ev.to, { kind: 'reply', to: other(ev.to), seq: ev.seq, sentAt: ev.sentAt });
        this.schedule(ev.to);
        return;
      }
      case 'reply':
        this.note(ev.to, this.monitors[ev.to].replyReceived(ev.seq, ev.sentAt, this.t));
        this.schedule(ev.to);
        return;
      case 'look':
        if (this.looking[ev.end] === this.t) this.looking[ev.end] = Infinity;
        this.look(ev.end);
        return;
      default: {
        const never: never = ev;
        throw new Error(`unknown event ${JSON.stringify(never)}`);
      }
    }
  }

  private look(end: End): void {
    this.note(end, this.monitors[end].expire(this.t));
    this.schedule(end);
  }

  /** A packet from `from`: lost, cut, or delivered after the one-way delay. */
  private carry(from: End, ev: Event): void {
    const { rng, loss = 0, delay = () => 0.1 } = this.opts;
    if (loss > 0 && rng.next() < loss) return;
    const at = this.t + delay();
    if (at >= this.cutFrom[from]) return;
    this.push(at, ev);
  }

  private schedule(end: End): void {
    const next = this.monitors[end].nextDeadline();
    if (next === undefined) return;
    // A deadline may fall behind the clock (the peer's due moves with our timeout): look now.
    const d = Math.max(next, this.t);
    if (d >= this.looking[end]) return;
    this.looking[end] = d;
    this.push(d, { kind: 'look', end });
  }

  private note(end: End, c: Transition | undefined): void {
    if (c) this.changes[end].push(c);
  }

  private push(at: number, ev: Event): void {
    // Ties broken by kind: a tiny offset keeps the heap's order without a second key.
    this.heap.push(at + ORDER[ev.kind] * 1e-9, { at, ev });
  }
}
