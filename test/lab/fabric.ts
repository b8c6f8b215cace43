// A whole Weft fabric on a lab: the controller (its own embedded etcd, or a given one), the
// lab's sites, planes and underlays declared, and an agent joined and running in every host's
// namespace. Used by the dataplane acceptance tests and by the demo.
import type { ChildProcess } from 'node:child_process';
import { mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join, resolve } from 'node:path';
import { Api } from '../support/api.js';
import { startController, type TestController } from '../support/controller.js';
import { createLab, waitFor, type Lab, type LabSpec } from './lab.js';

const ROOT = resolve(import.meta.dirname, '..', '..');
const CLI = join(ROOT, 'src/cli/main.ts');

export interface AgentProcess {
  host: string;
  stateDir: string;
  readonly pid: number;
  output: string[];
  /** SIGTERM and wait. */
  stop(): Promise<void>;
  /** SIGKILL and wait. */
  kill(): Promise<void>;
  /** Start `weft agent run` again with the same state. */
  restart(): Promise<void>;
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
  /**
   * Controller replicas (default 1). More than one needs `etcdEndpoint`; they share one state
   * directory (one CA, one admin token), and each agent is joined with every replica's socket.
   */
  replicas?: number;
}

async function must(p: Promise<{ status: number; body: unknown }>, what: string): Promise<void> {
  const r = await p;
  if (r.status !== 201 && r.status !== 200) throw new Error(`${what}: ${r.status} ${JSON.stringify(r.body)}`);
}

function nodeIn(lab: Lab, ns: string, args: string[]): Promise<{ code: number; out: string }> {
  return new Promise((res) => {
    const child = lab.spawn(ns, [process.execPath, '--import', 'tsx', CLI, ...args], { cwd: ROOT, stdio: ['ignore', 'pipe', 'pipe'] });
    let out = '';
    child.stdout!.on('data', (d) => (out += d));
    child.stderr!.on('data', (d) => (out += d));
    child.on('exit', (code) => res({ code: code ?? 1, out }));
  });
}

/** Lines of an agent's output kept (the newest): enough for minutes of path transitions. */
const MAX_OUTPUT_LINES = 10_000;

function startAgent(lab: Lab, host: string, stateDir: string, extraArgs: string[] = []): AgentProcess {
  let child: ChildProcess;
  const output: string[] = [];
  let exited: Promise<void>;
  const launch = () => {
    child = lab.spawn(lab.ns(host), [process.execPath, '--import', 'tsx', CLI, 'agent', 'run', '--state-dir', stateDir, ...extraArgs], { cwd: ROOT, stdio: ['ignore', 'pipe', 'pipe'] });
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
    restart: async () => {
      await end('SIGTERM');
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
  // The agents own the underlay routes between sites (from the Underlays' declarations).
  const lab = await createLab({ ...opts.lab, hostRoutes: false });
  const agents = new Map<string, AgentProcess>();
  let controller: TestController | undefined;
  const destroy = async () => {
    await Promise.all([...agents.values()].map((a) => a.stop().catch(() => undefined)));
    await controller?.stop().catch(() => undefined);
    for (const r of replicas.slice(1)) await r.stop().catch(() => undefined);
    await lab.destroy();
    await rm(dir, { recursive: true, force: true });
  };
  try {
    const ctlState = join(dir, 'controller');
    const startReplica = (i: number) =>
      startController({ etcdEndpoint: opts.etcdEndpoint, stateDir: ctlState, adminToken: opts.adminToken ?? `fabric-admin-${process.pid}-0123456789`, extraArgs: ['--agent-listen', `unix:${sockets[i]}`, ...(opts.controllerArgs ?? [])] });
    const start = () => startReplica(0);
    controller = await start();
    replicas.push(controller);
    // One after another: the first creates the CA and the admin token the others read.
    for (let i = 1; i < replicaCount; i++) replicas.push(await startReplica(i));
    const admin = new Api(controller.url, controller.adminToken);
    await waitFor('controller ready', async () => (await admin.get('/readyz')).status === 200, { timeoutMs: 30_000 });
    for (const s of opts.lab.sites) await must(admin.post('/v1/sites', { metadata: { name: s }, spec: {} }), `site ${s}`);
    for (const p of opts.lab.planes) await must(admin.post('/v1/planes', { metadata: { name: p }, spec: {} }), `plane ${p}`);
    for (const u of lab.underlays()) {
      await must(admin.post('/v1/underlays', { metadata: { name: u.name }, spec: { site: u.site, plane: u.plane, cidr: u.cidr, mtu: u.mtu, gateway: u.gateway, routes: u.routes } }), `underlay ${u.name}`);
    }
    for (const h of lab.hosts()) {
      const t = await admin.post('/v1/join-tokens', { metadata: { name: `join-${h.name}` }, spec: { site: h.site } });
      if (t.status !== 201) throw new Error(`join token: ${JSON.stringify(t.body)}`);
      const stateDir = join(dir, 'agents', h.name);
      const r = await nodeIn(lab, h.ns, ['agent', 'join', '--controller', sockets.map((s) => `unix:${s}`).join(','), '--token', t.body.token, '--state-dir', stateDir, '--host-name', h.name]);
      if (r.code !== 0) throw new Error(`agent join on ${h.name} failed:\n${r.out}`);
      agents.set(h.name, startAgent(lab, h.name, stateDir, opts.agentArgs));
    }
    await waitFor(
      'every host ready',
      async () => {
        for (const h of lab.hosts()) if ((await admin.get(`/v1/hosts/${h.name}`)).body?.status?.state !== 'ready') return false;
        return true;
      },
      { timeoutMs: 30_000 },
    );
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
      destroy,
    };
    return fabric;
  } catch (err) {
    await destroy();
    throw err;
  }
}

