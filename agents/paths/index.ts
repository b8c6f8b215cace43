// The agent's path prober: kernel-timestamped ICMP probes (engine/) or UDP probes between
// underlay addresses, per (peer, plane), deciding
// up/down with hysteresis and damping, plus a periodic don't-fragment probe for MTU black holes.
//
//   const prober = new PathProber({ log });
//   prober.onChange((s) => report.changes.push(s));   // at once, on every state change
//   prober.setPaths(program.segments.flatMap((s) => s.paths));
//   setInterval(() => send(prober.stats()), 1000);
//   prober.close();
//
// The agent runs it as PathProberThread (same surface, PathProberApi): the prober, its engine
// and its sockets on a worker thread of their own, which the agent's event loop cannot delay.
export type { PathProberApi } from './prober-api.js';
export { PathProberThread, type PathProberThreadOptions } from './prober-thread.js';
export { PathProber, DEFAULT_PROBE_PORT, type PathProberOptions, type PathProberLogger, type ProberLoad, type ProbeBackend } from './prober.js';
export { PathMonitor, monitorConfig, type MonitorConfig, type MonitorStats, type PathHealth, type Transition } from './monitor.js';
export { parsePing, probeMtu, mtuFromEngine, type MtuResult, type MtuProbeRequest } from './mtu.js';
export { probeEngineAvailable, ProbeEngine, type EngineAvailability, type EngineEvent } from './engine/index.js';
export { decodeProbe, encodeProbe, PROBE_MAGIC, PROBE_SIZE, PROBE_VERSION, type Probe } from './packet.js';
