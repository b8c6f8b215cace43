// The messages between PathProberThread (the agent's main thread) and its worker
// (prober-worker.ts), and their checks. Both ends are our code, but a message is structured
// data, not a trusted shape: each side checks what it receives (kinds, sizes, counts, finite
// numbers) and drops what does not fit. Pure.
//
//   main → worker   paths (with a generation), listen, close
//   worker → main   ready (backend chosen), changes (the transitions of one event-loop turn, in
//                   order), snapshot (every path's status and the load, every mirrorMs), log, closed
import type { PathStatus, ProbePath } from '../../src/protocol/index.js';
import type { ProbeBackend, ProberLoad } from './prober-api.js';
import type { PathProberOptions } from './prober.js';

/** The prober engine's own limit on paths; no message carries more. */
export const MAX_THREAD_PATHS = 16384;
export const MAX_THREAD_ADDRESSES = 1024;
const MAX_TEXT = 1024;
export const MAX_LOG_MSG = 512;
export const MAX_LOG_FIELDS = 16;

/** What crosses to the worker at start: the prober's options without the logger. */
export type ThreadProberOptions = Omit<PathProberOptions, 'log'>;

export type LogFields = Record<string, string | number | boolean>;

export type ToWorker = { t: 'paths'; gen: number; paths: ProbePath[] } | { t: 'listen'; addresses: string[] } | { t: 'close' };

export type FromWorker =
  | { t: 'ready'; backend: ProbeBackend; reason: string }
  | { t: 'changes'; gen: number; changes: PathStatus[] }
  /** enginePid 0: no engine running. */
  | { t: 'snapshot'; gen: number; stats: PathStatus[]; load: ProberLoad; enginePid: number }
  | { t: 'log'; level: 'info' | 'warn'; msg: string; fields: LogFields }
  | { t: 'closed' };

type Obj = Record<string, unknown>;
const isObj = (x: unknown): x is Obj => typeof x === 'object' && x !== null && !Array.isArray(x);
const isText = (x: unknown, max = MAX_TEXT): x is string => typeof x === 'string' && x.length <= max;
const isCount = (x: unknown): x is number => typeof x === 'number' && Number.isSafeInteger(x) && x >= 0;
const isFinite = (x: unknown): x is number => typeof x === 'number' && Number.isFinite(x);
const isGen = isCount;

function boundedArray<T>(x: unknown, max: number, item: (v: unknown) => T | undefined): T[] | undefined {
  if (!Array.isArray(x) || x.length > max) return undefined;
  const out: T[] = [];
  for (const v of x) {
    const ok = item(v);
    if (ok === undefined) return undefined;
    out.push(ok);
  }
  return out;
}

export function parseProbePath(x: unknown): ProbePath | undefined {
  if (!isObj(x) || !isText(x.peer) || !isText(x.plane) || !isText(x.localAddress, 64) || !isText(x.remoteAddress, 64) || !isCount(x.mtu) || x.mtu > 65535) return undefined;
  return { peer: x.peer, plane: x.plane, localAddress: x.localAddress, remoteAddress: x.remoteAddress, mtu: x.mtu };
}

const STATES = new Set(['PATH_STATE_UNKNOWN', 'PATH_STATE_UP', 'PATH_STATE_DOWN']);

export function parsePathStatus(x: unknown): PathStatus | undefined {
  if (!isObj(x) || !isText(x.peer) || !isText(x.plane) || !isText(x.localAddress, 64) || !isText(x.remoteAddress, 64) || !isText(x.mtuProblem)) return undefined;
  if (typeof x.state !== 'string' || !STATES.has(x.state)) return undefined;
  if (!isCount(x.sinceMs) || !isFinite(x.rttMs) || !isFinite(x.jitterMs) || !isFinite(x.loss) || !isCount(x.pathMtu) || !isCount(x.probesSent) || !isCount(x.probesReceived)) return undefined;
  return {
    peer: x.peer, plane: x.plane, localAddress: x.localAddress, remoteAddress: x.remoteAddress, state: x.state as PathStatus['state'], sinceMs: x.sinceMs,
    rttMs: x.rttMs, jitterMs: x.jitterMs, loss: x.loss, pathMtu: x.pathMtu, mtuProblem: x.mtuProblem, probesSent: x.probesSent, probesReceived: x.probesReceived,
  };
}

const LOAD_KEYS = ['paths', 'sockets', 'probesSent', 'requestsAnswered', 'lateProbes', 'maxLateMs', 'skippedProbes', 'lateReplies', 'undecidedProbes'] as const;

function parseLoad(x: unknown): ProberLoad | undefined {
  if (!isObj(x)) return undefined;
  const out = {} as ProberLoad;
  for (const k of LOAD_KEYS) {
    const v = x[k];
    if (!isFinite(v) || v < 0) return undefined;
    out[k] = v;
  }
  return out;
}

