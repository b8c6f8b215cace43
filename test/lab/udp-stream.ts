// UDP streams (udp-prober.ts) from client workloads to one address while something happens:
// echo servers in every given namespace (a moving workload's source and destination both
// answer for its address), one client process per client namespace. Used by the endpoint-move
// e2e test and the mobility benchmark.
import { resolve } from 'node:path';
import type { Lab } from './lab.js';

const PROBER = resolve(import.meta.dirname, 'udp-prober.ts');

export interface StreamResult {
  sent: number;
  received: number;
  lost: number;
  maxGapMs: number;
  /** [Date.now() of the reply that ended the silence, its length in ms], silences over 20 ms. */
  gaps: [number, number][];
}

export interface StreamOptions {
  /** Namespaces that echo (each runs a server on `port`). */
  servers: string[];
  /** Namespaces that send. */
  clients: string[];
  to: string;
  port: number;
  /** Datagrams a second per client. */
  rate: number;
  /** How long the clients send at most. */
  seconds: number;
  /** Stop the clients (they report what they had) as soon as `during` is over. */
  stopAfterDuring?: boolean;
}

/** Runs the streams; `during` starts once every client has had a reply. One result per client. */
export async function udpStreams(lab: Lab, o: StreamOptions, during: () => Promise<void>): Promise<StreamResult[]> {
  const servers = o.servers.map((ns) => lab.spawn(ns, [process.execPath, '--import', 'tsx', PROBER, 'server', String(o.port)], { stdio: ['ignore', 'pipe', 'ignore'] }));
  try {
    await Promise.all(servers.map((s) => new Promise<void>((res, rej) => {
      s.stdout!.once('data', () => res());
      s.once('exit', (code) => rej(new Error(`udp server exited (${code})`)));
    })));
    const clients = o.clients.map((ns) => {
      const c = lab.spawn(ns, [process.execPath, '--import', 'tsx', PROBER, 'client', o.to, String(o.port), String(o.rate), String(o.seconds)], { stdio: ['ignore', 'pipe', 'ignore'] });
      let out = '';
      const flowing = new Promise<void>((res, rej) => {
        c.stdout!.on('data', (d) => {
          out += d;
          if (out.includes('flowing')) res();
        });
        c.once('exit', () => rej(new Error(`udp client in ${ns} ended before replies flowed: ${out}`)));
      });
      const done = new Promise<StreamResult>((res, rej) =>
        c.once('exit', () => {
          try {
            res(JSON.parse(out.trim().split('\n').pop()!) as StreamResult);
          } catch {
            rej(new Error(`udp client in ${ns} printed no result: ${out}`));
          }
        }),
      );
      done.catch(() => undefined);
      return { flowing, done, stop: () => c.kill('SIGTERM') };
    });
    await Promise.all(clients.map((c) => c.flowing));
    await during();
    if (o.stopAfterDuring) for (const c of clients) c.stop();
    return await Promise.all(clients.map((c) => c.done));
  } finally {
    for (const s of servers) s.kill('SIGTERM');
  }
}
