// The path monitor (agents/paths/monitor.ts): a pure state machine driven by a fake clock.
import assert from 'node:assert/strict';
import { describe, test } from 'node:test';
import { monitorConfig, PathMonitor, type MonitorConfig, type Transition } from '../../agents/paths/monitor.js';
import { parsePing } from '../../agents/paths/mtu.js';
import { answerInPlace, decodeProbe, encodeProbe, PROBE_SIZE } from '../../agents/paths/packet.js';
import { TimerHeap } from '../../agents/paths/timer-heap.js';

const RTT = 0.2;

/** Drives a monitor at its interval: each step sends one probe, then answers or loses it. */
class Driver {
  t = 0;
  readonly m: PathMonitor;
  readonly changes: Transition[] = [];
  constructor(readonly cfg: MonitorConfig = monitorConfig()) {
    this.m = new PathMonitor(cfg, 0);
  }
  ok(n = 1, rtt = RTT): this {
    for (let i = 0; i < n; i++) {
      const sentAt = this.t;
      const seq = this.m.probeSent(sentAt);
      this.note(this.m.replyReceived(seq, sentAt, sentAt + rtt));
      this.t += this.cfg.intervalMs;
    }
    return this;
  }
  lose(n = 1): this {
    for (let i = 0; i < n; i++) {
      const deadline = this.t + this.m.timeoutMs();
      this.m.probeSent(this.t);
      this.note(this.m.expire(deadline)); // looked at on time
      this.t += this.cfg.intervalMs;
    }
    return this;
  }
  /** Sends one probe and returns it, to be answered or looked at later. */
  send(): { seq: number; sentAt: number; deadline: number } {
    const sentAt = this.t;
    const deadline = sentAt + this.m.timeoutMs();
    const seq = this.m.probeSent(sentAt);
    this.t += this.cfg.intervalMs;
    return { seq, sentAt, deadline };
  }
  look(at: number): this {
    this.note(this.m.expire(at));
    return this;
  }
  answer(p: { seq: number; sentAt: number }, at: number): this {
    this.note(this.m.replyReceived(p.seq, p.sentAt, at));
    return this;
  }
  /** Pattern of 'o' (answered) and 'x' (lost). */
  run(pattern: string): this {
    for (const c of pattern) c === 'o' ? this.ok() : this.lose();
    return this;
  }
  note(c: Transition | undefined): void {
    if (c) this.changes.push(c);
  }
}

