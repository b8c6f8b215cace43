// `weft get`, `weft describe` and `weft delete`: single resources and lists over the REST API.
// Tenant- and network-scoped kinds take --tenant and --network; without them a list covers every
// tenant (and network), or with a tenant's token that tenant's only.
import { stringify } from 'yaml';
import { KINDS, formatRef, matchesSelector, parseSelector, type KindName, type Resource, type ResourceRef } from '../model/index.js';
import { ApiError, type WeftClient } from '../topology/index.js';
import { mapLimit } from '../topology/pool.js';
import { UsageError, parseCommand } from './args.js';
import { alignColumns } from './columns.js';
import { CONNECTION_OPTIONS, apiCommand, apiErrorText, connect, oneOf, parseKind, tokenTenant, type Connection } from './fabric-support.js';
import type { Io } from './topology-commands.js';

export const GET_USAGE = 'weft get KIND [NAME] [--tenant T] [--network N] [-l SELECTOR] [-o table|yaml|json]';
export const DESCRIBE_USAGE = 'weft describe KIND NAME [--tenant T] [--network N]';
export const DELETE_USAGE = 'weft delete KIND NAME [--tenant T] [--network N] [--cascade]';

const KIND_LIST = 'KIND: tenants, sites, planes, underlays, hosts, join-tokens, networks, endpoints (singular or plural).';
const GET = apiCommand(
  'weft get',
  GET_USAGE,
  KIND_LIST,
  'Without NAME, every resource of the kind: of every tenant (and network) unless --tenant (and',
  '--network) narrow it; with a tenant\'s token, of that tenant. "weft get paths" is weft paths.',
);
const DESCRIBE = apiCommand('weft describe', DESCRIBE_USAGE, KIND_LIST, 'One resource: metadata, programming status, spec and status.');
const DELETE = apiCommand('weft delete', DELETE_USAGE, KIND_LIST, '--cascade also deletes what is inside (a tenant\'s networks, a network\'s endpoints).');

const SCOPE_OPTIONS = { ...CONNECTION_OPTIONS, tenant: { type: 'string' }, network: { type: 'string' } } as const;

/** A tenant's token stands for --tenant on the kinds inside tenants. */
const ownTenant = <V extends { tenant?: string }>(kind: KindName, values: V, conn: Connection): V =>
  KINDS[kind].scope === 'cluster' || values.tenant ? values : { ...values, tenant: tokenTenant(conn) };

function refFrom(kind: KindName, name: string | undefined, values: { tenant?: string; network?: string }, usage: string): ResourceRef {
  if (!name) throw new UsageError(`a NAME is required\nUsage: ${usage}`);
  const scope = KINDS[kind].scope;
  if (scope !== 'cluster' && !values.tenant) throw new UsageError(`${kind} is inside a tenant: pass --tenant`);
  if (scope === 'network' && !values.network) throw new UsageError(`${kind} is inside a network: pass --network`);
  if (scope === 'cluster' && (values.tenant || values.network)) throw new UsageError(`${kind} is not inside a tenant: drop --tenant/--network`);
  if (scope === 'tenant' && values.network) throw new UsageError(`${kind} is not inside a network: drop --network`);
  return { kind, name, ...(scope !== 'cluster' ? { tenant: values.tenant } : {}), ...(scope === 'network' ? { network: values.network } : {}) };
}

/**
 * Every resource of a kind under the given parents; all tenants (and networks) when not given,
 * except with a tenant's token, which may read its own tenant only (and not the tenant list).
 */
async function listAll(client: WeftClient, conn: Connection, kind: KindName, values: { tenant?: string; network?: string }, selector?: string): Promise<Resource[]> {
  const scope = KINDS[kind].scope;
  const own = tokenTenant(conn);
  if (kind === 'Tenant' && own) return [await client.get({ kind, name: own })].filter((t) => !selector || selects(selector, t));
  if (scope === 'cluster') return client.list(kind, {}, selector);
  const tenants = values.tenant ? [values.tenant] : own ? [own] : (await client.list('Tenant')).map((t) => t.metadata.name);
  if (scope === 'tenant') return (await mapLimit(tenants, 16, (tenant) => client.list(kind, { tenant }, selector))).flat();
  const networks = values.network
    ? tenants.map((tenant) => ({ tenant, network: values.network! }))
    : (await mapLimit(tenants, 16, (tenant) => client.list('Network', { tenant }))).flat().map((n) => ({ tenant: n.metadata.tenant!, network: n.metadata.name }));
  return (await mapLimit(networks, 16, (p) => client.list(kind, p, selector))).flat();
}

