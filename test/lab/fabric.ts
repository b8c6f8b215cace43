// A whole Weft fabric on a lab: the controller (its own embedded etcd, or a given one), the
// lab's sites, planes and underlays declared, and an agent joined and running in every host's
// namespace. Used by the dataplane acceptance tests and by the demo.
import type { ChildProcess } from 'node:child_process';
import { mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join, resolve } from 'node:path';
import { Api } from '../support/api.js';
import { startController, type TestController } from '../support/controller.js';
import { boundedEach } from './bounded-each.js';
import { createLab, waitFor, type Lab, type LabSpec } from './lab.js';

const ROOT = resolve(import.meta.dirname, '..', '..');

export interface AgentProcess {
  host: string;
  stateDir: string;
  readonly pid: number;
  output: string[];
  /** SIGTERM and wait. */
  stop(): Promise<void>;
  /** SIGKILL and wait. */
  kill(): Promise<void>;
  /**
   * Start `weft agent run` again with the same state; from another source tree when `root` is
   * given (an upgrade or downgrade: later restarts keep that tree).
   */
  restart(root?: string): Promise<void>;
}

export interface Fabric {
  lab: Lab;
  controller: TestController;
  /** Every controller replica (the first is `controller`); agents were given all their sockets. */
  replicas: TestController[];
  /** The agent socket of each replica, in the order of `replicas`. */
  sockets: string[];
  admin: Api;
  agents: Map<string, AgentProcess>;
  socket: string;
  dir: string;
  /** Restart the controller on the same state (after kill or stop). */
  restartController(): Promise<void>;
  /** Join a host left out by `agentsOn` and start its agent (extra `weft agent run` flags); resolves once it is ready. */
  joinAgent(host: string, runArgs?: string[]): Promise<AgentProcess>;
  destroy(): Promise<void>;
}

export interface FabricOptions {
  lab: LabSpec;
  etcdEndpoint?: string;
  adminToken?: string;
  /** Extra `weft agent run` flags for every agent, e.g. a faster MTU probe. */
  agentArgs?: string[];
  /** Extra `weft controller` flags. */
  controllerArgs?: string[];
  /** Source trees whose CLI runs the agents (join and run) and the controller; default this one. */
  agentRoot?: string;
  controllerRoot?: string;
  /**
   * Controller replicas (default 1). More than one needs `etcdEndpoint`; they share one state
   * directory (one CA, one admin token), and each agent is joined with every replica's socket.
   */
  replicas?: number;
  /** Hosts whose agents join at start-up (default every host); the others wait for `joinAgent`. */
  agentsOn?: readonly string[];
  /** Told each start-up step as it ends, with its duration (the demo prints them). */
  progress?(step: string, ms: number): void;
  /** Aborting stops the start-up before its next step, and it removes what it made (the demo's Ctrl-C). */
  signal?: AbortSignal;
}

/**
 * One start-up step: refused once `opts.signal` is aborted, reported to `opts.progress` with
 * its duration. A step that only waits (`interruptible`) ends at once on abort; the others run
 * to their end, so that what they start (a controller) is known to the clean-up.
 */
async function step<T>(opts: FabricOptions, what: string, fn: () => Promise<T>, interruptible = false): Promise<T> {
  const signal = opts.signal;
  signal?.throwIfAborted();
  const t0 = performance.now();
  let result: T;
  if (interruptible && signal) {
    let onAbort = () => {};
    const aborted = new Promise<never>((_, reject) => signal.addEventListener('abort', (onAbort = () => reject(signal.reason)), { once: true }));
    try {
      result = await Promise.race([fn(), aborted]);
    } finally {
      signal.removeEventListener('abort', onAbort);
    }
  } else {
    result = await fn();
  }
  opts.progress?.(what, performance.now() - t0);
  return result;
}

/** Awaits every request, then throws the first failure. */
async function settleAll(jobs: Promise<void>[]): Promise<void> {
  const failed = (await Promise.allSettled(jobs)).find((r): r is PromiseRejectedResult => r.status === 'rejected');
  if (failed !== undefined) throw failed.reason;
}

async function must(p: Promise<{ status: number; body: unknown }>, what: string): Promise<void> {
  const r = await p;
  if (r.status !== 201 && r.status !== 200) throw new Error(`${what}: ${r.status} ${JSON.stringify(r.body)}`);
}

