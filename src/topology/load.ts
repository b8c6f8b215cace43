// The shell around the pure core: read and parse the files, read the fabric, plan.
import { randomBytes, randomUUID } from 'node:crypto';
import type { TopologyDoc } from './document.js';
import type { WeftClient } from './client.js';
import { readFabric } from './fabric-state.js';
import { parseTopology } from './parse.js';
import { planTopology, type PlanOptions, type TopologyPlan } from './plan.js';
import type { TopologyProblem } from './problems.js';
import { readTopologySources } from './source.js';

export interface LoadedTopology {
  docs: TopologyDoc[];
  files: string[];
  problems: TopologyProblem[];
}

export async function loadTopology(paths: readonly string[], opts: { maxBytes?: number } = {}): Promise<LoadedTopology> {
  const read = await readTopologySources(paths, opts);
  const parsed = parseTopology(read.sources);
  return { docs: parsed.docs, files: read.sources.map((s) => s.file), problems: [...read.problems, ...parsed.problems] };
}

export async function planAgainstServer(client: WeftClient, docs: readonly TopologyDoc[], opts: PlanOptions & { concurrency?: number }): Promise<TopologyPlan> {
  const server = await readFabric(client, opts.concurrency);
  return planTopology(docs, server, opts, { now: new Date(), newUid: randomUUID, randomBytes: (n) => randomBytes(n) });
}