export async function getCommand(argv: string[], io: Io): Promise<number> {
  const { values, positionals } = parseCommand(GET, argv, { options: { ...SCOPE_OPTIONS, output: { type: 'string', short: 'o' }, selector: { type: 'string', short: 'l' } }, allowPositionals: true });
  if (positionals.length > 2) throw new UsageError(`too many arguments\nUsage: ${GET_USAGE}`);
  const kind = parseKind(positionals[0]);
  const output = oneOf(values.output, ['table', 'yaml', 'json'] as const, '-o', 'table');
  const { client, conn } = connect(values, io.env);
  return withApiErrors(io, conn, async () => {
    if (positionals[1] !== undefined) {
      const r = await client.get(refFrom(kind, positionals[1], ownTenant(kind, values, conn), GET_USAGE));
      io.stdout.write(output === 'json' ? `${JSON.stringify(r, null, 2)}\n` : output === 'yaml' ? stringify(r) : table(kind, [r]));
      return 0;
    }
    if (KINDS[kind].scope === 'cluster' && (values.tenant || values.network)) throw new UsageError(`${kind} is not inside a tenant: drop --tenant/--network`);
    const items = await listAll(client, conn, kind, values, values.selector);
    if (output === 'json') io.stdout.write(`${JSON.stringify({ apiVersion: 'weft.dev/v1', kind: `${kind}List`, items }, null, 2)}\n`);
    else if (output === 'yaml') io.stdout.write(items.map((r) => stringify(r)).join('---\n'));
    else io.stdout.write(items.length ? table(kind, items) : `No ${KINDS[kind].plural} found.\n`);
    return 0;
  });
}

export async function describeCommand(argv: string[], io: Io): Promise<number> {
  const { values, positionals } = parseCommand(DESCRIBE, argv, { options: SCOPE_OPTIONS, allowPositionals: true });
  if (positionals.length !== 2) throw new UsageError(`Usage: ${DESCRIBE_USAGE}`);
  const kind = parseKind(positionals[0]);
  const { client, conn } = connect(values, io.env);
  const ref = refFrom(kind, positionals[1], ownTenant(kind, values, conn), DESCRIBE_USAGE);
  return withApiErrors(io, conn, async () => {
    const r = await client.get(ref);
    io.stdout.write(describe(r));
    return 0;
  });
}

export async function deleteCommand(argv: string[], io: Io): Promise<number> {
  const { values, positionals } = parseCommand(DELETE, argv, { options: { ...SCOPE_OPTIONS, cascade: { type: 'boolean', default: false } }, allowPositionals: true });
  if (positionals.length !== 2) throw new UsageError(`Usage: ${DELETE_USAGE}`);
  const kind = parseKind(positionals[0]);
  const { client, conn } = connect(values, io.env);
  const ref = refFrom(kind, positionals[1], ownTenant(kind, values, conn), DELETE_USAGE);
  return withApiErrors(io, conn, async () => {
    await client.delete(ref, { cascade: values.cascade });
    // A tenant cascade that outlasts the request is accepted (202) and goes on in the controller.
    const goesOn = ref.kind === 'Tenant' && (await client.get(ref).catch(() => undefined)) !== undefined;
    io.stdout.write(goesOn ? `deleting ${formatRef(ref)}: it goes on; run this again to wait for the end\n` : `deleted ${formatRef(ref)}\n`);
    return 0;
  });
}

async function withApiErrors(io: Io, conn: Connection, run: () => Promise<number>): Promise<number> {
  try {
    return await run();
  } catch (err) {
    if (!(err instanceof ApiError)) throw err;
    io.stderr.write(`weft: ${apiErrorText(err, conn)}\n`);
    return 1;
  }
}

/** The server's own selector rules, for the one tenant a tenant token reads. */
function selects(selector: string, r: Resource): boolean {
  const parsed = parseSelector(selector);
  if ('error' in parsed) throw new UsageError(`-l: ${parsed.error}`);
  return matchesSelector(parsed, r.metadata.labels);
}

// ---- output ----

type Column = [header: string, value: (r: Resource) => string];

const spec = (r: Resource) => r.spec as Record<string, any>;
const status = (r: Resource) => r.status as Record<string, any>;
/** The addresses the host was given, else those its agent reported when it joined. */
const hostAddresses = (r: Resource): string =>
  ((spec(r).addresses as string[] | undefined)?.length ? (spec(r).addresses as string[]) : ((status(r).addresses ?? []) as { address: string }[]).map((a) => a.address)).join(',') || '-';
const programmed = (r: Resource) => {
  const h = status(r).hosts as { total: number; programmed: number } | undefined;
  const errors = (status(r).hostErrors as unknown[] | undefined)?.length;
  return h ? `${h.programmed}/${h.total}${errors ? ` (${errors} errors)` : ''}` : '-';
};