describe('path monitor', () => {
  test('starts unknown', () => {
    const d = new Driver();
    assert.equal(d.m.state, 'unknown');
    assert.equal(d.m.since, 0);
  });

  test('unknown goes up after exactly the good run (10 by default), not one probe earlier', () => {
    const d = new Driver().ok(9);
    assert.equal(d.m.state, 'unknown');
    d.ok();
    assert.equal(d.m.state, 'up');
    assert.deepEqual(d.changes.map((c) => [c.from, c.to]), [['unknown', 'up']]);
  });

  test('unknown goes down after 3 losses', () => {
    const d = new Driver().lose(3);
    assert.equal(d.m.state, 'down');
    assert.deepEqual(d.changes.map((c) => [c.from, c.to]), [['unknown', 'down']]);
  });

  test('an up path goes down after exactly 3 consecutive losses, not 2', () => {
    const d = new Driver().ok(10).lose(2);
    assert.equal(d.m.state, 'up');
    d.lose();
    assert.equal(d.m.state, 'down');
    assert.match(d.changes.at(-1)!.reason, /3 consecutive losses/);
  });

  test('a reply between losses restarts the count', () => {
    const d = new Driver().ok(10).run('xxoxxoxxo');
    assert.equal(d.m.state, 'up');
  });

  test('a down path comes back up after the good run, and a loss restarts the run', () => {
    const d = new Driver().ok(10).lose(3).ok(9).lose().ok(9);
    assert.equal(d.m.state, 'down');
    d.ok();
    assert.equal(d.m.state, 'up');
  });

  test('down and up counts are configurable', () => {
    const d = new Driver(monitorConfig(20, { downAfter: 5, upAfter: 4 })).ok(4);
    assert.equal(d.m.state, 'up');
    d.lose(4);
    assert.equal(d.m.state, 'up');
    d.lose();
    assert.equal(d.m.state, 'down');
  });

  test('flapping is damped: each further down within the window doubles the good run needed', () => {
    const d = new Driver().ok(10); // up
    d.lose(3).ok(10); // first down: plain run of 10 brings it back
    assert.equal(d.m.state, 'up');
    d.lose(3).ok(19);
    assert.equal(d.m.state, 'down', 'second down in the window needs 20');
    d.ok();
    assert.equal(d.m.state, 'up');
    d.lose(3);
    assert.equal(d.m.requiredGoodRun(d.t), 40);
    d.ok(39);
    assert.equal(d.m.state, 'down');
    d.ok();
    assert.equal(d.m.state, 'up');
  });

  test('a path found down at start (its peer not up yet) has not flapped: it comes up after the plain run', () => {
    const d = new Driver().lose(3);
    assert.equal(d.m.state, 'down');
    assert.equal(d.m.requiredGoodRun(d.t), 10);
    d.ok(10);
    assert.equal(d.m.state, 'up');
    d.lose(3);
    assert.equal(d.m.requiredGoodRun(d.t), 10, 'its first real flap needs the plain run too');
  });

  test('the losses that kept a path down do not take it down again the moment it comes up', () => {
    // 10 losses then 10 good probes, then one loss: half of the last 20 are lost, but 9 of
    // those losses were sent while the path was down.
    const d = new Driver().ok(10).lose(10).ok(10);
    assert.equal(d.m.state, 'up');
    d.lose();
    assert.equal(d.m.state, 'up');
    assert.deepEqual(d.changes.map((c) => c.to), ['up', 'down', 'up']);
  });

  test('the damped run is capped', () => {
    const d = new Driver(monitorConfig(20, { maxUpAfter: 30 })).ok(10);
    for (let i = 0; i < 6; i++) d.lose(3).ok(30);
    assert.equal(d.m.requiredGoodRun(d.t), 30);
    assert.equal(d.m.state, 'up');
  });

  test('damping decays: downs older than the window no longer count', () => {
    const d = new Driver(monitorConfig(20, { dampWindowMs: 10_000 })).ok(10).lose(3).ok(10).lose(3);
    assert.equal(d.m.requiredGoodRun(d.t), 20);
    assert.equal(d.m.requiredGoodRun(d.t + 10_000), 10);
  });

  test('a path alternating 3 losses and 10 good probes toggles at most a few times, not every cycle', () => {
    const d = new Driver().ok(10);
    for (let i = 0; i < 20; i++) d.run('xxx' + 'o'.repeat(10));
    // Undamped this would be 40 transitions; damped: down, up (run 10), down, then 20 > 10 keeps it down.
    assert.ok(d.changes.length <= 4, `${d.changes.length} transitions`);
    assert.equal(d.m.state, 'down');
  });

  test('a path losing every other probe goes down once (loss ratio) and stays down', () => {
    const d = new Driver().ok(10);
    for (let i = 0; i < 50; i++) d.run('xo');
    assert.deepEqual(d.changes.map((c) => c.to), ['up', 'down']);
    assert.match(d.changes[1]!.reason, /of the last 20 probes lost/);
  });

  test('random single losses at 10% keep an up path up', () => {
    const d = new Driver().ok(10);
    for (let i = 0; i < 100; i++) d.run('ooooxooooo');
    assert.deepEqual(d.changes.map((c) => c.to), ['up']);
  });

  describe('adaptive loss timeout', () => {
    test('before any reply the timeout is the interval', () => {
      const d = new Driver();
      assert.equal(d.m.timeoutMs(), 50);
    });

    test('with sub-millisecond RTT it falls to the minimum, so 3 losses are decided in ~2 intervals + 12 ms', () => {
      const d = new Driver().ok(20);
      assert.equal(d.m.timeoutMs(), 12);
      const cut = d.t;
      const sent: number[] = [];
      let change: Transition | undefined;
      for (let i = 0; i < 3; i++) {
        sent.push(d.t);
        d.m.probeSent(d.t);
        assert.equal(d.m.expire(d.t + 11.9), undefined, 'not lost before the timeout');
        change = d.m.expire(d.t + 12);
        d.t += 50;
      }
      assert.equal(change?.to, 'down');
      assert.equal(change!.at - cut, 112);
    });

    test('it follows srtt + 4·rttvar and is capped at four intervals', () => {
      const d = new Driver().ok(30, 20);
      const t = d.m.timeoutMs();
      assert.ok(t > 20 && t < 25, `timeout ${t}`);
      const slow = new Driver().ok(10, 300);
      assert.equal(slow.m.timeoutMs(), 200);
    });

    test('on a busy host (replies 30-70 ms late) the timeout grows and a run of slow replies is no loss', () => {
      const d = new Driver().ok(20);
      let lateAfterWarmup = 0;
      for (let i = 0; i < 60; i++) {
        const p = d.send();
        const at = p.sentAt + 30 + ((i * 17) % 40);
        const late = at > p.deadline;
        if (late) d.look(p.deadline); // looked at on time, before the reply
        d.answer(p, at);
        if (!late) d.look(p.deadline);
        if (late && i >= 20) lateAfterWarmup++;
      }
      assert.ok(d.m.timeoutMs() > 70, `timeout ${d.m.timeoutMs()}`);
      assert.equal(lateAfterWarmup, 0, 'once the timeout has adapted, no reply is late');
      assert.deepEqual(d.changes.map((c) => c.to), ['up'], 'the early late replies did not take it down');
    });

    test('a reply after the timeout does not count as received, but teaches the RTT', () => {
      const d = new Driver().ok(10);
      const seq = d.m.probeSent(d.t);
      d.m.expire(d.t + 12);
      d.m.replyReceived(seq, d.t, d.t + 30);
      const s = d.m.stats(d.t + 31);
      assert.equal(s.late, 1);
      assert.equal(s.received, 10);
      assert.ok(d.m.timeoutMs() > 12);
    });

    test('nothing is lost before its deadline; every overdue probe is lost at once', () => {
      const m = new PathMonitor(monitorConfig(), 0);
      m.probeSent(0);
      m.probeSent(10);
      assert.equal(m.nextDeadline(), 50);
      assert.equal(m.expire(49), undefined);
      m.expire(60);
      assert.equal(m.stats(60).loss, 1);
      assert.equal(m.stats(60).undecided, 0);
      assert.equal(m.nextDeadline(), 1000, 'what is left is the final deadline of the first probe');
      m.expire(1010);
      assert.equal(m.nextDeadline(), undefined);
      assert.equal(m.stats(1010).loss, 1, 'decided once');
    });
  });

  describe('a starved loop: only a look on time decides a loss', () => {
    test('probes looked at more than their timeout late are undecided, not lost; their late replies are no loss', () => {
      const d = new Driver().ok(20);
      assert.equal(d.m.timeoutMs(), 12);
      // The loop stalls: 4 probes go out, nobody looks until 200 ms later.
      const ps = [d.send(), d.send(), d.send(), d.send()];
      d.look(ps[0]!.sentAt + 200);
      assert.equal(d.m.state, 'up');
      let s = d.m.stats(d.t);
      assert.equal(s.undecided, 4);
      assert.equal(s.loss, 0, 'undecided probes are not losses');
      for (const p of ps) d.answer(p, ps[0]!.sentAt + 210);
      s = d.m.stats(d.t);
      assert.equal(s.late, 4);
      assert.equal(s.loss, 0);
      d.ok(1).lose(2);
      assert.equal(d.m.state, 'up', 'the stall added nothing to a loss run');
      assert.deepEqual(d.changes.map((c) => c.to), ['up']);
    });

    test('a look just within the timeout still decides', () => {
      const d = new Driver().ok(20);
      for (let i = 0; i < 3; i++) {
        const p = d.send();
        d.look(p.deadline + 12); // late by exactly the timeout: still a judgement
      }
      assert.equal(d.m.state, 'down');
      assert.equal(d.m.stats(d.t).undecided, 0);
    });

    test('a genuine cut during starvation goes down once probes sent on time are looked at on time', () => {
      const d = new Driver().ok(20);
      const cut = d.t;
      // Cut, and the loop is starved: the looks come 100 ms late, nothing is decided.
      for (let i = 0; i < 3; i++) d.look(d.send().deadline + 100);
      assert.equal(d.m.state, 'up');
      // The loop runs on time again: three probes without replies, each looked at its deadline.
      let third = 0;
      for (let i = 0; i < 3; i++) {
        const p = d.send();
        d.look(p.deadline);
        third = p.deadline;
      }
      assert.equal(d.m.state, 'down');
      assert.equal(d.changes.at(-1)!.at, third, 'on the third on-time loss, no later');
      assert.ok(third - cut < 400);
    });

    test('a host starved for good still sees a cut: an undecided probe without a reply is lost at finalMs', () => {
      const d = new Driver().ok(20);
      const { finalMs } = d.cfg;
      const ps = [d.send(), d.send(), d.send()];
      for (const p of ps) d.look(p.deadline + 30);
      assert.equal(d.m.state, 'up');
      assert.equal(d.m.nextDeadline(), ps[0]!.sentAt + finalMs, 'nothing waiting: the next thing to decide is the first final deadline');
      d.look(ps[2]!.sentAt + finalMs + 30); // late as ever
      assert.equal(d.m.state, 'down');
      assert.match(d.changes.at(-1)!.reason, /3 consecutive losses/);
    });

    // Changed with issue 13: a look frozen past finalMs used to count what it found without a
    // reply as lost at once; its replies may sit unread, so now it decides nothing.
    test('a look late by seconds decides nothing: what it finds without replies is neither lost nor good', () => {
      const d = new Driver().ok(20);
      const ps = [d.send(), d.send(), d.send(), d.send()];
      d.look(ps[3]!.sentAt + 5000);
      d.t = ps[3]!.sentAt + 5000;
      assert.equal(d.m.state, 'up', 'four probes without replies, but nobody looked on time');
      assert.equal(d.m.stats(d.t).undecided, 4);
      assert.equal(d.m.nextDeadline(), undefined, 'nothing left to decide');
      d.ok(1).lose(2);
      assert.equal(d.m.state, 'up', 'the frozen look added nothing to a loss run');
      d.lose();
      assert.equal(d.m.state, 'down');
    });

    test('a look late by seconds does not complete a loss run, nor break it', () => {
      const d = new Driver().ok(20).lose(2);
      const ps = [d.send(), d.send(), d.send()];
      d.look(ps[2]!.sentAt + 3000);
      d.t = ps[2]!.sentAt + 3000;
      assert.equal(d.m.state, 'up');
      d.lose();
      assert.equal(d.m.state, 'down', 'three losses looked at on time, in send order');
    });

    test('skipped send slots are no loss and break no run', () => {
      const d = new Driver().ok(20).lose(2);
      d.m.sendsSkipped(6, d.t);
      d.t += 6 * d.cfg.intervalMs;
      assert.equal(d.m.state, 'up', 'six slots without a probe are no evidence');
      d.lose();
      assert.equal(d.m.state, 'down', 'the loss run goes on across them');
      const e = new Driver().ok(10).lose(3).ok(5);
      e.m.sendsSkipped(3, e.t);
      e.t += 3 * e.cfg.intervalMs;
      e.ok(5);
      assert.equal(e.m.state, 'up', 'and so does the good run');
      assert.equal(e.m.stats(e.t).skipped, 3);
      assert.equal(e.m.stats(e.t).sent, 23, 'skipped slots are not probes');
    });

    test("the peer's probes count as missed only on a look on time, never when the look stalled", () => {
      /** Up with the peer probing 25 ms after each of our probes; then one of ours lost. */
      const warm = (): Driver => {
        const d = new Driver();
        for (let i = 0; i < 20; i++) {
          d.ok();
          d.m.peerProbeSeen(d.t - 25);
        }
        d.lose();
        return d;
      };
      const onTime = warm();
      // The peer's next probes were due at t - 25 and t + 25 (+ 5 ms grace): looks at their dues.
      onTime.look(onTime.t - 20).look(onTime.t + 30);
      assert.equal(onTime.m.state, 'down');
      assert.match(onTime.changes.at(-1)!.reason, /1 consecutive losses and 2 missed peer probes/);
      const stalled = warm();
      stalled.look(stalled.t + 300); // the loop ran again 300 ms later, the peer's probes unread
      assert.equal(stalled.m.state, 'up');
    });

    test("the peer's missed probes alone never take a path down: no probe of ours went unanswered", () => {
      const d = new Driver();
      for (let i = 0; i < 20; i++) {
        d.ok();
        d.m.peerProbeSeen(d.t - 25);
      }
      for (let i = 0; i < 40; i++) {
        d.ok();
        d.look(d.t - 20);
      }
      assert.deepEqual(d.changes.map((c) => c.to), ['up']);
    });
  });

  describe('late replies', () => {
    test('asymmetric delay: the peer answers late while we look on time; a late reply ends the loss run', () => {
      const d = new Driver().ok(20);
      // The peer's responder stalls ~80 ms: two probes time out on our on-time looks...
      const a = d.send();
      d.look(a.deadline);
      const b = d.send();
      d.look(b.deadline);
      // ...and their replies arrive before the third timeout.
      d.answer(a, b.sentAt + 30).answer(b, b.sentAt + 31);
      d.lose(2);
      assert.equal(d.m.state, 'up', 'the late replies broke the run of losses');
      d.lose();
      assert.equal(d.m.state, 'down', 'three in a row after the newest reply');
    });

    test('one-way loss (replies never come back) is a cut, whatever came before', () => {
      const d = new Driver().ok(20).lose(3);
      assert.equal(d.m.state, 'down');
    });

    test('a reply for an older probe does not undo losses of newer ones', () => {
      const e = new Driver().ok(20);
      const b = e.send();
      e.look(b.deadline);
      const c = e.send();
      e.look(c.deadline);
      e.answer(b, c.sentAt + 20); // the older one was only late
      e.lose();
      assert.equal(e.m.state, 'up', 'c and one more: two in a row');
      e.lose();
      assert.equal(e.m.state, 'down');
    });

    test('a late reply neither breaks nor extends the good run that brings a path up', () => {
      const d = new Driver().ok(10).lose(3);
      assert.equal(d.m.state, 'down');
      d.ok(5);
      const p = d.send();
      d.look(p.deadline);
      d.answer(p, p.sentAt + 40);
      d.ok(4);
      assert.equal(d.m.state, 'down', '9 good so far');
      d.ok();
      assert.equal(d.m.state, 'up');
      assert.match(d.changes.at(-1)!.reason, /10 good probes in a row/);
    });

    test('a loss without a reply breaks the good run: counted from the loss on', () => {
      const d = new Driver().ok(10).lose(3).ok(5).lose().ok(9);
      assert.equal(d.m.state, 'down');
      d.look(d.t + d.cfg.finalMs); // the loss is final now
      d.ok();
      assert.equal(d.m.state, 'up', '10 after the loss');
    });

    test('a reply after finalMs is stale: the loss stands', () => {
      const d = new Driver().ok(10).lose(3).ok(5);
      const p = d.send();
      d.look(p.deadline);
      d.ok(4);
      d.look(p.sentAt + d.cfg.finalMs);
      d.answer(p, p.sentAt + d.cfg.finalMs + 1);
      d.ok(5);
      assert.equal(d.m.state, 'down', '9 after the loss');
      d.ok();
      assert.equal(d.m.state, 'up');
    });

    test('late replies are not counted by the loss-ratio rule', () => {
      const d = new Driver().ok(20);
      for (let i = 0; i < 30; i++) {
        const p = d.send();
        d.look(p.deadline);
        d.answer(p, p.sentAt + 20);
        d.ok();
      }
      assert.equal(d.m.state, 'up');
      assert.equal(d.m.stats(d.t).loss, 0);
    });
  });

  test('statistics cover the last second: mean RTT, jitter as mean RTT difference, loss fraction', () => {
    const d = new Driver();
    d.ok(20, 5); // older than a second by the time we look
    for (let i = 0; i < 8; i++) d.ok(1, i % 2 === 0 ? 1 : 3);
    d.lose(2);
    // the last 20 outcomes: 10 of the old 5 ms ones fall out of the window
    const s = d.m.stats(d.t);
    const last = d.m.stats(d.t);
    assert.equal(s.sent, 30);
    assert.equal(s.received, 28);
    assert.equal(last.loss, 2 / 20);
    // window holds 10 × 5 ms then 1,3,1,3,1,3,1,3
    assert.equal(last.rttMs, (10 * 5 + 4 * 1 + 4 * 3) / 18);
    assert.equal(last.jitterMs, (4 + 7 * 2) / 17);
  });

  test('statistics are zero with nothing decided', () => {
    const m = new PathMonitor(monitorConfig(), 0);
    assert.deepEqual(m.stats(1000), { rttMs: 0, jitterMs: 0, loss: 0, sent: 0, received: 0, late: 0, undecided: 0, skipped: 0, peerProbes: 0 });
  });
});

