// `weft drain` and `weft uncordon`: take a host out of service and back. Draining sets
// spec.drain (the host keeps its endpoints but takes no new ones); with --move-to or --auto it
// then moves each endpoint off by changing its spec.host, one at a time, and with --wait waits
// for each to be programmed where it went before moving the next. Only intent is changed here:
// the controller does the ordered move in the dataplane.
import { formatRef, type Endpoint, type Host, type Resource, type ResourceRef } from '../model/index.js';
import { ApiError, describeNotConverged, waitForConvergence, type WeftClient } from '../topology/index.js';
import { mapLimit } from '../topology/pool.js';
import { HelpRequested, UsageError, parseCommand } from './args.js';
import { chooseDrainTargets, type HostLoad } from './drain-targets.js';
import { CONNECTION_OPTIONS, apiCommand, apiErrorText, connect, parseDuration, type Connection } from './fabric-support.js';
import type { Io } from './topology-commands.js';

export const DRAIN_USAGE = 'weft drain HOST [--move-to HOST | --auto] [--wait [--timeout 2m]]';
export const UNCORDON_USAGE = 'weft uncordon HOST';

const DRAIN = apiCommand(
  'weft drain',
  DRAIN_USAGE,
  'Cordons HOST (spec.drain=true): its endpoints keep working, new ones are refused on it.',
  '(no flag)       only cordon, and list the endpoints still on it',
  '--move-to HOST  then move every endpoint on it to HOST, one at a time',
  '--auto          then move each endpoint to a ready, non-draining host of the same site with',
  '                the fewest endpoints (else of any site); refused if there is none',
  '--wait          wait for each move to finish (programmed on the new host, remotes switched,',
  '                source cleaned up) before moving the next',
  '--timeout D     how long to wait for each endpoint (default 2m)',
  `Undo with: ${UNCORDON_USAGE}`,
);
const UNCORDON = apiCommand('weft uncordon', UNCORDON_USAGE, 'Lets HOST take new endpoints again (spec.drain=false). Endpoints moved off it stay where they are.');

/** Runs `weft drain` or `weft uncordon`; returns the exit code (1 on any error, 2 on bad flags, 0 for --help). */
export async function drainCommand(cmd: 'drain' | 'uncordon', argv: string[], io: Io): Promise<number> {
  let conn: Connection | undefined;
  try {
    return cmd === 'drain' ? await drain(argv, io, (c) => (conn = c)) : await uncordon(argv, io, (c) => (conn = c));
  } catch (err) {
    if (err instanceof HelpRequested) {
      io.stdout.write(`${err.usage}\n`);
      return 0;
    }
    const text = err instanceof ApiError && conn ? apiErrorText(err, conn) : err instanceof Error ? err.message : String(err);
    io.stderr.write(`weft ${cmd}: ${text}\n`);
    return err instanceof UsageError ? 2 : 1;
  }
}

async function uncordon(argv: string[], io: Io, connected: (c: Connection) => void): Promise<number> {
  const { values, positionals } = parseCommand(UNCORDON, argv, { options: CONNECTION_OPTIONS, allowPositionals: true });
  if (positionals.length !== 1) throw new UsageError(`Usage: ${UNCORDON_USAGE}`);
  const { client, conn } = connect(values, io.env);
  connected(conn);
  const name = positionals[0]!;
  const changed = await setDrain(client, name, false);
  io.stdout.write(changed ? `host ${name} uncordoned: it takes new endpoints again\n` : `host ${name} was not drained\n`);
  return 0;
}

