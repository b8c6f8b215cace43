// The path prober's thread (started by PathProberThread through prober-worker.mjs): a PathProber
// with its engine child and UDP sockets, on an event loop the agent's flushes, dumps and GC
// cannot starve. It keeps the main thread's mirror current: the transitions of each event-loop
// turn in one message, in order (prompt, and a burst is one message, not thousands), every
// path's status every `mirrorMs`, and log records (at most LOG_PER_SECOND; the rest counted).
import { parentPort, workerData } from 'node:worker_threads';
import type { PathStatus } from '../../src/protocol/index.js';
import { PathProber } from './prober.js';
import { logFields, MAX_LOG_MSG, MAX_THREAD_PATHS, parseThreadOptions, parseToWorker, type FromWorker } from './thread-messages.js';

const LOG_PER_SECOND = 100;

const port = parentPort;
if (port === null) throw new Error('prober-worker.ts runs as a worker thread (see prober-thread.ts)');
const post = (m: FromWorker): void => port.postMessage(m);

const data = (workerData ?? {}) as { options?: unknown; mirrorMs?: unknown };
const mirrorMs = typeof data.mirrorMs === 'number' && data.mirrorMs >= 10 && data.mirrorMs <= 60_000 ? data.mirrorMs : 250;

let logWindow = 0;
let logged = 0;
let dropped = 0;
const forward = (level: 'info' | 'warn', obj: object, msg?: string): void => {
  const second = Math.floor(Date.now() / 1000);
  if (second !== logWindow) {
    if (dropped > 0) post({ t: 'log', level: 'warn', msg: 'prober thread: log records dropped (too many)', fields: { dropped } });
    logWindow = second;
    logged = 0;
    dropped = 0;
  }
  if (++logged > LOG_PER_SECOND) {
    dropped++;
    return;
  }
  post({ t: 'log', level, msg: (msg ?? '').slice(0, MAX_LOG_MSG), fields: logFields(obj) });
};

const prober = new PathProber({ ...parseThreadOptions(data.options), log: { info: (o, m) => forward('info', o, m), warn: (o, m) => forward('warn', o, m) } });
let gen = 0;
let closed = false;

let pending: PathStatus[] = [];
let flushQueued = false;
const flush = (): void => {
  flushQueued = false;
  const changes = pending;
  pending = [];
  for (let i = 0; i < changes.length; i += MAX_THREAD_PATHS) post({ t: 'changes', gen, changes: changes.slice(i, i + MAX_THREAD_PATHS) });
};
prober.onChange((s) => {
  pending.push(s);
  if (!flushQueued) {
    flushQueued = true;
    queueMicrotask(flush);
  }
});

const snapshot = (): void => {
  if (closed) return;
  if (flushQueued) flush(); // a snapshot never overtakes a transition
  post({ t: 'snapshot', gen, stats: prober.stats().slice(0, MAX_THREAD_PATHS), load: prober.loadStats(), enginePid: prober.enginePid() ?? 0 });
};
const timer = setInterval(snapshot, mirrorMs);

prober.ready().then(
  () => {
    if (closed) return;
    post({ t: 'ready', backend: prober.backendInUse() ?? 'udp', reason: prober.kernelProbesReason() });
    snapshot();
  },
  (err: unknown) => forward('warn', { err: String(err) }, 'prober thread: the backend could not be chosen'),
);

port.on('message', (raw: unknown) => {
  const m = parseToWorker(raw);
  if (m === undefined) {
    forward('warn', {}, 'prober thread: dropped a malformed message');
    return;
  }
  if (closed) return;
  switch (m.t) {
    case 'paths':
      gen = m.gen;
      prober.setPaths(m.paths);
      snapshot();
      return;
    case 'listen':
      prober.setResponderAddresses(m.addresses);
      return;
    case 'close':
      closed = true;
      clearInterval(timer);
      prober.close(); // kills the engine by PID and closes the sockets
      post({ t: 'closed' });
      port.close();
      return;
    default: {
      const never: never = m;
      throw new Error(`unknown message ${String((never as { t: unknown }).t)}`);
    }
  }
});
