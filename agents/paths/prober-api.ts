// The path prober's public surface, as the agent uses it (runtime.ts, cli.ts, paths-view/):
// implemented in-process by PathProber (prober.ts) and, on a thread of its own so the agent's
// event loop cannot delay probing, by PathProberThread (prober-thread.ts).
import type { PathStatus, ProbePath } from '../../src/protocol/index.js';
import type { PathHealth } from './monitor.js';

export type ProbeBackend = 'engine' | 'udp';

/** How well the scheduler keeps up: probes sent later than planned. */
export interface ProberLoad {
  paths: number;
  sockets: number;
  probesSent: number;
  requestsAnswered: number;
  /** Probes sent more than 5 ms after their planned time. */
  lateProbes: number;
  maxLateMs: number;
  /** Probe slots skipped because the loop fell more than one interval behind. */
  skippedProbes: number;
  /** Over the current paths: replies after their timeout (losses undone). */
  lateReplies: number;
  /** Over the current paths: probes not looked at on time, so neither good nor lost at once. */
  undecidedProbes: number;
}

export interface PathProberApi {
  /** Resolves once the backend is chosen (paths given before then are probed from then on). */
  ready(): Promise<void>;
  /** The backend in use, once chosen. */
  backendInUse(): ProbeBackend | undefined;
  /** For the agent's Hello: kernel_probes is true when the engine probes the (IPv4) paths. */
  capabilities(): Promise<Record<string, boolean>>;
  /** Why the engine is not used, when it is not ('' when it is, or when udp was asked for). */
  kernelProbesReason(): string;
  /** The paths to probe, named by (peer, plane); the first occurrence wins. */
  setPaths(paths: ProbePath[]): void;
  /** Local addresses to answer peers' probes on even when no path uses them. */
  setResponderAddresses(addresses: string[]): void;
  /** Calls `listener` on every state change, in order. Returns a function that unsubscribes. */
  onChange(listener: (s: PathStatus) => void): () => void;
  /** Every path with its last-second RTT, jitter and loss, counters and MTU findings. */
  stats(): PathStatus[];
  state(peer: string, plane: string): PathHealth;
  loadStats(): ProberLoad;
  close(): void;
}