async function drain(argv: string[], io: Io, connected: (c: Connection) => void): Promise<number> {
  const { values, positionals } = parseCommand(DRAIN, argv, {
    options: { ...CONNECTION_OPTIONS, 'move-to': { type: 'string' }, auto: { type: 'boolean', default: false }, wait: { type: 'boolean', default: false }, timeout: { type: 'string' } },
    allowPositionals: true,
  });
  if (positionals.length !== 1) throw new UsageError(`Usage: ${DRAIN_USAGE}`);
  const name = positionals[0]!;
  const moveTo = values['move-to'];
  if (moveTo !== undefined && values.auto) throw new UsageError('--move-to and --auto go one at a time');
  const moving = moveTo !== undefined || values.auto;
  if (values.wait && !moving) throw new UsageError('--wait goes with --move-to or --auto');
  if (values.timeout !== undefined && !values.wait) throw new UsageError('--timeout goes with --wait');
  if (moveTo === name) throw new UsageError(`--move-to: ${name} is the host being drained`);
  const timeoutMs = parseDuration(values.timeout ?? '2m', '--timeout');
  const { client, conn } = connect(values, io.env);
  connected(conn);

  // Everything that can refuse is checked before anything is changed.
  const hosts = (await client.list('Host')) as Host[];
  const source = hosts.find((h) => h.metadata.name === name);
  if (!source) throw new Error(`host ${name} does not exist`);
  if (moveTo !== undefined) {
    const dest = hosts.find((h) => h.metadata.name === moveTo);
    if (!dest) throw new Error(`--move-to: host ${moveTo} does not exist`);
    if (dest.spec.drain) throw new Error(`--move-to: host ${moveTo} is draining itself`);
    // A move waits for its destination's agent: to a host without one it would stall halfway.
    const state = dest.status?.state ?? 'pending';
    if (state !== 'ready') throw new Error(`--move-to: host ${moveTo} is ${state}, not ready: its agent would have to program the endpoints; wait until it is ready, or pick another host`);
  }
  let endpoints = await listEndpoints(client);
  const loads = () => hostLoads(hosts, endpoints);
  if (values.auto) {
    const check = chooseDrainTargets(loadOf(source, endpoints), 0, loads());
    if (!check.ok) throw new Error(`--auto: ${check.reason}`);
  }

  const changed = await setDrain(client, name, true);
  io.stdout.write(changed ? `host ${name} cordoned: it keeps its endpoints and takes no new ones\n` : `host ${name} was already cordoned\n`);
  // Listed again once cordoned: nothing can arrive on it after this.
  endpoints = await listEndpoints(client);
  const on = endpoints.filter((e) => e.spec.host === name);
  if (!moving) {
    if (!on.length) io.stdout.write(`no endpoints on ${name}\n`);
    else io.stdout.write(`${on.length} endpoint${on.length === 1 ? '' : 's'} still on ${name}:\n${on.map((e) => `  ${refText(e)}\n`).join('')}`);
    return 0;
  }
  let targets: string[];
  if (values.auto) {
    const chosen = chooseDrainTargets(loadOf(source, endpoints), on.length, loads());
    if (!chosen.ok) throw new Error(`--auto: ${chosen.reason}`);
    targets = chosen.targets;
  } else {
    targets = on.map(() => moveTo!);
  }
  for (let i = 0; i < on.length; i++) {
    const e = on[i]!;
    const to = targets[i]!;
    io.stdout.write(`moving ${refText(e)} to ${to} … `);
    const ref = refOf(e);
    const moved = await moveEndpoint(client, ref, name, to);
    if (!moved) {
      io.stdout.write('no longer there (moved or deleted meanwhile)\n');
      continue;
    }
    if (!values.wait) {
      io.stdout.write('moved\n');
      continue;
    }
    const started = Date.now();
    const report = await waitForConvergence(client, [ref], { timeoutMs });
    // Programmed on the destination can come before the remotes have switched and the source is
    // cleaned up; the move is over only when its phase says done.
    if (report.converged && !(await waitForMoveDone(client, ref, to, started + timeoutMs))) {
      io.stdout.write('programmed, move not finished\n');
      io.stderr.write(`weft drain: the move of ${refText(e)} to ${to} did not reach phase done within ${values.timeout ?? '2m'} (see weft describe endpoint)\n`);
      return 1;
    }
    if (!report.converged) {
      io.stdout.write('not programmed\n');
      const left = on.length - i - 1;
      io.stderr.write(`weft drain: ${refText(e)} is not programmed on ${to} after ${values.timeout ?? '2m'}${left ? `; stopped with ${left} endpoint${left === 1 ? '' : 's'} still on ${name}` : ''}:\n${describeNotConverged(report).join('\n')}\n`);
      return 1;
    }
    io.stdout.write(`programmed (${((Date.now() - started) / 1000).toFixed(1)}s)\n`);
  }
  io.stdout.write(`host ${name} drained: ${on.length} endpoint${on.length === 1 ? '' : 's'} moved off\n`);
  return 0;
}

