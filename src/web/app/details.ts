// What the details panel says about the selected element (pure): a title, a summary of readable
// fields first, and the raw object for "Show JSON". Ids are the model's (h:, pl:, n:, e:, s:, l:).
import type { Resource } from '../../model/index.js';
import type { PathView } from '../../paths/types.js';
import type { FabricModel } from './model.js';

export interface Details {
  title: string;
  rows: [string, string][];
  /** The raw object(s) behind the summary; undefined when the element is gone. */
  raw: unknown;
}

const ms = (v: number) => `${v < 10 ? v.toFixed(2) : v.toFixed(1)} ms`;
const pct = (v: number) => `${(v * 100).toFixed(v > 0 && v < 0.01 ? 1 : 0)}%`;
const when = (iso: string | undefined) => {
  const t = iso ? Date.parse(iso) : NaN;
  return Number.isFinite(t) ? new Date(t).toLocaleString() : '—';
};

/** One direction of a path in a line: "up · 0.80 ms · 0% loss · MTU 1450". */
export function pathLine(p: PathView): string {
  const parts: string[] = [p.state];
  if (p.state !== 'down') parts.push(`${ms(p.rttMs)} (jitter ${ms(p.jitterMs)})`);
  parts.push(`${pct(p.loss)} loss`);
  if (p.pathMtu !== undefined) parts.push(`MTU ${p.pathMtu}`);
  if (p.mtuProblem) parts.push(`MTU problem: ${p.mtuProblem}`);
  return parts.join(' · ');
}

function linkCountsOf(model: FabricModel, host: string): string {
  const byPlane = new Map<string, { up: number; down: number; unknown: number }>();
  for (const p of model.paths.values()) {
    if (p.host !== host && p.peer !== host) continue;
    let c = byPlane.get(p.plane);
    if (!c) byPlane.set(p.plane, (c = { up: 0, down: 0, unknown: 0 }));
    c[p.state]++;
  }
  if (!byPlane.size) return 'none probed';
  return [...byPlane]
    .sort(([a], [b]) => a.localeCompare(b))
    .map(([plane, c]) => `plane ${plane}: ${c.up} up${c.down ? `, ${c.down} down` : ''}${c.unknown ? `, ${c.unknown} unknown` : ''}`)
    .join('; ');
}

function endpointsOf(model: FabricModel, match: (e: Resource<'Endpoint'>) => boolean): number {
  let n = 0;
  for (const r of model.resources.values()) if (r.kind === 'Endpoint' && match(r as Resource<'Endpoint'>)) n++;
  return n;
}