function nodeIn(lab: Lab, ns: string, args: string[], root = ROOT): Promise<{ code: number; out: string }> {
  return new Promise((res) => {
    const child = lab.spawn(ns, [process.execPath, '--import', 'tsx', join(root, 'src/cli/main.ts'), ...args], { cwd: root, stdio: ['ignore', 'pipe', 'pipe'] });
    let out = '';
    child.stdout!.on('data', (d) => (out += d));
    child.stderr!.on('data', (d) => (out += d));
    child.on('exit', (code) => res({ code: code ?? 1, out }));
  });
}

/**
 * Agent joins in flight at once: enough to overlap their waits, few enough for two cores.
 * WEFT_LAB_JOINS (1..8) overrides it, e.g. 1 to time the set-up one join at a time.
 */
const JOIN_CONCURRENCY = /^[1-8]$/.test(process.env.WEFT_LAB_JOINS ?? '') ? Number(process.env.WEFT_LAB_JOINS) : 4;

/** Lines of an agent's output kept (the newest): enough for minutes of path transitions. */
const MAX_OUTPUT_LINES = 10_000;

function startAgent(lab: Lab, host: string, stateDir: string, extraArgs: string[] = [], root = ROOT): AgentProcess {
  let child: ChildProcess;
  const output: string[] = [];
  let exited: Promise<void>;
  const launch = () => {
    child = lab.spawn(lab.ns(host), [process.execPath, '--import', 'tsx', join(root, 'src/cli/main.ts'), 'agent', 'run', '--state-dir', stateDir, ...extraArgs], { cwd: root, stdio: ['ignore', 'pipe', 'pipe'] });
    // Per stream, a line split across two chunks is joined again (a log line is one record).
    const collector = () => {
      let partial = '';
      return (d: string) => {
        const lines = (partial + d).split('\n');
        partial = lines.pop() ?? '';
        if (partial.length > 65_536) partial = '';
        output.push(...lines.filter(Boolean));
        if (output.length > MAX_OUTPUT_LINES) output.splice(0, output.length - MAX_OUTPUT_LINES);
      };
    };
    child.stdout!.setEncoding('utf8').on('data', collector());
    child.stderr!.setEncoding('utf8').on('data', collector());
    exited = new Promise((r) => child.once('exit', () => r()));
  };
  launch();
  const end = async (signal: NodeJS.Signals) => {
    if (child.exitCode === null && child.signalCode === null) child.kill(signal);
    await exited;
  };
  return {
    host,
    stateDir,
    get pid() {
      return child.pid!;
    },
    output,
    stop: () => end('SIGTERM'),
    kill: () => end('SIGKILL'),
    restart: async (from?: string) => {
      await end('SIGTERM');
      if (from !== undefined) root = from;
      launch();
    },
  };
}