function columns(kind: KindName): Column[] {
  const parents: Column[] = [
    ...(KINDS[kind].scope !== 'cluster' ? [['TENANT', (r: Resource) => r.metadata.tenant ?? ''] as Column] : []),
    ...(KINDS[kind].scope === 'network' ? [['NETWORK', (r: Resource) => r.metadata.network ?? ''] as Column] : []),
  ];
  const topology: Column = ['TOPOLOGY', (r) => r.metadata.labels['weft.dev/topology'] ?? '-'];
  switch (kind) {
    case 'Site':
      return [['NAME', (r) => r.metadata.name], ['REGION', (r) => spec(r).region ?? '-'], topology];
    case 'Plane':
    case 'Tenant':
      return [['NAME', (r) => r.metadata.name], ['DESCRIPTION', (r) => spec(r).description ?? '-'], topology];
    case 'Underlay':
      return [['NAME', (r) => r.metadata.name], ['SITE', (r) => spec(r).site], ['PLANE', (r) => spec(r).plane], ['CIDR', (r) => spec(r).cidr], ['MTU', (r) => String(spec(r).mtu)], topology];
    case 'Host':
      return [['NAME', (r) => r.metadata.name], ['SITE', (r) => spec(r).site], ['ADDRESSES', hostAddresses], ['STATE', (r) => status(r).state ?? '-'], ['DRAIN', (r) => String(spec(r).drain)], topology];
    case 'JoinToken':
      return [['NAME', (r) => r.metadata.name], ['SITE', (r) => spec(r).site ?? '-'], ['USES', (r) => `${status(r).uses ?? 0}/${spec(r).maxUses}`], ['EXPIRES', (r) => spec(r).expiresAt ?? '-']];
    case 'Network':
      return [
        ...parents,
        ['NAME', (r) => r.metadata.name],
        ['KIND', (r) => spec(r).kind],
        ['VNI', (r) => (spec(r).multipath?.mode === 'dual-fabric' ? (spec(r).multipath.planes as { plane: string; vni?: number }[]).map((p) => `${p.plane}:${p.vni ?? '-'}`).join(',') : String(spec(r).vni ?? '-'))],
        ['SUBNETS', (r) => ((spec(r).subnets ?? (spec(r).multipath?.planes ?? []).flatMap((p: { subnets?: unknown[] }) => p.subnets ?? [])) as { cidr: string }[]).map((s) => s.cidr).join(',') || '-'],
        ['MTU', (r) => String(status(r).mtu ?? spec(r).mtu ?? '-')],
        ['PROGRAMMED', programmed],
        topology,
      ];
    case 'Endpoint':
      return [...parents, ['NAME', (r) => r.metadata.name], ['HOST', (r) => spec(r).host], ['IPS', (r) => (spec(r).ips ?? []).join(',') || '-'], ['MAC', (r) => spec(r).mac ?? '-'], ['PROGRAMMED', programmed], topology];
    default: {
      const never: never = kind;
      return [['NAME', () => String(never)]];
    }
  }
}

export function table(kind: KindName, items: readonly Resource[]): string {
  const cols = columns(kind);
  return alignColumns([cols.map(([h]) => h), ...items.map((r) => cols.map(([, v]) => v(r)))]);
}

export function describe(r: Resource): string {
  const m = r.metadata;
  const labels = Object.entries(m.labels).map(([k, v]) => `${k}=${v}`).join(', ') || '-';
  const indent = (text: string) => text.trimEnd().split('\n').map((l) => `  ${l}`).join('\n');
  const lines = [
    `${formatRef({ kind: r.kind, tenant: m.tenant, network: m.network, name: m.name })}`,
    `Labels:           ${labels}`,
    `Created:          ${m.createdAt}`,
    `Generation:       ${m.generation}`,
    `ResourceVersion:  ${m.resourceVersion}`,
    `UID:              ${m.uid}`,
  ];
  const st = status(r);
  if (st.hosts) lines.push(`Programmed:       on ${st.hosts.programmed} of ${st.hosts.total} hosts`);
  if (st.state) lines.push(`State:            ${st.state}`);
  if (st.move) lines.push(`Move:             ${st.move.from} -> ${st.move.to}: ${st.move.phase}`);
  for (const e of (st.hostErrors ?? []) as { host: string; object: string; message: string }[]) lines.push(`Host error:       ${e.host}: ${e.object}: ${e.message}`);
  lines.push('Spec:', indent(stringify(r.spec)));
  if (Object.keys(st).length) lines.push('Status:', indent(stringify(st)));
  return `${lines.join('\n')}\n`;
}
