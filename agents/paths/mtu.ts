// The don't-fragment probe: one full-size ICMP echo with DF set. With the probe engine
// (engine/, IP_PMTUDISC_PROBE, no process per probe, the cached PMTU ignored) its answer is read
// by mtuFromEngine(); without it, through iputils `ping`, because Node's dgram cannot set
// IP_PMTUDISC_DO on a UDP socket.
//
// What ping prints (iputils 20221126, verified in the lab):
//   answered            "1 packets transmitted, 1 received"
//   a router's ICMP     stdout "From 198.18.0.1 icmp_seq=1 Frag needed and DF set (mtu = 1400)"
//   local NIC or cached stderr "ping: local error: message too long, mtu=1400"
//     PMTU exception
//   nothing             "1 packets transmitted, 0 received" and no error: a black hole
//
// Caveat (ping only): after a "frag needed" the kernel caches the smaller PMTU for the
// destination (net.ipv4.route.mtu_expires, 600 s) and `-M do` obeys the cache, so a repaired
// path keeps being reported short until the entry expires. iputils here has no `-M probe` to
// bypass it; the engine uses IP_PMTUDISC_PROBE and sees the repair at once.
import { spawn } from 'node:child_process';

export interface MtuResult {
  /** The largest size known to get through: the probe size, the MTU an error named, or 0. */
  pathMtu: number;
  /** '' when the full-size probe got through. */
  problem: string;
}

/** Bytes of IP + ICMP header per family: ping -s takes the payload size. */
export const icmpOverhead = (remoteAddress: string): number => (remoteAddress.includes(':') ? 48 : 28);

/** Reads ping's output for a probe of `size` bytes (IP packet); undefined when it says nothing usable. */
export function parsePing(size: number, stdout: string, stderr: string): MtuResult | undefined {
  const text = `${stdout}\n${stderr}`;
  const named = /Frag needed[^\n]*mtu\s*=\s*(\d+)/i.exec(text) ?? /message too long,\s*mtu\s*=\s*(\d+)/i.exec(text);
  if (named !== null) {
    const mtu = Number(named[1]);
    return { pathMtu: mtu, problem: `full-size probes (${size} bytes) do not get through; path MTU ${mtu}` };
  }
  const stats = /(\d+) packets transmitted, (\d+) (?:packets )?received/.exec(text);
  if (stats === null) return undefined;
  if (Number(stats[2]) > 0) return { pathMtu: size, problem: '' };
  return { pathMtu: 0, problem: `black hole at ${size} bytes` };
}

/**
 * The engine's answer for a probe of `size` bytes: got through, too big (with the MTU a router
 * named in its "fragmentation needed", or 0: the local link's MTU is smaller), or no answer.
 */
export function mtuFromEngine(size: number, verdict: 'ok' | 'big' | 'lost', namedMtu: number): MtuResult {
  if (verdict === 'ok') return { pathMtu: size, problem: '' };
  if (verdict === 'lost') return { pathMtu: 0, problem: `black hole at ${size} bytes` };
  if (namedMtu > 0 && namedMtu < size) return { pathMtu: namedMtu, problem: `full-size probes (${size} bytes) do not get through; path MTU ${namedMtu}` };
  return { pathMtu: 0, problem: `full-size probes (${size} bytes) do not get through; larger than a local link's MTU` };
}

export interface MtuProbeRequest {
  localAddress: string;
  remoteAddress: string;
  /** IP packet size to probe, usually the path's declared MTU. */
  size: number;
  /** Kill ping after this long; default 3000 ms. */
  timeoutMs?: number;
  /** Aborting kills ping (the promise then rejects). */
  signal?: AbortSignal;
}

/** Runs one DF probe; rejects only when ping could not run or printed nothing usable. */
export function probeMtu(req: MtuProbeRequest, pingPath = 'ping'): Promise<MtuResult> {
  const argv = ['-n', '-M', 'do', '-s', String(req.size - icmpOverhead(req.remoteAddress)), '-c', '1', '-W', '1', '-I', req.localAddress, req.remoteAddress];
  return new Promise((resolve, reject) => {
    const child = spawn(pingPath, argv, { stdio: ['ignore', 'pipe', 'pipe'], signal: req.signal });
    let out = '';
    let err = '';
    child.stdout.on('data', (d: Buffer) => (out += d.toString()));
    child.stderr.on('data', (d: Buffer) => (err += d.toString()));
    const timer = setTimeout(() => child.kill('SIGKILL'), req.timeoutMs ?? 3000);
    child.once('error', (e) => {
      clearTimeout(timer);
      reject(e);
    });
    child.once('close', (code, signal) => {
      clearTimeout(timer);
      const r = parsePing(req.size, out, err);
      if (r !== undefined) resolve(r);
      else reject(new Error(`ping ${argv.join(' ')} exited ${code ?? signal}: ${(err || out).trim().split('\n')[0] ?? ''}`));
    });
  });
}
