// Path health as Prometheus metrics. A fleet of 1,000 hosts probes up to millions of paths, so
// by default only per-plane aggregates are exported: a bounded number of series whatever the
// fleet's size (paths by state, by RTT and by loss, transitions, MTU problems). Per-pair series
// (host, peer, plane) are an opt-in for small fleets or debugging (`--path-metrics per-pair`);
// their series leave with their path, so churn does not grow the registry without end.
import { Counter, Gauge, type Registry } from 'prom-client';
import type { PathEvent, PathFeed, PathHealth, PathView } from './types.js';

export const PATH_METRICS_MODES = ['per-plane', 'per-pair'] as const;
export type PathMetricsMode = (typeof PATH_METRICS_MODES)[number];

/** Planes beyond this many (a fabric has a handful) are counted under plane="other". */
export const MAX_PLANE_SERIES = 32;
/** Upper bounds (seconds) of the RTT buckets: sub-ms in a site, tens of ms between sites. */
const RTT_BOUNDS = [0.0001, 0.00025, 0.0005, 0.001, 0.0025, 0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 1];
/** Upper bounds of the loss-ratio buckets. */
const LOSS_BOUNDS = [0, 0.01, 0.05, 0.1, 0.25, 0.5, 0.99];
/** A scrape reuses a per-plane tally this young (the gauges of one scrape read one tally). */
const TALLY_REUSE_MS = 500;
const STATES: readonly PathHealth[] = ['up', 'down', 'unknown'];

/** What the aggregates need of a path: a few numbers, not the whole view. */
interface PathFigures {
  plane: string;
  state: PathHealth;
  rttSeconds: number;
  loss: number;
  mtuProblem: boolean;
}

interface PlaneTally {
  byState: Record<PathHealth, number>;
  /** Cumulative: paths whose figure is at most the bound of the same index; last entry is +Inf. */
  byRtt: number[];
  byLoss: number[];
  mtuProblems: number;
}

export class PathMetrics {
  private readonly figures = new Map<string, PathFigures>();
  private readonly transitions: Counter<'plane' | 'to'>;
  private readonly transitionPlanes = new Set<string>();
  private readonly pairs?: PairMetrics;
  private readonly unsubscribe: () => void;
  private tally: { at: number; planes: Map<string, PlaneTally> } | undefined;

  constructor(registry: Registry, feed: PathFeed, mode: PathMetricsMode = 'per-plane') {
    const registers = [registry];
    const tally = () => this.planes();
    new Gauge({
      name: 'weft_path_plane_paths',
      help: 'Paths (one per direction: host to peer) on the plane by state',
      labelNames: ['plane', 'state'],
      registers,
      collect() {
        this.reset();
        for (const [plane, t] of tally()) for (const state of STATES) this.set({ plane, state }, t.byState[state]);
      },
    });
    new Gauge({
      name: 'weft_path_plane_paths_by_rtt',
      help: 'Up paths on the plane whose mean probe RTT over the last second is at most le seconds (cumulative, like histogram buckets: histogram_quantile() gives the RTT percentiles across paths)',
      labelNames: ['plane', 'le'],
      registers,
      collect() {
        this.reset();
        for (const [plane, t] of tally()) setBuckets(this, plane, RTT_BOUNDS, t.byRtt);
      },
    });
    new Gauge({
      name: 'weft_path_plane_paths_by_loss',
      help: 'Up or down paths on the plane whose probe loss over the last second is at most le (a ratio; cumulative like histogram buckets)',
      labelNames: ['plane', 'le'],
      registers,
      collect() {
        this.reset();
        for (const [plane, t] of tally()) setBuckets(this, plane, LOSS_BOUNDS, t.byLoss);
      },
    });
    new Gauge({
      name: 'weft_path_plane_mtu_problem_paths',
      help: 'Paths on the plane whose MTU probe found a problem (a don\'t-fragment probe of the configured MTU did not cross)',
      labelNames: ['plane'],
      registers,
      collect() {
        this.reset();
        for (const [plane, t] of tally()) this.set({ plane }, t.mtuProblems);
      },
    });
    this.transitions = new Counter({ name: 'weft_path_plane_transitions_total', help: 'Path state changes on the plane by the state entered', labelNames: ['plane', 'to'], registers });
    if (mode === 'per-pair') this.pairs = new PairMetrics(registry);
    for (const p of feed.list()) this.set(p);
    this.unsubscribe = feed.subscribe((e) => this.on(e));
  }

  close(): void {
    this.unsubscribe();
  }

  private on(e: PathEvent): void {
    switch (e.type) {
      case 'path-state':
        this.transitions.inc({ plane: this.planeLabel(e.path.plane), to: e.path.state });
        this.pairs?.transition(e.path);
        this.set(e.path);
        break;
      case 'path-stats':
        for (const p of e.paths) this.set(p);
        break;
      case 'path-removed':
        this.figures.delete(e.path.id);
        this.pairs?.remove(e.path);
        break;
      default: {
        const never: never = e;
        throw new Error(`unknown path event ${JSON.stringify(never)}`);
      }
    }
  }

