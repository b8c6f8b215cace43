// A purpose-built traffic stream for loss counting (ping -i 0.01 manages only ~60/s here).
//   server PORT                       echo every datagram back
//   client HOST PORT RATE SECONDS     send RATE numbered datagrams a second; print "flowing" at
//                                     the first reply and one JSON line {sent, received, lost,
//                                     maxGapMs} when done (or on SIGTERM)
import { createSocket } from 'node:dgram';

const [mode, ...args] = process.argv.slice(2);

if (mode === 'server') {
  const s = createSocket(args[1]?.includes(':') ? 'udp6' : 'udp4');
  s.on('message', (msg, rinfo) => s.send(msg, rinfo.port, rinfo.address));
  s.bind(Number(args[0]), () => process.stdout.write('ready\n'));
} else if (mode === 'client') {
  const [host, port, rate, seconds] = [args[0]!, Number(args[1]), Number(args[2]), Number(args[3])];
  const s = createSocket(host.includes(':') ? 'udp6' : 'udp4');
  const got = new Set<number>();
  let sent = 0;
  let lastReply = Date.now();
  let maxGapMs = 0;
  s.on('message', (msg) => {
    const now = Date.now();
    if (got.size === 0) process.stdout.write('flowing\n');
    maxGapMs = Math.max(maxGapMs, now - lastReply);
    lastReply = now;
    got.add(msg.readUInt32BE(0));
  });
  const total = Math.round(rate * seconds);
  const started = Date.now();
  const finish = () => {
    clearInterval(timer);
    // Replies still in flight get a moment before counting.
    setTimeout(() => {
      process.stdout.write(`${JSON.stringify({ sent, received: got.size, lost: sent - got.size, maxGapMs })}\n`);
      process.exit(0);
    }, 300);
  };
  const timer = setInterval(() => {
    // Catch up to the schedule, so timer jitter does not lower the rate.
    const due = Math.min(total, Math.floor(((Date.now() - started) / 1000) * rate) + 1);
    while (sent < due) {
      const b = Buffer.alloc(64);
      b.writeUInt32BE(sent, 0);
      s.send(b, port, host);
      sent++;
    }
    if (sent >= total) finish();
  }, 5);
  process.once('SIGTERM', finish);
} else {
  process.stderr.write('usage: udp-prober server PORT | client HOST PORT RATE SECONDS\n');
  process.exit(2);
}