/** A log record's fields, made safe to clone and to print: primitives only, bounded. */
export function logFields(obj: object): LogFields {
  const out: LogFields = {};
  let n = 0;
  for (const [k, v] of Object.entries(obj)) {
    if (n >= MAX_LOG_FIELDS) break;
    if (k.length > 64) continue;
    if (typeof v === 'number' || typeof v === 'boolean') out[k] = v;
    else if (v !== undefined && v !== null) out[k] = String(v).slice(0, MAX_TEXT);
    else continue;
    n++;
  }
  return out;
}

export function parseToWorker(x: unknown): ToWorker | undefined {
  if (!isObj(x)) return undefined;
  switch (x.t) {
    case 'paths': {
      const paths = boundedArray(x.paths, MAX_THREAD_PATHS, parseProbePath);
      return paths !== undefined && isGen(x.gen) ? { t: 'paths', gen: x.gen, paths } : undefined;
    }
    case 'listen': {
      const addresses = boundedArray(x.addresses, MAX_THREAD_ADDRESSES, (a) => (isText(a, 64) ? a : undefined));
      return addresses !== undefined ? { t: 'listen', addresses } : undefined;
    }
    case 'close':
      return { t: 'close' };
    default:
      return undefined;
  }
}

export function parseFromWorker(x: unknown): FromWorker | undefined {
  if (!isObj(x)) return undefined;
  switch (x.t) {
    case 'ready':
      return (x.backend === 'engine' || x.backend === 'udp') && isText(x.reason) ? { t: 'ready', backend: x.backend, reason: x.reason } : undefined;
    case 'changes': {
      const changes = boundedArray(x.changes, MAX_THREAD_PATHS, parsePathStatus);
      return changes !== undefined && isGen(x.gen) ? { t: 'changes', gen: x.gen, changes } : undefined;
    }
    case 'snapshot': {
      const stats = boundedArray(x.stats, MAX_THREAD_PATHS, parsePathStatus);
      const load = parseLoad(x.load);
      return stats !== undefined && load !== undefined && isGen(x.gen) && isCount(x.enginePid) ? { t: 'snapshot', gen: x.gen, stats, load, enginePid: x.enginePid } : undefined;
    }
    case 'log':
      return (x.level === 'info' || x.level === 'warn') && isText(x.msg, MAX_LOG_MSG) && isObj(x.fields) ? { t: 'log', level: x.level, msg: x.msg, fields: logFields(x.fields) } : undefined;
    case 'closed':
      return { t: 'closed' };
    default:
      return undefined;
  }
}

const isOptionalCount = (x: unknown): boolean => x === undefined || isCount(x);

/** The options the worker starts with; throws on a shape that is not one. */
export function parseThreadOptions(x: unknown): ThreadProberOptions {
  if (!isObj(x)) throw new TypeError('prober thread: options must be an object');
  for (const k of ['port', 'upAfter', 'downAfter', 'mtuIntervalMs', 'mtuConcurrency', 'bindRetryMs'] as const) if (!isOptionalCount(x[k])) throw new TypeError(`prober thread: ${k} must be a non-negative integer`);
  if (x.ratePerSecond !== undefined && !isFinite(x.ratePerSecond)) throw new TypeError('prober thread: ratePerSecond must be a number');
  if (x.backend !== undefined && x.backend !== 'auto' && x.backend !== 'engine' && x.backend !== 'udp') throw new TypeError('prober thread: backend must be auto, engine or udp');
  for (const k of ['pingPath', 'engineBinary'] as const) if (x[k] !== undefined && !isText(x[k], 4096)) throw new TypeError(`prober thread: ${k} must be a path`);
  let monitor: Record<string, number> | undefined;
  if (x.monitor !== undefined) {
    if (!isObj(x.monitor) || Object.keys(x.monitor).length > 32) throw new TypeError('prober thread: monitor must be an object of numbers');
    monitor = {};
    for (const [k, v] of Object.entries(x.monitor)) {
      if (!isFinite(v)) throw new TypeError(`prober thread: monitor.${k} must be a number`);
      monitor[k] = v;
    }
  }
  return {
    port: x.port as number | undefined,
    ratePerSecond: x.ratePerSecond as number | undefined,
    upAfter: x.upAfter as number | undefined,
    downAfter: x.downAfter as number | undefined,
    monitor,
    mtuIntervalMs: x.mtuIntervalMs as number | undefined,
    mtuConcurrency: x.mtuConcurrency as number | undefined,
    bindRetryMs: x.bindRetryMs as number | undefined,
    pingPath: x.pingPath as string | undefined,
    backend: x.backend as ThreadProberOptions['backend'],
    engineBinary: x.engineBinary as string | undefined,
  };
}
