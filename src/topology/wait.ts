// Waiting for what was applied to be programmed: every network and endpoint of the topology must
// report `status.hosts.programmed == status.hosts.total` with no `status.hostErrors`. The pure
// assessment says what is still pending and which hosts are involved; the shell polls the API
// until everything converged or the deadline passed.
import { formatRef, type Resource, type ResourceRef } from '../model/index.js';
import { refKey } from './document.js';
import type { WeftClient } from './client.js';
import { mapLimit } from './pool.js';

interface Programming {
  observedVersion?: string;
  hosts?: { total: number; programmed: number };
  hostErrors?: { host: string; object: string; message: string }[];
}

export interface PendingResource {
  ref: ResourceRef;
  /** Why it is not converged yet, e.g. `programmed on 0 of 2 hosts`. */
  reason: string;
  hostErrors: { host: string; object: string; message: string }[];
}

export interface ConvergenceReport {
  converged: boolean;
  networks: { done: number; total: number };
  endpoints: { done: number; total: number };
  pending: PendingResource[];
  /** Hosts the pending resources need that are not `ready`, with their state. */
  hostsNotReady: { host: string; state: string }[];
}

/** Where the targets stand, given the networks, endpoints and hosts read from the server. */
export function assessConvergence(targets: readonly ResourceRef[], fabric: readonly Resource[]): ConvergenceReport {
  const byKey = new Map(fabric.map((r) => [refKey({ kind: r.kind, tenant: r.metadata.tenant, network: r.metadata.network, name: r.metadata.name }), r]));
  const report: ConvergenceReport = { converged: true, networks: { done: 0, total: 0 }, endpoints: { done: 0, total: 0 }, pending: [], hostsNotReady: [] };
  const involved = new Set<string>();
  for (const ref of targets) {
    const counter = ref.kind === 'Network' ? report.networks : report.endpoints;
    counter.total++;
    const r = byKey.get(refKey(ref));
    const status = (r?.status ?? {}) as Programming;
    const errors = status.hostErrors ?? [];
    let reason: string | undefined;
    if (!r) reason = 'not found on the server';
    else if (!status.hosts) reason = 'no programming status reported yet';
    // Status computed for an older version says nothing about the version just applied.
    else if (status.observedVersion !== undefined && status.observedVersion !== r.metadata.resourceVersion) reason = 'programming status not yet updated for this version';
    else {
      const parts: string[] = [];
      if (status.hosts.programmed < status.hosts.total) parts.push(`programmed on ${status.hosts.programmed} of ${status.hosts.total} host${status.hosts.total === 1 ? '' : 's'}`);
      if (errors.length) parts.push(`${errors.length} host error${errors.length === 1 ? '' : 's'}`);
      if (parts.length) reason = parts.join(', ');
    }
    if (reason === undefined) {
      counter.done++;
      continue;
    }
    report.converged = false;
    report.pending.push({ ref, reason, hostErrors: errors });
    for (const e of errors) involved.add(e.host);
    if (ref.kind === 'Endpoint' && r) involved.add((r.spec as { host: string }).host);
    if (ref.kind === 'Network') {
      for (const e of fabric) {
        if (e.kind === 'Endpoint' && e.metadata.tenant === ref.tenant && e.metadata.network === ref.name) involved.add((e.spec as { host: string }).host);
      }
    }
  }
  const hosts = new Map(fabric.filter((r) => r.kind === 'Host').map((h) => [h.metadata.name, h]));
  for (const name of [...involved].sort()) {
    const state = (hosts.get(name)?.status as { state?: string } | undefined)?.state;
    if (state !== 'ready') report.hostsNotReady.push({ host: name, state: state ?? (hosts.has(name) ? 'no agent has connected' : 'not found') });
  }
  return report;
}

/** The lines a failed wait prints: what is pending, and the hosts to look at. */
export function describeNotConverged(r: ConvergenceReport, limit = 20): string[] {
  const lines = r.pending.slice(0, limit).map((p) => `  ${formatRef(p.ref)}: ${p.reason}`);
  if (r.pending.length > limit) lines.push(`  … and ${r.pending.length - limit} more`);
  if (r.hostsNotReady.length) lines.push(`  hosts not ready: ${r.hostsNotReady.map((h) => `${h.host} (${h.state})`).join(', ')}`);
  const errors = r.pending.flatMap((p) => p.hostErrors.map((e) => `${e.host}: ${e.object}: ${e.message}`));
  for (const e of [...new Set(errors)].slice(0, limit)) lines.push(`  host error: ${e}`);
  return lines;
}

/** Reads what the targets' status depends on: their networks and endpoints, and the hosts. */
export async function readConvergenceState(client: WeftClient, targets: readonly ResourceRef[], concurrency = 16): Promise<Resource[]> {
  const tenants = [...new Set(targets.filter((t) => t.kind === 'Network').map((t) => t.tenant!))];
  // Every network a target is or is in: its endpoints say which hosts are involved.
  const networks = [
    ...new Map(
      targets.map((t) => {
        const p = { tenant: t.tenant!, network: t.kind === 'Network' ? t.name : t.network! };
        return [`${p.tenant}/${p.network}`, p] as const;
      }),
    ).values(),
  ];
  const [hosts, nets, eps] = await Promise.all([
    client.list('Host'),
    mapLimit(tenants, concurrency, (tenant) => client.list('Network', { tenant }).catch(() => [])),
    mapLimit(networks, concurrency, (p) => client.list('Endpoint', p).catch(() => [])),
  ]);
  return [...hosts, ...nets.flat(), ...eps.flat()];
}

export interface WaitOptions {
  timeoutMs: number;
  intervalMs?: number;
  onProgress?(r: ConvergenceReport, elapsedMs: number): void;
}

/** Polls until every target is programmed or the deadline passes; returns the last assessment. */
export async function waitForConvergence(client: WeftClient, targets: readonly ResourceRef[], opts: WaitOptions): Promise<ConvergenceReport> {
  const started = Date.now();
  const deadline = started + opts.timeoutMs;
  for (;;) {
    const report = assessConvergence(targets, await readConvergenceState(client, targets));
    opts.onProgress?.(report, Date.now() - started);
    const left = deadline - Date.now();
    if (report.converged || left <= 0) return report;
    await new Promise((r) => setTimeout(r, Math.min(opts.intervalMs ?? 500, left)));
  }
}
