// A purpose-built traffic stream for loss counting (ping -i 0.01 manages only ~60/s here).
//   server PORT                       echo every datagram back
//   client HOST PORT RATE SECONDS [FLOWS]
//                                     FLOWS flows (default 1), each its own socket, each sending
//                                     RATE numbered datagrams a second; print "flowing" once every
//                                     flow has had a reply and, when done (or on SIGTERM), one
//                                     JSON line {sent, received, lost, maxGapMs, gaps} per flow;
//                                     gaps: [when (Date.now() of the reply that ended it), ms] of
//                                     every silence over GAP_MS (the first MAX_GAPS).
// Many flows share one process: a process started with tsx costs about 0.6 CPU-seconds, and
// eight of them at once stalled every other process on a 2-core machine for up to a second
// (which the storage e2e's agents took for path failures).
import { createSocket } from 'node:dgram';

const [mode, ...args] = process.argv.slice(2);
const MAX_FLOWS = 64;
const GAP_MS = 20;
const MAX_GAPS = 1000;

if (mode === 'server') {
  const s = createSocket(args[1]?.includes(':') ? 'udp6' : 'udp4');
  s.on('message', (msg, rinfo) => s.send(msg, rinfo.port, rinfo.address));
  s.bind(Number(args[0]), () => process.stdout.write('ready\n'));
} else if (mode === 'client') {
  const [host, port, rate, seconds, count] = [args[0]!, Number(args[1]), Number(args[2]), Number(args[3]), Number(args[4] ?? 1)];
  if (!Number.isInteger(count) || count < 1 || count > MAX_FLOWS) {
    process.stderr.write(`udp-prober: FLOWS must be 1..${MAX_FLOWS}\n`);
    process.exit(2);
  }
  const started = Date.now();
  // One socket per flow: each its own source port, so flows hash apart.
  const flows = Array.from({ length: count }, () => ({ s: createSocket(host.includes(':') ? 'udp6' : 'udp4'), got: new Set<number>(), sent: 0, lastReply: started, maxGapMs: 0, gaps: [] as [number, number][] }));
  let replying = 0;
  for (const fl of flows) {
    fl.s.on('message', (msg) => {
      const now = Date.now();
      if (fl.got.size === 0 && ++replying === flows.length) process.stdout.write('flowing\n');
      fl.maxGapMs = Math.max(fl.maxGapMs, now - fl.lastReply);
      if (fl.got.size > 0 && now - fl.lastReply > GAP_MS && fl.gaps.length < MAX_GAPS) fl.gaps.push([now, now - fl.lastReply]);
      fl.lastReply = now;
      fl.got.add(msg.readUInt32BE(0));
    });
  }
  const total = Math.round(rate * seconds);
  const finish = () => {
    clearInterval(timer);
    // Replies still in flight get a moment before counting.
    setTimeout(() => {
      for (const fl of flows) process.stdout.write(`${JSON.stringify({ sent: fl.sent, received: fl.got.size, lost: fl.sent - fl.got.size, maxGapMs: fl.maxGapMs, gaps: fl.gaps })}\n`);
      process.exit(0);
    }, 300);
  };
  const timer = setInterval(() => {
    // Catch up to the schedule, so timer jitter does not lower the rate.
    const due = Math.min(total, Math.floor(((Date.now() - started) / 1000) * rate) + 1);
    for (const fl of flows) {
      while (fl.sent < due) {
        const b = Buffer.alloc(64);
        b.writeUInt32BE(fl.sent, 0);
        fl.s.send(b, port, host);
        fl.sent++;
      }
    }
    if (flows.every((fl) => fl.sent >= total)) finish();
  }, 5);
  process.once('SIGTERM', finish);
} else {
  process.stderr.write('usage: udp-prober server PORT | client HOST PORT RATE SECONDS [FLOWS]\n');
  process.exit(2);
}