const refOf = (e: Resource): ResourceRef => ({ kind: 'Endpoint', tenant: e.metadata.tenant, network: e.metadata.network, name: e.metadata.name });
const refText = (e: Resource) => formatRef(refOf(e)).replace(/^\S+ /, '');

function loadOf(h: Host, endpoints: readonly Endpoint[]): HostLoad {
  return {
    name: h.metadata.name,
    site: h.spec.site,
    ready: h.status.state === 'ready',
    draining: h.spec.drain,
    endpoints: endpoints.filter((e) => e.spec.host === h.metadata.name).length,
  };
}

function hostLoads(hosts: readonly Host[], endpoints: readonly Endpoint[]): HostLoad[] {
  const count = new Map<string, number>();
  for (const e of endpoints) count.set(e.spec.host, (count.get(e.spec.host) ?? 0) + 1);
  return hosts.map((h) => ({ ...loadOf(h, []), endpoints: count.get(h.metadata.name) ?? 0 }));
}

/** Every endpoint of every tenant and network. */
async function listEndpoints(client: WeftClient): Promise<Endpoint[]> {
  const tenants = (await client.list('Tenant')).map((t) => t.metadata.name);
  const networks = (await mapLimit(tenants, 16, (tenant) => client.list('Network', { tenant }))).flat();
  const lists = await mapLimit(networks, 16, (n) => client.list('Endpoint', { tenant: n.metadata.tenant, network: n.metadata.name }));
  return lists.flat() as Endpoint[];
}

const ATTEMPTS = 5;
const stale = (err: unknown) => err instanceof ApiError && err.status === 409 && err.issues.some((i) => i.field === 'metadata.resourceVersion');

/** Sets a host's spec.drain; false when it already had that value. Retries a lost race. */
async function setDrain(client: WeftClient, name: string, drain: boolean): Promise<boolean> {
  const ref: ResourceRef = { kind: 'Host', name };
  for (let attempt = 1; ; attempt++) {
    const h = (await client.get(ref)) as Host;
    if (h.spec.drain === drain) return false;
    try {
      await client.update(ref, { metadata: { name, labels: h.metadata.labels, resourceVersion: h.metadata.resourceVersion }, spec: { ...h.spec, drain } });
      return true;
    } catch (err) {
      if (!stale(err) || attempt >= ATTEMPTS) throw err;
    }
  }
}

/** Polls the endpoint until its status.move says it reached `to` and is done; false at the deadline. */
async function waitForMoveDone(client: WeftClient, ref: ResourceRef, to: string, deadline: number): Promise<boolean> {
  for (;;) {
    const e = (await client.get(ref)) as Endpoint;
    const move = e.status?.move;
    if (e.spec.host === to && (move === undefined || (move.to === to && move.phase === 'done'))) return true;
    if (Date.now() >= deadline) return false;
    await new Promise((r) => setTimeout(r, 200));
  }
}

/** Moves an endpoint from `from` to `to`; false when it is no longer on `from`. Retries a lost race. */
async function moveEndpoint(client: WeftClient, ref: ResourceRef, from: string, to: string): Promise<boolean> {
  for (let attempt = 1; ; attempt++) {
    const e = (await client.get(ref).catch((err: unknown) => {
      if (err instanceof ApiError && err.status === 404) return undefined; // deleted meanwhile
      throw err;
    })) as Endpoint | undefined;
    if (e?.spec.host !== from) return false;
    try {
      await client.update(ref, { metadata: { name: ref.name, labels: e.metadata.labels, resourceVersion: e.metadata.resourceVersion }, spec: { ...e.spec, host: to } });
      return true;
    } catch (err) {
      if (!stale(err) || attempt >= ATTEMPTS) throw err;
    }
  }
}
