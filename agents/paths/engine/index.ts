// The kernel-timestamped ICMP probe engine (weft-probe.c) as seen from the agent:
//
//   if ((await probeEngineAvailable()).ok) {
//     const engine = new ProbeEngine({ log });
//     engine.onEvent((ev) => ...);           // sent, reply, peer, time, mtu, skipped, ...
//     engine.add(7, '198.18.0.10', '198.18.1.10', 20);
//     engine.close();                        // kills it (by PID)
//   }
export { ProbeEngine, DEFAULT_ENGINE_BINARY, MAX_ENGINE_PATHS, type ProbeEngineOptions, type ProbeEngineLogger } from './engine.js';
export { probeEngineAvailable, type EngineAvailability } from './available.js';
export { parseEngineLine, nsToMs, LineSplitter, MAX_ENGINE_LINE, type EngineEvent, type MtuVerdict } from './lines.js';