export async function startFabric(opts: FabricOptions): Promise<Fabric> {
  const dir = await mkdtemp(join(tmpdir(), 'weft-fabric-'));
  const socket = join(dir, 'agents.sock');
  const replicaCount = opts.replicas ?? 1;
  if (replicaCount > 1 && !opts.etcdEndpoint) throw new Error('controller replicas need an external etcd (etcdEndpoint)');
  const sockets = [socket, ...Array.from({ length: replicaCount - 1 }, (_, i) => join(dir, `agents-${i + 2}.sock`))];
  const replicas: TestController[] = [];
  const agents = new Map<string, AgentProcess>();
  let builtLab: Lab | undefined;
  let controller: TestController | undefined;
  const destroy = async () => {
    await Promise.all([...agents.values()].map((a) => a.stop().catch(() => undefined)));
    await controller?.stop().catch(() => undefined);
    for (const r of replicas.slice(1)) await r.stop().catch(() => undefined);
    await builtLab?.destroy();
    await rm(dir, { recursive: true, force: true });
  };
  try {
    const ctlState = join(dir, 'controller');
    const startReplica = (i: number) =>
      startController({ root: opts.controllerRoot, etcdEndpoint: opts.etcdEndpoint, stateDir: ctlState, adminToken: opts.adminToken ?? `fabric-admin-${process.pid}-0123456789`, extraArgs: ['--agent-listen', `unix:${sockets[i]}`, ...(opts.controllerArgs ?? [])] });
    const start = () => startReplica(0);
    // The lab and the first controller do not depend on each other: both are started at once,
    // and both are awaited before a failure of either is thrown (the clean-up sees each).
    // The agents own the underlay routes between sites (from the Underlays' declarations).
    const [built, first] = await Promise.allSettled([
      step(opts, 'lab built (namespaces, links, routers)', () => createLab({ ...opts.lab, hostRoutes: false })),
      step(opts, 'controller started (its embedded etcd first, unless given one)', start),
    ]);
    if (built.status === 'fulfilled') builtLab = built.value;
    if (first.status === 'fulfilled') replicas.push((controller = first.value));
    if (built.status === 'rejected') throw built.reason;
    if (first.status === 'rejected') throw first.reason;
    const lab = built.value;
    controller = first.value;
    // One after another: the first creates the CA and the admin token the others read.
    for (let i = 1; i < replicaCount; i++) replicas.push(await startReplica(i));
    const admin = new Api(controller.url, controller.adminToken);
    await step(opts, 'controller ready', () => waitFor('controller ready', async () => (await admin.get('/readyz')).status === 200, { timeoutMs: 30_000 }), true);
    await step(opts, 'sites, planes and underlays declared', async () => {
      // Sites and planes at once, then the underlays that name them.
      await settleAll([
        ...opts.lab.sites.map((s) => must(admin.post('/v1/sites', { metadata: { name: s }, spec: {} }), `site ${s}`)),
        ...opts.lab.planes.map((p) => must(admin.post('/v1/planes', { metadata: { name: p }, spec: {} }), `plane ${p}`)),
      ]);
      await settleAll(lab.underlays().map((u) =>
        must(admin.post('/v1/underlays', { metadata: { name: u.name }, spec: { site: u.site, plane: u.plane, cidr: u.cidr, mtu: u.mtu, gateway: u.gateway, routes: u.routes } }), `underlay ${u.name}`),
      ));
    });
    // Joins are independent (each its own namespace, token and state directory): a few at a time,
    // as each is a Node start-up (CPU-bound on a small machine). Every join started is awaited
    // before a failure is thrown, so each agent started is known to the clean-up.
    const hosts = lab.hosts().filter((h) => opts.agentsOn === undefined || opts.agentsOn.includes(h.name));
    const started: (AgentProcess | undefined)[] = [];
    const joinHost = async (h: { name: string; site: string; ns: string }, runArgs: string[] = []): Promise<AgentProcess> => {
      const t = await admin.post('/v1/join-tokens', { metadata: { name: `join-${h.name}` }, spec: { site: h.site } });
      if (t.status !== 201) throw new Error(`join token: ${JSON.stringify(t.body)}`);
      const stateDir = join(dir, 'agents', h.name);
      const r = await nodeIn(lab, h.ns, ['agent', 'join', '--controller', sockets.map((s) => `unix:${s}`).join(','), '--token', t.body.token, '--state-dir', stateDir, '--host-name', h.name], opts.agentRoot);
      if (r.code !== 0) throw new Error(`agent join on ${h.name} failed:\n${r.out}`);
      return startAgent(lab, h.name, stateDir, [...(opts.agentArgs ?? []), ...runArgs], opts.agentRoot);
    };
    try {
      await boundedEach(hosts, JOIN_CONCURRENCY, (h, i) => step(opts, `agent joined on ${h.name} and started`, async () => {
        started[i] = await joinHost(h);
      }));
    } finally {
      // In the hosts' order, whatever order the joins ended in.
      hosts.forEach((h, i) => started[i] !== undefined && agents.set(h.name, started[i]));
    }
    await step(opts, 'every host ready (its agent connected and programmed)', () => waitFor(
      'every host ready',
      async () => {
        for (const h of hosts) if ((await admin.get(`/v1/hosts/${h.name}`)).body?.status?.state !== 'ready') return false;
        return true;
      },
      // Generous: on a busy machine every agent is a process start, a TLS session and a program.
      { timeoutMs: 90_000 },
    ), true);
    const fabric: Fabric = {
      lab,
      controller,
      replicas,
      sockets,
      admin,
      agents,
      socket,
      dir,
      restartController: async () => {
        await fabric.controller.stop().catch(() => undefined);
        controller = fabric.controller = replicas[0] = await start();
        fabric.admin = new Api(fabric.controller.url, fabric.controller.adminToken);
      },
      joinAgent: async (host, runArgs) => {
        const agent = await joinHost(lab.host(host), runArgs);
        agents.set(host, agent);
        await waitFor(`${host} ready`, async () => (await fabric.admin.get(`/v1/hosts/${host}`)).body?.status?.state === 'ready', { timeoutMs: 30_000 });
        return agent;
      },
      destroy,
    };
    return fabric;
  } catch (err) {
    await destroy();
    throw err;
  }
}

