// etcd's client and peer ports on loopback, and why they persist.
//
// Unless given, ports are chosen once and stored in `<dataDir>.ports.json` (beside the data dir:
// etcd warns about unknown files inside it). A later start on the same data dir (the supervisor's
// restart, or the next controller process) reuses them while they are free, so etcd comes back on
// the same endpoint and on the peer URL its member record holds (members added later reach it
// there).
import * as fsp from 'node:fs/promises';
import * as net from 'node:net';
import type { EtcdLog } from './log.js';

export const LOOPBACK = '127.0.0.1';

export interface EtcdPorts {
  clientPort: number;
  peerPort: number;
}

/** A port that was free on `host` a moment ago (listen on port 0, read it, close). */
export async function freePort(host = LOOPBACK): Promise<number> {
  const [port] = await freePorts(1, host);
  return port!;
}

/** `count` distinct free ports; all are held open together so none is handed out twice. */
export async function freePorts(count: number, host = LOOPBACK): Promise<number[]> {
  const servers: net.Server[] = [];
  try {
    for (let i = 0; i < count; i++) {
      const server = net.createServer();
      servers.push(server);
      await new Promise<void>((resolve, reject) => {
        server.once('error', reject);
        server.listen({ port: 0, host, exclusive: true }, () => resolve());
      });
    }
    return servers.map((s) => (s.address() as net.AddressInfo).port);
  } finally {
    await Promise.all(servers.map((s) => new Promise<void>((resolve) => (s.listening ? s.close(() => resolve()) : resolve()))));
  }
}

export async function isPortFree(port: number, host = LOOPBACK): Promise<boolean> {
  const server = net.createServer();
  try {
    await new Promise<void>((resolve, reject) => {
      server.once('error', reject);
      server.listen({ port, host, exclusive: true }, () => resolve());
    });
    return true;
  } catch {
    return false;
  } finally {
    if (server.listening) await new Promise<void>((resolve) => server.close(() => resolve()));
  }
}

function isValidPort(n: unknown): n is number {
  return typeof n === 'number' && Number.isInteger(n) && n > 0 && n < 65536;
}

export function portsFileOf(dataDir: string): string {
  return `${dataDir.replace(/\/+$/, '')}.ports.json`;
}

async function readPortsFile(file: string): Promise<EtcdPorts | undefined> {
  try {
    const parsed: unknown = JSON.parse(await fsp.readFile(file, 'utf8'));
    if (typeof parsed !== 'object' || parsed === null) return undefined;
    const { clientPort, peerPort } = parsed as Record<string, unknown>;
    if (!isValidPort(clientPort) || !isValidPort(peerPort) || clientPort === peerPort) return undefined;
    return { clientPort, peerPort };
  } catch {
    return undefined;
  }
}

async function writePortsFile(file: string, ports: EtcdPorts): Promise<void> {
  const tmp = `${file}.${process.pid}.tmp`;
  await fsp.writeFile(tmp, JSON.stringify(ports) + '\n');
  await fsp.rename(tmp, file);
}

export interface PortChoice {
  ports: EtcdPorts;
  /** True when a port was newly chosen (not given, not reused): a bind race may retry with others. */
  fresh: boolean;
}

export interface ChoosePortsInput {
  dataDir: string;
  /** Ports fixed by the caller; used as they are. */
  given: Partial<EtcdPorts>;
  /** Ports of this object's previous run, kept when free (or always, with `keepPrevious`). */
  previous?: EtcdPorts;
  keepPrevious: boolean;
  log: EtcdLog;
}

/** Given ports, else the previous run's, else the saved ones while free, else new free ones; saved. */
export async function choosePorts(input: ChoosePortsInput): Promise<PortChoice> {
  const file = portsFileOf(input.dataDir);
  const { given, previous } = input;
  const allGiven = given.clientPort !== undefined && given.peerPort !== undefined;
  if (previous) {
    if (input.keepPrevious || allGiven || ((await isPortFree(previous.clientPort)) && (await isPortFree(previous.peerPort)))) {
      await writePortsFile(file, previous);
      return { ports: previous, fresh: false };
    }
  }
  const saved = await readPortsFile(file);
  let client = given.clientPort;
  let peer = given.peerPort;
  if (client === undefined && saved && saved.clientPort !== peer && (await isPortFree(saved.clientPort))) client = saved.clientPort;
  if (peer === undefined && saved && saved.peerPort !== client && (await isPortFree(saved.peerPort))) peer = saved.peerPort;
  let fresh = false;
  if (client === undefined || peer === undefined) {
    const candidates = (await freePorts(3)).filter((p) => p !== client && p !== peer);
    client ??= candidates.shift();
    peer ??= candidates.shift();
    fresh = true;
    if (saved) {
      input.log.warn({ previous: `http://${LOOPBACK}:${saved.clientPort}`, dataDir: input.dataDir }, 'etcd saved ports are taken, choosing new ones');
    }
  }
  const ports = { clientPort: client!, peerPort: peer! };
  await writePortsFile(file, ports);
  return { ports, fresh };
}