export function describe(model: FabricModel, id: string): Details {
  if (id.startsWith('l:')) {
    const [, pair, plane] = /^l:(.*)\|([^|]*)$/.exec(id) ?? [];
    const [a, b] = (pair ?? '').split('|');
    const link = model.link(id);
    const title = `Link ${a} ⇄ ${b} on plane ${plane}`;
    if (!link) return { title, rows: [['state', 'gone']], raw: undefined };
    const rows: [string, string][] = [['plane', plane ?? ''], ['state', link.state]];
    for (const p of link.paths) rows.push([`${p.host} → ${p.peer}`, pathLine(p)]);
    const networks = [...new Set(link.paths.flatMap((p) => p.networks))];
    rows.push(['storage networks', networks.length ? networks.join(', ') : 'none']);
    rows.push(['since', when(link.paths.map((p) => p.since).sort().at(-1))]);
    return { title, rows, raw: link.paths };
  }
  if (id.startsWith('eps:')) {
    const host = id.slice(4);
    const by = new Map<string, string[]>();
    for (const r of model.resources.values()) {
      if (r.kind !== 'Endpoint' || (r as Resource<'Endpoint'>).spec.host !== host) continue;
      const n = `${r.metadata.tenant}/${r.metadata.network}`;
      let list = by.get(n);
      if (!list) by.set(n, (list = []));
      list.push(r.metadata.name);
    }
    const rows: [string, string][] = [['host', host], ['endpoints', String([...by.values()].reduce((s, l) => s + l.length, 0))]];
    for (const [n, names] of [...by].sort(([a], [b]) => a.localeCompare(b))) rows.push([n, names.length > 8 ? `${names.slice(0, 8).join(', ')} and ${names.length - 8} more` : names.join(', ')]);
    return { title: `Endpoints on ${host}`, rows, raw: Object.fromEntries(by) };
  }
  if (id.startsWith('pl:')) {
    const plane = id.slice(3);
    const c = model.planeCounts(plane);
    const r = model.resources.get(id);
    return {
      title: `Plane ${plane}`,
      rows: [
        ['state', model.planeState(plane)],
        ['paths', `${c.up} up, ${c.down} down, ${c.unknown} unknown`],
        ...(r?.spec && typeof (r.spec as { description?: unknown }).description === 'string' ? [['description', (r.spec as { description: string }).description] as [string, string]] : []),
      ],
      raw: r ?? { plane, ...c },
    };
  }
  const r = model.resources.get(id);
  if (!r) return { title: id.replace(/^[a-z]+:/, ''), rows: [['state', 'gone']], raw: undefined };
  const m = r.metadata;
  switch (r.kind) {
    case 'Host': {
      const h = r as Resource<'Host'>;
      const addresses = h.status.addresses?.length ? h.status.addresses.map((a) => (a.underlay ? `${a.address} (${a.underlay})` : a.address)) : h.spec.addresses;
      return {
        title: `Host ${m.name}`,
        rows: [
          ['state', `${h.status.state ?? 'joining'}${h.spec.drain ? ' (drain requested)' : ''}`],
          ['site', h.spec.site],
          ['addresses', addresses.join(', ') || '—'],
          ['endpoints', String(endpointsOf(model, (e) => e.spec.host === m.name))],
          ['links', linkCountsOf(model, m.name)],
          ['agent', h.status.agentVersion ?? '—'],
          ['last seen', when(h.status.lastSeen)],
        ],
        raw: r,
      };
    }
    case 'Network': {
      const n = r as Resource<'Network'>;
      const subnets = n.spec.subnets?.map((s) => s.cidr) ?? n.spec.multipath?.planes.flatMap((p) => p.subnets?.map((s) => `${s.cidr} (plane ${p.plane})`) ?? []) ?? [];
      return {
        title: `Network ${m.tenant}/${m.name}`,
        rows: [
          ['tenant', m.tenant ?? ''],
          ['kind', n.spec.kind],
          ['VNI', n.spec.vni !== undefined ? String(n.spec.vni) : 'allocated'],
          ['subnets', subnets.join(', ') || '—'],
          ['planes', n.spec.multipath ? `${n.spec.multipath.planes.map((p) => p.plane).join(', ')} (${n.spec.multipath.mode})` : 'the tenant\'s default'],
          ['endpoints', String(endpointsOf(model, (e) => e.metadata.tenant === m.tenant && e.metadata.network === m.name))],
        ],
        raw: r,
      };
    }
    case 'Endpoint': {
      const e = r as Resource<'Endpoint'>;
      const status = e.status as Record<string, unknown> | undefined;
      const rows: [string, string][] = [
        ['network', `${m.tenant}/${m.network}`],
        ['host', e.spec.host],
      ];
      for (const [k, v] of Object.entries(status ?? {})) if (typeof v === 'string' || typeof v === 'number') rows.push([k, String(v)]);
      return { title: `Endpoint ${m.tenant}/${m.network}/${m.name}`, rows, raw: r };
    }
    case 'Site': {
      let hosts = 0;
      for (const x of model.resources.values()) if (x.kind === 'Host' && (x as Resource<'Host'>).spec.site === m.name) hosts++;
      return { title: `Site ${m.name}`, rows: [['hosts', String(hosts)]], raw: r };
    }
    default:
      return { title: `${r.kind} ${m.name}`, rows: [], raw: r };
  }
}