describe('probe packet', () => {
  test('round-trips and is answered in place', () => {
    const b = encodeProbe({ type: 'request', pathId: 0xfffffffe, seq: 7, sentAt: 1234.5678 });
    assert.equal(b.length, PROBE_SIZE);
    assert.deepEqual(decodeProbe(b), { type: 'request', pathId: 0xfffffffe, seq: 7, sentAt: 1234.5678 });
    assert.equal(answerInPlace(b), true);
    assert.equal(decodeProbe(b)?.type, 'response');
    assert.equal(answerInPlace(b), false, 'a response is never answered (no ping-pong loops)');
  });

  test('anything else is ignored', () => {
    assert.equal(decodeProbe(Buffer.alloc(PROBE_SIZE)), undefined);
    assert.equal(decodeProbe(Buffer.from('hello world, this is not a probe')), undefined);
    const short = encodeProbe({ type: 'request', pathId: 1, seq: 1, sentAt: 0 }).subarray(0, 10);
    assert.equal(decodeProbe(short), undefined);
    assert.equal(answerInPlace(Buffer.from(short)), false);
  });
});

describe('ping output (iputils 20221126)', () => {
  const stats = (rx: number): string => `\n--- 198.18.1.10 ping statistics ---\n1 packets transmitted, ${rx} received, 0% packet loss, time 0ms\n`;
  test('an answer means the full size gets through', () => {
    assert.deepEqual(parsePing(1500, `1480 bytes from 198.18.1.10: icmp_seq=1 ttl=63 time=0.268 ms\n${stats(1)}`, ''), { pathMtu: 1500, problem: '' });
  });
  test("a router's frag needed names the path MTU", () => {
    assert.deepEqual(parsePing(1500, `From 198.18.0.1 icmp_seq=1 Frag needed and DF set (mtu = 1400)\n${stats(0)}`, ''), {
      pathMtu: 1400,
      problem: 'full-size probes (1500 bytes) do not get through; path MTU 1400',
    });
  });
  test('a local "message too long" names it too', () => {
    assert.equal(parsePing(1500, stats(0), 'ping: local error: message too long, mtu=1400\n')?.pathMtu, 1400);
  });
  test('no answer and no ICMP is a black hole', () => {
    assert.deepEqual(parsePing(9000, stats(0), ''), { pathMtu: 0, problem: 'black hole at 9000 bytes' });
  });
  test('unusable output is undefined', () => {
    assert.equal(parsePing(1500, '', 'ping: invalid -M argument\n'), undefined);
  });
});

describe('timer heap', () => {
  test('pops in time order, only what is due', () => {
    const h = new TimerHeap<number>();
    const times = [5, 3, 9, 1, 7, 3, 8, 2, 6, 4, 0];
    times.forEach((t) => h.push(t, t));
    assert.equal(h.popDue(-1), undefined);
    const out: number[] = [];
    for (let v = h.popDue(6); v !== undefined; v = h.popDue(6)) out.push(v);
    assert.deepEqual(out, [0, 1, 2, 3, 3, 4, 5, 6]);
    assert.equal(h.peekTime(), 7);
    assert.equal(h.size, 3);
  });
});