  private set(p: PathView): void {
    this.figures.set(p.id, { plane: p.plane, state: p.state, rttSeconds: p.rttMs / 1000, loss: p.loss, mtuProblem: Boolean(p.mtuProblem) });
    this.pairs?.set(p);
  }

  /** The transitions counter keeps its planes: bound them like the tally's. */
  private planeLabel(plane: string): string {
    if (this.transitionPlanes.has(plane)) return plane;
    if (this.transitionPlanes.size >= MAX_PLANE_SERIES) return 'other';
    this.transitionPlanes.add(plane);
    return plane;
  }

  /** One pass over every path per scrape (not per report): O(paths) each scrape interval. */
  private planes(): Map<string, PlaneTally> {
    const now = Date.now();
    if (this.tally && now - this.tally.at < TALLY_REUSE_MS) return this.tally.planes;
    const planes = new Map<string, PlaneTally>();
    for (const f of this.figures.values()) {
      const name = planes.has(f.plane) || planes.size < MAX_PLANE_SERIES ? f.plane : 'other';
      let t = planes.get(name);
      if (!t) planes.set(name, (t = { byState: { up: 0, down: 0, unknown: 0 }, byRtt: new Array(RTT_BOUNDS.length + 1).fill(0), byLoss: new Array(LOSS_BOUNDS.length + 1).fill(0), mtuProblems: 0 }));
      t.byState[f.state]++;
      if (f.mtuProblem) t.mtuProblems++;
      // An unknown path has no figures worth counting; a down one has no RTT but its loss is real.
      if (f.state === 'up') t.byRtt[bucketOf(RTT_BOUNDS, f.rttSeconds)]!++;
      if (f.state !== 'unknown') t.byLoss[bucketOf(LOSS_BOUNDS, f.loss)]!++;
    }
    for (const t of planes.values()) {
      cumulate(t.byRtt);
      cumulate(t.byLoss);
    }
    this.tally = { at: now, planes };
    return planes;
  }
}

/** Today's per-path series, for the opt-in: five gauges and a counter per (host, peer, plane). */
class PairMetrics {
  private readonly up: Gauge<PairLabel>;
  private readonly rtt: Gauge<PairLabel>;
  private readonly jitter: Gauge<PairLabel>;
  private readonly loss: Gauge<PairLabel>;
  private readonly mtu: Gauge<PairLabel>;
  private readonly transitions: Counter<PairLabel | 'to'>;

  constructor(registry: Registry) {
    const registers = [registry];
    const labelNames: PairLabel[] = ['host', 'peer', 'plane'];
    this.up = new Gauge({ name: 'weft_path_up', help: '1 while the path is up, 0 while down; absent while unknown', labelNames, registers });
    this.rtt = new Gauge({ name: 'weft_path_rtt_seconds', help: 'Mean probe round-trip time over the last second', labelNames, registers });
    this.jitter = new Gauge({ name: 'weft_path_jitter_seconds', help: 'Mean variation between consecutive probe RTTs over the last second', labelNames, registers });
    this.loss = new Gauge({ name: 'weft_path_loss_ratio', help: 'Fraction of probes lost over the last second', labelNames, registers });
    this.mtu = new Gauge({ name: 'weft_path_mtu_bytes', help: 'Largest don\'t-fragment probe that crossed the path', labelNames, registers });
    this.transitions = new Counter({ name: 'weft_path_transitions_total', help: 'Path state changes by the state entered', labelNames: [...labelNames, 'to'], registers });
  }

  transition(p: PathView): void {
    this.transitions.inc({ ...pairLabels(p), to: p.state });
  }

  set(p: PathView): void {
    const l = pairLabels(p);
    if (p.state === 'unknown') this.up.remove(l);
    else this.up.set(l, p.state === 'up' ? 1 : 0);
    this.rtt.set(l, p.rttMs / 1000);
    this.jitter.set(l, p.jitterMs / 1000);
    this.loss.set(l, p.loss);
    if (p.pathMtu) this.mtu.set(l, p.pathMtu);
  }

  remove(p: PathView): void {
    const l = pairLabels(p);
    for (const g of [this.up, this.rtt, this.jitter, this.loss, this.mtu]) g.remove(l);
    for (const to of STATES) this.transitions.remove({ ...l, to });
  }
}

type PairLabel = 'host' | 'peer' | 'plane';
const pairLabels = (p: PathView): Record<PairLabel, string> => ({ host: p.host, peer: p.peer, plane: p.plane });

/** Index of the first bound the value is at most; bounds.length (+Inf) when above them all. */
function bucketOf(bounds: readonly number[], v: number): number {
  for (let i = 0; i < bounds.length; i++) if (v <= bounds[i]!) return i;
  return bounds.length;
}

function cumulate(counts: number[]): void {
  for (let i = 1; i < counts.length; i++) counts[i]! += counts[i - 1]!;
}

function setBuckets(g: Gauge<'plane' | 'le'>, plane: string, bounds: readonly number[], cumulative: readonly number[]): void {
  for (let i = 0; i < bounds.length; i++) g.set({ plane, le: String(bounds[i]) }, cumulative[i]!);
  g.set({ plane, le: '+Inf' }, cumulative[bounds.length]!);
}
